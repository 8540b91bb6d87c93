// SPDX-License-Identifier: GPL-2.0
/* Containment through the mail server, and release; see contain.h. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "mail/contain.h"
#include "sg_bucket.h"
#include "host/ownaddr.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "mail/backend.h"
#include "util/parse.h"
#include "util/render.h"
#include "util/tmpfile.h"

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
	fd = sg_tmpfile_open(tmp, 0600);
	if (fd < 0)
		return fd;
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

/* --- the plan ------------------------------------------------------------- */

int sg_contain_uid_name(long uid, char *name, size_t len)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	if (!pw)
		return -ENOENT;
	snprintf(name, len, "%s", pw->pw_name);
	return 0;
}

/* The table key of a principal and the kind of table it goes in. */
static int principal_key(const char *principal, int (*uid_name)(long, char *, size_t),
			 enum sg_mta_table *tab, char *key, size_t len)
{
	const char *name;
	char *end;
	long uid;

	if (!strncmp(principal, SG_MAIL_SASL, strlen(SG_MAIL_SASL))) {
		*tab = SG_TAB_ACCOUNT;
		snprintf(key, len, "%s", principal + strlen(SG_MAIL_SASL));
		return 0;
	}
	if (strncmp(principal, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL)))
		return -EINVAL;
	*tab = SG_TAB_LOCAL;
	name = principal + strlen(SG_MAIL_LOCAL);
	/* The MTAs match local senders by login name. */
	errno = 0;
	uid = strtol(name, &end, 10);
	if (*name && !*end && !errno)
		return uid_name(uid, key, len);
	snprintf(key, len, "%s", name);
	return 0;
}

void sg_contain_plan(const struct sg_config *c, enum sg_mta_type t,
		     const struct sg_contain_req *req,
		     int (*uid_name)(long uid, char *name, size_t len), struct sg_contain_plan *p)
{
	struct sg_mta_entry *e = &p->entry;

	memset(p, 0, sizeof(*p));
	p->mta = sg_mta_backend(t);
	p->ban_ns = c->mta.ban_ns;
	p->cfg = c;
	if (p->ban_ns) {
		p->ips = req->ips;
		p->n_ips = req->n_ips;
	}
	if (sg_escape_id(req->principal, p->id, sizeof(p->id)) < 0)
		p->id[0] = '\0';
	p->qids = req->qids;
	p->n_qids = req->n_qids;
	p->keyed = !principal_key(req->principal, uid_name, &e->table, e->key, sizeof(e->key)) &&
		   sg_mta_key_ok(e->key);
	if (p->keyed && p->mta)
		p->mta->entry_value(e->table, c->mta.reject ? "REJECT" : "HOLD", req->principal,
				    req->rule, e->value, sizeof(e->value));
}

/* --- containing ----------------------------------------------------------- */

/* The plan's IPs banned; those banned anew recorded in banned (may be NULL). */
static int ban_ips(const struct sg_contain_plan *p, json_t *banned, char *err, size_t errlen)
{
	struct sg_ban_key key;
	const char *why;
	size_t i;
	int ret = 0, r;

	for (i = 0; i < p->n_ips; i++) {
		if (sg_parse_cidr(p->ips[i], &key, &why)) {
			sg_mta_note(err, errlen, "bad client address '%s'", p->ips[i]);
			continue;
		}
		r = sg_ban_auto(p->cfg, &key, p->ban_ns, SG_BAN_CONTAIN);
		/* A webmail front end or the operator's network logged in to it: never banned. */
		if (r > 0 || r == -EPERM)
			continue;
		if (r) {
			sg_mta_note(err, errlen, "banning %s: %s", p->ips[i], strerror(-r));
			ret = ret ? ret : r;
			continue;
		}
		if (banned)
			json_array_append_new(banned, json_string(p->ips[i]));
	}
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

/* The plan's table line through the MTA, recorded in the state's entry (a key is UTF-8). */
static int apply_table(const struct sg_config *c, struct sg_contain_plan *p, json_t *entry,
		       char *err, size_t errlen)
{
	int ret = p->mta->hold_account(c, &p->entry, 1, err, errlen);

	json_object_set_new(entry, "key", json_string(p->entry.key));
	json_object_set_new(entry, "table", json_string(p->mta->tables[p->entry.table]));
	return ret;
}

static int apply(const struct sg_config *c, struct sg_contain_plan *p,
		 const struct sg_contain_req *req, json_t **done, char *err, size_t errlen)
{
	json_t *entry, *banned = json_array();
	int ret = 0, r, lock = lock_file(c, ".tables.lock");

	entry = json_pack("{s:I, s:s, s:s, s:o, s:o}", "since", (json_int_t)time(NULL), "rule",
			  req->rule, "mta", sg_mta_type_names[p->mta ? p->mta->type : SG_MTA_NONE],
			  "held", strings(p->qids, p->n_qids), "bans", banned);
	if (!entry) {
		if (lock >= 0)
			close(lock);
		return -ENOMEM;
	}
	ret = ban_ips(p, banned, err, errlen);
	if (!p->keyed) {
		sg_mta_note(err, errlen,
			    "%s: no table key (a user with no name, or a login no table can hold): "
			    "held by queue id and in-band only",
			    p->id);
		ret = -ENOENT;
	} else if (p->mta) {
		r = apply_table(c, p, entry, err, errlen);
		ret = ret ? ret : r;
	}
	r = p->mta ? p->mta->hold_queued(c, p->qids, p->n_qids, err, errlen) : 0;
	ret = ret ? ret : r;
	if (p->ban_ns)
		json_object_set_new(entry, "ban_for_s",
				    json_integer((json_int_t)(p->ban_ns / SG_NS_PER_SEC)));
	r = state_update(c, put_entry, &(struct put_ctx){ p->id, entry });
	if (r)
		sg_mta_note(err, errlen, "%s: %s", c->mta.contained_path, strerror(-r));
	ret = ret ? ret : r;
	if (done)
		*done = json_incref(entry);
	json_decref(entry);
	if (lock >= 0)
		close(lock);
	return ret;
}

int sg_contain(const struct sg_config *c, enum sg_mta_type t, const struct sg_contain_req *req,
	       json_t **done, char *err, size_t errlen)
{
	struct sg_contain_plan p;

	*err = '\0';
	sg_contain_plan(c, t, req, sg_contain_uid_name, &p);
	if (!p.id[0]) {
		sg_mta_note(err, errlen, "a principal of %zu bytes: %s", strlen(req->principal),
			    strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	return apply(c, &p, req, done, err, errlen);
}

struct hold_ctx {
	const char *principal;
	const char *const *qids;
	size_t n;
};

static int add_held(json_t *s, void *ctx)
{
	struct hold_ctx *h = ctx;
	json_t *e = json_object_get(s, h->principal), *held = json_object_get(e, "held"), *q;
	size_t i, j;

	/* Released meanwhile (by the CLI, under this lock): not to be held any more. */
	if (!json_is_array(held) || json_object_get(e, "released"))
		return -ENOENT;
	/* Each once: the in-band judge's holds may be in the containment's own list already. */
	for (i = 0; i < h->n; i++) {
		json_array_foreach(held, j, q) if (json_is_string(q) &&
						   !strcmp(json_string_value(q), h->qids[i])) break;
		if (j == json_array_size(held))
			json_array_append_new(held, json_string(h->qids[i]));
	}
	return 0;
}

int sg_contain_hold(const struct sg_config *c, enum sg_mta_type t, const char *principal,
		    const char *const *qids, size_t n, char *err, size_t errlen)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	const struct sg_mta_ops *b;
	int ret;

	*err = '\0';
	if (sg_escape_id(principal, id, sizeof(id)) < 0)
		return -ENAMETOOLONG;
	/* Recorded first, under the lock: a release in between means not to hold. */
	ret = state_update(c, add_held, &(struct hold_ctx){ id, qids, n });
	if (ret)
		return ret;
	b = sg_mta_backend(t);
	return b ? b->hold_queued(c, qids, n, err, errlen) : 0;
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
	json_object_del(e, "senders"); /* an earlier version's: removed below */
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
		sg_mta_note(err, errlen, "%s: %s (bans not lifted)", SG_MAP_BANS, strerror(-fd));
		return fd;
	}
	for (i = 0; i < json_array_size(bans); i++)
		if (!sg_parse_cidr(json_string_value(json_array_get(bans, i)) ?: "", &key, &why))
			bpf_map_delete_elem(fd, &key);
	close(fd);
	return 0;
}

/* Into e (room for max): the table lines the state's entry says were written. */
static size_t release_entries(const struct sg_mta_ops *b, json_t *was, struct sg_mta_entry *e,
			      size_t max, char *err, size_t errlen)
{
	const char *table = json_string_value(json_object_get(was, "table")), *key;
	json_t *senders = json_object_get(was, "senders");
	size_t n = 0, i;
	int t;

	key = json_string_value(json_object_get(was, "key"));
	for (t = 0; table && key && t < SG_TAB_KINDS && n < max; t++) {
		if (!b->tables[t] || strcmp(table, b->tables[t]))
			continue;
		e[n].table = (enum sg_mta_table)t;
		snprintf(e[n++].key, sizeof(e->key), "%s", key);
	}
	for (i = 0; i < json_array_size(senders) && n < max; i++) {
		key = json_string_value(json_array_get(senders, i));
		if (!key)
			continue;
		e[n].table = SG_TAB_SENDER;
		snprintf(e[n++].key, sizeof(e->key), "%s", key);
	}
	/* A key cut to fit would remove another: not one a containment wrote. */
	for (i = 0; i < n; i++) {
		if (strlen(e[i].key) == sizeof(e->key) - 1) {
			sg_mta_note(err, errlen, "'%s...' cannot be a key of %s", e[i].key,
				    b->tables[e[i].table] ?: "a table");
			e[i--] = e[--n];
		}
	}
	return n;
}

/* Its table lines removed and its messages let go, through the MTA that held them. */
static int release_mta(const struct sg_config *c, json_t *was, char *err, size_t errlen)
{
	const struct sg_mta_ops *b =
		sg_mta_backend_named(json_string_value(json_object_get(was, "mta")) ?: "");
	json_t *held = json_object_get(was, "held");
	size_t max = 1 + json_array_size(json_object_get(was, "senders")), n;
	struct sg_mta_entry *e;
	const char **v;
	int ret = 0, r;

	if (!b)
		return 0;
	e = calloc(max, sizeof(*e));
	if (e) {
		n = release_entries(b, was, e, max, err, errlen);
		ret = n ? b->release_account(c, e, n, err, errlen) : 0;
		free(e);
	}
	v = calloc(json_array_size(held) + 1, sizeof(*v));
	if (v) {
		n = string_array(held, v, json_array_size(held));
		r = b->release_queued(c, v, n, err, errlen);
		ret = ret ? ret : r;
		free(v);
	}
	return ret;
}

int sg_release_principal(const struct sg_config *c, const char *principal, time_t now,
			 json_t **undone, char *err, size_t errlen)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	struct release_ctx rc = { id, now, NULL };
	int ret, r, lock;

	*err = '\0';
	if (sg_escape_id(principal, id, sizeof(id)) < 0)
		return -ENOENT; /* longer than any contained */
	lock = lock_file(c, ".tables.lock");
	ret = state_update(c, mark_released, &rc);
	if (ret) {
		if (ret != -ENOENT)
			sg_mta_note(err, errlen, "%s: %s", c->mta.contained_path, strerror(-ret));
		if (lock >= 0)
			close(lock);
		return ret;
	}
	ret = release_mta(c, rc.was, err, errlen);
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

int sg_contain_principal_arg(const char *esc, char *out, size_t len)
{
	char arg[SG_PRINCIPAL_MAX];
	const char *name = arg + strlen(SG_MAIL_LOCAL);
	struct passwd *pw;
	int n;

	n = sg_unescape_id(esc, arg, sizeof(arg));
	if (n == -ENOSPC)
		return -ENAMETOOLONG;
	if (n < 0)
		return -EILSEQ;
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
