// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/procs.h"

/*
 * The kernel prints each 32-bit word of an address with %08X from memory,
 * so the number read back, stored as a word on the same machine, has the
 * address's bytes in network order again.
 */
static int parse_addr(const char *hex, __u32 addr[4])
{
	size_t len = strlen(hex), i;
	char word[9];

	if (len != 8 && len != 32)
		return -EINVAL;
	memset(addr, 0, 4 * sizeof(addr[0]));
	if (len == 8)
		addr[2] = htonl(0xffff);
	for (i = 0; i < len / 8; i++) {
		memcpy(word, hex + 8 * i, 8);
		word[8] = '\0';
		addr[4 - len / 8 + i] = strtoul(word, NULL, 16);
	}
	return 0;
}

int sg_tcp_parse(const char *line, struct sg_tcp_sock *s)
{
	char local[33], remote[33];
	unsigned int lport, rport, state, uid;
	unsigned long long inode;

	/* sl: local remote st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode */
	if (sscanf(line,
		   " %*u: %32[0-9A-Fa-f]:%4x %32[0-9A-Fa-f]:%4x %2x %*x:%*x %*x:%*x %*x %u %*d "
		   "%llu",
		   local, &lport, remote, &rport, &state, &uid, &inode) != 7 ||
	    strlen(local) != strlen(remote) || parse_addr(local, s->local) ||
	    parse_addr(remote, s->remote))
		return -EINVAL;
	s->local_port = lport;
	s->remote_port = rport;
	s->state = state;
	s->uid = uid;
	s->inode = inode;
	return 0;
}

const char *sg_tcp_state_name(__u32 state)
{
	static const char *const names[] = {
		[1] = "established", [2] = "syn-sent",	[3] = "syn-recv", [4] = "fin-wait-1",
		[5] = "fin-wait-2",  [6] = "time-wait", [7] = "close",	  [8] = "close-wait",
		[9] = "last-ack",    [10] = "listen",	[11] = "closing", [12] = "new-syn-recv",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "unknown";
}

int sg_status_ruid(const char *status, __u32 *uid)
{
	const char *p = strncmp(status, "Uid:", 4) ? strstr(status, "\nUid:") : status;

	if (p && *p == '\n')
		p++;
	return p && sscanf(p + 4, "%u", uid) == 1 ? 0 : -EINVAL;
}

int sg_stat_parse(const char *stat, struct sg_proc_stat *st)
{
	/* comm is whatever the process named itself: the last ')' ends it. */
	const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	unsigned long long start;
	size_t len;
	int ppid;

	if (!open || !close || close < open ||
	    sscanf(close + 1,
		   " %*s %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%llu",
		   &ppid, &start) != 2)
		return -EINVAL;
	len = close - open - 1;
	if (len >= sizeof(st->comm))
		len = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, len);
	st->comm[len] = '\0';
	st->ppid = ppid;
	st->start_ticks = start;
	return 0;
}

int sg_socket_inode(const char *link, __u64 *inode)
{
	unsigned long long ino;
	int end = 0;

	if (sscanf(link, "socket:[%llu]%n", &ino, &end) != 1 || !end || link[end])
		return -EINVAL;
	*inode = ino;
	return 0;
}

/* The start of WHAT in the /proc directory at dfd, NUL-terminated; what is used is near the top. */
static int read_at(int dfd, const char *what, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n = 1;
	int fd = openat(dfd, what, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (used < len - 1 && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += n;
	if (n < 0)
		n = -errno;
	close(fd);
	buf[used] = '\0';
	return n < 0 ? n : 0;
}

/* The same of /proc/PID/WHAT. */
static int read_proc(int pid, const char *what, char *buf, size_t len)
{
	char path[64];
	int dfd, err;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	err = read_at(dfd, what, buf, len);
	close(dfd);
	return err;
}

int sg_proc_ruid_at(int dfd, __u32 *uid)
{
	char buf[4096];
	int err = read_at(dfd, "status", buf, sizeof(buf));

	return err ? err : sg_status_ruid(buf, uid);
}

int sg_proc_ruid(int pid, __u32 *uid)
{
	char buf[4096];
	int err = read_proc(pid, "status", buf, sizeof(buf));

	return err ? err : sg_status_ruid(buf, uid);
}

int sg_proc_stat(int pid, struct sg_proc_stat *st)
{
	char buf[1024];
	int err = read_proc(pid, "stat", buf, sizeof(buf));

	return err ? err : sg_stat_parse(buf, st);
}

int sg_proc_tasks(int pid, int (*fn)(int tid, void *ctx), void *ctx)
{
	struct dirent *de;
	char path[64], *end;
	int err = 0;
	long tid;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		tid = strtol(de->d_name, &end, 10);
		if (!*end && tid > 0)
			err = fn((int)tid, ctx);
	}
	closedir(d);
	return err;
}

int sg_task_netns(int pid, int tid, __u64 *ino)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/ns/net", pid, tid);
	if (stat(path, &sb))
		return -errno;
	*ino = sb.st_ino;
	return 0;
}

int sg_task_sockets(int pid, int tid, unsigned long *budget, int (*fn)(__u64 inode, void *ctx),
		    void *ctx)
{
	char path[64], link[64];
	struct dirent *de;
	__u64 inode;
	int err = 0;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/fd", pid, tid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!*budget) {
			err = -E2BIG;
			break;
		}
		--*budget;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n < 0)
			continue; /* an fd closed since */
		link[n] = '\0';
		if (!sg_socket_inode(link, &inode))
			err = fn(inode, ctx);
	}
	closedir(d);
	return err;
}

int sg_task_tcp(int pid, int tid, int (*fn)(const struct sg_tcp_sock *s, void *ctx), void *ctx)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	struct sg_tcp_sock s;
	char path[64], *line = NULL;
	size_t cap = 0, i;
	int err = 0;
	FILE *f;

	for (i = 0; i < 2 && !err; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/net/%s", pid, tid, tables[i]);
		f = fopen(path, "re");
		if (!f) {
			/* No tcp6 in a kernel booted with IPv6 disabled. */
			if (i == 0 || errno != ENOENT)
				err = -errno;
			break;
		}
		while (!err && getline(&line, &cap, f) > 0)
			if (!sg_tcp_parse(line, &s))
				err = fn(&s, ctx);
		if (!err && ferror(f))
			err = -EIO;
		fclose(f);
	}
	free(line);
	return err;
}
