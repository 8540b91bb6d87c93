// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's part of the fleet ([crowdsec]): the link's thread started,
 * swapped on reload and stopped; each tick, the decisions it pulled applied
 * by the bouncer (fleet/bouncer.h) in the loop, where every other ban is
 * put; /fleet for `smtpguard status`.
 */
#include <errno.h>
#include <string.h>

#include "daemon/dryrun.h"
#include "daemon/exposition.h"
#include "daemon/fleetpush.h"
#include "daemon/run.h"
#include "kern/maps.h"
#include "mail/contain.h"
#include "util/log.h"
#include "util/render.h"

#define FLEET_PER_TICK 1000 /* decisions applied a tick, deleted and new together */

/*
 * Whether id's containment is the fleet's own hold (the state's rule), not
 * a local rule's or a human's.
 */
static int held_by_fleet(const struct daemon *d, const char *id)
{
	char key[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	json_t *s = sg_contain_state(d->cfg), *e;
	int ours;

	sg_escape_id(id, key, sizeof(key));
	e = json_object_get(s, key);
	ours = e && !json_object_get(e, "released") &&
	       !strcmp(json_string_value(json_object_get(e, "rule")) ?: "", SG_FLEET_RULE);
	json_decref(s);
	return ours;
}

/*
 * A hold decision on account (a SASL login): contained here as a rule's
 * response contains it, when this server's mail logs know the login (it
 * is hosted here); released, as `smtpguard release` does, when the last
 * decision on it goes.
 */
static int fleet_hold(void *ctx, const char *account, const char *scenario, int on)
{
	struct daemon *d = ctx;
	char id[SG_PRINCIPAL_MAX], safe[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)], err[512];
	size_t sasl = strlen(SG_MAIL_SASL);
	struct sg_mail_principal *p;
	json_t *was = NULL;
	int ret;

	/* The value is the login's escape (core/alert.h): "x\\y" names x\y, not "x\\y". */
	memcpy(id, SG_MAIL_SASL, sasl);
	if (sg_unescape_id(account, id + sasl, sizeof(id) - sasl) < 0)
		return -ENOENT;
	p = d->mail.stats ? sg_mailstats_get(d->mail.stats, id) : NULL;
	if (!p)
		return -ENOENT;
	if (on) {
		if (p->contained)
			return held_by_fleet(d, id) ? 0 : -EEXIST;
		/* A human released it: that stands for the release's grace, as for every rule. */
		if (p->released_until > time(NULL))
			return -EEXIST;
		sg_mailguard_contain(&d->mail, d->cfg, &d->audit, p, SG_FLEET_RULE, 0, 0,
				     time(NULL));
		/* Only told (dry run): pending, tried at each pull, made once dry run is off. */
		return p->contained ? 0 : -EAGAIN;
	}
	/* A local rule's or a human's containment is theirs to release. */
	if (!held_by_fleet(d, id))
		return 0;
	ret = sg_release_principal(d->cfg, id, time(NULL), &was, err, sizeof(err));
	json_decref(was);
	if (ret == -ENOENT)
		return 0;
	sg_escape_id(id, safe, sizeof(safe));
	/* Not released: still contained, so a human's release of it later is counted and sent. */
	if (ret) {
		sg_error("crowdsec: releasing %s: %s", safe, *err ? err : strerror(-ret));
		return ret;
	}
	/* Released by the fleet, not a human: the state's next reading must not push it back. */
	p->contained = 0;
	sg_info("action release principal=%s rule=crowdsec: its hold deleted at the LAPI", safe);
	sg_audit_daemon(&d->audit, "release", safe,
			json_pack("{s:s, s:s}", "rule", SG_FLEET_RULE, "scenario", scenario),
			"the fleet's hold was deleted at the CrowdSec LAPI", 0);
	return 0;
}

int sg_daemon_fleet_start(struct daemon *d)
{
	int err = sg_bouncer_init(&d->bouncer, fleet_hold, d);

	if (!err)
		err = sg_link_apply(&d->link, &d->cfg->crowdsec);
	if (err)
		sg_error("crowdsec: starting the link: %s", strerror(-err));
	return err;
}

void sg_daemon_fleet_reload(struct daemon *d)
{
	int err = sg_link_apply(&d->link, &d->cfg->crowdsec);

	if (err)
		sg_error("crowdsec: %s; the previous link goes on", strerror(-err));
}

void sg_daemon_fleet_stop(struct daemon *d)
{
	sg_link_batch_free(&d->fleet_batch);
	sg_link_stop(d->link);
	d->link = NULL;
	sg_bouncer_free(&d->bouncer);
}

/* The sum of a per-origin, per-scope count, or of a per-scope one (origins 1). */
static __u64 sum(const __u64 *v, int n)
{
	__u64 t = 0;
	int i;

	for (i = 0; i < n; i++)
		t += v[i];
	return t;
}

/*
 * The next slice of the pull being applied, at most FLEET_PER_TICK
 * decisions, deleted ones first: a startup list of 10,000 is in force
 * within a few ticks, and no turn of the loop waits for all of it.
 */
static int apply_slice(struct daemon *d, __u64 now)
{
	struct sg_link_batch *b = &d->fleet_batch;
	size_t del = b->n_deleted - d->fleet_done[1], add, room = FLEET_PER_TICK;
	__u64 told;
	int last;

	del = del < room ? del : room;
	room -= del;
	add = b->n_added - d->fleet_done[0];
	add = add < room ? add : room;
	last = d->fleet_done[1] + del == b->n_deleted && d->fleet_done[0] + add == b->n_added;
	told = d->bouncer.n.told;
	sg_bouncer_apply(&d->bouncer, d->cfg, &d->audit, b->added + d->fleet_done[0], add,
			 b->deleted + d->fleet_done[1], del, b->startup, last, now);
	/* A dry run's bans, told by the bouncer: counted with the daemon's (dryrun.h). */
	sg_dry_counted("ban", SG_FLEET_RULE, d->bouncer.n.told - told);
	d->fleet_done[0] += add;
	d->fleet_done[1] += del;
	return last;
}

void sg_daemon_fleet_tick(struct daemon *d, __u64 now)
{
	const struct sg_fleet_counts *n = &d->bouncer.n;
	struct sg_link_batch *b = &d->fleet_batch;
	__u64 start = sg_boot_ns();

	if (!d->fleet_busy) {
		if (!sg_link_take(d->link, b))
			return;
		d->fleet_busy = 1;
		d->fleet_done[0] = d->fleet_done[1] = 0;
		d->fleet_applied = sum(&n->applied[0][0], SG_ORIGIN__MAX * SG_SCOPE__MAX);
		d->fleet_lifted = sum(n->lifted, SG_SCOPE__MAX);
		d->fleet_took_ns = 0;
		d->bouncer.n.skipped[SG_SKIP_MALFORMED] += b->malformed;
		d->bouncer.n.skipped[SG_SKIP_UNSUPPORTED] += b->unsupported;
	}
	d->fleet_busy = !apply_slice(d, now);
	d->fleet_took_ns += sg_boot_ns() - start;
	if (d->fleet_busy)
		return;
	d->fleet_applied =
		sum(&n->applied[0][0], SG_ORIGIN__MAX * SG_SCOPE__MAX) - d->fleet_applied;
	d->fleet_lifted = sum(n->lifted, SG_SCOPE__MAX) - d->fleet_lifted;
	/* The loop's time, over the ticks it took: `make bench` reads it from this line. */
	if (d->fleet_applied || d->fleet_lifted || b->startup)
		sg_info("crowdsec: %zu new and %zu deleted decision%s%s: %llu applied, %llu "
			"lifted, "
			"%llu in force, in %llu ms",
			b->n_added, b->n_deleted, b->n_added + b->n_deleted == 1 ? "" : "s",
			b->startup ? " (startup)" : "", (unsigned long long)d->fleet_applied,
			(unsigned long long)d->fleet_lifted,
			(unsigned long long)sum(n->active, SG_SCOPE__MAX),
			(unsigned long long)(d->fleet_took_ns / 1000000));
	sg_link_batch_free(b);
}

json_t *sg_daemon_fleet_json(struct daemon *d)
{
	struct sg_link_status st;
	json_t *active;
	int s;

	if (!d->link)
		return json_pack("{s:b}", "configured", 0);
	sg_link_status(d->link, &st);
	active = json_object();
	for (s = 0; s < SG_SCOPE__MAX; s++)
		json_object_set_new(active, sg_decision_scope_names[s],
				    json_integer((json_int_t)d->bouncer.n.active[s]));
	return json_pack("{s:b, s:s, s:I, s:I, s:b, s:s, s:o, s:I}", "configured", 1, "url", st.url,
			 "pulls", (json_int_t)st.pulls, "last_pull", (json_int_t)st.last_pull,
			 "failing", st.failing, "error", st.last_error, "active", active, "known",
			 (json_int_t)d->bouncer.n.known);
}

void sg_daemon_fleet_render(FILE *f, struct daemon *d)
{
	struct sg_link_status st;

	if (!d->link)
		return;
	sg_link_status(d->link, &st);
	sg_metrics_render_fleet(f, &d->bouncer.n, &st);
}
