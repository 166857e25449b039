#include "util/ids.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
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

const char *id_scoped(char buf[KEY_BUF_MAX], const char *tenant, const char *name)
{
    snprintf(buf, KEY_BUF_MAX, "%s%s%s", tenant ? tenant : "", tenant ? ":" : "", name);
    return buf;
}

bool id_key_valid(const char *key)
{
    const char *colon = key ? strchr(key, ':') : NULL;
    char tenant[ID_BUF_MAX];

    if (!colon)
        return id_valid(key);
    if (colon - key > ID_MAX || !id_valid(colon + 1))
        return false;
    memcpy(tenant, key, (size_t)(colon - key));
    tenant[colon - key] = '\0';
    return id_valid(tenant);
}

const char *id_name(const char *key)
{
    const char *colon = key ? strchr(key, ':') : NULL;

    return colon ? colon + 1 : key;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

void id_show_names(char *text, const char *tenant)
{
    size_t n = tenant ? strlen(tenant) : 0;
    char *p = text;

    if (!n)
        return;
    while ((p = strstr(p, tenant))) {
        if ((p == text || !name_char(p[-1])) && p[n] == ':' && name_char(p[n + 1]))
            memmove(p, p + n + 1, strlen(p + n + 1) + 1);
        else
            p += n;
    }
}

void id_uuid(char buf[ID_UUID_LEN + 1])
{
    unsigned char b[16];

    random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, ID_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}
