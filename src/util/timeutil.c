#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t mono_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *time_fmt(int64_t ms, char *buf)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&secs, &tm);
    n = strftime(buf, TIME_STR_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, TIME_STR_MAX - n, ".%03dZ", (int)(ms % 1000));
    return buf;
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -EINVAL;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -EINVAL;
    (*p)++;
    return 0;
}

static int parse_offset(const char *p, int *offset_min)
{
    int sign, hh, mm;

    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        *offset_min = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -EINVAL;
    sign = *p++ == '-' ? -1 : 1;
    if (parse_digits(&p, 2, &hh) || expect(&p, ':') || parse_digits(&p, 2, &mm) || *p)
        return -EINVAL;
    *offset_min = sign * (hh * 60 + mm);
    return 0;
}

int time_parse(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    const char *p = s;
    int frac = 0, digits = 0, off;
    char *end;

    if (!*s)
        return -EINVAL;
    long long plain = strtoll(s, &end, 10);
    if (*end == '\0') {
        *ms = plain;
        return 0;
    }
    if (parse_digits(&p, 4, &tm.tm_year) || expect(&p, '-') || parse_digits(&p, 2, &tm.tm_mon) ||
        expect(&p, '-') || parse_digits(&p, 2, &tm.tm_mday))
        return -EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    if (parse_digits(&p, 2, &tm.tm_hour) || expect(&p, ':') || parse_digits(&p, 2, &tm.tm_min) ||
        expect(&p, ':') || parse_digits(&p, 2, &tm.tm_sec))
        return -EINVAL;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits > 0 && digits < 3) {
            frac *= 10;
            digits++;
        }
    }
    if (parse_offset(p, &off))
        return -EINVAL;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ms = ((int64_t)timegm(&tm) - (int64_t)off * 60) * 1000 + frac;
    return 0;
}
