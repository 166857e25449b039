/* A growable string buffer. An embedded sbuf is cleared with sbuf_done(). */
#ifndef VNFM_SBUF_H
#define VNFM_SBUF_H

#include <stddef.h>

struct sbuf {
    char *s;
    size_t len, cap;
};

#define SBUF_INIT  \
    {              \
        NULL, 0, 0 \
    }

void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the string (never NULL); the buffer keeps ownership. */
const char *sbuf_str(struct sbuf *b);
/* Hands the string to the caller, who frees it; the buffer is empty after. */
char *sbuf_take(struct sbuf *b);
void sbuf_done(struct sbuf *b);
/* A stream's read of what waits in b past *off: copies up to max bytes
 * into buf and returns their count (0: nothing waits); b is emptied once
 * all of it was read. */
size_t sbuf_drain(struct sbuf *b, size_t *off, char *buf, size_t max);

#endif
