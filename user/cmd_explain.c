// SPDX-License-Identifier: GPL-2.0
/*
 * explain: why a user is in the state it is in. The kernel's side (policy,
 * who set it, the bucket's tokens, counts) is read from the pinned maps, so
 * it works with the daemon down; the detector's side (rates against the
 * baseline, the rules and their numbers, recent processes and scripts) is
 * asked of the daemon's exporter; the audit log says who did what and why.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <curl/curl.h>
#include <jansson.h>

#include "audit.h"
#include "cli.h"
#include "collect.h"
#include "config.h"
#include "detect.h"
#include "guard.h"
#include "render.h"
#include "sg_bucket.h"
#include "smtpguard.h"
#include "state.h"

#define AUDIT_SHOWN	  5
#define DAEMON_TIMEOUT_MS 2000L
#define BODY_MAX	  (1 << 20)

static const char *const setters[] = {
	[SG_SET_UNKNOWN] = "unknown",
	[SG_SET_CLI] = "an administrator (CLI)",
	[SG_SET_DETECTOR] = "the detector",
	[SG_SET_CONFIG] = "the config file",
};

static int lookup(const char *map, const void *key, void *value)
{
	int fd = sg_pin_open(map), err;

	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
	close(fd);
	return err;
}

/* The policy in force for uid, its own or the default, and the bucket's tokens now. */
static json_t *kernel_json(__u32 uid, __u64 now)
{
	struct sg_policy p, *eff = &p;
	struct sg_settings s;
	struct sg_uid_stats st;
	struct sg_bucket b;
	int own = !lookup(SG_MAP_POLICIES, &uid, &p) && (!p.expires_ns || p.expires_ns > now);
	char rate[32];
	json_t *o;

	if (!own) {
		if (sg_settings_get(&s))
			return NULL;
		eff = &s.default_policy;
	}
	sg_format_rate(eff->rate_per_hour, rate, sizeof(rate));
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "policy_of", own ? "own" : "default",
		      "mode", sg_mode_name(eff->mode), "rate",
		      eff->mode == SG_MODE_THROTTLE ? rate : "", "burst", (json_int_t)eff->burst,
		      "set_by", own ? setters[p.set_by < 4 ? p.set_by : 0] : "the default policy",
		      "expires_in_s",
		      (json_int_t)(own && p.expires_ns ? (p.expires_ns - now) / SG_NS_PER_SEC : 0));
	if (!o)
		return NULL;
	if (eff->mode == SG_MODE_THROTTLE && !lookup(SG_MAP_BUCKETS, &uid, &b) && b.last_ns &&
	    b.policy_ns == eff->updated_ns)
		json_object_set_new(
			o, "tokens",
			json_real((double)sg_bucket_refill(b.tokens,
							   now > b.last_ns ? now - b.last_ns : 0,
							   eff->rate_per_hour, eff->burst) /
				  SG_NS_PER_HOUR));
	else if (eff->mode == SG_MODE_THROTTLE)
		json_object_set_new(o, "tokens", json_integer(eff->burst)); /* a full bucket */
	if (!lookup(SG_MAP_UID_STATS, &uid, &st))
		json_object_set_new(
			o, "counts",
			json_pack("{s:I, s:I, s:I}", "attempts", (json_int_t)st.attempts, "allowed",
				  (json_int_t)st.allowed, "denied", (json_int_t)st.denied));
	return o;
}

struct body {
	char *buf;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t add = size * n;
	char *p;

	if (b->len + add > BODY_MAX)
		return 0;
	p = realloc(b->buf, b->len + add + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, add);
	b->buf = p;
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

/* The daemon's view of uid from its exporter; NULL with why set when it cannot be had. */
static json_t *daemon_json(const struct sg_config *c, __u32 uid, char *why, size_t whylen)
{
	struct body b = { 0 };
	char url[160];
	json_t *v = NULL;
	long status = 0;
	CURLcode rc;
	CURL *h;

	if (!c->exporter) {
		snprintf(why, whylen, "[exporter] listen = off: the daemon cannot be asked");
		return NULL;
	}
	snprintf(url, sizeof(url), "http://%s%s%s:%u/explain?principal=" SG_UID_PRINCIPAL "%u",
		 strchr(c->listen_host, ':') ? "[" : "",
		 strcmp(c->listen_host, "0.0.0.0") ? c->listen_host : "127.0.0.1",
		 strchr(c->listen_host, ':') ? "]" : "", c->listen_port, uid);
	h = curl_easy_init();
	if (!h) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, DAEMON_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK)
		snprintf(why, whylen, "%s: %s", url, curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(why, whylen, "%s: HTTP %ld (a daemon older than explain?)", url, status);
	else if (!(v = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL)))
		snprintf(why, whylen, "%s: not JSON", url);
	free(b.buf);
	return v;
}

/* The last AUDIT_SHOWN entries about uid, oldest first. */
static json_t *audit_json(__u32 uid)
{
	struct sg_audit_cfg cfg;
	json_t *a = json_array(), *e, *u;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	sg_audit_cfg_cli(&cfg);
	f = fopen(cfg.path, "re");
	if (!f || !a)
		return a;
	while (getline(&line, &cap, f) > 0) {
		e = json_loads(line, 0, NULL);
		u = e ? json_object_get(e, "uid") : NULL;
		if (json_is_integer(u) && json_integer_value(u) == uid) {
			json_array_append(a, e);
			if (json_array_size(a) > AUDIT_SHOWN)
				json_array_remove(a, 0);
		}
		json_decref(e);
	}
	free(line);
	fclose(f);
	return a;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_kernel(const json_t *k)
{
	const json_t *counts = json_object_get(k, "counts");

	printf("policy:   %s", str(k, "mode"));
	if (!strcmp(str(k, "mode"), "throttle"))
		printf(" %s, burst %.0f", str(k, "rate"), num(k, "burst"));
	printf(", set by %s", str(k, "set_by"));
	if (num(k, "expires_in_s") > 0)
		printf(", %.0f s left", num(k, "expires_in_s"));
	printf("\n");
	if (json_object_get(k, "tokens"))
		printf("bucket:   %.2f of %.0f tokens\n", num(k, "tokens"), num(k, "burst"));
	if (counts)
		printf("kernel:   %.0f connection attempts, %.0f allowed, %.0f refused\n",
		       num(counts, "attempts"), num(counts, "allowed"), num(counts, "denied"));
}

static void print_rule(const char *name, const json_t *r, time_t now)
{
	int active = json_is_true(json_object_get(r, "active"));
	double raised = num(r, "raised");

	printf("  %-14s ", name);
	if (active)
		printf("FIRING since %.0f s ago: %.1f > %.1f", (double)now - num(r, "since"),
		       num(r, "value"), num(r, "limit"));
	else if (raised)
		printf("quiet now; raised %.0f time%s, last at %.1f > %.1f", raised,
		       raised == 1 ? "" : "s", num(r, "value"), num(r, "limit"));
	else
		printf("never fired");
	printf("\n");
}

static void print_daemon(const json_t *d)
{
	const json_t *counts = json_object_get(d, "counts"), *th = json_object_get(d, "thresholds");
	const json_t *conn = json_object_get(d, "connections"), *bl, *p;
	time_t now = json_integer_value(json_object_get(d, "now"));
	size_t i;

	printf("rates:    %.0f in the last minute, %.0f in 10 min, %.0f in 1 h\n",
	       num(counts, "1m"), num(counts, "10m"), num(counts, "1h"));
	bl = json_object_get(d, "baseline_per_min");
	if (json_is_number(bl))
		printf("baseline: %.2f a minute at this hour of the week; the rate rule fires "
		       "above max(%.0f, %g x %.2f) a minute\n",
		       json_number_value(bl), num(th, "rate_floor"), num(th, "rate_factor"),
		       json_number_value(bl));
	else
		printf("baseline: none learned yet; the rate rule fires above %.0f a minute\n",
		       num(th, "rate_floor"));
	if (json_is_true(json_object_get(d, "new_sender")))
		printf("new:      first seen sending %.0f s ago: the new-sender rule applies "
		       "(above %.0f a minute once %.0f connections are made)\n",
		       (double)now - num(d, "first_seen"), num(th, "new_sender_rate"),
		       num(th, "new_sender_min"));
	printf("outcomes: %.0f established, %.0f refused, %.0f timed out, %.0f bytes sent; "
	       "10 min: %.0f of %.0f failed\n",
	       num(conn, "established"), num(conn, "refused"), num(conn, "timed_out"),
	       num(conn, "bytes_sent"), num(d, "failed_10m"), num(d, "finished_10m"));
	printf("destinations: %.0f in 10 min (bound %.0f)\n", num(d, "destinations_10m"),
	       num(th, "destinations"));
	if (json_string_value(json_object_get(d, "exempt")))
		printf("exempt:   %s: alerts only, never limited automatically\n",
		       str(d, "exempt"));
	if (json_is_true(json_object_get(d, "known"))) {
		printf("rules:\n");
		for (i = 0; i < SG_RULES; i++)
			print_rule(sg_rule_names[i],
				   json_object_get(json_object_get(d, "rules"), sg_rule_names[i]),
				   now);
	} else {
		printf("rules:    nothing sent since the daemon started; no rule has looked\n");
	}
	printf("processes:%s\n",
	       json_array_size(json_object_get(d, "processes")) ? "" : " none seen");
	json_array_foreach(json_object_get(d, "processes"), i, p)
	{
		const json_t *pr = json_object_get(p, "process");
		char comm[16], exe[PATH_MAX], cwd[PATH_MAX], script[PATH_MAX], cmdline[1024];

		/* What a customer's process calls itself reaches root's terminal only printable. */
		printf("  pid %.0f %s exe=%s cwd=%s%s%s\n    cmdline: %s\n", num(p, "tgid"),
		       sg_printable(str(p, "comm"), comm, sizeof(comm)),
		       sg_printable(str(pr, "exe"), exe, sizeof(exe)),
		       sg_printable(str(pr, "cwd"), cwd, sizeof(cwd)),
		       *str(pr, "script") ? " script=" : "",
		       sg_printable(str(pr, "script"), script, sizeof(script)),
		       sg_printable(str(pr, "cmdline"), cmdline, sizeof(cmdline)));
	}
}

static int run_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char name[64], who[96], why[512] = "";
	json_t *kernel, *daemon, *audit, *out, *e;
	struct sg_config *c;
	int json = 0, ch;
	size_t i;
	__u32 uid;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(sg_cmd_explain.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_explain, argv);
		}
	}
	if (optind != argc - 1)
		return sg_usage_error(&sg_cmd_explain, "expected one USER or UID");
	if (sg_need_root() || sg_need_state() ||
	    sg_resolve_user(argv[optind], &uid, name, sizeof(name)))
		return SG_EXIT_FAIL;
	sg_who(uid, name, who, sizeof(who));
	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	kernel = kernel_json(uid, sg_boot_ns());
	daemon = daemon_json(c, uid, why, sizeof(why));
	audit = audit_json(uid);
	free(c);
	if (!kernel) {
		json_decref(daemon);
		json_decref(audit);
		return sg_fail("reading the pinned maps in %s", sg_pin_dir());
	}
	/* jansson takes the "o" values even when it fails: nothing is used after but out. */
	out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "uid", (json_int_t)uid, "user",
			sg_json_text(name), "kernel", kernel, "daemon",
			daemon ? daemon : json_null(), "daemon_error",
			daemon ? json_null() : sg_json_text(why), "audit",
			audit ? audit : json_array());
	if (!out)
		return sg_fail("%s", strerror(ENOMEM));
	kernel = json_object_get(out, "kernel");
	daemon = json_object_get(out, "daemon");
	audit = json_object_get(out, "audit");
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		printf("%s\n", who);
		print_kernel(kernel);
		if (!json_is_null(daemon))
			print_daemon(daemon);
		else
			printf("daemon:   not reachable (%s): rates, baseline and rules unknown\n",
			       why);
		printf("audit:%s\n", json_array_size(audit) ? "" : "    no entry about this user");
		json_array_foreach(audit, i, e)
		{
			char *line = sg_audit_text(e, SG_AUDIT_TEXT_TIME);

			printf("  %s\n", line ? line : "?");
			free(line);
		}
	}
	json_decref(out);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_explain = {
	.name = "explain",
	.summary = "why a user is limited, or not: policy, bucket, rates, rules, processes",
	.usage = "usage: smtpguard explain USER|UID [--json]\n"
		 "  The policy in force and who set it, the bucket's tokens, the kernel's\n"
		 "  counts (from the pinned maps, daemon or not); the rates against the\n"
		 "  learned baseline, every rule with its numbers, connection outcomes and\n"
		 "  the recent processes and scripts (from the running daemon's exporter);\n"
		 "  and the last audit entries about the user.\n",
	.run = run_explain,
};
