/* Small file system helpers. All return 0 or a negative errno. */
#ifndef VNFM_FSUTIL_H
#define VNFM_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Creates path and its parents with mode (existing directories are fine). */
int mkdir_p(const char *path, mode_t mode);
/* Writes data to path through a temporary file and rename(2), so readers
 * see the old or the new text, never half; durable also fsyncs it first. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable);
/* Reads a whole file (at most max bytes) into a NUL terminated buffer the
 * caller frees. -EFBIG when the file is larger than max. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes a short string to an existing file, e.g. a cgroup or sysfs knob. */
int write_knob(const char *path, const char *value);
/* Gives path and everything beneath it to uid:uid, following no link. */
int chown_tree(const char *path, uid_t uid);
/* Appends n bytes of data to the file path (made 0600 at offset 0, which
 * also empties it) at offset, which must be its size (-ERANGE, a chunk
 * sent twice or out of order), keeping it within max bytes (-EFBIG);
 * fsynced. */
int append_at(const char *path, uint64_t offset, const void *data, size_t n, uint64_t max);
/* Removes path recursively; a missing path is not an error. */
int rm_rf(const char *path);
/* What path and everything beneath it take on disk (allocated blocks),
 * following no link and staying on its file system; at most max_entries
 * are looked at (-E2BIG after them, *bytes what they took). */
int du_tree(const char *path, size_t max_entries, uint64_t *bytes);

#endif
