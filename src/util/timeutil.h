/* Clocks and timestamps. Wall-clock times in records are RFC 3339 UTC with
 * milliseconds ("2026-11-24T09:00:00.123Z"); intervals use the monotonic clock. */
#ifndef VNFM_TIMEUTIL_H
#define VNFM_TIMEUTIL_H

#include <stdint.h>

#define TIME_STR_MAX 32

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t mono_ms(void);
/* Microseconds of CLOCK_MONOTONIC. */
uint64_t mono_us(void);
/* Milliseconds from then to now, 0 when then is later: a beat that another
 * thread wrote after this one read the clock is fresh, not 2^64 ms old. */
static inline uint64_t ms_since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}
/* Milliseconds since the Unix epoch. */
int64_t wall_ms(void);
/* Formats ms since the epoch into buf (TIME_STR_MAX bytes). Returns buf. */
char *time_fmt(int64_t ms, char *buf);
/* Parses RFC 3339 ("...Z" or "+hh:mm", optional fraction) or a plain
 * integer of ms since the epoch. Returns 0 or -EINVAL. */
int time_parse(const char *s, int64_t *ms);

#endif
