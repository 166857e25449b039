/* The YANG modules of the NETCONF server (yang/), compiled into the daemon
 * as NUL-terminated strings so that it needs no installed copy. */
    .section .rodata
    .global nc_yang_vnfm
nc_yang_vnfm:
    .incbin "yang/vnfm.yang"
    .byte 0
    .global nc_yang_esc_compat
nc_yang_esc_compat:
    .incbin "yang/esc-compat.yang"
    .byte 0
    .section .note.GNU-stack,"",@progbits
