/* Runs a command to completion from a worker thread: stdin fed from a
 * string, stdout and stderr captured together, a deadline after which the
 * command's whole process group is killed. */
#ifndef VNFM_SPAWN_H
#define VNFM_SPAWN_H

#include "util/sbuf.h"

/* Returns 0 when the command ran (its wait status in *status), -ETIMEDOUT
 * when it was killed at the deadline, or another negative errno when it
 * could not be started. At most out_max bytes of output are kept (the
 * last ones). */
int spawn_run(char *const argv[], char *const envp[], const char *input, unsigned timeout_ms,
              struct sbuf *out, size_t out_max, int *status);

/* One line describing a wait status: "exited with status 3", "killed by
 * signal 9". Returns buf. */
char *spawn_status_str(int status, char *buf, size_t len);

#endif
