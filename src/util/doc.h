/* Small helpers for record documents (JSON objects keyed by "id"). Members
 * whose name starts with '_' are internal and never leave through an API. */
#ifndef VNFM_DOC_H
#define VNFM_DOC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

void doc_touch(json_t *doc, const char *key); /* sets key to the current time */
void doc_set_str(json_t *doc, const char *key, const char *value); /* NULL -> null */
void doc_set_int(json_t *doc, const char *key, long long value);
const char *doc_str(const json_t *doc, const char *key); /* NULL when absent or not a string */
long long doc_int(const json_t *doc, const char *key, long long def);
/* Copy of doc without the internal '_' members, for API answers. */
json_t *doc_public(const json_t *doc);

/* Shows the store keys in v (an answer: a record, a list of them, an
 * error) as the names their tenants gave them (util/ids.h id_name), in
 * place: the members that name a deployment or VNFD ("id", "deployment",
 * "vnfd", "vnfdId", "vnfInstanceId", the KEY of "object": "KIND/KEY"), in
 * every nested object but those holding what a user wrote (params,
 * descriptors, metadata). */
void doc_show_names(json_t *v);
/* doc_public() with names shown: what leaves for a tenant's endpoint or
 * script (callbacks, webhooks, lifecycle scripts). */
json_t *doc_shown(const json_t *doc);

/* A hash of a JSON value (not a digest: 64 bits, no key), the same for
 * equal values whatever the order of their objects' members: what a branch
 * sent and the cloud mirrored of a deployment is compared by it without
 * serialising either. */
uint64_t doc_hash(const json_t *v);

#define DOC_ETAG_MAX 40

/* The entity tag of a record (RFC 9110 8.8.3, quoted; SOL013 4.5 ETag and
 * If-Match): a digest of its public members, which changes with any of
 * them. */
void doc_etag(const json_t *doc, char out[DOC_ETAG_MAX]);
/* Whether an If-Match value ("*", or a list of tags) matches etag. */
bool etag_matches(const char *if_match, const char *etag);

#endif
