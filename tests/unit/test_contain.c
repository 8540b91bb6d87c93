// SPDX-License-Identifier: GPL-2.0
/*
 * Containment: the plan (what is held, written and banned) for every kind
 * of principal and MTA; the MTA registry; and the plan carried out for real
 * where no MTA tool is needed: Exim's tables and the state file, in a
 * temporary directory, then released.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "mail/contain.h"
#include "sg_bucket.h"

#define MAX_LIST 12

struct want_entry {
	enum sg_mta_table table;
	const char *key, *value; /* key NULL: no table line */
};

static const struct plan_case {
	const char *name;
	enum sg_mta_type mta;
	const char *principal;
	int reject;
	__u64 ban_ns;
	const char *qids[MAX_LIST]; /* NULL-terminated, as are ips */
	const char *ips[MAX_LIST];
	/* expected */
	const char *id; /* its key in the state */
	int keyed;
	size_t n_qids, n_ips;
	struct want_entry entry;
} plan_cases[] = {
	{ "postfix: a SASL account by its login, never by its envelope senders",
	  SG_MTA_POSTFIX,
	  "sasl:info@example.com",
	  0,
	  SG_NS_PER_HOUR,
	  { "4F2A81C0D2", "4F2A81C0D3" },
	  { "198.51.100.7", "2001:db8::7" },
	  "sasl:info@example.com",
	  1,
	  2,
	  2,
	  { SG_TAB_ACCOUNT, "info@example.com",
	    "HOLD smtpguard: sasl:info@example.com contained (bounce_ratio)" } },
	{ "postfix: reject mode says REJECT",
	  SG_MTA_POSTFIX,
	  "sasl:bob@example.net",
	  1,
	  SG_NS_PER_HOUR,
	  {},
	  {},
	  "sasl:bob@example.net",
	  1,
	  0,
	  0,
	  { SG_TAB_ACCOUNT, "bob@example.net",
	    "REJECT smtpguard: sasl:bob@example.net contained (bounce_ratio)" } },
	{ "postfix: a local sender by name goes in the submit table",
	  SG_MTA_POSTFIX,
	  "local:bob",
	  0,
	  SG_NS_PER_HOUR,
	  { "4F2A81C0D2" },
	  {},
	  "local:bob",
	  1,
	  1,
	  0,
	  { SG_TAB_LOCAL, "bob", "contained" } },
	{ "postfix: a local sender by UID is named from passwd",
	  SG_MTA_POSTFIX,
	  "local:0",
	  1,
	  SG_NS_PER_HOUR,
	  {},
	  {},
	  "local:0",
	  1,
	  0,
	  0,
	  { SG_TAB_LOCAL, "root", "contained" } },
	{ "exim: a SASL account is held, whatever the mode",
	  SG_MTA_EXIM,
	  "sasl:info@example.com",
	  1,
	  SG_NS_PER_HOUR,
	  { "1rABcD-0003Xy-1a" },
	  { "198.51.100.7" },
	  "sasl:info@example.com",
	  1,
	  1,
	  1,
	  { SG_TAB_ACCOUNT, "info@example.com", "hold" } },
	{ "exim: a local sender by UID",
	  SG_MTA_EXIM,
	  "local:0",
	  0,
	  SG_NS_PER_HOUR,
	  {},
	  {},
	  "local:0",
	  1,
	  0,
	  0,
	  { SG_TAB_LOCAL, "root", "hold" } },
	{ "a UID with no user: no table line, its mail held and its IPs banned all the same",
	  SG_MTA_POSTFIX,
	  "local:4000000000",
	  0,
	  SG_NS_PER_HOUR,
	  { "4F2A81C0D2" },
	  { "198.51.100.7" },
	  "local:4000000000",
	  0,
	  1,
	  1,
	  {} },
	{ "the policy service's unattributed local mail: no user's table line",
	  SG_MTA_POSTFIX,
	  "local:unknown",
	  0,
	  SG_NS_PER_HOUR,
	  { "4F2A81C0D2" },
	  {},
	  "local:unknown",
	  0,
	  1,
	  0,
	  {} },
	{ "not a mail principal: no table line",
	  SG_MTA_EXIM,
	  "uid:1001",
	  0,
	  SG_NS_PER_HOUR,
	  {},
	  { "198.51.100.7" },
	  "uid:1001",
	  0,
	  0,
	  1,
	  {} },
	{ "no MTA: bans and the state only",
	  SG_MTA_NONE,
	  "sasl:info@example.com",
	  0,
	  SG_NS_PER_HOUR,
	  { "4F2A81C0D2" },
	  { "198.51.100.7" },
	  "sasl:info@example.com",
	  1,
	  1,
	  1,
	  {} },
	{ "not UTF-8: recorded escaped, its mail held, its IPs banned, no table line",
	  SG_MTA_POSTFIX,
	  "sasl:\xff\xfe@example.com",
	  0,
	  SG_NS_PER_HOUR,
	  { "4F2A81C0D2" },
	  { "198.51.100.7", "192.0.2.1" },
	  "sasl:\\xff\\xfe@example.com",
	  0,
	  1,
	  2,
	  {} },
	{ "a login with a blank: no table can hold it",
	  SG_MTA_POSTFIX,
	  "sasl:a b@example.com",
	  0,
	  0,
	  { "4F2A81C0D2" },
	  {},
	  "sasl:a b@example.com",
	  0,
	  1,
	  0,
	  {} },
	{ "a ban of 0: no IP banned",
	  SG_MTA_EXIM,
	  "sasl:info@example.com",
	  0,
	  0,
	  { "1rABcD-0003Xy-1a" },
	  { "198.51.100.7" },
	  "sasl:info@example.com",
	  1,
	  1,
	  0,
	  { SG_TAB_ACCOUNT, "info@example.com", "hold" } },
	{ "not UTF-8 and a ban of 0: its mail held, nothing banned",
	  SG_MTA_EXIM,
	  "local:\xff",
	  0,
	  0,
	  { "1rABcD-0003Xy-1a" },
	  { "198.51.100.7" },
	  "local:\\xff",
	  0,
	  1,
	  0,
	  {} },
};

static size_t count(const char *const *v)
{
	size_t n = 0;

	while (n < MAX_LIST && v[n])
		n++;
	return n;
}

static void test_plan(void **state)
{
	struct sg_config *c = malloc(sizeof(*c));
	struct sg_contain_plan p;
	size_t i;

	assert_non_null(c);
	sg_config_default(c);
	for (i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
		const struct plan_case *k = &plan_cases[i];
		struct sg_contain_req req = {
			.principal = k->principal,
			.rule = "bounce_ratio",
			.qids = k->qids,
			.n_qids = count(k->qids),
			.ips = k->ips,
			.n_ips = count(k->ips),
		};

		print_message("# %s\n", k->name);
		c->mta.reject = k->reject;
		c->mta.ban_ns = k->ban_ns;
		sg_contain_plan(c, k->mta, &req, sg_contain_uid_name, &p);
		assert_ptr_equal(p.mta, sg_mta_backend(k->mta));
		assert_string_equal(p.id, k->id);
		assert_int_equal(p.keyed, k->keyed);
		assert_int_equal(p.n_qids, k->n_qids);
		assert_int_equal(p.n_ips, k->n_ips);
		assert_true(p.n_ips == 0 || p.ips == req.ips);
		assert_true(p.n_qids == 0 || p.qids == req.qids);
		assert_int_equal(p.ban_ns, k->ban_ns);
		if (!k->entry.key) {
			assert_true(!p.keyed || !p.mta);
			continue;
		}
		assert_int_equal(p.entry.table, k->entry.table);
		assert_string_equal(p.entry.key, k->entry.key);
		assert_string_equal(p.entry.value, k->entry.value);
		assert_int_equal(p.entry.done, 0);
	}
	free(c);
}

/* A Postfix access action's text is cut to the table's value size, as it always was. */
static void test_plan_value_cut(void **state)
{
	struct sg_config *c = malloc(sizeof(*c));
	char rule[200];
	struct sg_contain_req req = { .principal = "sasl:info@example.com", .rule = rule };
	struct sg_contain_plan p;

	assert_non_null(c);
	sg_config_default(c);
	memset(rule, 'r', sizeof(rule) - 1);
	rule[sizeof(rule) - 1] = '\0';
	sg_contain_plan(c, SG_MTA_POSTFIX, &req, sg_contain_uid_name, &p);
	assert_int_equal(p.keyed, 1);
	assert_int_equal(strlen(p.entry.value), SG_MTA_VALUE_MAX - 1);
	assert_memory_equal(p.entry.value, "HOLD smtpguard: sasl:info@example.com contained (rrr",
			    52);
	free(c);
}

static void test_registry(void **state)
{
	static const struct {
		const char *name;
		enum sg_mta_type type;
		int has_sender_table; /* to clean what earlier versions wrote */
	} rows[] = {
		{ "postfix", SG_MTA_POSTFIX, 1 },
		{ "exim", SG_MTA_EXIM, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct sg_mta_ops *b = sg_mta_backend(rows[i].type);

		assert_non_null(b);
		assert_ptr_equal(sg_mta_backend_named(rows[i].name), b);
		assert_string_equal(b->name, rows[i].name);
		assert_string_equal(sg_mta_type_names[rows[i].type], rows[i].name);
		assert_int_equal(b->type, rows[i].type);
		assert_non_null(b->tables[SG_TAB_ACCOUNT]);
		assert_non_null(b->tables[SG_TAB_LOCAL]);
		assert_int_equal(b->tables[SG_TAB_SENDER] != NULL, rows[i].has_sender_table);
	}
	assert_null(sg_mta_backend(SG_MTA_NONE));
	assert_null(sg_mta_backend((enum sg_mta_type)SG_MTA_AUTO));
	assert_null(sg_mta_backend_named("none"));
	assert_null(sg_mta_backend_named("sendmail"));
	assert_null(sg_mta_backend_named(""));
}

static char tmp[64];

static int make_tmp(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_contain.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int remove_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) ? -1 : 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The MTA the config names; else the first installed: Postfix by its main.cf, Exim by its dir. */
static void test_detect(void **state)
{
	struct sg_config *c = malloc(sizeof(*c));
	char postfix[PATH_MAX], exim[PATH_MAX];

	assert_non_null(c);
	sg_config_default(c);
	snprintf(postfix, sizeof(postfix), "%s/postfix", tmp);
	snprintf(exim, sizeof(exim), "%s/exim", tmp);
	snprintf(c->mta.postfix_config, sizeof(c->mta.postfix_config), "%s", postfix);
	snprintf(c->mta.exim_dir, sizeof(c->mta.exim_dir), "%s", exim);
	c->mta.type = SG_MTA_AUTO;
	assert_int_equal(sg_mta_detect(c), SG_MTA_NONE);
	assert_int_equal(mkdir(exim, 0700), 0);
	assert_int_equal(sg_mta_detect(c), SG_MTA_EXIM);
	assert_int_equal(mkdir(postfix, 0700), 0);
	assert_int_equal(sg_mta_detect(c), SG_MTA_EXIM);
	write_file(postfix, "main.cf", "");
	assert_int_equal(sg_mta_detect(c), SG_MTA_POSTFIX);
	c->mta.type = SG_MTA_EXIM;
	assert_int_equal(sg_mta_detect(c), SG_MTA_EXIM);
	c->mta.type = SG_MTA_NONE;
	assert_int_equal(sg_mta_detect(c), SG_MTA_NONE);
	free(c);
}

static void read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

#define HEADER                                                                                     \
	"# Written by smtpguard: the principals it contains. `smtpguard release` removes them.\n"

/*
 * Exim needs no tool for its tables: contain two principals for real,
 * then release them, and read the tables and the state at each step.
 */
static void test_apply_exim(void **state)
{
	struct sg_config *c = malloc(sizeof(*c));
	const char *qids[] = { "1rABcD-0003Xy-1a" };
	struct sg_contain_req req = {
		.principal = "sasl:info@example.com",
		.rule = "bounce_ratio",
	};
	char err[512], buf[1024];
	json_t *done = NULL, *s;

	assert_non_null(c);
	sg_config_default(c);
	c->mta.ban_ns = 0;
	snprintf(c->mta.exim_dir, sizeof(c->mta.exim_dir), "%s", tmp);
	snprintf(c->mta.contained_path, sizeof(c->mta.contained_path), "%s/contained.json", tmp);
	write_file(tmp, "smtpguard_accounts", "# mine\n\"old@example.com\": hold\n");

	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, &done, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	read_file(tmp, "smtpguard_accounts", buf, sizeof(buf));
	assert_string_equal(buf, "# mine\n\"old@example.com\": hold\n\"info@example.com\": hold\n");
	assert_string_equal(json_string_value(json_object_get(done, "table")),
			    "smtpguard_accounts");
	assert_string_equal(json_string_value(json_object_get(done, "key")), "info@example.com");
	assert_string_equal(json_string_value(json_object_get(done, "mta")), "exim");
	assert_null(json_object_get(done, "senders"));
	assert_null(json_object_get(done, "ban_for_s"));
	json_decref(done);

	req.principal = "local:0";
	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, NULL, err, sizeof(err)), 0);
	read_file(tmp, "smtpguard_local_senders", buf, sizeof(buf));
	assert_string_equal(buf, HEADER "\"root\": hold\n");

	assert_int_equal(
		sg_release_principal(c, "sasl:info@example.com", 1000, NULL, err, sizeof(err)), 0);
	read_file(tmp, "smtpguard_accounts", buf, sizeof(buf));
	assert_string_equal(buf, "# mine\n\"old@example.com\": hold\n");
	assert_int_equal(
		sg_release_principal(c, "sasl:info@example.com", 1001, NULL, err, sizeof(err)),
		-ENOENT);
	assert_int_equal(sg_release_principal(c, "local:0", 1002, NULL, err, sizeof(err)), 0);
	read_file(tmp, "smtpguard_local_senders", buf, sizeof(buf));
	assert_string_equal(buf, HEADER);

	s = sg_contain_state(c);
	assert_non_null(s);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(s, "sasl:info@example.com"), "released")),
			 1000);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(s, "local:0"), "released")),
		1002);
	json_decref(s);
	/* Released: more of its messages are not to be held. */
	assert_int_equal(sg_contain_hold(c, "local:0", qids, 1, err, sizeof(err)), -ENOENT);
	free(c);
}

/* A key no table can hold is told, and the rest still done: the state records it. */
static void test_apply_bad_key(void **state)
{
	struct sg_config *c = malloc(sizeof(*c));
	struct sg_contain_req req = { .principal = "sasl:a b@example.com", .rule = "rate" };
	char err[512], buf[256];
	json_t *done = NULL;

	assert_non_null(c);
	sg_config_default(c);
	c->mta.ban_ns = 0;
	snprintf(c->mta.exim_dir, sizeof(c->mta.exim_dir), "%s/none", tmp);
	snprintf(c->mta.contained_path, sizeof(c->mta.contained_path), "%s/bad.json", tmp);
	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, &done, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "sasl:a b@example.com: no table key (a user with no name, or a "
				 "login no table can hold): held by queue id and in-band only");
	assert_null(json_object_get(done, "key"));
	assert_string_equal(json_string_value(json_object_get(done, "rule")), "rate");
	json_decref(done);
	/* Nothing written to a table: its directory was never made. */
	snprintf(buf, sizeof(buf), "%s/none", tmp);
	assert_int_equal(access(buf, F_OK), -1);
	req.principal = "local:4000000000";
	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, NULL, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "local:4000000000: no table key (a user with no name, or a login "
				 "no table can hold): held by queue id and in-band only");
	free(c);
}

static void told(const char *id, const json_t *before, const json_t *after, const char *err,
		 void *ctx)
{
	(*(int *)ctx)++;
}

static json_t *entry_of(const struct sg_config *c, const char *id, json_t **s)
{
	*s = sg_contain_state(c);
	assert_non_null(*s);
	return json_object_get(*s, id);
}

/*
 * A step that fails for real (the table's directory missing) is told by
 * its name with the error, left in the state's todo and put off; resumed
 * once due and the fault gone, it completes. A release whose step fails
 * keeps what it has to undo, is carried on (not begun anew) when asked
 * again, and completes when resumed.
 */
static void test_step_retried(void **state)
{
	static const char id[] = "sasl:info@example.com";
	struct sg_config *c = malloc(sizeof(*c));
	struct sg_contain_req req = { .principal = id, .rule = "rate" };
	char err[1024], dir[PATH_MAX], away[PATH_MAX], want[PATH_MAX + 128], buf[256];
	json_t *was = NULL, *s, *e;
	time_t due;
	int runs = 0;

	assert_non_null(c);
	sg_config_default(c);
	c->mta.ban_ns = 0;
	snprintf(dir, sizeof(dir), "%s/retry", tmp);
	snprintf(away, sizeof(away), "%s/away", tmp);
	snprintf(c->mta.exim_dir, sizeof(c->mta.exim_dir), "%s", dir);
	snprintf(c->mta.contained_path, sizeof(c->mta.contained_path), "%s/retry.json", tmp);

	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, NULL, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "table: %s/smtpguard_accounts: %s", dir, strerror(ENOENT));
	assert_string_equal(err, want);
	e = entry_of(c, id, &s);
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "todo"), 0)),
			    "table");
	assert_int_equal(json_array_size(json_object_get(e, "todo")), 1);
	assert_int_equal(json_integer_value(json_object_get(e, "tries")), 1);
	due = sg_clog_due(e);
	assert_true(due >= json_integer_value(json_object_get(e, "since")) + SG_CLOG_RETRY_MIN);
	json_decref(s);
	/* Not due yet: left alone. */
	assert_int_equal(sg_contain_resume(c, due - 1, told, &runs), due);
	assert_int_equal(runs, 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(sg_contain_resume(c, due, told, &runs), 0);
	assert_int_equal(runs, 1);
	read_file(dir, "smtpguard_accounts", buf, sizeof(buf));
	assert_string_equal(buf, HEADER "\"info@example.com\": hold\n");
	e = entry_of(c, id, &s);
	assert_null(json_object_get(e, "todo"));
	assert_null(json_object_get(e, "error"));
	json_decref(s);

	/* The release fails alike: released, its line kept to be removed. */
	assert_int_equal(rename(dir, away), 0);
	assert_int_equal(sg_release_principal(c, id, 2000, &was, err, sizeof(err)), -ENOENT);
	assert_non_null(was);
	json_decref(was);
	snprintf(want, sizeof(want), "release_table: %s/smtpguard_accounts: %s", dir,
		 strerror(ENOENT));
	assert_string_equal(err, want);
	assert_int_equal(sg_release_principal(c, id, 3000, &was, err, sizeof(err)), -ENOENT);
	assert_non_null(was);
	json_decref(was);
	e = entry_of(c, id, &s);
	assert_int_equal(json_integer_value(json_object_get(e, "released")), 2000);
	assert_int_equal(json_integer_value(json_object_get(e, "tries")), 2);
	assert_string_equal(json_string_value(json_object_get(e, "key")), "info@example.com");
	json_decref(s);
	assert_int_equal(rename(away, dir), 0);
	assert_int_equal(sg_contain_resume(c, 1L << 40, told, &runs), 0);
	assert_int_equal(runs, 2);
	read_file(dir, "smtpguard_accounts", buf, sizeof(buf));
	assert_string_equal(buf, HEADER);
	/* Done: released, and nothing left to carry on. */
	assert_int_equal(sg_release_principal(c, id, 4000, &was, err, sizeof(err)), -ENOENT);
	assert_null(was);
	free(c);
}

/* One submission of login, through mailstats. */
static void tracked(struct sg_mailstats *m, const char *login)
{
	struct sg_mta_rec r = { .ev = SG_MEV_SUBMIT, .uid = -1 };

	snprintf(r.qid, sizeof(r.qid), "1rABcD-0003Xy-%02zu", strlen(login) % 100);
	snprintf(r.login, sizeof(r.login), "%s", login);
	snprintf(r.client_ip, sizeof(r.client_ip), "198.51.100.7");
	assert_int_equal(sg_mailstats_add(m, &r, 1000, NULL), 0);
}

/*
 * Logins of any bytes and any length up to the MTA's: tracked, contained
 * (a table line where one can hold it), in the state under the escaped
 * id, named back by that id as explain and release take it, released.
 */
static void test_apply_any_login(void **state)
{
	static const char latin1[] = "jos\xe9@example.com";
	struct sg_config *c = malloc(sizeof(*c));
	struct sg_mailstats *m = sg_mailstats_new(0);
	char err[512], buf[4096], arg[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)], id[SG_PRINCIPAL_MAX];
	char longest[1001], want[1100];
	struct sg_contain_req req = { .rule = "rate" };
	struct sg_mail_principal *p;
	json_t *s, *e;

	assert_non_null(c);
	assert_non_null(m);
	sg_config_default(c);
	c->mta.ban_ns = 0;
	snprintf(c->mta.exim_dir, sizeof(c->mta.exim_dir), "%s/any", tmp);
	snprintf(c->mta.contained_path, sizeof(c->mta.contained_path), "%s/any.json", tmp);
	assert_int_equal(mkdir(c->mta.exim_dir, 0700), 0);
	memset(longest, 'l', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memcpy(longest + sizeof(longest) - 13, "@example.com", 13);

	/* 1000 bytes: tracked whole, held by its line, released. */
	tracked(m, longest);
	snprintf(id, sizeof(id), "sasl:%s", longest);
	p = sg_mailstats_get(m, id);
	assert_non_null(p);
	assert_int_equal(strlen(p->id), 1005);
	assert_int_equal(p->t.messages, 1);
	req.principal = p->id;
	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, NULL, err, sizeof(err)), 0);
	read_file(c->mta.exim_dir, "smtpguard_accounts", buf, sizeof(buf));
	snprintf(want, sizeof(want), HEADER "\"%s\": hold\n", longest);
	assert_string_equal(buf, want);
	s = sg_contain_state(c);
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, id), "key")),
			    longest);
	json_decref(s);
	assert_int_equal(sg_contain_principal_arg(longest, arg, sizeof(arg)), 0);
	assert_string_equal(arg, id);
	assert_int_equal(sg_release_principal(c, arg, 1001, NULL, err, sizeof(err)), 0);
	read_file(c->mta.exim_dir, "smtpguard_accounts", buf, sizeof(buf));
	assert_string_equal(buf, HEADER);

	/* Not UTF-8: tracked, recorded as explain shows it, held by queue id, released. */
	tracked(m, latin1);
	p = sg_mailstats_get(m, "sasl:jos\xe9@example.com");
	assert_non_null(p);
	req.principal = p->id;
	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, NULL, err, sizeof(err)), -ENOENT);
	read_file(c->mta.exim_dir, "smtpguard_accounts", buf, sizeof(buf));
	assert_string_equal(buf, HEADER);
	s = sg_contain_state(c);
	e = json_object_get(s, "sasl:jos\\xe9@example.com");
	assert_non_null(e);
	assert_null(json_object_get(e, "released"));
	json_decref(s);
	assert_int_equal(sg_contain_principal_arg("jos\\xe9@example.com", arg, sizeof(arg)), 0);
	assert_string_equal(arg, "sasl:jos\xe9@example.com");
	assert_int_equal(sg_contain_principal_arg("jos\\q@example.com", arg, sizeof(arg)), -EILSEQ);
	assert_int_equal(sg_release_principal(c, p->id, 1002, NULL, err, sizeof(err)), 0);
	s = sg_contain_state(c);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(s, "sasl:jos\\xe9@example.com"), "released")),
			 1002);
	json_decref(s);
	sg_mailstats_free(m);
	free(c);
}

/* A state cut short by a crash is left as it is: the holds it records are not wiped. */
static void test_state_unreadable(void **state)
{
	const char *cut = "{\"sasl:a@example.com\": {\"since\": 1, \"held\": [\"Q1\"]";
	struct sg_config *c = malloc(sizeof(*c));
	struct sg_contain_req req = { .principal = "sasl:b@example.com", .rule = "rate" };
	char err[512], buf[1024];

	assert_non_null(c);
	sg_config_default(c);
	c->mta.ban_ns = 0;
	snprintf(c->mta.exim_dir, sizeof(c->mta.exim_dir), "%s", tmp);
	snprintf(c->mta.contained_path, sizeof(c->mta.contained_path), "%s/cut.json", tmp);
	write_file(tmp, "cut.json", cut);
	assert_int_equal(sg_contain(c, SG_MTA_EXIM, &req, NULL, err, sizeof(err)), -EBADMSG);
	/* Contained all the same, and told. */
	read_file(tmp, "smtpguard_accounts", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"b@example.com\": hold\n"));
	assert_non_null(strstr(err, "/cut.json: Bad message"));
	assert_int_equal(
		sg_release_principal(c, "sasl:a@example.com", 1000, NULL, err, sizeof(err)),
		-EBADMSG);
	read_file(tmp, "cut.json", buf, sizeof(buf));
	assert_string_equal(buf, cut);
	free(c);
}

/* Contained again (its first record not taken up): what the first holds is still undone by release.
 */
static void test_contained_again(void **state)
{
	const char *q1[] = { "Q1" }, *q2[] = { "Q2" };
	struct sg_config *c = malloc(sizeof(*c));
	struct sg_contain_req req = { .principal = "sasl:a@example.com", .rule = "rate" };
	char err[512];
	json_t *was = NULL;

	assert_non_null(c);
	sg_config_default(c);
	c->mta.ban_ns = 0;
	snprintf(c->mta.contained_path, sizeof(c->mta.contained_path), "%s/again.json", tmp);
	req.qids = q1;
	req.n_qids = 1;
	assert_int_equal(sg_contain(c, SG_MTA_NONE, &req, NULL, err, sizeof(err)), 0);
	req.qids = q2;
	assert_int_equal(sg_contain(c, SG_MTA_NONE, &req, NULL, err, sizeof(err)), 0);
	assert_int_equal(sg_release_principal(c, req.principal, 1000, &was, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(json_object_get(was, "held")), 2);
	json_decref(was);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_value_cut),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_apply_exim),
		cmocka_unit_test(test_apply_bad_key),
		cmocka_unit_test(test_apply_any_login),
		cmocka_unit_test(test_step_retried),
		cmocka_unit_test(test_state_unreadable),
		cmocka_unit_test(test_contained_again),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
