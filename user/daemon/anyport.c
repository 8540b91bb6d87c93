// SPDX-License-Identifier: GPL-2.0
/* SMTP on ports that are not watched (anyport.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "daemon/anyport.h"
#include "host/attrib.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "util/log.h"
#include "util/render.h"
#include "sg_bucket.h"

#define IDLE_NS	      (3600 * SG_NS_PER_SEC) /* an entry unused this long is removed */
#define TOLD_PER_TICK 10		     /* new destinations logged a tick, the rest counted */

struct walk {
	struct sg_anyport *a;
	__u64 now;
	int told, untold;
	struct sg_smtp_key *stale;
	size_t n_stale, cap_stale;
	__u64 entries; /* walked */
};

static int note_stale(struct walk *w, const struct sg_smtp_key *key)
{
	struct sg_smtp_key *p;

	if (w->n_stale == w->cap_stale) {
		p = realloc(w->stale, (w->cap_stale ? w->cap_stale * 2 : 64) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->stale = p;
		w->cap_stale = w->cap_stale ? w->cap_stale * 2 : 64;
	}
	w->stale[w->n_stale++] = *key;
	return 0;
}

static void count_port(struct sg_anyport *a, const struct sg_smtp *s)
{
	int i;

	for (i = 0; i < a->n_ports && a->ports[i].port != s->port; i++)
		;
	if (i == a->n_ports && a->n_ports == SG_MAX_PORTS) {
		a->ports_omitted++;
		return;
	}
	if (i == a->n_ports)
		a->ports[a->n_ports++] = (struct sg_smtp_port){ .port = s->port };
	a->ports[i].destinations++;
	a->ports[i].sessions += s->sessions;
}

/* "smtp on unwatched port 2525: uid 1001 (bob) to 192.0.2.25, 1 session" */
static void tell(__u32 uid, const struct sg_smtp *s)
{
	char name[64], safe[64], addr[64];

	sg_format_addr(s->addr, addr, sizeof(addr));
	if (sg_user_name_cached(uid, name, sizeof(name)))
		snprintf(safe, sizeof(safe), "-");
	else
		sg_printable(name, safe, sizeof(safe));
	sg_info("smtp on unwatched port %u: uid %u (%s) to %s, %llu session%s", s->port, uid, safe,
		addr, (unsigned long long)s->sessions, s->sessions == 1 ? "" : "s");
}

static int entry(const void *key, const void *value, void *ctx)
{
	const struct sg_smtp_key *k = key;
	const struct sg_smtp *s = value;
	struct walk *w = ctx;

	w->entries++;
	if (s->last_ns + IDLE_NS < w->now)
		return note_stale(w, k);
	count_port(w->a, s);
	if (s->first_ns <= w->a->last_ns)
		return 0;
	if (w->told++ < TOLD_PER_TICK)
		tell(k->uid, s);
	else
		w->untold++;
	return 0;
}

int sg_anyport_tick(struct sg_anyport *a, __u64 now_ns)
{
	struct walk w = { .a = a, .now = now_ns };
	int fd = sg_pin_open(SG_MAP_SMTP), err;
	size_t i;

	if (fd < 0)
		return fd;
	a->n_ports = 0;
	a->ports_omitted = 0;
	err = sg_map_for_each(fd, entry, &w);
	if (w.untold)
		sg_info("smtp on unwatched ports: %d more new destinations", w.untold);
	for (i = 0; !err && i < w.n_stale; i++)
		if (bpf_map_delete_elem(fd, &w.stale[i]) && errno != ENOENT)
			err = -errno;
	if (!err) {
		a->last_ns = now_ns;
		a->entries = w.entries - w.n_stale;
	}
	close(fd);
	free(w.stale);
	return err;
}
