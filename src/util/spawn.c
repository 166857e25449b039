#include "util/spawn.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sanitizer/asan_interface.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_STACK (64 * 1024)

pid_t spawn_clone(int (*fn)(void *arg), void *arg, int flags)
{
    char *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    sigset_t all, old;
    pid_t pid;
    int err;

    if (stack == MAP_FAILED)
        return -errno;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid = clone(fn, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD | flags, arg);
    err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* the child's frames left the sanitizer's marks on this stack: clear
     * them before the pages go back, or the next user of the addresses
     * trips over them */
    ASAN_UNPOISON_MEMORY_REGION(stack, CHILD_STACK);
    munmap(stack, CHILD_STACK);
    return pid < 0 ? -err : pid;
}

bool spawn_ended(pid_t pid)
{
    char path[64], *text = NULL, *paren;
    bool dead = true;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (pid > 0 && read_file(path, 4096, &text, NULL) == 0 && (paren = strrchr(text, ')')))
        dead = paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
    free(text);
    return dead;
}

char *spawn_find(const char *argv0, char *const *envp)
{
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char *dirs, *dir, *save, *found = NULL;

    if (strchr(argv0, '/'))
        return access(argv0, X_OK) == 0 ? xstrdup(argv0) : NULL;
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    dirs = xstrdup(path);
    for (dir = strtok_r(dirs, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *cand = xasprintf("%s/%s", dir, argv0);
        struct stat st;

        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
            found = cand;
        else
            free(cand);
    }
    free(dirs);
    return found;
}

/* What the child of spawn_run needs, in memory it shares with its parent. */
struct child {
    const struct spawn_req *rq;
    char *path;
    int in, out;
    int err; /* set by the child when it cannot exec */
    const char *step;
};

static int child_main(void *arg)
{
    struct child *x = arg;
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;
    int r;

    setpgid(0, 0);
    x->step = "redirect";
    if (dup2(x->in, 0) < 0 || dup2(x->out, 1) < 0 || dup2(x->out, 2) < 0)
        goto fail;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    if (x->rq->sandbox && (r = sandbox_enter(x->rq->sandbox, &x->step)) < 0) {
        errno = -r;
        goto fail;
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* no descriptor of the manager's (its store, say) outlives the exec */
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    x->step = "exec";
    execve(x->path, x->rq->argv, x->rq->envp);
fail:
    x->err = errno ? errno : EIO;
    _exit(127);
}

static void keep_tail(struct sbuf *out, size_t max)
{
    if (out->len <= max)
        return;
    memmove(out->s, out->s + out->len - max, max);
    out->len = max;
    out->s[max] = '\0';
}

struct io {
    int in, out, pidfd;
    const char *input;
    size_t input_left;
};

/* Moves data until the process exits or the deadline passes. */
static int pump(struct io *io, uint64_t deadline, struct sbuf *out, size_t out_max)
{
    char buf[4096];

    for (;;) {
        struct pollfd p[3] = {{io->pidfd, POLLIN, 0}, {io->out, POLLIN, 0}, {io->in, POLLOUT, 0}};
        uint64_t now = mono_ms();
        int n;

        if (now >= deadline)
            return -ETIMEDOUT;
        n = poll(p, io->in >= 0 ? 3 : 2, (int)(deadline - now));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (p[1].revents & (POLLIN | POLLHUP)) {
            ssize_t r = read(io->out, buf, sizeof(buf));

            if (r > 0) {
                sbuf_add(out, buf, (size_t)r);
                keep_tail(out, out_max);
            }
        }
        if (io->in >= 0 && p[2].revents) {
            ssize_t w = p[2].revents & POLLOUT ? write(io->in, io->input, io->input_left) : -1;

            if (w > 0) {
                io->input += w;
                io->input_left -= (size_t)w;
            }
            if (w < 0 || io->input_left == 0) {
                close(io->in);
                io->in = -1;
            }
        }
        if (p[0].revents & POLLIN)
            return 0;
    }
}

static void drain(int fd, struct sbuf *out, size_t out_max)
{
    char buf[4096];
    ssize_t r;

    while ((r = read(fd, buf, sizeof(buf))) > 0) {
        sbuf_add(out, buf, (size_t)r);
        keep_tail(out, out_max);
    }
}

/* Starts the child; on failure out says which step failed. */
static pid_t start(const struct spawn_req *rq, int in, int out_fd, struct sbuf *out)
{
    struct child x = {rq, NULL, in, out_fd, 0, NULL};
    pid_t pid;

    x.path = spawn_find(rq->argv[0], rq->envp);
    if (!x.path) {
        sbuf_addf(out, "%s: no such executable", rq->argv[0]);
        return -ENOENT;
    }
    pid = spawn_clone(child_main, &x, rq->sandbox ? sandbox_clone_flags(rq->sandbox) : 0);
    if (pid < 0) {
        sbuf_addf(out, "clone");
    } else if (x.err) {
        waitpid(pid, NULL, 0);
        sbuf_addf(out, "%s%s", rq->sandbox && strcmp(x.step, "exec") ? "sandbox: " : "", x.step);
        pid = -x.err;
    }
    free(x.path);
    return pid;
}

int spawn_run(const struct spawn_req *rq, struct sbuf *out, int *status)
{
    int in_pipe[2], out_pipe[2], r;
    struct io io;
    pid_t pid;

    if (pipe2(in_pipe, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(out_pipe, O_CLOEXEC) < 0) {
        r = -errno;
        goto close_in;
    }
    pid = start(rq, in_pipe[0], out_pipe[1], out);
    close(in_pipe[0]);
    close(out_pipe[1]);
    in_pipe[0] = out_pipe[1] = -1;
    if (pid < 0) {
        r = pid;
        goto close_out;
    }
    io = (struct io){.in = in_pipe[1],
                     .out = out_pipe[0],
                     .pidfd = pidfd_open(pid, 0),
                     .input = rq->input ? rq->input : "",
                     .input_left = rq->input ? strlen(rq->input) : 0};
    fcntl(io.in, F_SETFL, O_NONBLOCK);
    fcntl(io.out, F_SETFL, O_NONBLOCK);
    if (io.input_left == 0) {
        close(io.in);
        io.in = -1;
    }
    r = io.pidfd < 0 ? -errno : pump(&io, mono_ms() + rq->timeout_ms, out, rq->out_max);
    if (r)
        kill(-pid, SIGKILL);
    waitpid(pid, status, 0);
    drain(io.out, out, rq->out_max);
    if (io.pidfd >= 0)
        close(io.pidfd);
    in_pipe[1] = io.in;
close_out:
    close(out_pipe[0]);
close_in:
    if (in_pipe[0] >= 0)
        close(in_pipe[0]);
    if (in_pipe[1] >= 0)
        close(in_pipe[1]);
    return r;
}

char *spawn_status_str(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "ended with wait status %d", status);
    return buf;
}
