/* Runs a child process with less than the manager's rights: VNF processes
 * and the scripts of tenants (docs/SECURITY.md "VNFs and tenant scripts").
 *
 * The parent fills a struct sandbox and creates the child with the
 * namespaces sandbox_clone_flags() names; the child calls sandbox_enter()
 * just before execve(2). In the child's own mount namespace the host is
 * read-only, the hidden directories (the manager's data directory: its
 * store, its token, every VI's directory) are covered by an empty tmpfs,
 * and the writable ones (the VI's own directory) are bound back in place,
 * writable. A private /tmp hides what the host has there; the read-only
 * directories (the admin's places of programs: --vnf-path, --script-dir, the scripts
 * of VNF packages)
 * that lie under it are bound back in place, read-only. Then the child becomes an unprivileged
 * uid/gid without supplementary groups, with no_new_privs and every capability dropped from every
 * set but those in caps.
 *
 * sandbox_enter() makes raw system calls only (no allocation, no locks, no
 * glibc set*id broadcast to the parent's threads), so it is safe in a child
 * that shares the parent's memory until it execs (CLONE_VM | CLONE_VFORK).
 */
#ifndef VNFM_SANDBOX_H
#define VNFM_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SANDBOX_MAX_PATHS 8

enum sandbox_flags {
    SANDBOX_PRIVATE_TMP = 1 << 0, /* an empty tmpfs of its own on /tmp, /var/tmp, /dev/shm */
    SANDBOX_OWN_PIDS = 1 << 1,    /* a PID namespace: whatever it leaves behind dies with it */
    SANDBOX_OWN_IPC = 1 << 2,     /* System V IPC and POSIX message queues of its own */
    SANDBOX_HIDE_PIDS = 1 << 3,   /* /proc shows only the processes of its own uid */
    SANDBOX_OWN_SYS = 1 << 4,     /* /sys of its network namespace, read-only (no host cgroups) */
};

/* A mount namespace prepared for many sandboxes (sandbox_base_new()). */
struct sandbox_base {
    int fd;
};

struct sandbox {
    uid_t uid;     /* never 0; gid the same number */
    uint64_t caps; /* capabilities kept, bit n = capability n (capabilities(7)) */
    unsigned flags;
    unsigned tmp_mb;     /* size of each private tmpfs (SANDBOX_PRIVATE_TMP) */
    unsigned long nproc; /* RLIMIT_NPROC of its uid, 0 = unchanged */
    const char *cwd;     /* working directory, NULL = "/" */
    /* absolute paths, NULL after the last one */
    const char *writable[SANDBOX_MAX_PATHS];
    const char *hidden[SANDBOX_MAX_PATHS];
    const char *readonly[SANDBOX_MAX_PATHS]; /* kept in sight under a private /tmp */
    /* made for these hidden directories, or NULL: the child then copies
     * and prepares the caller's mount namespace itself, which costs a
     * spawn more the more mounts the host has */
    const struct sandbox_base *base;
};

/* Splits a ':'-separated list of absolute directories (--vnf-path) into
 * out[0..max) after the n already there, NULL terminated when there is
 * room; the strings are copies (free them). Returns the new count. */
int sandbox_dirs_add(const char **out, int n, int max, const char *list);

/* The namespace flags for clone(2) of the child (CLONE_NEWNS, ...). */
int sandbox_clone_flags(const struct sandbox *sb);

/* Applies sb to the calling process, a child made with the flags above.
 * Returns 0, or a negative errno with *step naming what failed ("mount
 * /tmp", "setresuid", ...). */
int sandbox_enter(const struct sandbox *sb, const char **step);

/* Prepares the mount namespace that the children of sandboxes hiding the
 * given directories (NULL terminated) start from: the host's mounts,
 * read-only, the hidden ones emptied, made once instead of in each child.
 * NULL with errno and *step on failure. */
struct sandbox_base *sandbox_base_new(const char *const hidden[], const char **step);
void sandbox_base_free(struct sandbox_base *b);

/* The capabilities' names, lower case without "cap_", in the kernel's
 * order (capability n is sandbox_cap_names[n]), NULL terminated. */
extern const char *const sandbox_cap_names[];
/* The number of a capability named like "net_raw" or "CAP_NET_RAW", or -1. */
int sandbox_cap_find(const char *name);
/* The name of capability n ("net_raw"), or NULL. */
const char *sandbox_cap_name(int n);

#endif
