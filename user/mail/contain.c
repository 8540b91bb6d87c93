// SPDX-License-Identifier: GPL-2.0
/* Containment through the mail server, and release; see contain.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "mail/contain.h"
#include "sg_bucket.h"
#include "core/mailstats.h"
#include "kern/maps.h"
#include "util/parse.h"
#include "util/subproc.h"
#include "kern/state.h"

#define TOOL_TIMEOUT_MS 10000
#define MAX_ARGS	64

enum table {
	T_SASL,
	T_SENDER,
	T_SUBMIT,
	T_EXIM_ACCOUNTS,
	T_EXIM_LOCAL,
};

static const char *const table_files[] = {
	[T_SASL] = "smtpguard_sasl_access",	    [T_SENDER] = "smtpguard_sender_access",
	[T_SUBMIT] = "smtpguard_submit_users",	    [T_EXIM_ACCOUNTS] = "smtpguard_accounts",
	[T_EXIM_LOCAL] = "smtpguard_local_senders",
};

/* Appends a message to err ("; " between), so every failure of a containment is told. */
static void __attribute__((format(printf, 3, 4))) note(char *err, size_t len, const char *fmt, ...)
{
	size_t off = strlen(err);
	va_list ap;

	if (off && off + 2 < len) {
		strcpy(err + off, "; ");
		off += 2;
	}
	va_start(ap, fmt);
	vsnprintf(err + off, len - off, fmt, ap);
	va_end(ap);
}

enum sg_mta_type sg_contain_mta(const struct sg_config *c)
{
	char path[PATH_MAX + 16];

	if (c->mta.type != SG_MTA_AUTO)
		return c->mta.type;
	snprintf(path, sizeof(path), "%s/main.cf", c->mta.postfix_config);
	if (!access(path, R_OK))
		return SG_MTA_POSTFIX;
	if (!access(c->mta.exim_dir, F_OK))
		return SG_MTA_EXIM;
	return SG_MTA_NONE;
}

static const char *table_path(const struct sg_config *c, enum table t, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", t >= T_EXIM_ACCOUNTS ? c->mta.exim_dir : c->mta.postfix_config,
		 table_files[t]);
	return buf;
}

/* A key a lookup table can hold: no blanks, quotes or controls, not a comment. */
static int table_key_ok(const char *k)
{
	if (!*k || *k == '#' || strlen(k) >= SG_MTA_ADDR_MAX)
		return 0;
	for (; *k; k++)
		if (isspace((unsigned char)*k) || iscntrl((unsigned char)*k) || *k == '"' ||
		    *k == '\\')
			return 0;
	return 1;
}

/* An address access(5) matches as itself only: local@domain, one '@', both parts there. */
static int sender_key_ok(const char *a)
{
	const char *at = strchr(a, '@');

	return table_key_ok(a) && at && at != a && at[1] && !strchr(at + 1, '@') &&
	       strchr(at + 1, '.');
}

/* The key of a table line: Postfix's first word, or Exim's quoted key. */
static size_t line_key(const char *line, int exim, const char **key)
{
	const char *end;

	if (exim && *line == '"') {
		*key = line + 1;
		end = strchr(line + 1, '"');
		return end ? (size_t)(end - line - 1) : 0;
	}
	*key = line;
	return strcspn(line, exim ? " \t:" : " \t\n");
}

/*
 * Sets key's line of the table at path to value (NULL: removes it), keeping
 * every other line; written whole to a temporary file and renamed.
 */
static int table_edit(const char *path, int exim, const char *key, const char *value)
{
	char tmp[PATH_MAX + 128], line[1024];
	FILE *in = fopen(path, "re"), *out;
	const char *k;
	size_t kl;
	int fd, err = 0;

	if (!in && errno != ENOENT)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		if (in)
			fclose(in);
		return err;
	}
	if (!in)
		fprintf(out, "# Written by smtpguard: the principals it contains. "
			     "`smtpguard release` removes them.\n");
	while (in && fgets(line, sizeof(line), in)) {
		kl = line_key(line, exim, &k);
		if (*line != '#' && kl == strlen(key) && !strncasecmp(k, key, kl))
			continue;
		fputs(line, out);
	}
	if (value)
		fprintf(out, exim ? "\"%s\": %s\n" : "%s\t%s\n", key, value);
	if (in)
		fclose(in);
	if (fflush(out) || fsync(fileno(out)))
		err = -errno;
	if (fclose(out) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Splits [mta] exim ("/usr/sbin/exim4 -C FILE") into argv; returns the count. */
static int exim_argv(const struct sg_config *c, char *buf, size_t len, char **argv, int max)
{
	char *save, *tok;
	int n = 0;

	snprintf(buf, len, "%s", c->mta.exim_command);
	for (tok = strtok_r(buf, " \t", &save); tok && n < max - 1;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	return n;
}

/* Runs a tool; a failure is noted in err with the tool's own words. */
static int run(char *const argv[], const char *input, char *err, size_t errlen)
{
	char out[512], cmd[256];
	int ret = sg_subproc_run(argv, input, out, sizeof(out), TOOL_TIMEOUT_MS);

	if (!ret)
		return 0;
	out[strcspn(out, "\n")] = '\0';
	note(err, errlen, "%s: %s", sg_subproc_line(argv, cmd, sizeof(cmd)),
	     ret < 0 ? strerror(-ret)
	     : *out  ? out
		     : "failed");
	return ret < 0 ? ret : -EIO;
}

/*
 * exim -Mf/-Mt ID...: Exim prints one line per message ("Message ID is now
 * frozen") and exits 1 if any was not done. Done enough: frozen already
 * (-Mf: the ACL froze it), not frozen (-Mt), gone (delivered or removed
 * since: "Spool data file for ID does not exist"). A message under
 * delivery is locked: -Mf is tried again on those, a few times, since a
 * delivery takes milliseconds and a deferred message must not escape.
 * Anything else is noted in err.
 */
static int run_exim_m(char *const argv[], int first_id, int hold, char *err, size_t errlen)
{
	static const char *const done[] = { " is now frozen",	    " is already frozen",
					    " is no longer frozen", " is not frozen",
					    " does not exist",	    NULL };
	char out[8192], cmd[256], *line, *save, *again[MAX_ARGS + 4];
	int ret, bad = 0, tries, n, j;
	size_t i, len;

	for (n = 0; argv[n]; n++)
		again[n] = argv[n];
	again[n] = NULL;
	for (tries = 0;; tries++) {
		ret = sg_subproc_run(again, NULL, out, sizeof(out), TOOL_TIMEOUT_MS);
		if (ret < 0)
			note(err, errlen, "%s: %s", sg_subproc_line(again, cmd, sizeof(cmd)),
			     strerror(-ret));
		if (ret <= 0)
			return ret;
		n = first_id;
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			for (i = 0; done[i] && !strstr(line, done[i]); i++)
				;
			if (done[i])
				continue;
			/* "Message ID is locked": again, unless tried enough. */
			for (j = first_id; hold && tries < 5 && argv[j]; j++) {
				len = strlen(argv[j]);
				if (!strncmp(line, "Message ", 8) &&
				    !strncmp(line + 8, argv[j], len) &&
				    !strcmp(line + 8 + len, " is locked"))
					break;
			}
			if (hold && tries < 5 && argv[j]) {
				again[n++] = argv[j];
				continue;
			}
			note(err, errlen, "%s: %s", sg_subproc_line(again, cmd, sizeof(cmd)), line);
			bad = 1;
		}
		again[n] = NULL;
		if (n == first_id)
			return bad ? -EIO : 0;
		usleep(100 * 1000);
	}
}

static int postmap(const struct sg_config *c, enum table t, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], arg[PATH_MAX + 72];
	char *argv[] = { "postmap", "-c", (char *)c->mta.postfix_config, arg, NULL };

	snprintf(arg, sizeof(arg), "hash:%s", table_path(c, t, path, sizeof(path)));
	return run(argv, NULL, err, errlen);
}

static int postfix_reload(const struct sg_config *c, char *err, size_t errlen)
{
	char *argv[] = { "postfix", "-c", (char *)c->mta.postfix_config, "reload", NULL };

	return run(argv, NULL, err, errlen);
}

/* Sets or removes key in table t and makes the MTA see it. */
static int table_set(const struct sg_config *c, enum table t, const char *key, const char *value,
		     char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	int ret;

	if (!table_key_ok(key)) {
		note(err, errlen, "'%s' cannot be a key of %s", key, table_files[t]);
		return -EINVAL;
	}
	ret = table_edit(table_path(c, t, path, sizeof(path)), t >= T_EXIM_ACCOUNTS, key, value);
	if (ret) {
		note(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	return t >= T_EXIM_ACCOUNTS ? 0 : postmap(c, t, err, errlen);
}

/* Holds (hold) or releases queued messages: postsuper -h|-H, exim -Mf|-Mt. */
static int queue_op(const struct sg_config *c, enum sg_mta_type t, int hold,
		    const char *const *qids, size_t n, char *err, size_t errlen)
{
	char *argv[MAX_ARGS + 4], buf[PATH_MAX], *input;
	size_t i, off = 0;
	int argc, first, ret = 0, r;

	if (!n)
		return 0;
	if (t == SG_MTA_POSTFIX) {
		input = malloc(n * SG_MTA_QID_MAX + 1);
		if (!input)
			return -ENOMEM;
		for (i = 0; i < n; i++)
			off += (size_t)sprintf(input + off, "%s\n", qids[i]);
		char *pargv[] = { "postsuper",	      "-c", (char *)c->mta.postfix_config,
				  hold ? "-h" : "-H", "-",  NULL };
		ret = run(pargv, input, err, errlen);
		free(input);
		return ret;
	}
	/* Exim takes ids as arguments: in batches. */
	for (i = 0; i < n;) {
		argc = exim_argv(c, buf, sizeof(buf), argv, 8);
		argv[argc++] = hold ? "-Mf" : "-Mt";
		first = argc;
		while (i < n && argc < MAX_ARGS)
			argv[argc++] = (char *)qids[i++];
		argv[argc] = NULL;
		/* Every batch, whatever the one before said. */
		r = run_exim_m(argv, first, hold, err, errlen);
		ret = ret ? ret : r;
	}
	return ret;
}

/* --- the state file ------------------------------------------------------- */

/*
 * Locks beside the state file: ".lock" for the state, ".tables.lock" for
 * the whole of a containment's or release's table edits (taken first), so
 * the daemon and the CLI never write a table at once.
 */
static int lock_file(const struct sg_config *c, const char *suffix)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s%s", c->mta.contained_path, suffix);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		close(fd);
		return -errno;
	}
	return fd;
}

json_t *sg_contain_state(const struct sg_config *c)
{
	json_error_t jerr;
	json_t *s = json_load_file(c->mta.contained_path, 0, &jerr);

	if (s && !json_is_object(s)) {
		json_decref(s);
		s = NULL;
	}
	return s;
}

static int state_save(const struct sg_config *c, json_t *s)
{
	char tmp[PATH_MAX + 8];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", c->mta.contained_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (json_dumpfd(s, fd, JSON_INDENT(1) | JSON_SORT_KEYS) || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, c->mta.contained_path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Runs fn on the state under the lock and saves it when fn returns 0. */
static int state_update(const struct sg_config *c, int (*fn)(json_t *s, void *ctx), void *ctx)
{
	int lock = lock_file(c, ".lock"), ret;
	json_t *s;

	if (lock < 0)
		return lock;
	s = sg_contain_state(c);
	if (!s)
		s = json_object();
	ret = s ? fn(s, ctx) : -ENOMEM;
	if (!ret)
		ret = state_save(c, s);
	json_decref(s);
	close(lock);
	return ret;
}

static json_t *strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* --- containing ----------------------------------------------------------- */

/* The table key of a principal and the table it goes in. */
static int principal_key(const char *principal, enum sg_mta_type t, enum table *tab, char *key,
			 size_t len)
{
	const char *name;
	struct passwd *pw;
	char *end;
	long uid;

	if (!strncmp(principal, SG_MAIL_SASL, strlen(SG_MAIL_SASL))) {
		*tab = t == SG_MTA_EXIM ? T_EXIM_ACCOUNTS : T_SASL;
		snprintf(key, len, "%s", principal + strlen(SG_MAIL_SASL));
		return 0;
	}
	if (strncmp(principal, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL)))
		return -EINVAL;
	*tab = t == SG_MTA_EXIM ? T_EXIM_LOCAL : T_SUBMIT;
	name = principal + strlen(SG_MAIL_LOCAL);
	/* Both MTAs match local senders by login name. */
	errno = 0;
	uid = strtol(name, &end, 10);
	if (*name && !*end && !errno) {
		pw = getpwuid((uid_t)uid);
		if (!pw)
			return -ENOENT;
		name = pw->pw_name;
	}
	snprintf(key, len, "%s", name);
	return 0;
}

static int ban_ips(const struct sg_config *c, const char *const *ips, size_t n, json_t *banned,
		   char *err, size_t errlen)
{
	struct sg_ban_key key;
	const char *why;
	size_t i;
	int fd, ret = 0, r;

	if (!c->mta.ban_ns || !n)
		return 0;
	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0) {
		note(err, errlen, "%s: %s (no bans)", SG_MAP_BANS, strerror(-fd));
		return fd;
	}
	for (i = 0; i < n; i++) {
		if (sg_parse_cidr(ips[i], &key, &why)) {
			note(err, errlen, "bad client address '%s'", ips[i]);
			continue;
		}
		r = sg_ban_raise(fd, &key, c->mta.ban_ns, SG_BAN_CONTAIN);
		if (r > 0)
			continue;
		if (r) {
			note(err, errlen, "banning %s: %s", ips[i], strerror(-r));
			ret = ret ? ret : r;
			continue;
		}
		if (banned)
			json_array_append_new(banned, json_string(ips[i]));
	}
	close(fd);
	return ret;
}

struct put_ctx {
	const char *principal;
	json_t *entry;
};

static int put_entry(json_t *s, void *ctx)
{
	struct put_ctx *p = ctx;

	return json_object_set(s, p->principal, p->entry) ? -ENOMEM : 0;
}

int sg_contain(const struct sg_config *c, enum sg_mta_type t, const struct sg_contain_req *req,
	       json_t **done, char *err, size_t errlen)
{
	const char *action = c->mta.reject ? "REJECT" : "HOLD";
	char key[SG_MTA_ADDR_MAX], value[128];
	json_t *entry, *banned = json_array();
	int ret = 0, r, tables = 0, keyed, lock;
	enum table tab = T_SASL;
	json_t *utf8;
	size_t i;

	*err = '\0';
	/* Not recordable (jansson takes UTF-8 only): nothing a release could undo but bans that
	 * expire. */
	utf8 = json_string(req->principal);
	if (!utf8) {
		note(err, errlen, "%s: not UTF-8: only its IPs are banned", req->principal);
		ban_ips(c, req->ips, req->n_ips, NULL, err, errlen);
		return -EINVAL;
	}
	json_decref(utf8);
	lock = lock_file(c, ".tables.lock");
	entry = json_pack("{s:I, s:s, s:s, s:o, s:[], s:o}", "since", (json_int_t)time(NULL),
			  "rule", req->rule, "mta", sg_mta_type_names[t], "held",
			  strings(req->qids, req->n_qids), "senders", "bans", banned);
	if (!entry) {
		if (lock >= 0)
			close(lock);
		return -ENOMEM;
	}
	/* The bans first: they cut the attacker off while the MTA takes up the tables. */
	r = ban_ips(c, req->ips, req->n_ips, banned, err, errlen);
	ret = ret ? ret : r;
	keyed = !principal_key(req->principal, t, &tab, key, sizeof(key));
	r = keyed ? 0 : -ENOENT;
	if (!keyed) {
		note(err, errlen, "%s: no table key (%s)", req->principal, strerror(-r));
		ret = r;
	} else if (t != SG_MTA_NONE) {
		/* Postfix logs an access action's text; the other tables only need the key. */
		if (tab == T_SASL)
			snprintf(value, sizeof(value), "%s smtpguard: %s contained (%s)", action,
				 req->principal, req->rule);
		else
			snprintf(value, sizeof(value), "%s",
				 t == SG_MTA_EXIM ? "hold" : "contained");
		r = table_set(c, tab, key, value, err, errlen);
		ret = ret ? ret : r;
		tables += !r;
		json_object_set_new(entry, "key", json_string(key));
		json_object_set_new(entry, "table", json_string(table_files[tab]));
	}
	for (i = 0; keyed && t == SG_MTA_POSTFIX && tab == T_SASL && i < req->n_senders; i++) {
		snprintf(value, sizeof(value), "%s smtpguard: sender of %s", action,
			 req->principal);
		/* A bare domain or "user@" would match every such sender, inbound mail too. */
		if (!sender_key_ok(req->senders[i]))
			continue;
		r = table_set(c, T_SENDER, req->senders[i], value, err, errlen);
		ret = ret ? ret : r;
		tables += !r;
		if (!r)
			json_array_append_new(json_object_get(entry, "senders"),
					      json_string(req->senders[i]));
	}
	if (t == SG_MTA_POSTFIX && tables) {
		r = postfix_reload(c, err, errlen);
		ret = ret ? ret : r;
	}
	r = queue_op(c, t, 1, req->qids, req->n_qids, err, errlen);
	ret = ret ? ret : r;
	if (c->mta.ban_ns)
		json_object_set_new(entry, "ban_for_s",
				    json_integer((json_int_t)(c->mta.ban_ns / SG_NS_PER_SEC)));
	r = state_update(c, put_entry, &(struct put_ctx){ req->principal, entry });
	if (r)
		note(err, errlen, "%s: %s", c->mta.contained_path, strerror(-r));
	ret = ret ? ret : r;
	if (done)
		*done = json_incref(entry);
	json_decref(entry);
	if (lock >= 0)
		close(lock);
	return ret;
}

struct hold_ctx {
	const char *principal;
	const char *const *qids;
	size_t n;
};

static int add_held(json_t *s, void *ctx)
{
	struct hold_ctx *h = ctx;
	json_t *e = json_object_get(s, h->principal), *held = json_object_get(e, "held");
	size_t i;

	/* Released meanwhile (by the CLI, under this lock): not to be held any more. */
	if (!json_is_array(held) || json_object_get(e, "released"))
		return -ENOENT;
	for (i = 0; i < h->n; i++)
		json_array_append_new(held, json_string(h->qids[i]));
	return 0;
}

int sg_contain_hold(const struct sg_config *c, enum sg_mta_type t, const char *principal,
		    const char *const *qids, size_t n, char *err, size_t errlen)
{
	int ret;

	*err = '\0';
	/* Recorded first, under the lock: a release in between means not to hold. */
	ret = state_update(c, add_held, &(struct hold_ctx){ principal, qids, n });
	if (ret)
		return ret;
	return queue_op(c, t, 1, qids, n, err, errlen);
}

/* --- release -------------------------------------------------------------- */

struct release_ctx {
	const char *principal;
	time_t now;
	json_t *was;
};

static int mark_released(json_t *s, void *ctx)
{
	struct release_ctx *r = ctx;
	json_t *e = json_object_get(s, r->principal);

	if (!e || json_object_get(e, "released"))
		return -ENOENT;
	r->was = json_deep_copy(e);
	json_object_set_new(e, "released", json_integer((json_int_t)r->now));
	json_object_set_new(e, "held", json_array());
	json_object_set_new(e, "bans", json_array());
	json_object_set_new(e, "senders", json_array());
	return 0;
}

static size_t string_array(json_t *a, const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < json_array_size(a) && n < max; i++)
		if (json_is_string(json_array_get(a, i)))
			out[n++] = json_string_value(json_array_get(a, i));
	return n;
}

static int unban_ips(json_t *bans, char *err, size_t errlen)
{
	struct sg_ban_key key;
	const char *why;
	size_t i;
	int fd;

	if (!json_array_size(bans))
		return 0;
	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0) {
		note(err, errlen, "%s: %s (bans not lifted)", SG_MAP_BANS, strerror(-fd));
		return fd;
	}
	for (i = 0; i < json_array_size(bans); i++)
		if (!sg_parse_cidr(json_string_value(json_array_get(bans, i)) ?: "", &key, &why))
			bpf_map_delete_elem(fd, &key);
	close(fd);
	return 0;
}

int sg_release_principal(const struct sg_config *c, const char *principal, time_t now,
			 json_t **undone, char *err, size_t errlen)
{
	struct release_ctx rc = { principal, now, NULL };
	const char *table, *key, *mta, **v;
	enum sg_mta_type t = SG_MTA_NONE;
	int ret, r, tables = 0, lock;
	size_t n, i;
	enum table tab;

	*err = '\0';
	lock = lock_file(c, ".tables.lock");
	ret = state_update(c, mark_released, &rc);
	if (ret) {
		if (ret != -ENOENT)
			note(err, errlen, "%s: %s", c->mta.contained_path, strerror(-ret));
		if (lock >= 0)
			close(lock);
		return ret;
	}
	mta = json_string_value(json_object_get(rc.was, "mta")) ?: "";
	for (i = SG_MTA_NONE; i <= SG_MTA_EXIM; i++)
		if (!strcmp(mta, sg_mta_type_names[i]))
			t = (enum sg_mta_type)i;
	table = json_string_value(json_object_get(rc.was, "table"));
	key = json_string_value(json_object_get(rc.was, "key"));
	for (tab = T_SASL; table && key && tab <= T_EXIM_LOCAL; tab++) {
		if (strcmp(table, table_files[tab]))
			continue;
		r = table_set(c, tab, key, NULL, err, errlen);
		ret = ret ? ret : r;
		tables += !r;
	}
	n = json_array_size(json_object_get(rc.was, "senders"));
	for (i = 0; i < n; i++) {
		key = json_string_value(json_array_get(json_object_get(rc.was, "senders"), i));
		r = key ? table_set(c, T_SENDER, key, NULL, err, errlen) : 0;
		ret = ret ? ret : r;
		tables += !r;
	}
	if (t == SG_MTA_POSTFIX && tables) {
		r = postfix_reload(c, err, errlen);
		ret = ret ? ret : r;
	}
	n = json_array_size(json_object_get(rc.was, "held"));
	v = calloc(n + 1, sizeof(*v));
	if (v) {
		n = string_array(json_object_get(rc.was, "held"), v, n);
		r = queue_op(c, t, 0, v, n, err, errlen);
		ret = ret ? ret : r;
		free(v);
	}
	r = unban_ips(json_object_get(rc.was, "bans"), err, errlen);
	ret = ret ? ret : r;
	if (undone)
		*undone = rc.was;
	else
		json_decref(rc.was);
	if (lock >= 0)
		close(lock);
	return ret;
}

int sg_contain_principal_arg(const char *arg, char *out, size_t len)
{
	int n;

	const char *name = arg + strlen(SG_MAIL_LOCAL);
	struct passwd *pw;

	/* The daemon names a local sender by its UID: local:bob is local:1001. */
	if (!strncmp(arg, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL)) && *name &&
	    strspn(name, "0123456789") != strlen(name) && (pw = getpwnam(name)))
		n = snprintf(out, len, "%s%u", SG_MAIL_LOCAL, (unsigned)pw->pw_uid);
	else if (!strncmp(arg, SG_MAIL_SASL, strlen(SG_MAIL_SASL)) ||
		 !strncmp(arg, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL)))
		n = snprintf(out, len, "%s", arg);
	else if (strchr(arg, '@'))
		n = snprintf(out, len, "%s%s", SG_MAIL_SASL, arg);
	else
		return -EINVAL;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* --- check-mta ------------------------------------------------------------ */

/* A tool's output, or "" when it cannot run. */
static void capture(char *const argv[], char *out, size_t len)
{
	if (sg_subproc_run(argv, NULL, out, len, TOOL_TIMEOUT_MS))
		out[0] = '\0';
}

static int check(FILE *out, int ok, const char *what, const char *fix)
{
	fprintf(out, "%-4s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok && fix)
		fprintf(out, "     %s\n", fix);
	return !ok;
}

static int check_table(const struct sg_config *c, enum table t, const char *suffix, FILE *out)
{
	char path[PATH_MAX + 64], what[PATH_MAX + 128];

	table_path(c, t, path, sizeof(path));
	strcat(path, suffix);
	snprintf(what, sizeof(what), "%s exists", path);
	return check(out, !access(path, R_OK), what,
		     "it is made at the first containment; to make it now: touch the table"
		     " (and postmap it, for Postfix)");
}

static int check_postfix(const struct sg_config *c, FILE *out)
{
	char *params[] = { "postconf",
			   "-c",
			   (char *)c->mta.postfix_config,
			   "-x",
			   "-h",
			   "smtpd_client_restrictions",
			   "smtpd_helo_restrictions",
			   "smtpd_sender_restrictions",
			   "smtpd_relay_restrictions",
			   "smtpd_recipient_restrictions",
			   "authorized_submit_users",
			   NULL };
	char *master[] = { "postconf", "-c", (char *)c->mta.postfix_config, "-P", NULL };
	char *version[] = { "postconf", "-c",		(char *)c->mta.postfix_config,
			    "-h",	"mail_version", NULL };
	char main[8192], svc[16384], ver[64], want[3][PATH_MAX + 128], fix[3][3 * PATH_MAX];
	static const char *const kinds[] = { "check_sasl_access hash:", "check_sender_access hash:",
					     "!hash:" };
	static const enum table tabs[] = { T_SASL, T_SENDER, T_SUBMIT };
	int failed = 0, i;

	capture(version, ver, sizeof(ver));
	ver[strcspn(ver, "\n")] = '\0';
	snprintf(fix[0], sizeof(fix[0]), "postconf -c %s runs%s%s%s", c->mta.postfix_config,
		 *ver ? " (Postfix " : "", ver, *ver ? ")" : "");
	failed += check(out, *ver, fix[0], "install Postfix, or set [mta] postfix_config");
	if (!*ver)
		return failed;
	capture(params, main, sizeof(main));
	capture(master, svc, sizeof(svc));
	for (i = 0; i < 3; i++)
		snprintf(want[i], sizeof(want[i]), "%s%s/%s", kinds[i], c->mta.postfix_config,
			 table_files[tabs[i]]);
	snprintf(fix[0], sizeof(fix[0]),
		 "add to main.cf: smtpd_sender_restrictions = %s, %s (then your own)", want[0],
		 want[1]);
	snprintf(fix[2], sizeof(fix[2]),
		 "add to main.cf: authorized_submit_users = %s, static:anyone", want[2]);
	for (i = 0; i < 3; i++)
		failed += check(out, strstr(main, want[i]) || (i < 2 && strstr(svc, want[i])),
				want[i], fix[i == 1 ? 0 : i]);
	for (i = 0; i < 3; i++) {
		failed += check_table(c, tabs[i], "", out);
		failed += check_table(c, tabs[i], ".db", out);
	}
	return failed;
}

static int check_exim(const struct sg_config *c, FILE *out)
{
	char *argv[MAX_ARGS], buf[PATH_MAX], info[4096], conf[PATH_MAX], what[3 * PATH_MAX];
	char *line, *text = NULL;
	size_t len = 0;
	FILE *f;
	int failed = 0, argc, i;

	argc = exim_argv(c, buf, sizeof(buf), argv, MAX_ARGS - 1);
	argv[argc++] = "-bV";
	argv[argc] = NULL;
	capture(argv, info, sizeof(info));
	line = strstr(info, "Configuration file is ");
	failed += check(out, line != NULL, "exim -bV names its configuration file",
			"install Exim, or set [mta] exim to the exim binary and its arguments");
	if (!line)
		return failed;
	snprintf(conf, sizeof(conf), "%s", line + strlen("Configuration file is "));
	conf[strcspn(conf, "\n")] = '\0';
	f = fopen(conf, "re");
	if (f) {
		if (getdelim(&text, &len, '\0', f) < 0) {
			free(text);
			text = NULL;
		}
		fclose(f);
	}
	for (i = T_EXIM_ACCOUNTS; i <= T_EXIM_LOCAL; i++) {
		snprintf(what, sizeof(what), "%s reads %s/%s (dist/exim4-smtpguard.acl)", conf,
			 c->mta.exim_dir, table_files[i]);
		failed += check(
			out, text && strstr(text, table_files[i]), what,
			"add the ACL lines of dist/exim4-smtpguard.acl, then update-exim4.conf");
		failed += check_table(c, i, "", out);
	}
	free(text);
	return failed;
}

int sg_contain_check(const struct sg_config *c, enum sg_mta_type t, const char (*logs)[PATH_MAX],
		     int n_logs, FILE *out)
{
	int failed = 0, i;
	char what[PATH_MAX + 32];

	fprintf(out, "MTA: %s\n", sg_mta_type_names[t]);
	if (t == SG_MTA_POSTFIX)
		failed += check_postfix(c, out);
	else if (t == SG_MTA_EXIM)
		failed += check_exim(c, out);
	else
		failed += check(out, 0, "a mail server to contain accounts through",
				"install Postfix or Exim, or set [mta] type");
	for (i = 0; i < n_logs; i++) {
		snprintf(what, sizeof(what), "%s is readable", logs[i]);
		failed += check(out, !access(logs[i], R_OK), what,
				"set [mta] logs to the MTA's log files");
	}
	return failed;
}
