// SPDX-License-Identifier: GPL-2.0
/*
 * Attribution of ring-buffer events: what process (/proc, PHP-FPM status
 * page) sent, and who (the account, account.c). The daemon calls this for
 * every event its budget allows (loop.c), the moment it reads it.
 *
 * Not thread-safe: the PHP-FPM back-off list is static, for the daemon's one loop.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/attrib.h"
#include "host/fpm.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "kern/subuids.h"
#include "util/procs.h"
#include "util/render.h"

/* PHP-FPM lookups: pools asked per event, and the time each and all may take. */
#define FPM_MAX_SOCKETS 32
#define FPM_SOCKET_MS	100
#define FPM_TOTAL_MS	250
/* A pool that timed out is busy (a spam run fills it): left alone this long. */
#define FPM_BACKOFF_NS	(30 * 1000000000ULL)
#define FPM_BACKOFF_MAX 64

/* The target of a /proc link, or -errno with buf "". */
static int read_link(int dfd, const char *name, char *buf, size_t len)
{
	ssize_t n = readlinkat(dfd, name, buf, len);

	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return n < 0 ? -errno : -ENAMETOOLONG;
	}
	buf[n] = '\0';
	return 0;
}

/* A small /proc file, NUL-terminated: the bytes read, or -errno. */
static ssize_t read_small(int dfd, const char *name, char *buf, size_t len)
{
	size_t pos = 0;
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	while (pos < len - 1) {
		n = read(fd, buf + pos, len - 1 - pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			buf[0] = '\0';
			return n;
		}
		if (!n)
			break;
		pos += n;
	}
	close(fd);
	buf[pos] = '\0';
	return pos;
}

/* The arguments joined by spaces; a retitled process (PHP-FPM) pads with NULs. */
static int read_cmdline(int dfd, char *buf, size_t len)
{
	ssize_t n = read_small(dfd, "cmdline", buf, len);
	ssize_t i;

	if (n < 0)
		return n;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return 0;
}

/*
 * Whether the process has exited: its /proc directory, held open, answers
 * ENOENT or ESRCH once the task is reaped; a zombie still answers, but has
 * neither exe nor cwd left. A kernel thread has no exe but has a cwd.
 */
static int exited(int e_exe, int e_cmdline, int e_cwd)
{
	return e_exe == -ESRCH || e_cmdline == -ESRCH || e_cwd == -ESRCH || e_cmdline == -ENOENT ||
	       (e_exe == -ENOENT && e_cwd == -ENOENT);
}

#define FPM_POOL_PREFIX "php-fpm: pool "

/*
 * Whether the process runs PHP-FPM's binary: its exe (the file itself, not
 * the title or comm, which any process can set) named php-fpm* and
 * installed by root, as a package puts it, not a copy a customer made.
 */
static int fpm_binary(int dfd, const char *exe)
{
	const char *base = strrchr(exe, '/');
	struct stat st;

	base = base ? base + 1 : exe;
	return !strncmp(base, "php-fpm", 7) && !fstatat(dfd, "exe", &st, 0) && st.st_uid == 0 &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/*
 * A PHP-FPM worker (the master runs no script): 1 with its pool's name in
 * pool, "" when its title does not say.
 */
static int fpm_worker(int dfd, const char *exe, const char *cmdline, char *pool, size_t len)
{
	pool[0] = '\0';
	if (!fpm_binary(dfd, exe) || !strncmp(cmdline, "php-fpm: master", 15))
		return 0;
	if (!strncmp(cmdline, FPM_POOL_PREFIX, strlen(FPM_POOL_PREFIX)))
		snprintf(pool, len, "%s", cmdline + strlen(FPM_POOL_PREFIX));
	return 1;
}

/* The pool's own sockets are likeliest to know the worker: they go first. */
static int pool_socket(const char *socket, const char *pool)
{
	const char *base = strrchr(socket, '/');

	return *pool && strstr(base ? base + 1 : socket, pool);
}

/*
 * Pools that timed out recently. The lookup runs in the daemon's one loop:
 * a saturated pool must not cost every event its full timeout.
 */
static struct {
	char socket[108];
	__u64 until;
} fpm_backoff[FPM_BACKOFF_MAX];

static int fpm_resting(const char *socket, __u64 now)
{
	size_t i;

	for (i = 0; i < FPM_BACKOFF_MAX; i++)
		if (fpm_backoff[i].until > now && !strcmp(fpm_backoff[i].socket, socket))
			return 1;
	return 0;
}

static void fpm_rest(const char *socket, __u64 now)
{
	size_t i, oldest = 0;

	for (i = 0; i < FPM_BACKOFF_MAX; i++)
		if (fpm_backoff[i].until < fpm_backoff[oldest].until)
			oldest = i;
	snprintf(fpm_backoff[oldest].socket, sizeof(fpm_backoff[oldest].socket), "%s", socket);
	fpm_backoff[oldest].until = now + FPM_BACKOFF_NS;
}

/*
 * Asks the pools (cfg->fpm_sockets: glob patterns of unix sockets, or
 * HOST:PORT taken as they are) until one knows the worker, within
 * FPM_MAX_SOCKETS pools and FPM_TOTAL_MS, skipping pools that timed out
 * in the last FPM_BACKOFF_NS.
 */
static void fpm_lookup(const struct sg_attrib_cfg *cfg, pid_t pid, const char *pool, char *script,
		       size_t len)
{
	__u64 deadline = sg_boot_ns() + FPM_TOTAL_MS * 1000000ULL, now;
	size_t n = 0, i, j, tried = 0;
	glob_t gl = { 0 };
	size_t n_pat = cfg->n_fpm > 0 ? cfg->n_fpm : 0, k;
	int globbed = 0, pass, left_ms, err;
	const char **cand;

	for (k = 0; k < n_pat; k++) {
		if (cfg->fpm_sockets[k][0] != '/')
			continue;
		/* No match (or no memory) leaves gl as it was: the patterns before still count. */
		glob(cfg->fpm_sockets[k], globbed ? GLOB_APPEND : 0, NULL, &gl);
		globbed = 1;
	}
	cand = calloc(gl.gl_pathc + n_pat, sizeof(*cand));
	if (!cand)
		goto out;
	for (i = 0; i < gl.gl_pathc; i++)
		if (sg_fpm_socket_trusted(gl.gl_pathv[i]))
			cand[n++] = gl.gl_pathv[i];
	for (k = 0; k < n_pat; k++)
		if (cfg->fpm_sockets[k][0] != '/')
			cand[n++] = cfg->fpm_sockets[k];

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (pool_socket(cand[i], pool) != (pass == 0))
				continue;
			/* Patterns may overlap: ask each pool once. */
			for (j = 0; j < i && strcmp(cand[j], cand[i]); j++)
				;
			if (j < i)
				continue;
			now = sg_boot_ns();
			if (fpm_resting(cand[i], now))
				continue;
			if (tried++ == FPM_MAX_SOCKETS || now >= deadline)
				goto out;
			left_ms = (deadline - now + 999999) / 1000000;
			err = sg_fpm_script(cand[i], cfg->fpm_status_path, pid, script, len,
					    left_ms < FPM_SOCKET_MS ? left_ms : FPM_SOCKET_MS);
			if (!err)
				goto out;
			if (err == -ETIMEDOUT)
				fpm_rest(cand[i], sg_boot_ns());
		}
	}
out:
	free(cand);
	if (globbed)
		globfree(&gl);
}

/*
 * Whether the process at the pid started after ts_ns (CLOCK_BOOTTIME, as
 * /proc/PID/stat's start time is, taken by the connect hooks: up to
 * SG_HOOK_CLOCK_SLACK_NS behind): then the pid was reused, and this is not
 * the process the event saw.
 */
static int started_after(int dfd, __u64 ts_ns)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct sg_proc_stat st;
	char buf[1024];
	__u64 start_ns;

	if (hz <= 0 || read_small(dfd, "stat", buf, sizeof(buf)) <= 0 || sg_stat_parse(buf, &st))
		return 0;
	/* Ticks round the start down: a process started before ts_ns never looks newer. */
	start_ns = st.start_ticks * (1000000000ULL / hz);
	return start_ns > ts_ns && start_ns - ts_ns > SG_HOOK_CLOCK_SLACK_NS;
}

/*
 * With uid given, whether the process does not run as that UID or one of
 * its sub-UIDs (policed as uid), or cannot be read: its pid is then another
 * process's, maybe another customer's, taken within the start-time check's
 * slack, and nothing of it is shown as the event's. Owners compare, not
 * real UIDs: a thread of the process may have connected as another of its
 * owner's sub-UIDs.
 */
static int another_users(int dfd, const __u32 *uid)
{
	__u32 ruid;
	int subuids, other;

	if (!uid)
		return 0;
	if (sg_proc_ruid_at(dfd, &ruid))
		return 1;
	subuids = sg_pin_open(SG_MAP_SUBUIDS);
	other = sg_subuids_owner(subuids, ruid) != *uid;
	if (subuids >= 0)
		close(subuids);
	return other;
}

/* Interpreters whose first argument that is no option is the script they run. */
static int interpreter(const char *exe)
{
	static const char *const names[] = { "php", "perl", "python", "ruby", "node",
					     "bash", "dash", "sh" };
	const char *base = strrchr(exe, '/');
	size_t i, n;

	base = base ? base + 1 : exe;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		/* php8.2, python3, perl5.36: a version may follow; php-fpm is no interpreter. */
		if (!strncmp(base, names[i], n) &&
		    (!base[n] || strchr(". ", base[n]) || isdigit((unsigned char)base[n])))
			return 1;
	}
	return 0;
}

/*
 * The script an interpreter runs, from its raw arguments, made absolute
 * with cwd: "php -d x=1 wp-content/uploads/x.php" gives cwd/wp-content/...
 * Inline code (-e, -r, -c for sh) or a module (-m) is no script: "".
 */
static void interpreter_script(int dfd, const char *cwd, char *script, size_t len)
{
	static const char *const takes_value[] = { "-d", "-z", "-W", "-X", "-I", "-o" };
	static const char *const no_script[] = { "-e", "-r", "-m", "-c", "-E", "-B", "-R" };
	char buf[4096];
	ssize_t n = read_small(dfd, "cmdline", buf, sizeof(buf));
	const char *arg, *end = buf + (n > 0 ? n : 0), *prev = "";
	size_t i;

	script[0] = '\0';
	if (n <= 0)
		return;
	for (arg = buf + strlen(buf) + 1; arg < end; prev = arg, arg += strlen(arg) + 1) {
		for (i = 0; i < sizeof(no_script) / sizeof(no_script[0]); i++)
			if (!strcmp(arg, no_script[i]))
				return;
		if (*arg == '-' && strcmp(arg, "-"))
			continue;
		for (i = 0; i < sizeof(takes_value) / sizeof(takes_value[0]); i++)
			if (!strcmp(prev, takes_value[i]))
				break;
		if (i < sizeof(takes_value) / sizeof(takes_value[0]) || !*arg || !strcmp(arg, "-"))
			continue;
		/* A path cut short would name another file: none rather than a wrong one. */
		if ((size_t)snprintf(script, len, "%s%s%s", *arg == '/' ? "" : cwd,
				     *arg == '/' || !*cwd || cwd[strlen(cwd) - 1] == '/' ? "" : "/",
				     arg) >= len)
			script[0] = '\0';
		return;
	}
}

/*
 * Whether the process open at dfd was reaped since it was read: its pid
 * then free for another process to take. Reads through dfd fail once it is.
 */
static int reaped(int dfd)
{
	char buf[64];

	return read_small(dfd, "cmdline", buf, sizeof(buf)) < 0;
}

/*
 * The process at tgid, if it is one that already ran at ts_ns and, when uid
 * is given, is that UID's (see another_users).
 */
static void process_at(const struct sg_attrib_cfg *cfg, __u32 tgid, const __u32 *uid, __u64 ts_ns,
		       struct sg_sender_info *out)
{
	char path[PATH_MAX], pool[64];
	int dfd, e_exe, e_cmdline, e_cwd;

	out->tgid = tgid;
	out->gone = 0;
	out->exe[0] = out->cmdline[0] = out->cwd[0] = out->script[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/%u", cfg->proc ? cfg->proc : "/proc", tgid) >=
	    sizeof(path))
		return;
	/* One directory for every read: they all see the same process, or none. */
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		out->gone = errno == ENOENT || errno == ESRCH;
		return;
	}
	e_exe = read_link(dfd, "exe", out->exe, sizeof(out->exe));
	e_cmdline = read_cmdline(dfd, out->cmdline, sizeof(out->cmdline));
	e_cwd = read_link(dfd, "cwd", out->cwd, sizeof(out->cwd));
	if (exited(e_exe, e_cmdline, e_cwd) || started_after(dfd, ts_ns) ||
	    another_users(dfd, uid)) {
		out->gone = 1;
		out->exe[0] = out->cmdline[0] = out->cwd[0] = '\0';
	} else if (cfg->fpm_status_path && *cfg->fpm_status_path &&
		   fpm_worker(dfd, out->exe, out->cmdline, pool, sizeof(pool))) {
		if (!cfg->fpm_quota || sg_quota_take(cfg->fpm_quota, uid ? *uid : 0))
			fpm_lookup(cfg, tgid, pool, out->script, sizeof(out->script));
		/* Asked by pid number, for up to 250 ms: was that pid still this worker's? */
		if (reaped(dfd))
			out->script[0] = '\0';
	} else if (interpreter(out->exe)) {
		interpreter_script(dfd, out->cwd, out->script, sizeof(out->script));
	}
	close(dfd);
}

void sg_attrib_process(const struct sg_attrib_cfg *cfg, __u32 tgid, struct sg_sender_info *out)
{
	process_at(cfg, tgid, NULL, UINT64_MAX, out);
}

void sg_attrib_resolve(const struct sg_attrib_cfg *cfg, const struct sg_event *e,
		       struct sg_sender_info *out)
{
	out->ts_ns = e->ts_ns;
	out->kind = e->kind;
	out->verdict = e->verdict;
	out->uid = e->uid;
	out->real_uid = e->real_uid;
	out->flags = e->flags;
	out->gid = e->gid;
	out->pid = e->pid;
	out->tgid = e->tgid;
	memcpy(out->addr, e->addr, sizeof(out->addr));
	out->port = e->port;
	memcpy(out->comm, e->comm, sizeof(out->comm));
	out->comm[sizeof(out->comm) - 1] = '\0';
	/* The process can exit at any moment; the account cannot. */
	process_at(cfg, e->tgid, &e->uid, e->ts_ns, out);
	sg_attrib_account(cfg, e->uid, out);
}

static const char *kind_name(__u32 kind)
{
	switch (kind) {
	case SG_EV_NEW_SENDER:
		return "new_sender";
	case SG_EV_DENIED:
		return "denied";
	}
	return NULL;
}

/* Why the process is not in sg_senders, for JSON; NULL: it is. */
static const char *unrecorded_name(__u32 flags)
{
	if (flags & SG_EVENT_UNRECORDED_QUOTA)
		return "process_quota";
	if (flags & SG_EVENT_UNRECORDED_FULL)
		return "no_room";
	return NULL;
}

/* The domains field as an array of its words ("..." last when it was cut). */
static json_t *domains_json(const char *domains)
{
	json_t *a = json_array();
	const char *p = domains;
	size_t n;

	while (a && *p) {
		n = strcspn(p, " ");
		if (json_array_append_new(a, json_stringn(p, n))) {
			json_decref(a);
			return NULL;
		}
		p += n + (p[n] == ' ');
	}
	return a;
}

/*
 * {"ts_ns": 123, "kind": "new_sender" | "denied", "verdict": "allow" | "deny",
 *  "not_recorded": null | "process_quota" | "no_room",
 *  "uid": 1001, "gid": 1001, "pid": 4243, "tgid": 4242,
 *  "destination": "203.0.113.5", "port": 25, "comm": "php-fpm8.2",
 *  "user": "bob", "account": "bob", "owner": "res1", "panel": "cpanel",
 *  "domains": ["example.com", "www.example.org"],
 *  "process": {"gone": false, "exe": "/usr/sbin/php-fpm8.2",
 *              "cmdline": "php-fpm: pool bob", "cwd": "/home/bob/public_html",
 *              "script": "/home/bob/public_html/x.php"}}
 * Strings that are "" (unknown, none) are null; domains is [] when none.
 * NULL when out of memory.
 */
json_t *sg_sender_info_json(const struct sg_sender_info *s)
{
	char dest[64];
	const char *kind = kind_name(s->kind), *unrecorded = unrecorded_name(s->flags);
	json_t *o = json_object(), *p = json_object();
	int err = !o || !p;

	sg_format_addr(s->addr, dest, sizeof(dest));
	err = err || json_object_set_new(p, "gone", json_boolean(s->gone));
	err = err || json_object_set_new(p, "exe", sg_json_text(s->exe));
	err = err || json_object_set_new(p, "cmdline", sg_json_text(s->cmdline));
	err = err || json_object_set_new(p, "cwd", sg_json_text(s->cwd));
	err = err || json_object_set_new(p, "script", sg_json_text(s->script));

	err = err || json_object_set_new(o, "ts_ns", json_integer(s->ts_ns));
	err = err || json_object_set_new(o, "kind", kind ? json_string(kind) : json_null());
	err = err ||
	      json_object_set_new(o, "verdict",
				  json_string(s->verdict == SG_VERDICT_DENY ? "deny" : "allow"));
	err = err || json_object_set_new(o, "not_recorded",
					 unrecorded ? json_string(unrecorded) : json_null());
	err = err || json_object_set_new(o, "uid", json_integer(s->uid));
	err = err || json_object_set_new(o, "gid", json_integer(s->gid));
	err = err || json_object_set_new(o, "pid", json_integer(s->pid));
	err = err || json_object_set_new(o, "tgid", json_integer(s->tgid));
	err = err || json_object_set_new(o, "destination", json_string(dest));
	err = err || json_object_set_new(o, "port", json_integer(s->port));
	err = err || json_object_set_new(o, "comm", sg_json_text(s->comm));
	err = err || json_object_set_new(o, "user", sg_json_text(s->user));
	err = err || json_object_set_new(o, "account", sg_json_text(s->account));
	err = err || json_object_set_new(o, "owner", sg_json_text(s->owner));
	err = err || json_object_set_new(o, "panel", sg_json_text(s->panel));
	err = err || json_object_set_new(o, "domains", domains_json(s->domains));
	if (!err) {
		err = json_object_set_new(o, "process", p);
		p = NULL;
	}
	json_decref(p);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A bounded line: appends until full, always NUL-terminated. */
struct line {
	char *buf;
	size_t len, pos;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->pos >= l->len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->pos, l->len - l->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->pos += (size_t)n < l->len - l->pos ? (size_t)n : l->len - 1 - l->pos;
}

/* A value the process chose (comm, paths, arguments) as one field: sg_log_value's. */
static void put_value(struct line *l, const char *s)
{
	char esc[SG_ESCAPED_LEN(PATH_MAX) + 2];

	put(l, "%s", sg_log_value(s, esc, sizeof(esc)));
}

/*
 * new sender uid 1001 (bob, cpanel account bob of reseller res1, example.com www.example.org)
 *   [as sub-UID 165536] pid 4242 php-fpm8.2 exe=/usr/sbin/php-fpm8.2 cmdline="php-fpm: pool bob"
 *   script=/home/bob/public_html/x.php cwd=/home/bob/public_html -> 203.0.113.5:25
 * (one line), or "... pid 4242 mailer (process already gone) -> ...". "denied" instead of
 * "new sender" for a denial; "(no passwd entry)" for a UID without a name; fields that
 * are unknown are left out. A process the kernel could not record ends with
 * ", not recorded: over its process quota" (or "no room in sg_senders").
 */
void sg_sender_info_line(const struct sg_sender_info *s, char *buf, size_t len)
{
	struct line l = { .buf = buf, .len = len };
	char dest[64];

	if (!len)
		return;
	buf[0] = '\0';
	put(&l, "%s uid %u (", s->kind == SG_EV_DENIED ? "denied" : "new sender", s->uid);
	if (!s->user[0])
		put(&l, "no passwd entry");
	else
		put(&l, "%s", s->user);
	if (s->panel[0])
		put(&l, ", %s account %s", s->panel, s->account);
	/* Accounts that root or the account itself owns have no reseller to name. */
	if (s->owner[0] && strcmp(s->owner, "root") && strcmp(s->owner, s->user))
		put(&l, " of reseller %s", s->owner);
	if (s->domains[0])
		put(&l, ", %s", s->domains);
	put(&l, ")");
	/* 0: not from an event; root is never a sub-UID (its ranges are refused). */
	if (s->real_uid && s->real_uid != s->uid)
		put(&l, " as sub-UID %u", s->real_uid);
	put(&l, " pid %u ", s->tgid);
	put_value(&l, s->comm[0] ? s->comm : "?");
	if (s->gone)
		put(&l, " (process already gone)");
	if (s->exe[0]) {
		put(&l, " exe=");
		put_value(&l, s->exe);
	}
	if (s->cmdline[0]) {
		put(&l, " cmdline=");
		put_value(&l, s->cmdline);
	}
	if (s->script[0]) {
		put(&l, " script=");
		put_value(&l, s->script);
	}
	if (s->cwd[0]) {
		put(&l, " cwd=");
		put_value(&l, s->cwd);
	}
	sg_format_addr(s->addr, dest, sizeof(dest));
	put(&l, strchr(dest, ':') ? " -> [%s]:%u" : " -> %s:%u", dest, s->port);
	if (s->flags & SG_EVENT_UNRECORDED_QUOTA)
		put(&l, ", not recorded: over its process quota");
	else if (s->flags & SG_EVENT_UNRECORDED_FULL)
		put(&l, ", not recorded: no room in %s", SG_MAP_SENDERS);
}
