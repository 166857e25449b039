/* Allocation helpers that abort on out-of-memory, as a daemon that cannot
 * allocate a few bytes cannot do anything useful either. */
#ifndef VNFM_MEM_H
#define VNFM_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns NULL for NULL. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Caller frees the result. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies at most size-1 bytes and always terminates; returns -ENAMETOOLONG
 * (with dst truncated) when src did not fit. */
int strlcpy_checked(char *dst, const char *src, size_t size);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
