/* Helpers shared by the unit tests. */
#ifndef VNFM_TEST_UNIT_H
#define VNFM_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* A fresh temporary directory (malloc'd path); removed by the caller. */
static inline char *test_tmpdir(void)
{
    char tmpl[] = "/tmp/vnfm-unit-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

static inline void test_rmdir(char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

#endif
