/* Custom actions (seed para 54-56, F12): scripts a VNFD binds to a lifecycle
 * stage. They run one after the other on the configuration pool; the first
 * failure stops the chain and fails the stage. Each script gets the event
 * in its environment (VNFM_STAGE, VNFM_DEPLOYMENT, ...) and as JSON on
 * stdin. A script runs sandboxed as the deployment's tenant unless an admin
 * on-boarded the VNFD and it lies in --script-dir (core/runas.h). */
#ifndef VNFM_ACTIONS_H
#define VNFM_ACTIONS_H

#include "core/core.h"
#include "core/wpool.h"
#include "core/states.h"
#include "util/doc.h"

struct actjob {
    struct wjob w;
    struct core *c;
    char op[40];
    json_t *actions; /* [{script, args (rendered), timeout_s}] */
    char **envp;
    char *input;
    bool admin_wrote; /* the descriptor was on-boarded by an admin (core/runas.h) */
    uid_t tenant_uid; /* what the scripts run as unless they may run unsandboxed */
    int rc;
    char err[768];
    void (*on_done)(struct actjob *j);
};

/* Builds the job for the actions of stage, or returns NULL when the
 * deployment's descriptor has none. event is the JSON given on stdin. */
struct actjob *actjob_new(struct core *c, enum stage st, const json_t *dep, const json_t *op);
void actjob_free(struct actjob *j);

#endif
