/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Processes and their TCP sockets, as /proc shows them: the parsers are pure
 * (unit-tested on captured text), the readers take a pid. Functions return
 * -errno; a process that is gone gives -ENOENT or -ESRCH.
 */
#ifndef SG_PROCS_H
#define SG_PROCS_H

#include <stddef.h>
#include <linux/types.h>

/* One line of /proc/PID/net/tcp or tcp6. */
struct sg_tcp_sock {
	__u32 local[4]; /* network order, IPv4 mapped, as in smtpguard.h */
	__u32 remote[4];
	__u16 local_port; /* host order */
	__u16 remote_port;
	__u32 state; /* TCP_ESTABLISHED (1) ... TCP_NEW_SYN_RECV (12) */
	__u32 uid;   /* the socket's creator, not necessarily who holds it now */
	__u64 inode; /* 0: no file (time-wait, request and orphaned sockets) */
};

#define SG_TCP_LISTEN 0x0a
#define SG_TCP_CLOSE  0x07

/*
 * Parses one line of /proc/net/tcp or tcp6 (the kernel prints addresses as
 * 32-bit words in host order, ports in hex). -EINVAL for the header line or
 * anything malformed.
 */
int sg_tcp_parse(const char *line, struct sg_tcp_sock *s);

/* "established", "syn-sent"...: the kernel's state names, lower case. */
const char *sg_tcp_state_name(__u32 state);

/* The real UID: the first field of "Uid:" in the text of /proc/PID/status. */
int sg_status_ruid(const char *status, __u32 *uid);

struct sg_proc_stat {
	char comm[16];
	int ppid;
	__u64 start_ticks; /* field 22: clock ticks since boot (CLOCK_BOOTTIME) */
};

/* The text of /proc/PID/stat, whose comm may hold spaces and parentheses. */
int sg_stat_parse(const char *stat, struct sg_proc_stat *st);

/* "socket:[12345]" is 12345; anything else -EINVAL. */
int sg_socket_inode(const char *link, __u64 *inode);

/* The same, read from /proc/PID. */
int sg_proc_ruid(int pid, __u32 *uid);
/* The real UID of the process whose /proc directory is open at dfd: reads of one process only. */
int sg_proc_ruid_at(int dfd, __u32 *uid);
int sg_proc_stat(int pid, struct sg_proc_stat *st);

/*
 * Calls fn with each thread id of the process, until fn returns non-zero.
 * A thread may hold a descriptor table and a network namespace of its own
 * (unshare), and the process lives on after its leader exits while another
 * thread runs: the leader, a zombie then, shows neither. What a process
 * holds is what its threads hold.
 */
int sg_proc_tasks(int pid, int (*fn)(int tid, void *ctx), void *ctx);

/* The inode of the network namespace of thread TID of process PID. */
int sg_task_netns(int pid, int tid, __u64 *ino);

/*
 * Calls fn for each socket in the thread's descriptor table, until fn
 * returns non-zero. Each descriptor read takes one from *budget: with none
 * left the search stops, -E2BIG.
 */
int sg_task_sockets(int pid, int tid, unsigned long *budget, int (*fn)(__u64 inode, void *ctx),
		    void *ctx);

/* Calls fn for each TCP socket of the thread's network namespace, IPv4 and IPv6. */
int sg_task_tcp(int pid, int tid, int (*fn)(const struct sg_tcp_sock *s, void *ctx), void *ctx);

#endif
