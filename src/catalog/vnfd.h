/* VNF descriptors (F1, seed para 81): validation at on-boarding and typed
 * access with defaults. The format is documented in docs/VNFD.md. */
#ifndef VNFM_VNFD_H
#define VNFM_VNFD_H

#include "core/config.h"
#include "core/states.h"
#include "util/doc.h"
#include "util/jsonv.h"

#include <stdint.h>

struct vnfd_scaling {
    unsigned min, max, initial, step;
};

/* Bounds of scale up/down (F30): by default from the VDU's own size to
 * four times it. */
struct vnfd_vertical {
    double vcpu_min, vcpu_max;
    long long memory_mb_min, memory_mb_max;
};

struct vnfd_retry {
    unsigned attempts;
    unsigned backoff_ms;
};

/* Restart of a VI whose process ended (docs/VNFD.md "restart"): the
 * first `burst` deaths within any `window_s` are restarted at once; each
 * further one waits, from `delay_ms` doubling up to `max_delay_s`, the
 * doubling starting over once the VI has run `window_s` (lcm/restart.h). */
#define RESTART_RULE "process-exit" /* the built-in rule whose decisions restarts are */
struct vnfd_restart {
    bool always; /* policy "always"; false: "never" */
    unsigned burst, window_s, delay_ms, max_delay_s;
};

/* Validates a whole descriptor: schema, cross-field rules, template names,
 * custom action scripts present and executable. 0 or -EINVAL with err. */
int vnfd_validate(const json_t *doc, struct jv_error *err);

/* Validates monitoring and rules sections (the VNFD's own, or new ones for
 * a deployment of vnfd): 0 or -EINVAL with err naming "monitoring..." or
 * "rules[N]...". */
int vnfd_check_policy(const json_t *vnfd, const json_t *monitoring, const json_t *rules,
                      struct jv_error *err);

/* Checks the parameters of a deploy request against the descriptor's
 * declarations and returns them completed with defaults in *out (a new
 * reference). Errors name "params.NAME". */
int vnfd_resolve_params(const json_t *vnfd, const json_t *given, json_t **out,
                        struct jv_error *err);

const json_t *vnfd_vdu(const json_t *vnfd, const char *id);
/* The SOL003 scaling aspect of a VDU: its "aspect", else its id (one
 * aspect per VDU), and the VDU an aspect scales, or NULL. */
const char *vnfd_vdu_aspect(const json_t *vdu);
const json_t *vnfd_aspect_vdu(const json_t *vnfd, const char *aspect);
unsigned vnfd_vdu_vcpu_milli(const json_t *vdu);
long long vnfd_vdu_memory_mb(const json_t *vdu);
long long vnfd_vdu_disk_mb(const json_t *vdu);
void vnfd_vdu_scaling(const json_t *vdu, struct vnfd_scaling *s);
void vnfd_vdu_vertical(const json_t *vdu, struct vnfd_vertical *v);
void vnfd_retry(const json_t *vnfd, struct vnfd_retry *r);
/* The descriptor's restart settings, each defaulting to dflt's (the daemon's). */
void vnfd_restart(const json_t *vnfd, const struct vnfd_restart *dflt, struct vnfd_restart *r);
/* The custom actions of a stage (an array) or NULL. */
const json_t *vnfd_actions(const json_t *vnfd, enum stage st);
/* Deployment flavours (docs/VNFD.md "Flavours"): "default" is the
 * descriptor as written (vdus[].scaling), with one instantiation level,
 * "default", of scaling.initial instances. */
#define VNFD_DEFAULT_FLAVOUR "default"
#define VNFD_DEFAULT_LEVEL   "default"
/* The descriptor under flavour (its VDUs' scaling are the flavour's): a new
 * copy in *out, or -ENOENT when it has no such flavour. */
int vnfd_flavoured(const json_t *vnfd, const char *flavour, json_t **out);
/* The instances per VDU (a new object) of instantiation level (NULL: the
 * flavour's default) of a flavoured descriptor, and the level's id (owned by
 * the descriptor). -ENOENT when the flavour has no such level. */
int vnfd_level(const json_t *flavoured, const char *flavour, const char *level, json_t **out,
               const char **level_id);

/* Whether the descriptor's VDUs have what the VIM driver ops needs (its
 * required vdu_fields): 0, or -EINVAL with err naming "vdus[N].MEMBER". */
struct vim_ops;
int vnfd_check_driver(const json_t *vnfd, const struct vim_ops *ops, struct jv_error *err);

/* The descriptor's schema, for front ends that must type a document before
 * validating it (XML bodies). */
const struct jv_field *vnfd_body_schema(void);
/* Names of the template variables every VI has (NULL terminated). */
extern const char *const vnfd_template_vars[];

#endif
