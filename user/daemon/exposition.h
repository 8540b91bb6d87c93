/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the metrics renderer (metrics.c, metrics_mail.c): the Prometheus
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

struct label {
	const char *name;
	const char *value;
};

#define LABELS(...)                                                                                \
	(const struct label[]){ __VA_ARGS__ },                                                     \
		sizeof((const struct label[]){ __VA_ARGS__ }) / sizeof(struct label)
#define NO_LABELS NULL, 0

/*
 * Length of the valid UTF-8 sequence at s, 0 when s does not start one (Go's rules, which
 * Prometheus applies: no overlong forms, no surrogates, nothing above U+10FFFF).
 */
static inline size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++, lo = 0x80, hi = 0xbf)
		if (s[i] < lo || s[i] > hi)
			return 0;
	return n;
}

/*
 * Label values are user names and interface names, which may hold any byte: Prometheus
 * rejects the whole scrape on one invalid UTF-8 value, so such bytes become U+FFFD.
 */
static inline void put_label_value(FILE *f, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t n;

	while (*s) {
		if (*s == '\\' || *s == '"') {
			fputc('\\', f);
			fputc(*s++, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
			s++;
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fputs("\xef\xbf\xbd", f);
			s++;
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

#endif
