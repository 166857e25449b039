/* Diagnostic logging of the daemon itself (stderr or a file).
 *
 * This is not the lifecycle event log of seed para 52 (that one lives in the
 * store, see store/store.h).  The level check happens before any formatting.
 */
#ifndef VNFM_LOG_H
#define VNFM_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_max_level;

void log_set_level(enum log_level lvl);
/* Parses "error", "warn", "info" or "debug"; returns -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);
void log_write(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                   \
    do {                                   \
        if ((lvl) <= log_max_level)        \
            log_write((lvl), __VA_ARGS__); \
    } while (0)
#define log_error(...) log_at(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
