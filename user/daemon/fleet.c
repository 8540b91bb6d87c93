// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's part of the fleet ([crowdsec]): the link's thread started,
 * swapped on reload and stopped; each tick, the decisions it pulled applied
 * by the bouncer (fleet/bouncer.h) in the loop, where every other ban is
 * put; /fleet for `smtpguard status`.
 */
#include <errno.h>
#include <string.h>

#include "daemon/exposition.h"
#include "daemon/run.h"
#include "util/log.h"

int sg_daemon_fleet_start(struct daemon *d)
{
	int err = sg_bouncer_init(&d->bouncer, NULL, d);

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
	sg_link_stop(d->link);
	d->link = NULL;
	sg_bouncer_free(&d->bouncer);
}

void sg_daemon_fleet_tick(struct daemon *d, __u64 now)
{
	struct sg_fleet_counts was = d->bouncer.n;
	struct sg_link_batch b;
	__u64 applied = 0, lifted = 0;
	int o, s;

	if (!sg_link_take(d->link, &b))
		return;
	d->bouncer.n.skipped[SG_SKIP_MALFORMED] += b.malformed;
	d->bouncer.n.skipped[SG_SKIP_UNSUPPORTED] += b.unsupported;
	sg_bouncer_apply(&d->bouncer, d->cfg, &d->audit, b.added, b.n_added, b.deleted, b.n_deleted,
			 b.startup, now);
	for (o = 0; o < SG_ORIGIN__MAX; o++)
		for (s = 0; s < SG_SCOPE__MAX; s++)
			applied += d->bouncer.n.applied[o][s] - was.applied[o][s];
	for (s = 0; s < SG_SCOPE__MAX; s++)
		lifted += d->bouncer.n.lifted[s] - was.lifted[s];
	if (applied || lifted || b.startup)
		sg_info("crowdsec: %zu new and %zu deleted decision%s%s: %llu applied, %llu "
			"lifted, "
			"%llu in force",
			b.n_added, b.n_deleted, b.n_added + b.n_deleted == 1 ? "" : "s",
			b.startup ? " (startup)" : "", (unsigned long long)applied,
			(unsigned long long)lifted,
			(unsigned long long)(d->bouncer.n.active[SG_SCOPE_IP] +
					     d->bouncer.n.active[SG_SCOPE_RANGE] +
					     d->bouncer.n.active[SG_SCOPE_MAIL_ACCOUNT]));
	sg_link_batch_free(&b);
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
