// SPDX-License-Identifier: GPL-2.0
/* A replay's report as text (replay.h): what an administrator reads. */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "core/baseline.h"
#include "mail/replay.h"
#include "util/render.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static __u64 num(const json_t *o, const char *key)
{
	return (__u64)json_integer_value(json_object_get(o, key));
}

/* An ISO time as "hh:mm:ss" (one day) or "YYYY-MM-DD hh:mm:ss"; "-" for none. */
static const char *clock_of(const char *iso, int one_day, char *buf, size_t len)
{
	if (strlen(iso) < 19)
		return "-";
	if (one_day)
		snprintf(buf, len, "%.8s", iso + 11);
	else
		snprintf(buf, len, "%.10s %.8s", iso, iso + 11);
	return buf;
}

/* How the table is laid out: the principals' column, the times' (a day: the clock only). */
struct layout {
	int w, one_day, tw;
};

/* The time span and the table's heading; the layout into l. */
static void print_head(FILE *f, const json_t *report, struct layout *l)
{
	const json_t *ps = json_object_get(report, "principals"), *p;
	const char *from = str(report, "from"), *to = str(report, "to");
	char t1[32], t2[32];
	size_t i, j;

	l->one_day = strlen(from) >= 10 && !strncmp(from, to, 10);
	l->tw = l->one_day ? 8 : 19;
	l->w = 9;
	json_array_foreach(ps, i, p)
	{
		j = strlen(str(p, "principal"));
		l->w = (int)j > l->w ? (int)j : l->w;
	}
	l->w = l->w > 40 ? 40 : l->w;
	if (*from)
		fprintf(f, "replay of %s to %s (UTC%s)\n", clock_of(from, 0, t1, sizeof(t1)),
			clock_of(to, l->one_day, t2, sizeof(t2)), strlen(to) > 19 ? to + 19 : "?");
	if (!json_array_size(ps))
		fprintf(f, "no SASL account or local sender sent mail in these logs\n");
	else
		fprintf(f, "%-*s %6s %6s %6s %7s %6s %7s %4s %6s %5s  %-*s %-*s %s\n", l->w,
			"PRINCIPAL", "MSGS", "RCPTS", "SENT", "BOUNCED", "DEFER", "BOUNCE%", "IPS",
			"BNC_IN", "AUTHF", l->tw, "FIRST", l->tw, "LAST", "FIRST ALERT");
}

/* A principal's row, then its rules' first firings. */
static void print_principal(FILE *f, const json_t *p, const struct layout *l)
{
	int share = (int)(json_number_value(json_object_get(p, "bounce_share")) * 1000 + 0.5);
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)], t1[32], t2[32], t3[32];
	const json_t *fr;
	const char *key;
	size_t j;

	fprintf(f, "%-*s %6llu %6llu %6llu %7llu %6llu %4d.%d%% %4llu %6llu %5llu  %-*s %-*s %s\n",
		l->w, sg_printable(str(p, "principal"), id, sizeof(id)),
		(unsigned long long)num(p, "messages"), (unsigned long long)num(p, "recipients"),
		(unsigned long long)num(p, "sent"), (unsigned long long)num(p, "bounced"),
		(unsigned long long)num(p, "deferred"), share / 10, share % 10,
		(unsigned long long)num(p, "client_ips"), (unsigned long long)num(p, "bounces_in"),
		(unsigned long long)num(p, "auth_failures"), l->tw,
		clock_of(str(p, "first"), l->one_day, t1, sizeof(t1)), l->tw,
		clock_of(str(p, "last"), l->one_day, t2, sizeof(t2)),
		clock_of(str(p, "first_alert"), l->one_day, t3, sizeof(t3)));
	json_array_foreach(json_object_get(p, "fired"), j, fr)
	{
		key = str(fr, "rule");
		/* Shares as shares; counts and rates to a tenth. */
		fprintf(f,
			!strcmp(key, "bounce_share") || !strcmp(key, "failure_ratio")
				? "  %s %s %.2f > %.2f\n"
				: "  %s %s %.1f > %.1f\n",
			clock_of(str(fr, "at"), l->one_day, t1, sizeof(t1)), key,
			json_number_value(json_object_get(fr, "value")),
			json_number_value(json_object_get(fr, "limit")));
	}
}

/* The files, the counts, and what a reader must know about them. */
static void print_summary(FILE *f, const json_t *report, size_t n_alerted)
{
	const json_t *ps = json_object_get(report, "principals"), *v;
	const char *key, *sep = " ";
	size_t i;

	fprintf(f, "files:");
	json_array_foreach(json_object_get(report, "files"), i, v)
		fprintf(f, "%s %s (%s, %llu lines)", i ? "," : "", str(v, "file"), str(v, "mta"),
			(unsigned long long)num(v, "lines"));
	fprintf(f, "\n%llu lines read", (unsigned long long)num(report, "lines"));
	if (num(report, "cut"))
		fprintf(f, " (%llu cut at %d bytes)", (unsigned long long)num(report, "cut"),
			SG_MTA_LINE_MAX);
	fprintf(f, "; records:");
	json_object_foreach((json_t *)json_object_get(report, "records"), key, v)
	{
		fprintf(f, "%s%llu %s", sep, (unsigned long long)json_integer_value(v), key);
		sep = ", ";
	}
	fprintf(f, "; %zu principal%s; %llu alert%s raised (%zu principal%s)\n",
		json_array_size(ps), json_array_size(ps) == 1 ? "" : "s",
		(unsigned long long)num(report, "alerts"), num(report, "alerts") == 1 ? "" : "s",
		n_alerted, n_alerted == 1 ? "" : "s");
	if (num(report, "untimed"))
		fprintf(f, "warning: %llu records came before any line with a time: not counted\n",
			(unsigned long long)num(report, "untimed"));
	if (num(report, "out_of_order"))
		fprintf(f,
			"warning: %llu records were stamped before the time already reached and "
			"were taken at it: give the files oldest first\n",
			(unsigned long long)num(report, "out_of_order"));
	if (num(report, "principals_evicted"))
		fprintf(f,
			"warning: %llu times a principal was dropped at the bound of the table "
			"(as live): its counts started again\n",
			(unsigned long long)num(report, "principals_evicted"));
}

/* The campaign view's verdicts: each address condemned with the accounts held, the host's alerts.
 */
static void print_campaign(FILE *f, const json_t *c, int one_day)
{
	const json_t *a, *h;
	char t1[32], t2[32], id[SG_PRINCIPAL_MAX];
	size_t i, j;

	json_array_foreach(json_object_get(c, "addresses"), i, a)
	{
		fprintf(f,
			"campaign %s condemned %s: %llu accounts, %llu sent, %llu bounced, %s; "
			"%zu held\n",
			str(a, "address"), clock_of(str(a, "at"), one_day, t1, sizeof(t1)),
			(unsigned long long)num(a, "accounts"), (unsigned long long)num(a, "sent"),
			(unsigned long long)num(a, "bounced"),
			json_is_true(json_object_get(a, "new")) ? "new" : "not new",
			json_array_size(json_object_get(a, "held")));
		json_array_foreach(json_object_get(a, "held"), j, h) fprintf(
			f, "  %s held %s\n", clock_of(str(h, "at"), one_day, t1, sizeof(t1)),
			sg_printable(str(h, "principal"), id, sizeof(id)));
	}
	json_array_foreach(json_object_get(c, "host_alerts"), i, h) fprintf(
		f,
		"host-wide alert %s to %s: bounce share %.2f >= %.2f, new senders %llu >= %.1f\n",
		clock_of(str(h, "raised"), one_day, t1, sizeof(t1)),
		clock_of(str(h, "cleared"), one_day, t2, sizeof(t2)),
		json_number_value(json_object_get(h, "bounce_share")),
		json_number_value(json_object_get(h, "share_limit")),
		(unsigned long long)num(h, "new_senders"),
		json_number_value(json_object_get(h, "new_limit")));
	fprintf(f,
		"campaign: %zu address%s condemned, %llu account%s held, %zu host-wide alert%s\n",
		json_array_size(json_object_get(c, "addresses")),
		json_array_size(json_object_get(c, "addresses")) == 1 ? "" : "es",
		(unsigned long long)num(c, "held"), num(c, "held") == 1 ? "" : "s",
		json_array_size(json_object_get(c, "host_alerts")),
		json_array_size(json_object_get(c, "host_alerts")) == 1 ? "" : "s");
}

void sg_replay_print(FILE *f, const json_t *report)
{
	const json_t *p;
	struct layout l;
	size_t i, n_alerted = 0;

	print_head(f, report, &l);
	json_array_foreach(json_object_get(report, "principals"), i, p)
	{
		print_principal(f, p, &l);
		n_alerted += json_array_size(json_object_get(p, "fired")) > 0;
	}
	if (json_object_get(report, "campaign"))
		print_campaign(f, json_object_get(report, "campaign"), l.one_day);
	print_summary(f, report, n_alerted);
}
