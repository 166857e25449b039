/* Work run beside the caller's: on a thread of its own, or inline when no
 * thread can start. For blocking steps that do not depend on each other
 * (a VI's cgroups while its network is set up, say). */
#ifndef VNFM_BESIDE_H
#define VNFM_BESIDE_H

#include <pthread.h>
#include <stdbool.h>

struct beside {
    pthread_t th;
    bool threaded;
};

/* Runs fn(arg) beside the caller, from now until beside_join(). */
void beside_start(struct beside *b, void *(*fn)(void *arg), void *arg);
/* Waits until fn has returned. */
void beside_join(struct beside *b);

#endif
