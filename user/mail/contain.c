// SPDX-License-Identifier: GPL-2.0
/* Containment through the mail server, and release; see contain.h. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/contain.h"
#include "mail/containlog.h"
#include "mail/containstate.h"
#include "sg_bucket.h"
#include "host/ownaddr.h"
#include "kern/banbits.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "mail/backend.h"
#include "util/parse.h"
#include "util/render.h"

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
	/* Unattributed local mail is nobody's: not the line of a user named "unknown". */
	if (!strcmp(principal, SG_MAIL_LOCAL_UNKNOWN))
		return -ENOENT;
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

/* --- the steps ------------------------------------------------------------ */

/* Appends each string of from that to lacks. */
static void add_unique(json_t *to, json_t *from)
{
	json_t *v, *w;
	size_t i, j;

	json_array_foreach(from, i, v)
	{
		json_array_foreach(to, j, w) if (json_equal(v, w)) break;
		if (json_is_string(v) && j == json_array_size(to))
			json_array_append(to, v);
	}
}

/* to_ban banned for ban_for_s; each banned, refused or standing longer leaves to_ban. */
static int step_ban(const struct sg_config *c, json_t *e, char *err, size_t errlen)
{
	__u64 for_ns = (__u64)json_integer_value(json_object_get(e, "ban_for_s")) * SG_NS_PER_SEC;
	json_t *bans = json_object_get(e, "bans"), *left = json_array(), *v;
	struct sg_ban_key key;
	const char *ip, *why;
	int ret = 0, r;
	size_t i;

	if (!json_is_array(bans)) {
		bans = json_array();
		json_object_set_new(e, "bans", bans);
	}
	json_array_foreach(json_object_get(e, "to_ban"), i, v)
	{
		ip = json_string_value(v) ?: "";
		if (sg_parse_cidr(ip, &key, &why)) {
			sg_mta_note(err, errlen, "bad client address '%s'", ip);
			continue;
		}
		r = sg_ban_auto(c, &key, for_ns, SG_BAN_CONTAIN);
		/* A webmail front end or the operator's network logged in to it: never banned. */
		if (r > 0 || r == -EPERM)
			continue;
		if (r) {
			sg_mta_note(err, errlen, "banning %s: %s", ip, strerror(-r));
			json_array_append(left, v);
			ret = ret ? ret : r;
			continue;
		}
		json_array_append(bans, v);
	}
	json_object_set_new(e, "to_ban", left);
	return ret;
}

static int unban_ips(json_t *bans, char *err, size_t errlen)
{
	struct sg_ban_key key;
	const char *why;
	size_t i;
	int fd, ret;

	if (!json_array_size(bans))
		return 0;
	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0) {
		sg_mta_note(err, errlen, "%s: %s (bans not lifted)", SG_MAP_BANS, strerror(-fd));
		return fd;
	}
	for (i = 0; i < json_array_size(bans); i++)
		if (!sg_parse_cidr(json_string_value(json_array_get(bans, i)) ?: "", &key, &why))
			sg_ban_lift(fd, &key, NULL);
	close(fd);
	/* Their bits go with them; left, they would cost only the trie lookups they let through. */
	ret = sg_ban_bits_rebuild();
	if (ret)
		sg_mta_note(err, errlen, "%s: %s (bans lifted, their addresses still looked up)",
			    SG_MAP_BAN_BITS, strerror(-ret));
	return ret;
}

/* Into v (room for max): the table lines e names, its key's first, then old senders'. */
static size_t table_entries(const struct sg_mta_ops *b, json_t *e, struct sg_mta_entry *v,
			    size_t max, char *err, size_t errlen)
{
	const char *table = json_string_value(json_object_get(e, "table")), *key;
	json_t *senders = json_object_get(e, "senders");
	size_t n = 0, i;
	int t;

	key = json_string_value(json_object_get(e, "key"));
	for (t = 0; table && key && t < SG_TAB_KINDS && n < max; t++) {
		if (!b->tables[t] || strcmp(table, b->tables[t]))
			continue;
		v[n].table = (enum sg_mta_table)t;
		snprintf(v[n++].key, sizeof(v->key), "%s", key);
	}
	for (i = 0; i < json_array_size(senders) && n < max; i++) {
		key = json_string_value(json_array_get(senders, i));
		if (!key)
			continue;
		v[n].table = SG_TAB_SENDER;
		snprintf(v[n++].key, sizeof(v->key), "%s", key);
	}
	/* A key cut to fit would remove another: not one a containment wrote. */
	for (i = 0; i < n; i++) {
		if (strlen(v[i].key) == sizeof(v->key) - 1) {
			sg_mta_note(err, errlen, "'%s...' cannot be a key of %s", v[i].key,
				    b->tables[v[i].table] ?: "a table");
			v[i--] = v[--n];
		}
	}
	return n;
}

/* The key's line written with its value (hold), or e's lines removed, through b. */
static int step_table(const struct sg_config *c, const struct sg_mta_ops *b, json_t *e, int hold,
		      char *err, size_t errlen)
{
	size_t max = 1 + json_array_size(json_object_get(e, "senders")), n;
	struct sg_mta_entry *v;
	int ret;

	if (!b)
		return 0;
	v = calloc(max, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = table_entries(b, e, v, max, err, errlen);
	if (hold) {
		n = n && v[0].table != SG_TAB_SENDER;
		snprintf(v[0].value, sizeof(v->value), "%s",
			 json_string_value(json_object_get(e, "value")) ?: "");
	}
	ret = !n     ? 0
	      : hold ? b->hold_account(c, v, n, err, errlen)
		     : b->release_account(c, v, n, err, errlen);
	free(v);
	return ret;
}

/* The queue ids of e's list held (hold) or let go, through b. */
static int step_queue(const struct sg_config *c, const struct sg_mta_ops *b, json_t *e,
		      const char *list, int hold, char *err, size_t errlen)
{
	json_t *a = json_object_get(e, list);
	const char **v;
	size_t i, n = 0;
	int ret;

	if (!b || !json_array_size(a))
		return 0;
	v = calloc(json_array_size(a), sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < json_array_size(a); i++)
		if (json_is_string(json_array_get(a, i)))
			v[n++] = json_string_value(json_array_get(a, i));
	ret = hold ? b->hold_queued(c, v, n, err, errlen) : b->release_queued(c, v, n, err, errlen);
	free(v);
	return ret;
}

static int run_step(const struct sg_config *c, enum sg_contain_step s, json_t *e, char *err,
		    size_t errlen)
{
	const struct sg_mta_ops *b =
		sg_mta_backend_named(json_string_value(json_object_get(e, "mta")) ?: "");

	switch (s) {
	case SG_STEP_BAN:
		return step_ban(c, e, err, errlen);
	case SG_STEP_TABLE:
	case SG_STEP_UNTABLE:
		return step_table(c, b, e, s == SG_STEP_TABLE, err, errlen);
	case SG_STEP_HOLD:
		return step_queue(c, b, e, "to_hold", 1, err, errlen);
	case SG_STEP_UNHOLD:
		return step_queue(c, b, e, "held", 0, err, errlen);
	case SG_STEP_UNBAN:
		return unban_ips(json_object_get(e, "bans"), err, errlen);
	default:
		return 0;
	}
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

/*
 * The steps of e's todo (those in the mask only, unless it is 0), in
 * order, each recorded in the state under id once tried: struck off when
 * done, put off when it failed at now (the next ones are still tried: a
 * spammer is held as far as possible, a release undoes all it can).
 * Returns the first error; err says each, by its step's name.
 */
static int run_steps(const struct sg_config *c, const char *id, json_t *e, unsigned only,
		     time_t now, char *err, size_t errlen)
{
	json_t *todo = json_deep_copy(json_object_get(e, "todo")), *v;
	int ret = 0, saved = 0, r, s;
	char why[1024];
	size_t i;

	json_array_foreach(todo, i, v)
	{
		s = sg_clog_step(json_string_value(v));
		if (s < 0 || (only && !(only & 1u << s)))
			continue;
		why[0] = '\0';
		r = run_step(c, (enum sg_contain_step)s, e, why, sizeof(why));
		if (r) {
			sg_clog_failed(e, (enum sg_contain_step)s, *why ? why : strerror(-r), now);
			sg_mta_note(err, errlen, "%s: %s", sg_contain_step_names[s],
				    *why ? why : strerror(-r));
			ret = ret ? ret : r;
		} else {
			sg_clog_done(e, (enum sg_contain_step)s);
			if (*why)
				sg_mta_note(err, errlen, "%s", why);
		}
		r = sg_cstate_update(c, put_entry, &(struct put_ctx){ id, e }, 0);
		/* Told once: each step's record fails alike. */
		if (r && !saved++)
			sg_mta_note(err, errlen, "%s: %s", c->mta.contained_path, strerror(-r));
		ret = ret ? ret : r;
	}
	json_decref(todo);
	return ret;
}

/* --- containing ----------------------------------------------------------- */

/* The intent: what the plan will do, every step of it still to do. */
static json_t *intent(const struct sg_contain_plan *p, const struct sg_contain_req *req)
{
	json_t *e = json_pack(
		"{s:I, s:s, s:s, s:o, s:o, s:[]}", "since", (json_int_t)time(NULL), "rule",
		req->rule, "mta", sg_mta_type_names[p->mta ? p->mta->type : SG_MTA_NONE], "held",
		strings(p->qids, p->n_qids), "to_hold", strings(p->qids, p->n_qids), "bans");

	if (!e)
		return NULL;
	if (p->ban_ns) {
		json_object_set_new(e, "ban_for_s",
				    json_integer((json_int_t)(p->ban_ns / SG_NS_PER_SEC)));
		json_object_set_new(e, "to_ban", strings(p->ips, p->n_ips));
	}
	/* Its line in the MTA's table (a key is UTF-8). */
	if (p->keyed && p->mta) {
		json_object_set_new(e, "key", json_string(p->entry.key));
		json_object_set_new(e, "table", json_string(p->mta->tables[p->entry.table]));
		json_object_set_new(e, "value", json_string(p->entry.value));
	}
	sg_clog_begin(e);
	return e;
}

static int put_intent(json_t *s, void *ctx)
{
	struct put_ctx *p = ctx;
	json_t *old = json_object_get(s, p->principal);

	/* Contained still, or a release left undone: its undo lists are this containment's too. */
	if (old && (!json_object_get(old, "released") || sg_clog_next(old) >= 0)) {
		add_unique(json_object_get(p->entry, "held"), json_object_get(old, "held"));
		add_unique(json_object_get(p->entry, "bans"), json_object_get(old, "bans"));
	}
	/* The same containment still: its owner's notice (ownernotice.h) is not sent again. */
	if (old && !json_object_get(old, "released") && json_object_get(old, "notice"))
		json_object_set(p->entry, "notice", json_object_get(old, "notice"));
	return put_entry(s, ctx);
}

int sg_contain(const struct sg_config *c, enum sg_mta_type t, const struct sg_contain_req *req,
	       json_t **done, char *err, size_t errlen)
{
	struct sg_contain_plan p;
	int ret, r, lock;
	json_t *e;

	*err = '\0';
	sg_contain_plan(c, t, req, sg_contain_uid_name, &p);
	if (!p.id[0]) {
		sg_mta_note(err, errlen, "a principal of %zu bytes: %s", strlen(req->principal),
			    strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	e = intent(&p, req);
	if (!e)
		return -ENOMEM;
	lock = sg_cstate_lock(c, ".tables.lock", 1);
	/* Recorded before any step: a crash from here on leaves it to resume. */
	ret = sg_cstate_update(c, put_intent, &(struct put_ctx){ p.id, e }, 1);
	if (ret)
		sg_mta_note(err, errlen, "%s: %s", c->mta.contained_path, strerror(-ret));
	if (!p.keyed) {
		sg_mta_note(err, errlen,
			    "%s: no table key (a user with no name, or a login no table can hold): "
			    "held by queue id and in-band only",
			    p.id);
		ret = ret ? ret : -ENOENT;
	}
	r = run_steps(c, p.id, e, 0, time(NULL), err, errlen);
	ret = ret ? ret : r;
	if (lock >= 0)
		close(lock);
	if (done)
		*done = e;
	else
		json_decref(e);
	return ret;
}

struct hold_ctx {
	const char *principal;
	const char *const *qids;
	size_t n;
	json_t *entry; /* a copy of its entry, to hold from */
};

static int add_held(json_t *s, void *ctx)
{
	struct hold_ctx *h = ctx;
	json_t *e = json_object_get(s, h->principal), *held = json_object_get(e, "held"), *more;

	/* Released meanwhile (by the CLI, under this lock): not to be held any more. */
	if (!json_is_array(held) || json_object_get(e, "released"))
		return -ENOENT;
	if (!json_is_array(json_object_get(e, "to_hold")))
		json_object_set_new(e, "to_hold", json_array());
	/* Each once: the in-band judge's holds may be in the containment's own list already. */
	more = strings(h->qids, h->n);
	add_unique(held, more);
	add_unique(json_object_get(e, "to_hold"), more);
	json_decref(more);
	sg_clog_add(e, SG_STEP_HOLD);
	h->entry = json_deep_copy(e);
	return h->entry ? 0 : -ENOMEM;
}

int sg_contain_hold(const struct sg_config *c, const char *principal, const char *const *qids,
		    size_t n, char *err, size_t errlen)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	struct hold_ctx h = { id, qids, n, NULL };
	int ret, lock;

	*err = '\0';
	if (sg_escape_id(principal, id, sizeof(id)) < 0)
		return -ENAMETOOLONG;
	/* A release waits until they are held and recorded, then lets them go with the rest. */
	lock = sg_cstate_lock(c, ".tables.lock", 1);
	/* Recorded first: a release in between means not to hold. */
	ret = sg_cstate_update(c, add_held, &h, 1);
	if (!ret)
		ret = run_steps(c, id, h.entry, 1u << SG_STEP_HOLD, time(NULL), err, errlen);
	json_decref(h.entry);
	if (lock >= 0)
		close(lock);
	return ret;
}

/* --- release -------------------------------------------------------------- */

struct release_ctx {
	const char *principal;
	time_t now;
	json_t *was, *entry; /* before, and as a release (copies) */
};

static int begin_release(json_t *s, void *ctx)
{
	struct release_ctx *r = ctx;
	json_t *e = json_object_get(s, r->principal);

	if (!e)
		return -ENOENT;
	r->was = json_deep_copy(e);
	if (sg_clog_release(e, r->now) == -ENOENT) {
		json_decref(r->was);
		r->was = NULL;
		return -ENOENT;
	}
	r->entry = json_deep_copy(e);
	return r->was && r->entry ? 0 : -ENOMEM;
}

int sg_release_principal(const struct sg_config *c, const char *principal, time_t now,
			 json_t **undone, char *err, size_t errlen)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	struct release_ctx rc = { id, now, NULL, NULL };
	int ret, lock;

	*err = '\0';
	if (sg_escape_id(principal, id, sizeof(id)) < 0)
		return -ENOENT; /* longer than any contained */
	lock = sg_cstate_lock(c, ".tables.lock", 1);
	/* Begun, or begun before and left undone: what it names is kept until each step is done. */
	ret = sg_cstate_update(c, begin_release, &rc, 1);
	if (ret && ret != -ENOENT)
		sg_mta_note(err, errlen, "%s: %s", c->mta.contained_path, strerror(-ret));
	if (!ret)
		ret = run_steps(c, id, rc.entry, 0, now, err, errlen);
	json_decref(rc.entry);
	if (lock >= 0)
		close(lock);
	if (undone)
		*undone = rc.was;
	else
		json_decref(rc.was);
	return ret;
}

/* --- resuming and pruning ------------------------------------------------- */

/* Entries resumed in one call, each a few tool runs at most: a tick is not held up long. */
#define RESUME_MAX 4

time_t sg_contain_resume(const struct sg_config *c, time_t now, sg_contain_told told, void *ctx)
{
	int lock = sg_cstate_lock(c, ".tables.lock", 0), runs = 0;
	json_t *s, *e, *before;
	time_t next = 0, due;
	char err[1024];
	const char *id;

	/* The CLI is at it: not waited for. */
	if (lock == -EWOULDBLOCK)
		return now + 1;
	s = sg_contain_state(c);
	json_object_foreach(s, id, e)
	{
		due = sg_clog_due(e);
		if (due && due <= now && runs < RESUME_MAX) {
			runs++;
			before = json_deep_copy(e);
			err[0] = '\0';
			run_steps(c, id, e, 0, now, err, sizeof(err));
			if (told)
				told(id, before, e, err, ctx);
			json_decref(before);
			due = sg_clog_due(e);
		}
		if (due && (!next || due < next))
			next = due;
	}
	json_decref(s);
	if (lock >= 0)
		close(lock);
	return next;
}

struct prune_ctx {
	const struct sg_config *c;
	time_t now;
	__u64 *pruned;
};

static int prune(json_t *s, void *ctx)
{
	struct prune_ctx *p = ctx;

	/* Nothing dropped: nothing to write. */
	return sg_clog_prune(s, p->now, (time_t)(p->c->mta.contained_keep_ns / SG_NS_PER_SEC),
			     p->c->mta.contained_max, p->pruned)
		       ? 0
		       : -ENOENT;
}

int sg_contain_prune(const struct sg_config *c, time_t now, __u64 pruned[SG_PRUNED_KINDS])
{
	int ret;

	if (access(c->mta.contained_path, F_OK))
		return 0;
	ret = sg_cstate_update(c, prune, &(struct prune_ctx){ c, now, pruned }, 0);
	return ret == -ENOENT ? 0 : ret;
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
