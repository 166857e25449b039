#include "util/ids.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* getrandom cannot fail on a sane kernel */
        }
        p += r;
        n -= (size_t)r;
    }
}

void id_random(char *buf, const char *prefix, unsigned nhex)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    size_t plen = strlen(prefix);

    if (nhex > 2 * sizeof(raw))
        nhex = 2 * sizeof(raw);
    random_bytes(raw, (nhex + 1) / 2);
    memcpy(buf, prefix, plen);
    for (unsigned i = 0; i < nhex; i++)
        buf[plen + i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    buf[plen + nhex] = '\0';
}

bool id_valid(const char *s)
{
    size_t n = 0;

    if (!s || !isalnum((unsigned char)s[0]))
        return false;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];

        if (n >= ID_MAX || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}
