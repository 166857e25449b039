/* YAML documents as JSON values, read with libyaml (TOSCA service
 * templates of VNF packages, catalog/tosca.c).
 *
 * Mappings become objects, sequences arrays. Scalars stay strings whatever
 * they look like ("1.0" is not the number 1): what a value means is its
 * consumer's to say, by the type it expects (TOSCA types its properties
 * in its definitions, and a version "1.10" must not become 1.1). Only a
 * plain null ("", "~", "null", "Null", "NULL") becomes JSON null.
 *
 * Input is hostile: the depth, the number of values after aliases are
 * expanded (a "billion laughs" document) and the number of anchors are
 * bounded; a mapping key must be a scalar and appear once; a string must
 * not hold a NUL character. An alias may refer only to a node that has
 * ended, so a value never contains itself.
 */
#ifndef VNFM_YAMLJ_H
#define VNFM_YAMLJ_H

#include <stddef.h>

#include <jansson.h>

struct yamlj_limits {
    unsigned max_depth;   /* nested collections; 0 = 64 */
    size_t max_values;    /* values counted with aliases expanded; 0 = 1000000 */
    unsigned max_anchors; /* 0 = 1000 */
};

/* Parses the single document in text[0..len). Returns 0 and *out (a new
 * reference; JSON null for an empty document), or -EINVAL with err saying
 * where and why ("line 3 column 5: duplicate key 'name'"). lim may be NULL. */
int yamlj_parse(const char *text, size_t len, const struct yamlj_limits *lim, json_t **out,
                char *err, size_t errlen);

#endif
