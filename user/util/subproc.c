// SPDX-License-Identifier: GPL-2.0
/* Running the mail server's tools; see subproc.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/subproc.h"

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Feeds input and collects output until both are done or the deadline passes. */
static int pump(int in_fd, const char *input, int out_fd, char *out, size_t outlen,
		long long deadline)
{
	size_t in_left = input ? strlen(input) : 0, got = 0;
	struct pollfd p[2];
	char sink[4096], *dst;
	ssize_t n;
	int left, err = 0;

	if (!in_left && in_fd >= 0) {
		close(in_fd);
		in_fd = -1;
	}
	while (out_fd >= 0) {
		left = (int)(deadline - now_ms());
		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		p[0] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = in_fd, .events = POLLOUT };
		if (poll(p, in_fd >= 0 ? 2 : 1, left) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		/* Non-blocking: a tool that reads no more cannot hold us past the deadline. */
		if (in_fd >= 0 && p[1].revents) {
			n = write(in_fd, input, in_left);
			if (n > 0) {
				input += n;
				in_left -= (size_t)n;
			}
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || !in_left) {
				close(in_fd);
				in_fd = -1;
			}
		}
		if (p[0].revents) {
			/* Past what out holds, the rest is read and dropped. */
			dst = out && got + 1 < outlen ? out + got : sink;
			n = read(out_fd, dst, dst == sink ? sizeof(sink) : outlen - 1 - got);
			if (n > 0 && dst != sink)
				got += (size_t)n;
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				close(out_fd);
				out_fd = -1;
			}
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (out && outlen)
		out[got] = '\0';
	return err;
}

/*
 * pid reaped into *status by deadline: 0; -ETIMEDOUT, not reaped, past it;
 * -EAGAIN when it cannot be asked without waiting (the caller waits).
 */
static int wait_until(pid_t pid, int *status, long long deadline)
{
	useconds_t nap = 500;
	pid_t got;

	for (;; nap = nap < 20000 ? 2 * nap : nap) {
		got = waitpid(pid, status, WNOHANG);
		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -EAGAIN;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(nap);
	}
}

/*
 * The program in a process group of its own, so that a timeout kills what it
 * started too (a script's sleep); with no signal blocked and SIGPIPE at its
 * default, whatever the calling thread blocks or ignores.
 */
static void spawn_attr(posix_spawnattr_t *attr)
{
	sigset_t none, pipe;

	sigemptyset(&none);
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	posix_spawnattr_init(attr);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(attr, 0);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &pipe);
}

int sg_subproc_run(char *const argv[], const char *input, char *out, size_t outlen, int timeout_ms)
{
	int in[2] = { -1, -1 }, pipe_out[2] = { -1, -1 }, status, err, reaped = 0;
	long long deadline = now_ms() + timeout_ms;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid;

	if (out && outlen)
		out[0] = '\0';
	if (pipe2(in, O_CLOEXEC) || pipe2(pipe_out, O_CLOEXEC)) {
		err = -errno;
		goto close_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pipe_out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipe_out[1], 2);
	spawn_attr(&attr);
	err = -posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(pipe_out[1]);
	if (err) {
		close(in[1]);
		close(pipe_out[0]);
		return err;
	}
	/* A tool that dies early must not take us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	err = pump(in[1], input, pipe_out[0], out, outlen, deadline);
	/* Its output closed, it may run on: it has until the deadline all the same. */
	if (!err)
		err = wait_until(pid, &status, deadline);
	if (err == -ETIMEDOUT)
		kill(-pid, SIGKILL);
	if (err == -EAGAIN)
		err = 0;
	else if (!err)
		reaped = 1;
	while (!reaped && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (err)
		return err;
	if (WIFSIGNALED(status))
		return -EINTR;
	/* posix_spawnp reports a missing program as exit 127 from the child. */
	return WEXITSTATUS(status) == 127 ? -ENOENT : WEXITSTATUS(status);

close_pipes:
	if (in[0] >= 0) {
		close(in[0]);
		close(in[1]);
	}
	return err;
}

const char *sg_subproc_line(char *const argv[], char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; argv[i] && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
	return buf;
}
