#include "util/sandbox.h"

#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* capabilities(7), in the kernel's order, four a line */
/* clang-format off */
const char *const sandbox_cap_names[] = {
    "chown", "dac_override", "dac_read_search", "fowner",
    "fsetid", "kill", "setgid", "setuid",
    "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
    "net_admin", "net_raw", "ipc_lock", "ipc_owner",
    "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace",
    "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
    "sys_resource", "sys_time", "sys_tty_config", "mknod",
    "lease", "audit_write", "audit_control", "setfcap",
    "mac_override", "mac_admin", "syslog", "wake_alarm",
    "block_suspend", "audit_read", "perfmon", "bpf",
    "checkpoint_restore", NULL,
};
/* clang-format on */

#define N_CAPS ((int)(sizeof(sandbox_cap_names) / sizeof(sandbox_cap_names[0])) - 1)

int sandbox_cap_find(const char *name)
{
    if (strncasecmp(name, "cap_", 4) == 0)
        name += 4;
    for (int i = 0; i < N_CAPS; i++)
        if (strcasecmp(name, sandbox_cap_names[i]) == 0)
            return i;
    return -1;
}

const char *sandbox_cap_name(int n)
{
    return n >= 0 && n < N_CAPS ? sandbox_cap_names[n] : NULL;
}

int sandbox_clone_flags(const struct sandbox *sb)
{
    /* with a base, the child makes its namespace as a copy of that */
    return (sb->base ? 0 : CLONE_NEWNS) | (sb->flags & SANDBOX_OWN_PIDS ? CLONE_NEWPID : 0) |
           (sb->flags & SANDBOX_OWN_IPC ? CLONE_NEWIPC : 0);
}

/* ---- in the child: no allocation, no stdio, no locks ---- */

static int fail(const char **step, const char *what)
{
    *step = what;
    return errno ? -errno : -EIO;
}

/* "mode=MODE,size=Nm" into buf (snprintf(3) is not async-signal-safe). */
static void tmpfs_opts(char *buf, const char *mode, unsigned mb)
{
    char digits[12];
    int n = 0;

    strcpy(buf, "mode=");
    strcat(buf, mode);
    strcat(buf, ",size=");
    do {
        digits[n++] = (char)('0' + mb % 10);
        mb /= 10;
    } while (mb);
    buf += strlen(buf);
    while (n)
        *buf++ = digits[--n];
    strcpy(buf, "m");
}

/* Covers path with an empty tmpfs, after detaching whatever is mounted
 * there when asked (the netns mounts of other VIs under /run/netns, say,
 * which the namespace would otherwise keep copies of). A path that no
 * longer exists is under an earlier cover already. */
static int cover(const char *path, const char *opts, bool detach, const char **step)
{
    for (int i = 0; detach && i < 8 && umount2(path, MNT_DETACH) == 0; i++)
        ;
    if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0 || errno == ENOENT)
        return 0;
    return fail(step, "cover a hidden directory");
}

/* mkdir -p, for the mount point of a writable directory inside a cover. */
static int make_path(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);

    if (n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        char c = *p;

        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        if (!c)
            return 0;
        *p = c;
    }
}

static int private_tmp(const struct sandbox *sb, const char **step)
{
    static const char *const dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
    char opts[64];

    tmpfs_opts(opts, "1777", sb->tmp_mb ? sb->tmp_mb : 64);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        int r = cover(dirs[i], opts, false, step);

        if (r)
            return r;
    }
    return 0;
}

/* Whether path lies under one of the directories a private /tmp covers. */
static bool under_tmp(const char *path)
{
    static const char *const dirs[] = {"/tmp/", "/var/tmp/", "/dev/shm/"};

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
            return true;
    return false;
}

/* Binds the clones of directories, taken before anything was made
 * read-only or covered, back at their paths with attributes attr. */
static int rebind(const char *const *paths, const int *fds, int n, uint64_t attr, const char **step)
{
    struct mount_attr a = {.attr_set = attr};

    for (int i = 0; i < n; i++) {
        int r;

        if (fds[i] < 0)
            continue;
        r = make_path(paths[i]);
        if (r) {
            errno = -r;
            return fail(step, "make the mount point of a directory bound back");
        }
        if (mount_setattr(fds[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0 ||
            move_mount(fds[i], "", AT_FDCWD, paths[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
            return fail(step, "bind a directory back");
    }
    return 0;
}

/* What every sandbox hiding the same directories starts from: the
 * host's mounts as a slave (unmounts on the host still reach it, nothing
 * of it reaches the host), read-only, the hidden directories emptied. In
 * the child's own namespace without a base, in the base's once with one:
 * detaching and the copy of many mounts are what a spawn pays most for. */
static int host_view(const char *const *hidden, const char **step)
{
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
    char opts[64];
    int r = 0;

    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return fail(step, "make the mount namespace a slave");
    if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
        return fail(step, "make / read-only");
    tmpfs_opts(opts, "0755", 1);
    for (int i = 0; i < SANDBOX_MAX_PATHS && hidden[i] && r == 0; i++)
        r = cover(hidden[i], opts, true, step);
    return r;
}

/* A copy of the base's namespace, read-only again (for what reached the
 * base from the host since it was made), with covers of its own over the
 * hidden directories, in which its writable ones get their mount points. */
static int from_base(const struct sandbox *sb, const char **step)
{
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
    char opts[64];
    int r = 0;

    if (setns(sb->base->fd, CLONE_NEWNS) < 0 || unshare(CLONE_NEWNS) < 0)
        return fail(step, "enter the base mount namespace");
    if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
        return fail(step, "make / read-only");
    tmpfs_opts(opts, "0755", 1);
    for (int i = 0; i < SANDBOX_MAX_PATHS && sb->hidden[i] && r == 0; i++)
        r = cover(sb->hidden[i], opts, false, step);
    return r;
}

/* Clones of the trees at paths[0..n) while the host's are in sight; -1
 * for those skip() says need none and those that do not exist. The
 * count, or a negative errno. */
static int clone_trees(const char *const *paths, int *fds, bool (*skip)(const char *),
                       const char **step)
{
    int n;

    for (n = 0; n < SANDBOX_MAX_PATHS && paths[n]; n++) {
        fds[n] = -1;
        if (skip && skip(paths[n]))
            continue;
        fds[n] = open_tree(AT_FDCWD, paths[n], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fds[n] < 0 && (errno != ENOENT || !skip)) {
            int r = fail(step, "clone a directory to bind back");

            while (n > 0)
                if (fds[--n] >= 0)
                    close(fds[n]);
            return r;
        }
    }
    return n;
}

static bool not_under_tmp(const char *path)
{
    return !under_tmp(path);
}

static int setup_mounts(const struct sandbox *sb, const char **step)
{
    int wfds[SANDBOX_MAX_PATHS], rfds[SANDBOX_MAX_PATHS], nw, nr = 0, r = 0;
    bool tmp = sb->flags & SANDBOX_PRIVATE_TMP;

    nw = clone_trees(sb->writable, wfds, NULL, step);
    if (nw < 0)
        return nw;
    if (tmp) /* what a private /tmp would hide */
        nr = clone_trees(sb->readonly, rfds, not_under_tmp, step);
    if (nr < 0) {
        r = nr;
        nr = 0;
        goto close;
    }
    r = sb->base ? from_base(sb, step) : host_view(sb->hidden, step);
    if (r == 0 && tmp)
        r = private_tmp(sb, step);
    if (r == 0)
        r = rebind(sb->readonly, rfds, nr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                   step);
    if (r == 0)
        r = rebind(sb->writable, wfds, nw, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, step);
    /* a /proc of its own: its PID namespace's, or only its uid's processes */
    if (r == 0 && (sb->flags & (SANDBOX_OWN_PIDS | SANDBOX_HIDE_PIDS)) &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              sb->flags & SANDBOX_HIDE_PIDS ? "hidepid=invisible" : NULL) < 0)
        r = fail(step, "mount /proc");
    /* a /sys that shows its own network namespace's interfaces, and not
     * the host's cgroup tree or other mounts under /sys */
    if (r == 0 && (sb->flags & SANDBOX_OWN_SYS) &&
        mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        r = fail(step, "mount /sys");
close:
    while (nw > 0)
        close(wfds[--nw]);
    while (nr > 0)
        if (rfds[--nr] >= 0)
            close(rfds[nr]);
    return r;
}

/* Bounding set first (that needs CAP_SETPCAP, gone with the uid), then
 * the ids, then the capabilities kept: permitted, effective, inheritable
 * and ambient, so that they survive execve(2) of an ordinary binary. */
static int drop_rights(const struct sandbox *sb, const char **step)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    uint32_t lo = (uint32_t)sb->caps, hi = (uint32_t)(sb->caps >> 32);

    for (int c = 0; c < 64; c++) {
        if (sb->caps & (1ull << c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past the kernel's last capability */
            return fail(step, "drop the capability bounding set");
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
        prctl(PR_SET_KEEPCAPS, sb->caps ? 1 : 0, 0, 0, 0) < 0)
        return fail(step, "clear the ambient capabilities");
    /* raw calls: glibc's wrappers would signal the parent's threads */
    if (syscall(SYS_setgroups, 0, NULL) < 0)
        return fail(step, "setgroups");
    if (syscall(SYS_setresgid, sb->uid, sb->uid, sb->uid) < 0)
        return fail(step, "setresgid");
    if (syscall(SYS_setresuid, sb->uid, sb->uid, sb->uid) < 0)
        return fail(step, "setresuid");
    data[0] = (struct __user_cap_data_struct){lo, lo, lo};
    data[1] = (struct __user_cap_data_struct){hi, hi, hi};
    if (syscall(SYS_capset, &hdr, data) < 0)
        return fail(step, "capset");
    for (int c = 0; c < 64; c++)
        if ((sb->caps & (1ull << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return fail(step, "raise an ambient capability");
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail(step, "no_new_privs");
    return 0;
}

int sandbox_enter(const struct sandbox *sb, const char **step)
{
    struct rlimit nproc = {sb->nproc, sb->nproc};
    int r;

    if (sb->uid == 0) {
        errno = EPERM;
        return fail(step, "uid 0 is not a sandbox");
    }
    r = setup_mounts(sb, step);
    if (r)
        return r;
    if (chdir(sb->cwd ? sb->cwd : "/") < 0)
        return fail(step, "chdir");
    /* counted against the new uid from setresuid(2) on */
    if (sb->nproc && setrlimit(RLIMIT_NPROC, &nproc) < 0)
        return fail(step, "RLIMIT_NPROC");
    return drop_rights(sb, step);
}

/* ---- bases ---- */

struct base_job {
    const char *const *hidden;
    int fd;
    const char *step;
};

/* A thread of ours unshares its mount namespace (its fs_struct with it),
 * prepares it, and keeps it alive by a descriptor when it ends. */
static void *make_base(void *arg)
{
    struct base_job *j = arg;
    int r = unshare(CLONE_NEWNS) < 0 ? fail(&j->step, "unshare") : host_view(j->hidden, &j->step);

    j->fd = r ? r : open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (j->fd < 0 && !r)
        j->fd = fail(&j->step, "open the namespace");
    return NULL;
}

struct sandbox_base *sandbox_base_new(const char *const hidden[], const char **step)
{
    struct base_job j = {hidden, -1, NULL};
    struct sandbox_base *b;
    pthread_t th;
    int r = pthread_create(&th, NULL, make_base, &j);

    if (r) {
        *step = "start a thread";
        errno = r;
        return NULL;
    }
    pthread_join(th, NULL);
    if (j.fd < 0) {
        *step = j.step;
        errno = -j.fd;
        return NULL;
    }
    b = malloc(sizeof(*b));
    if (!b) {
        close(j.fd);
        *step = "malloc";
        errno = ENOMEM;
        return NULL;
    }
    b->fd = j.fd;
    return b;
}

void sandbox_base_free(struct sandbox_base *b)
{
    if (!b)
        return;
    close(b->fd);
    free(b);
}

int sandbox_dirs_add(const char **out, int n, int max, const char *list)
{
    for (const char *p = list; p && *p && n < max;) {
        size_t len = strcspn(p, ":");

        if (len && *p == '/')
            out[n++] = xstrndup(p, len);
        p += len + (p[len] == ':');
    }
    if (n < max)
        out[n] = NULL;
    return n;
}
