/* Small helpers for record documents (JSON objects keyed by "id"). Members
 * whose name starts with '_' are internal and never leave through an API. */
#ifndef VNFM_DOC_H
#define VNFM_DOC_H

#include <jansson.h>

void doc_touch(json_t *doc, const char *key); /* sets key to the current time */
void doc_set_str(json_t *doc, const char *key, const char *value); /* NULL -> null */
void doc_set_int(json_t *doc, const char *key, long long value);
const char *doc_str(const json_t *doc, const char *key); /* NULL when absent or not a string */
long long doc_int(const json_t *doc, const char *key, long long def);
/* Copy of doc without the internal '_' members, for API answers. */
json_t *doc_public(const json_t *doc);

#endif
