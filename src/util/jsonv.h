/* Declarative validation of JSON documents (request bodies, VNFDs).
 *
 * A schema is a tree of struct jv_field. Objects list their members in a
 * table ended by a field with name NULL; unknown members are refused, so a
 * typo in a request never silently does nothing. Errors name the offending
 * field with a path such as "vdus[0].vcpu".
 */
#ifndef VNFM_JSONV_H
#define VNFM_JSONV_H

#include <jansson.h>

enum jv_type {
    JV_STRING,
    JV_INT,
    JV_NUMBER, /* integer or real */
    JV_BOOL,
    JV_OBJECT, /* members in .fields */
    JV_ARRAY,  /* items described by .item */
    JV_MAP,    /* object with free keys (names), values described by .item */
    JV_ANY,
};

#define JV_REQUIRED (1u << 0)
#define JV_NAME     (1u << 1) /* string: an identifier, see id_valid() */
#define JV_NULLABLE (1u << 2)

struct jv_field {
    const char *name;
    enum jv_type type;
    unsigned flags;
    double min, max; /* numbers: value range; strings, arrays: length range; 0,0 = none */
    const struct jv_field *fields; /* JV_OBJECT */
    const struct jv_field *item;   /* JV_ARRAY, JV_MAP */
    const char *const *choices;    /* JV_STRING: allowed values, NULL terminated */
};

struct jv_error {
    const char *reason; /* "missing-field", "unknown-field", "invalid-type", "invalid-value" */
    char field[256];
    char message[512];
};

/* Checks value against schema. Returns 0, or -EINVAL with err filled in. */
int jv_check(const json_t *value, const struct jv_field *schema, struct jv_error *err);
/* The same for a value found at path inside a larger document: errors name
 * fields from there ("monitoring.metrics.x.port"). */
int jv_check_at(const json_t *value, const struct jv_field *schema, const char *path,
                struct jv_error *err);

/* Sets err for a check done by hand after jv_check (cross-field rules). */
void jv_fail(struct jv_error *err, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Convenience getters with defaults; they accept a missing member. */
const char *jv_str(const json_t *obj, const char *key, const char *def);
long long jv_int(const json_t *obj, const char *key, long long def);
double jv_num(const json_t *obj, const char *key, double def);
int jv_bool(const json_t *obj, const char *key, int def);

/* Checks that script (the value of field) names an executable file by an
 * absolute path: custom actions, script probes and script actions. */
int jv_check_script(const char *script, const char *field, struct jv_error *err);

#endif
