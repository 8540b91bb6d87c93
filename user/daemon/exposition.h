/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the metrics renderer (metrics*.c): the Prometheus
 * text exposition format, one family and one sample at a time, with label
 * values made safe for a scrape.
 */
#ifndef SG_EXPOSITION_H
#define SG_EXPOSITION_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/metrics.h"
#include "util/render.h"

struct label {
	const char *name;
	const char *value;
};

#define LABELS(...)                                                                                \
	(const struct label[]){ __VA_ARGS__ },                                                     \
		sizeof((const struct label[]){ __VA_ARGS__ }) / sizeof(struct label)
#define NO_LABELS NULL, 0

/*
 * Label values are user, interface and principal names, which may hold any byte: each is
 * sg_escape_id's escape (printable, valid UTF-8, so Prometheus takes the scrape and no
 * terminal showing it obeys a control), its backslashes escaped again as the text format asks.
 */
static inline void put_label_value(FILE *f, const char *value)
{
	char piece[SG_ESCAPE_CHAR_MAX], *p;
	size_t used;

	for (; *value; value += used) {
		sg_escape_char(value, piece, &used);
		for (p = piece; *p; p++) {
			if (*p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
	}
}

/* The shortest form that reads back as the same double, in Prometheus's spelling. */
static inline const char *format_double(double v, char *buf, size_t len)
{
	int prec;

	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

static inline void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static inline void sample(FILE *f, const char *name, const struct label *labels, size_t n,
			  const char *value)
{
	size_t i;

	fputs(name, f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%c%s=\"", i ? ',' : '{', labels[i].name);
		put_label_value(f, labels[i].value);
		fputc('"', f);
	}
	fprintf(f, "%s %s\n", n ? "}" : "", value);
}

static inline void sample_u64(FILE *f, const char *name, const struct label *labels, size_t n,
			      __u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	sample(f, name, labels, n, buf);
}

/* A family of one sample with no labels. */
static inline void family_u64(FILE *f, const char *name, const char *type, const char *help,
			      __u64 v)
{
	family(f, name, type, help);
	sample_u64(f, name, NO_LABELS, v);
}

static inline void sample_double(FILE *f, const char *name, const struct label *labels, size_t n,
				 double v)
{
	char buf[32];

	sample(f, name, labels, n, format_double(v, buf, sizeof(buf)));
}

/* One sample per name, labelled label=names[i]. */
static inline void named_family(FILE *f, const char *name, const char *type, const char *help,
				const char *label, const char *const *names, const __u64 *v,
				size_t n)
{
	size_t i;

	family(f, name, type, help);
	for (i = 0; i < n; i++)
		sample_u64(f, name, LABELS({ label, names[i] }), v[i]);
}

/* metrics_mail.c: the mail server's families (its records, accounts and campaigns). */
void sg_metrics_render_mta(FILE *f, const struct sg_mta_metrics *m);
/* metrics_mail.c: the in-band judge's and the policy service's, when there is one. */
void sg_metrics_render_inband(FILE *f, const struct sg_metrics *m);

/* metrics_fleet.c: the CrowdSec link's and the bouncer's, when [crowdsec] url is set. */
struct sg_fleet_counts;
struct sg_link_status;
void sg_metrics_render_fleet(FILE *f, const struct sg_fleet_counts *n,
			     const struct sg_link_status *st);

#endif
