// SPDX-License-Identifier: GPL-2.0
/* The audit trail: entries exactly as logged, appends that never interleave, where the CLI logs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "host/audit.h"
#include "core/config.h"
#include "sg_bucket.h"

/* 2026-11-23T10:00:00.123456789Z, when the boot clock read BOOT. */
static const struct timespec now = { 1795428000, 123456789 };
#define BOOT (5000 * SG_NS_PER_SEC)

static const struct sg_audit_entry throttle = {
	.actor = "cli:alice",
	.action = "throttle",
	.has_uid = 1,
	.uid = 1001,
	.user = "bob",
	.reason = "spam run",
	.expires_ns = BOOT + 2 * 3600 * SG_NS_PER_SEC,
};

static char *json_text(const struct sg_audit_entry *e)
{
	json_t *o = sg_audit_json(e, &now, BOOT);
	char *s;

	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void expect_json(const struct sg_audit_entry *e, const char *want)
{
	char *s = json_text(e);

	assert_string_equal(s, want);
	free(s);
}

static void test_json_throttle(void **state)
{
	struct sg_audit_entry e = throttle;

	e.params = json_pack("{s:s, s:I, s:I}", "rate", "60/min", "rate_per_hour", (json_int_t)3600,
			     "burst", (json_int_t)60);
	expect_json(&e, "{\"time\":\"2026-11-23T10:00:00.123Z\",\"actor\":\"cli:alice\","
			"\"action\":\"throttle\",\"uid\":1001,\"user\":\"bob\",\"target\":null,"
			"\"params\":{\"rate\":\"60/min\",\"rate_per_hour\":3600,\"burst\":60},"
			"\"reason\":\"spam run\",\"expires\":\"2026-11-23T12:00:00.123Z\"}");
	/* Borrowed: still the caller's. */
	assert_int_equal(e.params->refcount, 1);
	json_decref(e.params);
}

static void test_json_release(void **state)
{
	struct sg_audit_entry e = {
		.actor = "daemon",
		.action = "release",
		.has_uid = 1,
		.uid = 1001,
		.user = "bob",
		.params = json_pack("{s:s?}", "previous", "block"),
	};

	expect_json(&e, "{\"time\":\"2026-11-23T10:00:00.123Z\",\"actor\":\"daemon\","
			"\"action\":\"release\",\"uid\":1001,\"user\":\"bob\",\"target\":null,"
			"\"params\":{\"previous\":\"block\"},\"reason\":null,\"expires\":null}");
	json_decref(e.params);
}

static void test_json_ban(void **state)
{
	struct sg_audit_entry e = {
		.actor = "cli:root",
		.action = "ban",
		.target = "203.0.113.0/24",
		.params = json_pack("{s:s, s:b}", "cidr", "203.0.113.0/24", "renewed", 0),
		.reason = "brute force on 587",
		.expires_ns = BOOT + 86400 * SG_NS_PER_SEC,
	};

	expect_json(&e,
		    "{\"time\":\"2026-11-23T10:00:00.123Z\",\"actor\":\"cli:root\","
		    "\"action\":\"ban\",\"uid\":null,\"user\":null,\"target\":\"203.0.113.0/24\","
		    "\"params\":{\"cidr\":\"203.0.113.0/24\",\"renewed\":false},"
		    "\"reason\":\"brute force on 587\",\"expires\":\"2026-11-24T10:00:00.123Z\"}");
	json_decref(e.params);
}

/*
 * A UID with no passwd entry, no params, a reason that is not UTF-8 and
 * spans lines, and an expiry already half a second past.
 */
static void test_json_null_user(void **state)
{
	struct sg_audit_entry e = {
		.actor = "cli:uid 0",
		.action = "block",
		.has_uid = 1,
		.uid = 4242,
		.user = "",
		.reason = "line one\nline \xff two",
		.expires_ns = BOOT - SG_NS_PER_SEC / 2,
	};

	expect_json(&e, "{\"time\":\"2026-11-23T10:00:00.123Z\",\"actor\":\"cli:uid 0\","
			"\"action\":\"block\",\"uid\":4242,\"user\":null,\"target\":null,"
			"\"params\":{},\"reason\":\"line one\\nline ? two\","
			"\"expires\":\"2026-11-23T09:59:59.623Z\"}");
}

static char *text_of(const struct sg_audit_entry *e, unsigned int flags)
{
	json_t *o = sg_audit_json(e, &now, BOOT);
	char *s = sg_audit_text(o, flags);

	json_decref(o);
	assert_non_null(s);
	return s;
}

static void expect_text(const struct sg_audit_entry *e, unsigned int flags, const char *want)
{
	char *s = text_of(e, flags);

	assert_string_equal(s, want);
	free(s);
}

static void test_text(void **state)
{
	struct sg_audit_entry e = throttle;
	json_t *o;
	char *s;

	e.params = json_pack("{s:s, s:I}", "rate", "60/min", "burst", (json_int_t)60);
	expect_text(&e, 0,
		    "cli:alice throttle bob (uid 1001) rate=60/min burst=60 "
		    "reason=\"spam run\" expires=2026-11-23T12:00:00.123Z");
	expect_text(&e, SG_AUDIT_TEXT_TIME | SG_AUDIT_TEXT_ALIGN,
		    "2026-11-23T10:00:00.123Z cli:alice        throttle   bob (uid 1001)           "
		    "rate=60/min burst=60 reason=\"spam run\" expires=2026-11-23T12:00:00.123Z");
	json_decref(e.params);

	/* Nothing a reason holds breaks the line or reaches the terminal raw. */
	e.params = NULL;
	e.user = NULL;
	e.reason = "x\n\033[2J";
	e.expires_ns = 0;
	expect_text(&e, 0, "cli:alice throttle uid 1001 reason=\"x\\n\\u001B[2J\"");
	e.has_uid = 0;
	e.target = "2001:db8::/48";
	e.reason = NULL;
	expect_text(&e, SG_AUDIT_TEXT_ALIGN, "cli:alice        throttle   2001:db8::/48");

	/* A line of the log that someone else wrote: whatever is missing shows as '-'. */
	o = json_pack("{s:s, s:{s:[i,i]}}", "time", "yesterday", "params", "pids", 1, 2);
	s = sg_audit_text(o, SG_AUDIT_TEXT_TIME);
	assert_string_equal(s, "yesterday - - - pids=[1,2]");
	free(s);
	json_decref(o);
}

static void tmp_dir(char dir[32])
{
	strcpy(dir, "/tmp/sg-audit-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void remove_tree(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The lines of a file; each must end with a newline. */
static char **read_lines(const char *path, size_t *n)
{
	char *line = NULL, **lines = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	*n = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		assert_int_equal(line[len - 1], '\n');
		lines = realloc(lines, (*n + 1) * sizeof(*lines));
		lines[(*n)++] = strdup(line);
	}
	fclose(f);
	free(line);
	return lines;
}

static void free_lines(char **lines, size_t n)
{
	while (n--)
		free(lines[n]);
	free(lines);
}

static void test_write(void **state)
{
	struct sg_audit_cfg cfg = {};
	char dir[32], sub[64], **lines;
	struct sg_audit_entry e = throttle;
	struct stat sb;
	size_t n, i;
	json_t *o;

	tmp_dir(dir);
	umask(022);
	snprintf(sub, sizeof(sub), "%s/smtpguard", dir);
	snprintf(cfg.path, sizeof(cfg.path), "%s/audit.log", sub);
	for (i = 0; i < 3; i++) {
		e.uid = 1000 + i;
		assert_int_equal(sg_audit_write(&cfg, &e), 0);
		lines = read_lines(cfg.path, &n);
		assert_int_equal(n, i + 1);
		o = json_loads(lines[i], 0, NULL);
		assert_non_null(o);
		assert_int_equal(json_integer_value(json_object_get(o, "uid")), 1000 + i);
		assert_string_equal(json_string_value(json_object_get(o, "action")), "throttle");
		json_decref(o);
		free_lines(lines, n);
	}
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0750);
	assert_int_equal(stat(cfg.path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	remove_tree(dir);

	/* Only the log's own directory is made. */
	snprintf(cfg.path, sizeof(cfg.path), "/proc/nope/audit.log");
	assert_int_equal(sg_audit_write(&cfg, &e), -ENOENT);
}

#define PER_WRITER 200

/* Two processes at once, with lines long enough to tear if they were written in pieces. */
static void test_concurrent(void **state)
{
	char dir[32], reason[3000], **lines;
	struct sg_audit_entry e = throttle;
	struct sg_audit_cfg cfg = {};
	size_t n, i, by[2] = {};
	int w, status;
	pid_t pid[2];
	json_t *o;

	tmp_dir(dir);
	snprintf(cfg.path, sizeof(cfg.path), "%s/audit.log", dir);
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	e.reason = reason;
	for (w = 0; w < 2; w++) {
		pid[w] = fork();
		assert_true(pid[w] >= 0);
		if (pid[w])
			continue;
		e.actor = w ? "cli:one" : "cli:zero";
		for (i = 0; i < PER_WRITER; i++)
			if (sg_audit_write(&cfg, &e))
				_exit(1);
		_exit(0);
	}
	for (w = 0; w < 2; w++) {
		assert_int_equal(waitpid(pid[w], &status, 0), pid[w]);
		assert_true(WIFEXITED(status) && !WEXITSTATUS(status));
	}

	lines = read_lines(cfg.path, &n);
	assert_int_equal(n, 2 * PER_WRITER);
	for (i = 0; i < n; i++) {
		o = json_loads(lines[i], 0, NULL);
		assert_non_null(o);
		by[!strcmp(json_string_value(json_object_get(o, "actor")), "cli:one")]++;
		assert_int_equal(strlen(json_string_value(json_object_get(o, "reason"))),
				 sizeof(reason) - 1);
		json_decref(o);
	}
	assert_int_equal(by[0], PER_WRITER);
	assert_int_equal(by[1], PER_WRITER);
	free_lines(lines, n);
	remove_tree(dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* sg_audit_cfg_cli with stderr caught: the number of lines it printed there. */
static int cfg_cli(struct sg_audit_cfg *cfg, const char *dir)
{
	char path[PATH_MAX], **lines;
	int saved = dup(2), fd;
	size_t n;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	sg_audit_cfg_cli(cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lines = read_lines(path, &n);
	if (n)
		assert_non_null(strstr(lines[0], "smtpguard: warning: "));
	free_lines(lines, n);
	return n;
}

static void test_cfg_cli(void **state)
{
	char dir[32], conf[64];
	struct sg_audit_cfg cfg;

	tmp_dir(dir);
	snprintf(conf, sizeof(conf), "%s/smtpguard.conf", dir);
	setenv("SMTPGUARD_CONFIG", conf, 1);
	unsetenv("SMTPGUARD_AUDIT_LOG");

	/* No config file: the defaults, quietly. */
	assert_int_equal(cfg_cli(&cfg, dir), 0);
	assert_string_equal(cfg.path, SG_AUDIT_LOG);
	assert_int_equal(cfg.syslog, 1);

	write_file(conf, "[audit]\nlog = /var/tmp/sg-audit.log\nsyslog = no\n");
	assert_int_equal(cfg_cli(&cfg, dir), 0);
	assert_string_equal(cfg.path, "/var/tmp/sg-audit.log");
	assert_int_equal(cfg.syslog, 0);

	/* The environment moves the log only: syslog stays as configured. */
	setenv("SMTPGUARD_AUDIT_LOG", "/tmp/elsewhere.log", 1);
	assert_int_equal(cfg_cli(&cfg, dir), 0);
	assert_string_equal(cfg.path, "/tmp/elsewhere.log");
	assert_int_equal(cfg.syslog, 0);
	unsetenv("SMTPGUARD_AUDIT_LOG");

	/* A config that does not load: one warning, and the defaults. */
	write_file(conf, "[audit]\nlog = /var/tmp/sg-audit.log\n[nonsense]\n");
	assert_int_equal(cfg_cli(&cfg, dir), 1);
	assert_string_equal(cfg.path, SG_AUDIT_LOG);
	assert_int_equal(cfg.syslog, 1);

	unsetenv("SMTPGUARD_CONFIG");
	remove_tree(dir);
}

static void test_actor(void **state)
{
	char buf[64];

	setenv("SUDO_USER", "alice", 1);
	assert_string_equal(sg_audit_cli_actor(buf, sizeof(buf)), "cli:alice");
	unsetenv("SUDO_USER");
	sg_audit_cli_actor(buf, sizeof(buf));
	assert_memory_equal(buf, "cli:", 4);
	assert_string_not_equal(buf, "cli:alice");
	assert_true(strlen(buf) > 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_throttle), cmocka_unit_test(test_json_release),
		cmocka_unit_test(test_json_ban),      cmocka_unit_test(test_json_null_user),
		cmocka_unit_test(test_text),	      cmocka_unit_test(test_write),
		cmocka_unit_test(test_concurrent),    cmocka_unit_test(test_cfg_cli),
		cmocka_unit_test(test_actor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
