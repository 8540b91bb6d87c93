// SPDX-License-Identifier: GPL-2.0
/* The audit trail: one JSON line per change in the audit log, one readable line in syslog. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "host/attrib.h"
#include "host/audit.h"
#include "util/writefail.h"
#include "util/render.h"
#include "core/config.h"
#include "kern/maps.h"
#include "util/log.h"

#define NS_PER_SEC 1000000000LL

void sg_audit_cfg_cli(struct sg_audit_cfg *cfg)
{
	struct sg_config c;

	sg_config_cli(&c);
	*cfg = c.audit;
}

const char *sg_audit_cli_actor(char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	char name[256];

	if (sudo && *sudo)
		snprintf(buf, len, "cli:%s", sudo);
	else if (!getlogin_r(name, sizeof(name)))
		snprintf(buf, len, "cli:%s", name);
	else if (!sg_user_name(getuid(), name, sizeof(name)))
		snprintf(buf, len, "cli:%s", name);
	else
		snprintf(buf, len, "cli:uid %u", getuid());
	return buf;
}

/* "2026-11-23T10:00:00.123Z" for a wall-clock time in ns. */
static json_t *iso8601(__s64 ns)
{
	__s64 nsec = ns % NS_PER_SEC;
	time_t sec = ns / NS_PER_SEC;
	char buf[48];
	struct tm tm;
	size_t n;

	if (nsec < 0) {
		nsec += NS_PER_SEC;
		sec--;
	}
	if (!gmtime_r(&sec, &tm))
		return NULL;
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03lldZ", (long long)nsec / 1000000);
	return json_string(buf);
}

json_t *sg_audit_json(const struct sg_audit_entry *e, const struct timespec *now, __u64 boot_now_ns)
{
	__s64 when = (__s64)now->tv_sec * NS_PER_SEC + now->tv_nsec;
	json_t *o = json_object();
	int err;

	if (!o)
		return NULL;
	/* A NULL value (out of memory) makes json_object_set_new fail. */
	err = json_object_set_new(o, "time", iso8601(when));
	err |= json_object_set_new(o, "actor", sg_json_text(e->actor));
	err |= json_object_set_new(o, "action", sg_json_text(e->action));
	err |= json_object_set_new(o, "uid", e->has_uid ? json_integer(e->uid) : json_null());
	err |= json_object_set_new(o, "user", sg_json_text(e->user));
	err |= json_object_set_new(o, "target", sg_json_text(e->target));
	err |= json_object_set_new(o, "params", e->params ? json_incref(e->params) : json_object());
	err |= json_object_set_new(o, "reason", sg_json_text(e->reason));
	/* expires_ns is on the boot clock, which stops for nobody: turn it into wall time now. */
	err |= json_object_set_new(
		o, "expires",
		e->expires_ns ? iso8601(when + (__s64)(e->expires_ns - boot_now_ns)) : json_null());
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* As is when it reads unambiguously between spaces, else as a JSON string. */
static void put_text(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *v;

	while (p<(const unsigned char *)s + len && * p> ' ' && *p != '"' && *p != 0x7f)
		p++;
	if (len && p == (const unsigned char *)s + len) {
		fwrite(s, 1, len, f);
		return;
	}
	v = json_stringn(s, len);
	if (v)
		json_dumpf(v, f, JSON_ENCODE_ANY);
	json_decref(v);
}

static void put_value(FILE *f, const json_t *v)
{
	if (!v)
		fputc('-', f);
	else if (json_is_string(v))
		put_text(f, json_string_value(v), json_string_length(v));
	else
		json_dumpf(v, f, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* Ends a column that began at start: pads it to width, then one space. */
static void end_column(FILE *f, long start, int width)
{
	long used = ftell(f) - start;

	fprintf(f, "%*s", used < width ? (int)(width - used) + 1 : 1, "");
}

/* "alice (uid 1001)", "uid 1001", or the target of a ban. */
static void put_who(FILE *f, const json_t *entry)
{
	const json_t *uid = json_object_get(entry, "uid"), *user = json_object_get(entry, "user");
	const json_t *target = json_object_get(entry, "target");

	if (json_is_string(target)) {
		put_value(f, target);
	} else if (json_is_integer(uid) && json_is_string(user)) {
		put_value(f, user);
		fprintf(f, " (uid %" JSON_INTEGER_FORMAT ")", json_integer_value(uid));
	} else if (json_is_integer(uid)) {
		fprintf(f, "uid %" JSON_INTEGER_FORMAT, json_integer_value(uid));
	} else {
		fputc('-', f);
	}
}

char *sg_audit_text(const json_t *entry, unsigned int flags)
{
	static const struct {
		const char *key;
		int width;
	} columns[] = { { "time", 24 }, { "actor", 16 }, { "action", 10 } };
	static const char *const last[] = { "reason", "expires" };
	int align = flags & SG_AUDIT_TEXT_ALIGN;
	const json_t *params = json_object_get(entry, "params"), *v;
	char *buf = NULL;
	const char *key;
	size_t len = 0, i;
	long start;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (i = flags & SG_AUDIT_TEXT_TIME ? 0 : 1; i < sizeof(columns) / sizeof(columns[0]);
	     i++) {
		start = ftell(f);
		put_value(f, json_object_get(entry, columns[i].key));
		end_column(f, start, align ? columns[i].width : 0);
	}
	start = ftell(f);
	put_who(f, entry);
	end_column(f, start, align ? 24 : 0);
	json_object_foreach((json_t *)params, key, v)
	{
		put_text(f, key, strlen(key));
		fputc('=', f);
		put_value(f, v);
		fputc(' ', f);
	}
	for (i = 0; i < sizeof(last) / sizeof(last[0]); i++) {
		v = json_object_get(entry, last[i]);
		if (v && !json_is_null(v)) {
			fprintf(f, "%s=", last[i]);
			put_value(f, v);
			fputc(' ', f);
		}
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	/* Padding and separators only: a value never ends in a space. */
	while (len && buf[len - 1] == ' ')
		buf[--len] = '\0';
	return buf;
}

/* O_APPEND: each write lands whole at the end, whoever else is writing. */
static int open_log(const char *path)
{
	char dir[PATH_MAX], *slash;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			return -errno;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd >= 0 ? fd : -errno;
}

/* cfg->fails, when the daemon's, told of a write's outcome. */
static void note(const struct sg_audit_cfg *cfg, int err)
{
	char what[PATH_MAX + 16];

	if (!cfg->fails)
		return;
	snprintf(what, sizeof(what), "audit log %s", cfg->path);
	sg_write_note(cfg->fails, what, err);
}

int sg_audit_reopen(const struct sg_audit_cfg *cfg)
{
	int fd = open_log(cfg->path);

	if (fd >= 0)
		close(fd);
	note(cfg, fd < 0 ? fd : 0);
	return fd < 0 ? fd : 0;
}

int sg_audit_write(const struct sg_audit_cfg *cfg, const struct sg_audit_entry *e)
{
	static int syslog_open;
	struct timespec now;
	char *line, *readable;
	size_t len;
	ssize_t n;
	int fd, err;
	json_t *o;

	clock_gettime(CLOCK_REALTIME, &now);
	o = sg_audit_json(e, &now, sg_boot_ns());
	if (!o)
		return -ENOMEM;
	if (cfg->syslog && (readable = sg_audit_text(o, 0))) {
		if (!syslog_open) {
			openlog("smtpguard", LOG_PID, LOG_AUTHPRIV);
			syslog_open = 1;
		}
		/* The facility again: a daemon may have opened syslog for its own. */
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", readable);
		free(readable);
	}
	len = json_dumpb(o, NULL, 0, JSON_COMPACT);
	line = len ? malloc(len + 1) : NULL;
	if (line) {
		json_dumpb(o, line, len, JSON_COMPACT);
		line[len++] = '\n';
	}
	json_decref(o);
	if (!line)
		return -ENOMEM;

	fd = open_log(cfg->path);
	err = fd < 0 ? fd : 0;
	if (fd >= 0) {
		/* One write per line, so that concurrent writers never interleave. */
		n = write(fd, line, len);
		err = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
		close(fd);
	}
	free(line);
	note(cfg, err);
	return err;
}

void sg_audit_cli(const struct sg_audit_entry *e)
{
	struct sg_audit_entry a = *e;
	struct sg_audit_cfg cfg;
	char actor[300];
	int err;

	sg_audit_cfg_cli(&cfg);
	a.actor = sg_audit_cli_actor(actor, sizeof(actor));
	err = sg_audit_write(&cfg, &a);
	if (err)
		sg_warn("warning: audit log %s: %s", cfg.path, strerror(-err));
}

void sg_audit_daemon(const struct sg_audit_cfg *cfg, const char *action, const char *target,
		     json_t *params, const char *reason, __u64 expires_ns)
{
	struct sg_audit_entry e = {
		.actor = "daemon",
		.action = action,
		.target = target,
		.params = params,
		.reason = reason,
		.expires_ns = expires_ns,
	};

	if (cfg)
		sg_audit_write(cfg, &e);
	json_decref(params);
}
