/* Day-0 templates (seed para 57): "{{name}}" is replaced by a variable and
 * "{{#name}}...{{.}}...{{/name}}" repeats its body for each item of a list
 * variable (or once for a non-empty scalar). Names are dotted
 * ("params.greeting") and looked up in a flat JSON object of variables. */
#ifndef VNFM_TEMPLATE_H
#define VNFM_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Decides whether a name may be used; is_list asks about sections. */
typedef bool (*tmpl_known_fn)(const char *name, bool is_list, void *arg);

/* Checks syntax and names without rendering. Returns 0, or -EINVAL with a
 * message in err. */
int tmpl_check(const char *tmpl, tmpl_known_fn known, void *arg, char *err, size_t errlen);
/* Renders tmpl with vars. *out is malloc'd. A missing variable renders as
 * an empty string (tmpl_check refuses unknown names beforehand). */
int tmpl_render(const char *tmpl, const json_t *vars, char **out, char *err, size_t errlen);

#endif
