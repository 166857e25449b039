#include "util/fsutil.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mkdir_p(const char *path, mode_t mode)
{
    char *tmp;
    int r = 0;

    /* the parents exist nearly always: one system call then */
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    tmp = xstrdup(path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
            r = -errno;
            goto out;
        }
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        r = -errno;
out:
    free(tmp);
    return r;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd, r;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        r = -errno;
        goto out_free;
    }
    r = write_all(fd, data, len);
    if (r == 0 && fchmod(fd, mode) < 0)
        r = -errno;
    if (r == 0 && durable && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
out_free:
    free(tmp);
    return r;
}

int append_at(const char *path, uint64_t offset, const void *data, size_t n, uint64_t max)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (offset ? 0 : O_TRUNC), 0600);
    off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
    int r = 0;

    if (fd < 0 || size < 0)
        r = -errno;
    else if ((uint64_t)size != offset)
        r = -ERANGE;
    else if (offset + n > max)
        r = -EFBIG;
    else if ((r = write_all(fd, data, n)) == 0 && fsync(fd))
        r = -errno;
    if (fd >= 0)
        close(fd);
    return r;
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 4096, n = 0;
    char *buf;

    if (fd < 0)
        return -errno;
    buf = xmalloc(cap);
    for (;;) {
        ssize_t r;

        if (n + 1 >= cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                return -EFBIG;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            r = -errno;
            free(buf);
            close(fd);
            return (int)r;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return -EFBIG;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int write_knob(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return -errno;
    r = write_all(fd, value, strlen(value));
    close(fd);
    return r;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP ? rmdir(path) : unlink(path))
        return errno == ENOENT ? 0 : -errno;
    return 0;
}

static uid_t chown_to;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    if ((st->st_uid != chown_to || st->st_gid != chown_to) &&
        lchown(path, chown_to, chown_to) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int chown_tree(const char *path, uid_t uid)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* nftw(3) takes no argument */
    int r;

    pthread_mutex_lock(&mu);
    chown_to = uid;
    r = nftw(path, chown_one, 16, FTW_PHYS);
    pthread_mutex_unlock(&mu);
    return r;
}

static __thread uint64_t du_bytes;
static __thread size_t du_left;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_NS || flag == FTW_DNR)
        return 0;
    if (du_left == 0)
        return -E2BIG;
    du_left--;
    du_bytes += (uint64_t)st->st_blocks * 512;
    return 0;
}

int du_tree(const char *path, size_t max_entries, uint64_t *bytes)
{
    int r;

    du_bytes = 0;
    du_left = max_entries;
    r = nftw(path, du_one, 16, FTW_PHYS | FTW_MOUNT);
    *bytes = du_bytes;
    return r < 0 ? -errno : r;
}

int rm_rf(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
