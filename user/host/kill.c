// SPDX-License-Identifier: GPL-2.0
/*
 * Killing a UID's senders: the processes of one UID that hold SMTP
 * connections, or were seen connecting to an SMTP port within the last
 * minute; a connection counts whichever thread's descriptor table holds it.
 * Chosen by real UID, never by name, a sub-UID (sg_subuids) counting as its
 * range's owner, as the hooks police it; and signalled through pidfds,
 * so that a pid reused meanwhile is never hit. The kill command and the
 * daemon's kill response share it.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/kcmp.h>

#include "host/attrib.h"
#include "host/kill.h"
#include "kern/maps.h"
#include "util/procs.h"
#include "util/render.h"
#include "sg_bucket.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "kern/subuids.h"
#include "util/log.h"

/* A process refused in a connect loop holds no socket: what the hooks saw this recently counts. */
#define RECENT_NS (60 * SG_NS_PER_SEC)

struct vec {
	void *items;
	size_t n, cap;
};

/* A zeroed slot at the end; NULL when out of memory. */
static void *vec_push(struct vec *v, size_t size)
{
	size_t cap = v->cap ? v->cap * 2 : 64;
	void *p;

	if (v->n == v->cap) {
		p = realloc(v->items, cap * size);
		if (!p)
			return NULL;
		v->items = p;
		v->cap = cap;
	}
	p = (char *)v->items + v->n++ * size;
	memset(p, 0, size);
	return p;
}

/* One thread of a process of the UID: threads may differ in descriptor table and namespace. */
struct cand {
	int pid, tid;
	__u32 ruid; /* the process's: the target's, or one of its sub-UIDs */
	__u64 netns;
	struct sg_proc_stat st; /* the process's */
};

/* An SMTP connection in a thread's descriptor table; tables holding the same socket repeat it. */
struct held {
	int pid;
	__u32 ruid;
	struct sg_proc_stat st;
	struct sg_tcp_sock sock;
};

struct victim {
	int pid;
	__u32 ruid;
	struct sg_proc_stat st;	 /* when chosen: the process signalled must still match */
	struct sg_tcp_sock sock; /* the SMTP connection it holds with the lowest inode */
	int n_socks;		 /* 0: seen connecting, holds none */
};

struct kill_ctx {
	__u32 uid;
	int subuids; /* sg_subuids, or -1: none loaded, each UID is its own */
	struct sg_kill_scan scan;
	__u8 watched[SG_PORT_BITS]; /* outbound ports, a bit each */
	struct vec cands;	    /* struct cand: the UID's processes */
	struct vec socks;     /* struct sg_tcp_sock: SMTP connections of one netns, by inode */
	struct vec held;      /* struct held */
	struct vec victims;   /* struct victim */
	struct vec searched;  /* int: threads of one process whose tables were searched */
	unsigned long budget; /* descriptors still to read and tables to compare */
};

struct proc {
	struct kill_ctx *k;
	struct cand c;
};

static int add_task(int tid, void *ctx)
{
	struct proc *p = ctx;
	struct cand *slot;

	/* A zombie leader, or a thread gone since the listing, shows no namespace. */
	p->c.tid = tid;
	if (sg_task_netns(p->c.pid, tid, &p->c.netns))
		return 0;
	slot = vec_push(&p->k->cands, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = p->c;
	return 0;
}

/* The real UID of the process is the target's or one of its sub-UIDs: 0 with *ruid set. */
static int target_ruid(const struct kill_ctx *k, int pid, __u32 *ruid)
{
	int err = sg_proc_ruid(pid, ruid);

	if (err)
		return err;
	return sg_subuids_owner(k->subuids, *ruid) == k->uid ? 0 : -ESRCH;
}

/* Every thread of every process whose real UID is the target's or a sub-UID of it. */
static int find_candidates(struct kill_ctx *k)
{
	struct dirent *de;
	struct proc p = { .k = k };
	DIR *d = opendir("/proc");
	int err = 0;
	char *end;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		p.c.pid = strtol(de->d_name, &end, 10);
		/* Not the UID's, or gone since readdir. */
		if (*end || p.c.pid <= 0 || target_ruid(k, p.c.pid, &p.c.ruid) ||
		    sg_proc_stat(p.c.pid, &p.c.st))
			continue;
		err = sg_proc_tasks(p.c.pid, add_task, &p);
		if (err != -ENOMEM)
			err = 0; /* gone since */
	}
	closedir(d);
	return err;
}

static int collect_sock(const struct sg_tcp_sock *s, void *ctx)
{
	struct kill_ctx *k = ctx;
	struct sg_tcp_sock *slot;

	/* Inode 0: time-wait, request or orphaned sockets, which no process holds. */
	if (!s->inode || s->state == SG_TCP_LISTEN || s->state == SG_TCP_CLOSE ||
	    !sg_port_watched(k->watched, s->remote_port))
		return 0;
	slot = vec_push(&k->socks, sizeof(*s));
	if (!slot)
		return -ENOMEM;
	*slot = *s;
	return 0;
}

static int by_inode(const void *a, const void *b)
{
	const struct sg_tcp_sock *x = a, *y = b;

	return (x->inode > y->inode) - (x->inode < y->inode);
}

/* By namespace, then process, leader first: the thread the others' tables are compared to first. */
static int by_netns_pid(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->netns != y->netns)
		return (x->netns > y->netns) - (x->netns < y->netns);
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	if ((x->tid == x->pid) != (y->tid == y->pid))
		return x->tid == x->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/*
 * Threads share a descriptor table unless one unshared it: a table searched
 * once is searched for all, or the customer's thread count would multiply
 * the work. kcmp failing (no CAP_SYS_PTRACE, no CONFIG_KCMP, a thread gone)
 * says nothing: then the thread's table is searched. Each comparison takes
 * one from the budget, as a descriptor read does.
 */
static int table_searched(struct kill_ctx *k, int tid)
{
	const int *searched = k->searched.items;
	size_t i;

	for (i = 0; i < k->searched.n && k->budget; i++) {
		k->budget--;
		if (!syscall(SYS_kcmp, searched[i], tid, KCMP_FILES, 0, 0))
			return 1;
	}
	return 0;
}

struct holder {
	struct kill_ctx *k;
	const struct cand *c;
};

static int match_sock(__u64 inode, void *ctx)
{
	struct holder *h = ctx;
	struct sg_tcp_sock key = { .inode = inode };
	const struct sg_tcp_sock *s =
		bsearch(&key, h->k->socks.items, h->k->socks.n, sizeof(key), by_inode);
	struct held *slot;

	if (!s)
		return 0;
	slot = vec_push(&h->k->held, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = (struct held){ .pid = h->c->pid, .ruid = h->c->ruid, .st = h->c->st, .sock = *s };
	return 0;
}

static int add_victim(struct kill_ctx *k, const struct victim *v)
{
	struct victim *slot = vec_push(&k->victims, sizeof(*v));

	if (!slot)
		return -ENOMEM;
	*slot = *v;
	return 0;
}

/* Candidates in [first, last) share a network namespace, hence one TCP table. */
static int find_holders(struct kill_ctx *k, const struct cand *first, const struct cand *last)
{
	struct holder h = { .k = k };
	int err = -ENOENT, *tid;

	/* Any thread still alive can show the table. */
	for (h.c = first; h.c < last && (err == -ENOENT || err == -ESRCH); h.c++) {
		k->socks.n = 0;
		err = sg_task_tcp(h.c->pid, h.c->tid, collect_sock, k);
	}
	if (err)
		return err == -ENOENT || err == -ESRCH ? 0 : err;
	qsort(k->socks.items, k->socks.n, sizeof(struct sg_tcp_sock), by_inode);
	for (h.c = first; h.c < last; h.c++) {
		/* A new process: none of its tables searched yet. */
		if (h.c == first || h.c[-1].pid != h.c->pid)
			k->searched.n = 0;
		if (table_searched(k, h.c->tid))
			continue;
		if (!k->budget)
			err = -E2BIG;
		else
			err = sg_task_sockets(h.c->pid, h.c->tid, &k->budget, match_sock, &h);
		if (err == -E2BIG) {
			k->scan.unsearched += last - h.c;
			return err;
		}
		if (err == -ENOMEM)
			return err;
		/* Anything else: the thread is gone, and its table with it unless shared. */
		if (err)
			continue;
		k->scan.tables++;
		tid = vec_push(&k->searched, sizeof(*tid));
		if (!tid)
			return -ENOMEM;
		*tid = h.c->tid;
	}
	return 0;
}

static int by_pid_inode(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->sock.inode > y->sock.inode) - (x->sock.inode < y->sock.inode);
}

/* A victim per process holding a connection, each connection counted once. */
static int holders_to_victims(struct kill_ctx *k)
{
	const struct held *h = k->held.items;
	struct victim v;
	size_t i, j;
	int err = 0;

	qsort(k->held.items, k->held.n, sizeof(*h), by_pid_inode);
	for (i = 0; i < k->held.n && !err; i = j) {
		v = (struct victim){
			.pid = h[i].pid, .ruid = h[i].ruid, .st = h[i].st, .sock = h[i].sock
		};
		for (j = i; j < k->held.n && h[j].pid == h[i].pid; j++)
			v.n_socks += j == i || h[j].sock.inode != h[j - 1].sock.inode;
		err = add_victim(k, &v);
	}
	return err;
}

static const struct victim *find_victim(const struct kill_ctx *k, int pid)
{
	const struct victim *v = k->victims.items;
	size_t i;

	for (i = 0; i < k->victims.n; i++)
		if (v[i].pid == pid)
			return &v[i];
	return NULL;
}

struct senders {
	struct kill_ctx *k;
	__u64 now;
	__u64 tick_ns;
};

static int sender_entry(const void *key, const void *value, void *ctx)
{
	const struct sg_sender_key *sk = key;
	const struct sg_sender *s = value;
	struct senders *w = ctx;
	struct victim v = { .pid = sk->tgid };

	/* The hooks key a sub-UID's connects by its owner. */
	if (sk->uid != w->k->uid || s->last_ns + RECENT_NS < w->now || find_victim(w->k, v.pid) ||
	    target_ruid(w->k, v.pid, &v.ruid) || sg_proc_stat(v.pid, &v.st))
		return 0;
	/*
	 * Started after the last connect seen (the hooks' time of it may be
	 * SG_HOOK_CLOCK_SLACK_NS behind): the pid was reused since. Not
	 * first_ns: the entry outlives its process, and a new process of the
	 * same UID reusing the pid keeps the old first_ns.
	 */
	if (v.st.start_ticks * w->tick_ns > s->last_ns + w->tick_ns + SG_HOOK_CLOCK_SLACK_NS)
		return 0;
	return add_victim(w->k, &v);
}

static int find_senders(struct kill_ctx *k)
{
	struct senders w = { .k = k,
			     .now = sg_boot_ns(),
			     .tick_ns = SG_NS_PER_SEC / sysconf(_SC_CLK_TCK) };
	int fd = sg_pin_open(SG_MAP_SENDERS), err;

	/* Nothing attached: no connect was seen, and sockets are all there is to go by. */
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	err = sg_map_for_each(fd, sender_entry, &w);
	close(fd);
	return err;
}

static int find_victims(struct kill_ctx *k)
{
	struct cand *c;
	size_t i, j;
	int err;

	err = sg_watched_ports(k->watched);
	if (!err)
		err = find_candidates(k);
	if (err)
		return err;
	c = k->cands.items;
	k->scan.threads = k->cands.n;
	qsort(c, k->cands.n, sizeof(*c), by_netns_pid);
	for (i = 0; i < k->cands.n && !err; i = j) {
		for (j = i + 1; j < k->cands.n && c[j].netns == c[i].netns; j++)
			;
		err = find_holders(k, &c[i], &c[j]);
	}
	/*
	 * Out of budget: the threads left unsearched are counted, and what
	 * was found is still killed.
	 */
	if (err == -E2BIG) {
		k->scan.unsearched += k->cands.n - j;
		sg_warn("kill of uid %u: search stopped after %lu descriptors read and tables "
			"compared; %u threads not searched",
			k->uid, SG_KILL_BUDGET, k->scan.unsearched);
		err = 0;
	}
	if (!err)
		err = holders_to_victims(k);
	return err ? err : find_senders(k);
}

/* This command, the shells and sudo that started it, and init. */
static int protected(int pid)
{
	struct sg_proc_stat st;
	int p = getpid();

	while (p > 1 && p != pid && !sg_proc_stat(p, &st))
		p = st.ppid;
	return pid <= 1 || p == pid;
}

static int kill_one(const struct kill_ctx *k, const struct victim *v)
{
	struct sg_proc_stat st;
	__u32 now_uid;
	int fd, err = 0;

	fd = syscall(SYS_pidfd_open, v->pid, 0);
	if (fd < 0)
		return -errno;
	/*
	 * The pidfd stays the process it was opened on. Signal 0 succeeding after
	 * /proc/PID was read means that process was alive throughout, so what was
	 * read was its own: the same UID, and the same start as when chosen.
	 */
	if (sg_proc_ruid(v->pid, &now_uid) || sg_proc_stat(v->pid, &st) || now_uid != v->ruid ||
	    sg_subuids_owner(k->subuids, now_uid) != k->uid || st.start_ticks != v->st.start_ticks)
		err = -ESRCH;
	else if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) ||
		 syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0))
		err = -errno;
	close(fd);
	return err;
}

static void print_killed(const struct victim *v, __u32 uid)
{
	const struct sg_tcp_sock *s = &v->sock;
	int v4 = !s->remote[0] && !s->remote[1] && s->remote[2] == htonl(0xffff);
	char addr[INET6_ADDRSTRLEN], comm[SG_ESCAPED_LEN(sizeof(v->st.comm))], name[64];

	printf("killed pid %d (%s) uid %u", v->pid, sg_printable(v->st.comm, comm, sizeof(comm)),
	       v->ruid);
	if (v->ruid != uid) {
		if (sg_user_name(uid, name, sizeof(name)))
			snprintf(name, sizeof(name), "uid %u", uid);
		printf(" (sub-UID of %s)", name);
	}
	printf(": ");
	if (!v->n_socks) {
		printf("connecting (recent connect to a watched port)\n");
		return;
	}
	sg_format_addr(s->remote, addr, sizeof(addr));
	printf(v4 ? "%s:%u %s" : "[%s]:%u %s", addr, s->remote_port, sg_tcp_state_name(s->state));
	if (v->n_socks > 1)
		printf(" (+%d more)", v->n_socks - 1);
	printf("\n");
}

static int by_pid(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	return x->pid - y->pid;
}

int sg_kill_senders(__u32 uid, int print, json_t *pids, struct sg_kill_scan *scan)
{
	struct kill_ctx k = { .uid = uid,
			      .subuids = sg_pin_open(SG_MAP_SUBUIDS),
			      .budget = SG_KILL_BUDGET };
	const struct victim *v;
	char comm[SG_ESCAPED_LEN(16)];
	int err, failed = 0, killed = 0;
	size_t i;

	err = find_victims(&k);
	if (err) {
		failed = err;
		goto cleanup;
	}
	v = k.victims.items;
	qsort(k.victims.items, k.victims.n, sizeof(*v), by_pid);
	for (i = 0; i < k.victims.n; i++) {
		if (protected(v[i].pid)) {
			sg_info("not killing pid %d (%s): it runs this command", v[i].pid,
				sg_printable(v[i].st.comm, comm, sizeof(comm)));
			continue;
		}
		err = kill_one(&k, &v[i]);
		/* Gone by itself, or no longer the process chosen: nothing to kill. */
		if (err == -ESRCH)
			continue;
		if (err) {
			sg_error("killing pid %d: %s", v[i].pid, strerror(-err));
			failed = err;
			continue;
		}
		if (print)
			print_killed(&v[i], k.uid);
		json_array_append_new(pids, json_integer(v[i].pid));
		killed++;
	}
cleanup:
	if (scan)
		*scan = k.scan;
	if (k.subuids >= 0)
		close(k.subuids);
	free(k.cands.items);
	free(k.socks.items);
	free(k.held.items);
	free(k.victims.items);
	free(k.searched.items);
	return killed ? killed : failed;
}
