#include "vim/vim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct vim_ops *const drivers[] = {
    &vim_proc_ops,
    &vim_sim_ops,
    &vim_agent_ops,
};

static const char *const driver_names[] = {"proc", "sim", "agent", NULL};

const struct vim_ops *vim_driver_find(const char *name)
{
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

const char *const *vim_driver_names(void)
{
    return driver_names;
}

void vim_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int vim_fail(struct vim_err *err, int r, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return r;
}
