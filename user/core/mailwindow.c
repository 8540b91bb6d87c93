// SPDX-License-Identifier: GPL-2.0
/* A mail principal's sliding windows, and the detector's view of them; see mailwindow.h. */
#include <string.h>

#include "core/mailwindow.h"

static void zero_ring(__u32 *ring, time_t from, time_t to)
{
	time_t t;

	if (to - from >= 60) {
		memset(ring, 0, 60 * sizeof(*ring));
		return;
	}
	for (t = from + 1; t <= to; t++)
		ring[t % 60] = 0;
}

void sg_mail_advance(struct sg_mail_principal *p, time_t now)
{
	time_t min = now / 60;

	if (now > p->sec_at) {
		zero_ring(p->msg_s, p->sec_at, now);
		p->sec_at = now;
	}
	if (min > p->min_at) {
		zero_ring(p->msg_m, p->min_at, min);
		zero_ring(p->bounce_in_m, p->min_at, min);
		zero_ring(p->sent_m, p->min_at, min);
		zero_ring(p->bounced_m, p->min_at, min);
		zero_ring(p->deferred_m, p->min_at, min);
		p->min_at = min;
	}
}

/* Sum of the last n slots of a per-minute ring at minute min. */
static __u64 sum_m(const __u32 *ring, time_t min, int n)
{
	__u64 s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += ring[(min - i + 60 * 60) % 60];
	return s;
}

size_t sg_mailstats_ips(const struct sg_mail_principal *p, time_t now, time_t window_s)
{
	size_t i, n = 0;

	for (i = 0; i < p->n_ips; i++)
		n += now - p->ips[i].last < window_s;
	return n;
}

void sg_mailstats_observe(struct sg_mail_principal *p, time_t now, struct sg_observation *o)
{
	time_t min = now / 60;
	size_t i;
	int s;

	sg_mail_advance(p, now);
	memset(o, 0, sizeof(*o));
	o->total = p->t.messages;
	for (s = 0; s < 60; s++)
		o->last_1m += p->msg_s[s];
	for (i = 0; i < p->n_domains; i++)
		o->destinations_10m += now - p->domains[i].last < 600;
	o->client_ips_1h = sg_mailstats_ips(p, now, 3600);
	o->bounced_10m = sum_m(p->bounced_m, min, 10);
	o->delivered_10m = o->bounced_10m + sum_m(p->sent_m, min, 10);
	o->bounces_in_1h = sum_m(p->bounce_in_m, min, 60);
}
