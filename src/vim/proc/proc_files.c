/* A VI's directory, DATA_DIR/vi/ID (proc_internal.h): its day-0 files and
 * console.log. The VNF runs with it as its working directory, owns it and
 * everything the manager writes in it (as its VI's uid: it reads its day-0
 * files and writes beside them), and may put anything there, links
 * included, so the manager never follows a name in it: every step is an openat(2) with O_NOFOLLOW
 * relative to the fd of the directory above, and a day-0 file is written to a new file that then
 * replaces the name (renameat), so that neither a symbolic nor a hard link
 * planted by the VNF makes the manager write anywhere else (issue 10).
 */
#include "util/fsutil.h"
#include "util/ids.h"
#include "util/mem.h"
#include "vim/proc/proc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *vi_dir_path(const struct proc_vim *v, const char *vi)
{
    return xasprintf("%s/vi/%s", v->data_dir, vi);
}

/* Gives the directory fd to uid (gid the same), unless uid is 0. */
static int give(int fd, uid_t uid)
{
    struct stat st;

    if (!uid || (fstat(fd, &st) == 0 && st.st_uid == uid && st.st_gid == uid))
        return 0;
    return fchown(fd, uid, uid) < 0 ? -errno : 0;
}

/* The subdirectory name of dfd, made when missing and given to uid;
 * whatever else has that name (a link, a file) is replaced. Returns an fd
 * or -errno. */
static int subdir(int dfd, const char *name, uid_t uid)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

    if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)) {
        if (errno != ENOENT && unlinkat(dfd, name, 0) < 0)
            return -errno;
        if (mkdirat(dfd, name, 0750) < 0 && errno != EEXIST)
            return -errno;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    r = give(fd, uid);
    if (r) {
        close(fd);
        return r;
    }
    return fd;
}

int vi_dir_open(const struct proc_vim *v, const char *vi)
{
    char *top = xasprintf("%s/vi", v->data_dir);
    int r = mkdir_p(top, 0750), dfd, fd;

    if (r) {
        free(top);
        return r;
    }
    dfd = open(top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    free(top);
    if (dfd < 0)
        return -errno;
    fd = subdir(dfd, vi, 0);
    close(dfd);
    return fd;
}

int vi_dir_give(const struct proc_vim *v, int dfd, const char *vi, uid_t uid)
{
    struct stat st;
    char *path;
    int r;

    if (fstat(dfd, &st) < 0)
        return -errno;
    if (st.st_uid == uid)
        return 0;
    /* an earlier VNF of another uid (a manager before the sandbox, as root)
     * wrote here: all of it becomes this VI's, once */
    path = vi_dir_path(v, vi);
    r = chown_tree(path, uid);
    free(path);
    return r;
}

/* Whether rel is a path of names inside the directory: no empty name, no
 * "." or "..", not absolute (the descriptor's validation says the same). */
static bool plain_path(const char *rel)
{
    const char *p = rel;

    if (!*rel || *rel == '/')
        return false;
    while (*p) {
        size_t n = strcspn(p, "/");

        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n;
        if (*p == '/' && !*++p)
            return false;
    }
    return true;
}

/* Writes content to name in dfd: a new file of uid's, then renamed over
 * the name. */
static int put_file(int dfd, const char *name, const char *content, uid_t uid)
{
    char tmp[32];
    size_t len = strlen(content), off = 0;
    int fd, r = 0;

    id_random(tmp, ".day0.", 12);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    while (r == 0 && off < len) {
        ssize_t n = write(fd, content + off, len - off);

        if (n < 0 && errno != EINTR)
            r = -errno;
        else if (n > 0)
            off += (size_t)n;
    }
    if (r == 0 && uid && fchown(fd, uid, uid) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
        r = -errno;
    if (r)
        unlinkat(dfd, tmp, 0);
    return r;
}

/* One day-0 file at rel below dfd. */
static int put_path(int dfd, const char *rel, const char *content, uid_t uid)
{
    char *path = xstrdup(rel), *name = path, *slash;
    int fd = dup(dfd), r = fd < 0 ? -errno : 0;

    while (r == 0 && (slash = strchr(name, '/'))) {
        int sub;

        *slash = '\0';
        sub = subdir(fd, name, uid);
        close(fd);
        fd = sub;
        r = sub < 0 ? sub : 0;
        name = slash + 1;
    }
    if (r == 0)
        r = put_file(fd, name, content, uid);
    if (fd >= 0)
        close(fd);
    free(path);
    return r;
}

int vi_files_write(int dfd, const json_t *files, uid_t uid, const char *vi_name,
                   struct vim_err *err)
{
    const json_t *f;
    size_t i;
    int r;

    json_array_foreach(files, i, f)
    {
        const char *rel = json_string_value(json_array_get(f, 0));
        const char *content = json_string_value(json_array_get(f, 1));

        if (!rel || !content || !plain_path(rel))
            return proc_fail(err, -EINVAL, "%s: day-0 file '%s': not a path inside the VI", vi_name,
                             rel ? rel : "?");
        r = put_path(dfd, rel, content, uid);
        if (r)
            return proc_fail(err, r, "%s: day-0 file %s", vi_name, rel);
    }
    return 0;
}

int vi_console_open(int dfd)
{
    struct stat st;
    int fd;

    for (int tries = 0; tries < 2; tries++) {
        fd = openat(dfd, "console.log", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
                    0640);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1)
            return fd;
        if (fd >= 0)
            close(fd);
        else if (errno != ELOOP)
            return -errno;
        unlinkat(dfd, "console.log", 0); /* a link or a fifo the VNF put there */
    }
    return -ELOOP;
}

void vi_console_tail(const struct proc_vim *v, const char *vi, char *out, size_t len)
{
    int dfd = vi_dir_open(v, vi), fd;
    char buf[4096], *p;
    off_t size;
    ssize_t n;
    int lines = 0;

    out[0] = '\0';
    if (dfd < 0)
        return;
    fd = openat(dfd, "console.log", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close(dfd);
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    n = size < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, size > 4095 ? size - 4095 : 0);
    close(fd);
    if (n <= 0)
        return;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    for (p = buf + n; p > buf && lines < 3; p--)
        if (p[-1] == '\n')
            lines++;
    for (char *q = p; *q; q++)
        if (*q == '\n')
            *q = '|';
    snprintf(out, len, "%s", p);
}

int vi_dir_remove(const struct proc_vim *v, const char *vi)
{
    char *path = vi_dir_path(v, vi);
    int r = rm_rf(path); /* nftw without following links (FTW_PHYS) */

    free(path);
    return r;
}
