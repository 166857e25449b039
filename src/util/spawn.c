#include "util/spawn.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

static int start(char *const argv[], char *const envp[], int in_fd, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int r;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    r = posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -r;
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

int spawn_run(char *const argv[], char *const envp[], const char *input, unsigned timeout_ms,
              struct sbuf *out, size_t out_max, int *status)
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
    r = start(argv, envp, in_pipe[0], out_pipe[1], &pid);
    close(in_pipe[0]);
    close(out_pipe[1]);
    in_pipe[0] = out_pipe[1] = -1;
    if (r)
        goto close_out;
    io = (struct io){.in = in_pipe[1],
                     .out = out_pipe[0],
                     .pidfd = pidfd_open(pid, 0),
                     .input = input ? input : "",
                     .input_left = input ? strlen(input) : 0};
    fcntl(io.in, F_SETFL, O_NONBLOCK);
    fcntl(io.out, F_SETFL, O_NONBLOCK);
    if (io.input_left == 0) {
        close(io.in);
        io.in = -1;
    }
    r = io.pidfd < 0 ? -errno : pump(&io, mono_ms() + timeout_ms, out, out_max);
    if (r)
        kill(-pid, SIGKILL);
    waitpid(pid, status, 0);
    drain(io.out, out, out_max);
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
