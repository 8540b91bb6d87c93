// SPDX-License-Identifier: GPL-2.0
/*
 * replay: the fixtures' nights (fixtures/replay, made by make-s4.sh) through
 * the parsers and the detector, with every number worked out by hand from
 * the timeline in make-s4.sh and these thresholds (the shipped defaults):
 *
 * info@shop.example, 40 messages 2 a second from 23:24:05, then 80 one every
 * 11 s from 23:25:00; each delivered 1 s later, every 5th sent:
 *   new_sender    first seen 23:24:05; at 23:24:05+k it has 2(k+1) in the
 *                 last minute over k+1 s: 20 (new_sender_min) at k = 9,
 *                 23:24:14, 20 x 60 / 10 = 120.0 a minute > 60
 *   bounce_share  outcomes at 23:24:06+k, 2 a second: 20 (bounce_min) at
 *                 23:24:15, messages 0-19 of which 0, 5, 10, 15 sent: 16/20
 *                 = 0.80 > 0.50
 *   client_ips    .11-.13 in the burst; then message 40+j from ips[j % 6]:
 *                 .16 first at j = 5, 23:25:55: 6 > 5
 *   destinations  a domain per message, counted at its outcome: 40 by
 *                 23:24:25, then one at 23:25:01+11j: the 51st at j = 10,
 *                 23:26:51: 51 > 50
 *   rate          at most 40 in a minute: never above the floor of 120
 * webmaster@hostco.example (Exim), 30 messages 2 a second from 10:00:00,
 * each to two domains 1 s later, one sent and one bounced:
 *   new_sender    10:00:09 (as above), 120.0 > 60
 *   destinations  4 a second from 10:00:01: 52 at 10:00:13 > 50
 *   bounce_share  0.50 exactly: never above 0.50
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "mail/replay.h"

#define MTIME 1795500000 /* 2026-11-24T06:00:00Z: the fixtures' syslog stamps are of 2026 */

static const struct sg_thresholds th = {
	.rate_floor = 120,
	.rate_factor = 5,
	.destinations = 50,
	.new_sender_rate = 60,
	.new_sender_min = 20,
	.failure_ratio = 0.5,
	.failure_min = 20,
	.client_ips = 5,
	.bounce_share = 0.5,
	.bounce_min = 20,
	.bounce_flood = 100,
};

static char fixtures[1024]; /* tests/unit/fixtures/replay, next to this file */
static char tmp[64];	    /* copies of the fixtures, with MTIME */

static const char *path(const char *name)
{
	static char buf[4][1100];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

static void set_mtime(const char *file, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	assert_int_equal(utimensat(AT_FDCWD, file, ts, 0), 0);
}

static void copy_fixture(const char *name)
{
	char src[1100], buf[65536];
	FILE *in, *out;
	size_t n;

	snprintf(src, sizeof(src), "%s/%s", fixtures, name);
	in = fopen(src, "rb");
	assert_non_null(in);
	out = fopen(path(name), "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	set_mtime(path(name), MTIME);
}

/* src through zlib into dst: gzip (compress) or plain (uncompress); dst gets MTIME. */
static void transcode(const char *src, const char *dst, int compress)
{
	char buf[65536];
	gzFile in, gz;
	FILE *in_plain, *out;
	int n;

	if (compress) {
		in_plain = fopen(src, "rb");
		assert_non_null(in_plain);
		gz = gzopen(dst, "wb9");
		assert_non_null(gz);
		while ((n = (int)fread(buf, 1, sizeof(buf), in_plain)) > 0)
			assert_int_equal(gzwrite(gz, buf, (unsigned)n), n);
		fclose(in_plain);
		assert_int_equal(gzclose(gz), Z_OK);
	} else {
		in = gzopen(src, "rb");
		assert_non_null(in);
		out = fopen(dst, "wb");
		assert_non_null(out);
		while ((n = gzread(in, buf, sizeof(buf))) > 0)
			assert_int_equal(fwrite(buf, 1, (size_t)n, out), (size_t)n);
		assert_int_equal(n, 0);
		gzclose(in);
		assert_int_equal(fclose(out), 0);
	}
	set_mtime(dst, MTIME);
}

static void write_file(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	set_mtime(file, MTIME);
}

static json_t *run(const char *const *files, size_t n, enum sg_mta_type type, int every)
{
	struct sg_replay_opts o = { .type = type, .th = &th, .every_second = every };
	char err[1024] = "";
	json_t *r = NULL;
	int ret = sg_replay(files, n, &o, &r, err, sizeof(err));

	if (ret)
		fail_msg("sg_replay: %d: %s", ret, err);
	assert_non_null(r);
	return r;
}

static json_t *principal(const json_t *r, const char *id)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(r, "principals"), i,
			   p) if (!strcmp(json_string_value(json_object_get(p, "principal")),
					  id)) return (json_t *)p;
	fail_msg("no principal %s", id);
	return NULL;
}

static json_int_t num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return json_integer_value(v);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s)
		fail_msg("%s is not a string", key);
	return s;
}

static double real(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_real(v))
		fail_msg("%s is not a real", key);
	return json_real_value(v);
}

/* p's rules, comma-separated, in order of first firing. */
static const char *rules(const json_t *p)
{
	static char buf[256];
	const json_t *v;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(json_object_get(p, "rules"), i, v)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "," : "",
			 json_string_value(v));
	return buf;
}

static void assert_fired(const json_t *p, size_t i, const char *rule, const char *at, double value,
			 double limit)
{
	const json_t *f = json_array_get(json_object_get(p, "fired"), i);

	assert_non_null(f);
	assert_string_equal(str(f, "rule"), rule);
	assert_string_equal(str(f, "at"), at);
	assert_float_equal(real(f, "value"), value, 1e-9);
	assert_float_equal(real(f, "limit"), limit, 1e-9);
}

/* The report without its files (their names differ between the runs compared). */
static json_t *body(json_t *r)
{
	json_object_del(r, "files");
	return r;
}

static void assert_json_equal(const json_t *a, const json_t *b)
{
	char *sa, *sb;

	if (json_equal(a, b))
		return;
	sa = json_dumps(a, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	sb = json_dumps(b, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fail_msg("reports differ:\n%s\n---\n%s", sa, sb);
}

static void assert_s4_attacker(const json_t *r)
{
	const json_t *p = principal(r, "sasl:info@shop.example");

	assert_string_equal(str(p, "kind"), "sasl");
	assert_int_equal(num(p, "messages"), 120);
	assert_int_equal(num(p, "recipients"), 120);
	assert_int_equal(num(p, "sent"), 24);
	assert_int_equal(num(p, "bounced"), 96);
	assert_int_equal(num(p, "deferred"), 0);
	assert_float_equal(real(p, "bounce_share"), 0.8, 1e-9);
	assert_int_equal(num(p, "client_ips"), 6);
	/* Each bounce's notice went into the account's own mailbox. */
	assert_int_equal(num(p, "bounces_in"), 96);
	assert_string_equal(str(p, "first"), "2026-11-23T23:24:05+00:00");
	assert_string_equal(str(p, "last"), "2026-11-23T23:39:29+00:00");
	assert_string_equal(str(p, "first_alert"), "2026-11-23T23:24:14+00:00");
	assert_string_equal(rules(p), "new_sender,bounce_share,client_ips,destinations");
	assert_int_equal(json_array_size(json_object_get(p, "fired")), 4);
	assert_fired(p, 0, "new_sender", "2026-11-23T23:24:14+00:00", 120, 60);
	assert_fired(p, 1, "bounce_share", "2026-11-23T23:24:15+00:00", 0.8, 0.5);
	assert_fired(p, 2, "client_ips", "2026-11-23T23:25:55+00:00", 6, 5);
	assert_fired(p, 3, "destinations", "2026-11-23T23:26:51+00:00", 51, 50);
	assert_int_equal(json_array_size(json_object_get(p, "senders")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "senders"), 0)),
			    "info@shop.example");
}

static void assert_quiet(const json_t *p)
{
	assert_int_equal(json_array_size(json_object_get(p, "rules")), 0);
	assert_int_equal(json_array_size(json_object_get(p, "fired")), 0);
	assert_true(json_is_null(json_object_get(p, "first_alert")));
	assert_int_equal(num(p, "alerts"), 0);
}

/* The whole night, rotated part first: every number as worked out above. */
static void test_s4_night(void **state)
{
	const char *files[] = { path("mail.log.1.gz"), path("mail.log") };
	json_t *r = run(files, 2, SG_MTA_NONE, 0), *p, *rec = json_object_get(r, "records");

	assert_s4_attacker(r);
	p = principal(r, "sasl:office@bakery.example");
	assert_int_equal(num(p, "messages"), 3);
	assert_int_equal(num(p, "sent"), 3);
	assert_float_equal(real(p, "bounce_share"), 0, 0);
	assert_int_equal(num(p, "client_ips"), 1);
	assert_string_equal(str(p, "first"), "2026-11-23T22:05:10+00:00");
	assert_string_equal(str(p, "last"), "2026-11-23T23:52:03+00:00");
	assert_quiet(p);
	p = principal(r, "local:1001");
	assert_string_equal(str(p, "kind"), "local");
	assert_int_equal(num(p, "messages"), 2);
	assert_int_equal(num(p, "client_ips"), 0);
	assert_quiet(p);
	/* In order of first appearance. */
	p = json_object_get(r, "principals");
	assert_int_equal(json_array_size(p), 3);
	assert_string_equal(str(json_array_get(p, 0), "principal"), "sasl:office@bakery.example");
	assert_string_equal(str(json_array_get(p, 1), "principal"), "local:1001");
	assert_string_equal(str(json_array_get(p, 2), "principal"), "sasl:info@shop.example");
	/* 12 + 1099 lines: 120 + 3 submissions, 2 pickups, 96 notices queued and delivered. */
	assert_int_equal(num(r, "lines"), 1111);
	assert_int_equal(num(rec, "submit"), 123);
	assert_int_equal(num(rec, "local"), 2);
	assert_int_equal(num(rec, "queued"), 221);
	assert_int_equal(num(rec, "delivery"), 221);
	assert_int_equal(num(rec, "done"), 221);
	assert_int_equal(num(rec, "auth_fail"), 3);
	assert_int_equal(num(r, "alerts"), 4);
	assert_int_equal(num(r, "cut"), 0);
	assert_int_equal(num(r, "untimed"), 0);
	assert_int_equal(num(r, "out_of_order"), 0);
	assert_int_equal(num(r, "principals_evicted"), 0);
	assert_string_equal(str(r, "from"), "2026-11-23T22:00:01+00:00");
	assert_string_equal(str(r, "to"), "2026-11-23T23:52:04+00:00");
	p = json_object_get(r, "files");
	assert_string_equal(str(json_array_get(p, 0), "mta"), "postfix");
	assert_int_equal(num(json_array_get(p, 0), "lines"), 12);
	assert_string_equal(str(json_array_get(p, 1), "mta"), "postfix");
	json_decref(r);
}

/* The daemon ticks every second; skipping the seconds where nothing can change agrees. */
static void test_every_second_agrees(void **state)
{
	const char *files[] = { path("mail.log.1.gz"), path("mail.log") };
	const char *exim[] = { path("exim-mainlog.log") };
	json_t *fast = run(files, 2, SG_MTA_NONE, 0), *slow = run(files, 2, SG_MTA_NONE, 1);

	/* From the first record, 22:05:10, to the last line, 23:52:04: 6415 seconds. */
	assert_int_equal(num(slow, "ticks"), 6415);
	assert_in_range(num(fast, "ticks"), 1, 6414);
	json_object_del(fast, "ticks");
	json_object_del(slow, "ticks");
	assert_json_equal(fast, slow);
	json_decref(fast);
	json_decref(slow);
	fast = run(exim, 1, SG_MTA_NONE, 0);
	slow = run(exim, 1, SG_MTA_NONE, 1);
	json_object_del(fast, "ticks");
	json_object_del(slow, "ticks");
	assert_json_equal(fast, slow);
	json_decref(fast);
	json_decref(slow);
}

/* A .gz reads as the plain file it holds, both ways round. */
static void test_gz_same_as_plain(void **state)
{
	const char *plain1[] = { path("plain.mail.log.1") }, *gz1[] = { path("mail.log.1.gz") };
	const char *plain[] = { path("mail.log") }, *gz[] = { path("mail.log.gz") };
	json_t *a, *b;

	transcode(path("mail.log.1.gz"), path("plain.mail.log.1"), 0);
	transcode(path("mail.log"), path("mail.log.gz"), 1);
	a = body(run(plain1, 1, SG_MTA_NONE, 0));
	b = body(run(gz1, 1, SG_MTA_NONE, 0));
	assert_int_equal(num(a, "lines"), 12);
	assert_json_equal(a, b);
	json_decref(a);
	json_decref(b);
	a = body(run(plain, 1, SG_MTA_NONE, 0));
	b = body(run(gz, 1, SG_MTA_NONE, 0));
	assert_int_equal(num(a, "lines"), 1099);
	assert_json_equal(a, b);
	/* Without the rotated part: the attack is all in mail.log, the quiet account is not. */
	assert_s4_attacker(a);
	assert_int_equal(num(principal(a, "sasl:office@bakery.example"), "messages"), 2);
	json_decref(a);
	json_decref(b);
}

/* "-" is standard input; a regular file there still gives its mtime for the year. */
static void test_stdin(void **state)
{
	const char *dash[] = { "-" }, *file[] = { path("mail.log.1.gz") };
	int saved = dup(STDIN_FILENO), fd = open(path("mail.log.1.gz"), O_RDONLY);
	json_t *a, *b;

	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	a = run(dash, 1, SG_MTA_NONE, 0);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	b = run(file, 1, SG_MTA_NONE, 0);
	assert_string_equal(str(json_array_get(json_object_get(a, "files"), 0), "file"), "-");
	assert_json_equal(body(a), body(b));
	json_decref(a);
	json_decref(b);
}

static void test_exim(void **state)
{
	const char *files[] = { path("exim-mainlog.log") };
	json_t *r = run(files, 1, SG_MTA_NONE, 0), *p;

	assert_string_equal(str(json_array_get(json_object_get(r, "files"), 0), "mta"), "exim");
	p = principal(r, "sasl:webmaster@hostco.example");
	assert_int_equal(num(p, "messages"), 30);
	assert_int_equal(num(p, "recipients"), 60);
	assert_int_equal(num(p, "sent"), 30);
	assert_int_equal(num(p, "bounced"), 30);
	assert_float_equal(real(p, "bounce_share"), 0.5, 1e-9);
	assert_int_equal(num(p, "client_ips"), 4);
	assert_string_equal(str(p, "first"), "2026-11-20T10:00:00+00:00");
	assert_string_equal(str(p, "last"), "2026-11-20T10:00:14+00:00");
	assert_string_equal(str(p, "first_alert"), "2026-11-20T10:00:09+00:00");
	assert_string_equal(rules(p), "new_sender,destinations");
	assert_fired(p, 0, "new_sender", "2026-11-20T10:00:09+00:00", 120, 60);
	assert_fired(p, 1, "destinations", "2026-11-20T10:00:13+00:00", 52, 50);
	p = principal(r, "sasl:sales@hostco.example");
	assert_int_equal(num(p, "messages"), 1);
	assert_quiet(p);
	/* No UID resolver given: the user's name stands. */
	p = principal(r, "local:shopuser");
	assert_string_equal(str(p, "kind"), "local");
	assert_int_equal(num(p, "messages"), 1);
	assert_quiet(p);
	assert_int_equal(json_array_size(json_object_get(r, "principals")), 3);
	assert_int_equal(num(json_object_get(r, "records"), "auth_fail"), 1);
	json_decref(r);
}

/* Each file tells its own format; a forced one is used as given. */
static void test_mta_type(void **state)
{
	const char *both[] = { path("exim-mainlog.log"), path("mail.log") };
	const char *pf[] = { path("mail.log") };
	json_t *r = run(both, 2, SG_MTA_NONE, 0), *f = json_object_get(r, "files");

	assert_string_equal(str(json_array_get(f, 0), "mta"), "exim");
	assert_string_equal(str(json_array_get(f, 1), "mta"), "postfix");
	/* Exim's three, then mail.log's: office@, local:1001 and the attacker. */
	assert_int_equal(json_array_size(json_object_get(r, "principals")), 6);
	assert_s4_attacker(r);
	assert_string_equal(rules(principal(r, "sasl:webmaster@hostco.example")),
			    "new_sender,destinations");
	json_decref(r);
	/* Postfix's lines read as Exim's: nothing. */
	r = run(pf, 1, SG_MTA_EXIM, 0);
	assert_string_equal(str(json_array_get(json_object_get(r, "files"), 0), "mta"), "exim");
	assert_int_equal(json_array_size(json_object_get(r, "principals")), 0);
	assert_int_equal(num(r, "lines"), 1099);
	json_decref(r);
}

/*
 * A rule can be raised with no record at its second: 30 messages sent at
 * 10:00 (one a second, never above 60 a minute), then 25 bounced at 10:05:
 * 25/55 is no majority, but at 10:10:00 the minute of 10:00 leaves the
 * 10 min window and the share is 25/25. It clears a minute after 10:15:00,
 * when the bounces leave it too.
 */
static void test_raised_between_records(void **state)
{
	const char *files[] = { path("minute.log") };
	FILE *f = fopen(path("minute.log"), "w");
	json_t *fast, *slow, *p;
	int i;

	assert_non_null(f);
	for (i = 0; i < 55; i++) {
		int t = i < 30 ? 36000 + i : 36300 + i - 30, d = t + 1;

		fprintf(f,
			"Nov 23 %02d:%02d:%02d web1 postfix/submission/smtpd[5]: 7F%08X: "
			"client=unknown[192.0.2.9], sasl_method=PLAIN, "
			"sasl_username=ns@example.org\n",
			t / 3600, t % 3600 / 60, t % 60, i);
		fprintf(f,
			"Nov 23 %02d:%02d:%02d web1 postfix/smtp[5]: 7F%08X: to=<u%d@example.net>, "
			"relay=mx.example.net[192.0.2.30]:25, delay=1, delays=0/0/0/1, dsn=%s, "
			"status=%s (x)\n",
			d / 3600, d % 3600 / 60, d % 60, i, i, i < 30 ? "2.0.0" : "5.1.1",
			i < 30 ? "sent" : "bounced");
	}
	/* Time goes on past the clearing. */
	fprintf(f, "Nov 23 10:30:00 web1 postfix/anvil[1]: statistics: max cache size 1\n");
	assert_int_equal(fclose(f), 0);
	set_mtime(path("minute.log"), MTIME);
	fast = run(files, 1, SG_MTA_NONE, 0);
	slow = run(files, 1, SG_MTA_NONE, 1);
	p = principal(fast, "sasl:ns@example.org");
	assert_int_equal(num(p, "messages"), 55);
	assert_string_equal(rules(p), "bounce_share");
	assert_fired(p, 0, "bounce_share", "2026-11-23T10:10:00+00:00", 1, 0.5);
	assert_int_equal(num(p, "alerts"), 1);
	json_object_del(fast, "ticks");
	json_object_del(slow, "ticks");
	assert_json_equal(fast, slow);
	json_decref(fast);
	json_decref(slow);
}

/* Files newest first: the older records are taken at the time reached, and counted. */
static void test_out_of_order(void **state)
{
	const char *files[] = { path("mail.log"), path("mail.log.1.gz") };
	json_t *r = run(files, 2, SG_MTA_NONE, 0);

	/* mail.log.1's two messages: submit or pickup, queued, delivery, done each. */
	assert_int_equal(num(r, "out_of_order"), 8);
	assert_int_equal(num(principal(r, "sasl:office@bakery.example"), "messages"), 3);
	json_decref(r);
}

/* A line past SG_MTA_LINE_MAX is read up to it, the next line whole; a record with no time. */
static void test_long_and_untimed_lines(void **state)
{
	const char *files[] = { path("long.log") };
	size_t pad = SG_MTA_LINE_MAX + 5000;
	char *text = malloc(pad + 4096), *s;
	json_t *r, *p;

	assert_non_null(text);
	s = text;
	/* Before any time: not counted. */
	s += sprintf(s, "postfix/pickup[7]: 5D0000000A: uid=1002 from=<early>\n");
	s += sprintf(s, "Nov 23 23:00:00 web1 postfix/submission/smtpd[7]: 5D0000000B: "
			"client=unknown[192.0.2.1], sasl_method=PLAIN, "
			"sasl_username=long@example.org, sasl_sender=");
	memset(s, 'x', pad);
	s += pad;
	/* Lost with the cut: had it been read, the login would be another. */
	s += sprintf(s, ", sasl_username=tail@example.org\n");
	s += sprintf(s, "Nov 23 23:00:01 web1 postfix/submission/smtpd[7]: 5D0000000C: "
			"client=unknown[192.0.2.2], sasl_method=PLAIN, "
			"sasl_username=next@example.org\n");
	/* After a time: taken at the latest one seen (23:00:01). */
	s += sprintf(s, "postfix/pickup[7]: 5D0000000D: uid=1003 from=<late>\n");
	/* The last line with no newline. */
	sprintf(s, "Nov 23 23:00:02 web1 postfix/pickup[7]: 5D0000000E: uid=1004 from=<x>");
	write_file(path("long.log"), text);
	free(text);

	r = run(files, 1, SG_MTA_POSTFIX, 0);
	assert_int_equal(num(r, "lines"), 5);
	assert_int_equal(num(r, "cut"), 1);
	assert_int_equal(num(r, "untimed"), 1);
	assert_int_equal(num(json_object_get(r, "records"), "local"), 3);
	assert_int_equal(num(json_object_get(r, "records"), "submit"), 2);
	assert_int_equal(num(principal(r, "sasl:long@example.org"), "messages"), 1);
	assert_int_equal(num(principal(r, "sasl:next@example.org"), "messages"), 1);
	p = principal(r, "local:1003");
	assert_string_equal(str(p, "first"), "2026-11-23T23:00:01+00:00");
	assert_int_equal(num(principal(r, "local:1004"), "messages"), 1);
	assert_int_equal(json_array_size(json_object_get(r, "principals")), 4);
	json_decref(r);
}

/* A month of one message an hour: the skipped seconds keep the ticks far below a month's. */
static void test_month(void **state)
{
	const char *files[] = { path("month.log") };
	FILE *f = fopen(path("month.log"), "w");
	json_t *r, *p;
	int d, h;

	assert_non_null(f);
	for (d = 1; d <= 31; d++)
		for (h = 0; h < 24; h++) {
			fprintf(f,
				"Oct %2d %02d:17:00 web1 postfix/pickup[9]: 6E%02d%02d0000: "
				"uid=2000 "
				"from=<cron>\n",
				d, h, d, h);
			fprintf(f,
				"Oct %2d %02d:17:01 web1 postfix/smtp[9]: 6E%02d%02d0000: "
				"to=<report@example.net>, relay=mx.example.net[192.0.2.30]:25, "
				"delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)\n",
				d, h, d, h);
			fprintf(f,
				"Oct %2d %02d:17:01 web1 postfix/qmgr[9]: 6E%02d%02d0000: "
				"removed\n",
				d, h, d, h);
		}
	assert_int_equal(fclose(f), 0);
	set_mtime(path("month.log"), MTIME);
	r = run(files, 1, SG_MTA_NONE, 0);
	p = principal(r, "local:2000");
	assert_int_equal(num(p, "messages"), 744);
	assert_int_equal(num(p, "sent"), 744);
	assert_quiet(p);
	assert_string_equal(str(p, "first"), "2026-10-01T00:17:00+00:00");
	assert_string_equal(str(p, "last"), "2026-10-31T23:17:00+00:00");
	/*
	 * Per message, the two seconds of its lines and the starts of the minutes
	 * in the hour after, against 2.7 million seconds in the month.
	 */
	assert_in_range(num(r, "ticks"), 744 * 2, 744 * 62);
	json_decref(r);
}

static void test_missing_file(void **state)
{
	const char *files[] = { path("mail.log"), "/nonexistent/mail.log.2.gz" };
	const char *dir[] = { tmp };
	struct sg_replay_opts o = { .th = &th };
	json_t *r = (json_t *)1;
	char err[1024];

	assert_int_equal(sg_replay(files, 2, &o, &r, err, sizeof(err)), -ENOENT);
	assert_null(r);
	assert_non_null(strstr(err, "/nonexistent/mail.log.2.gz"));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(sg_replay(dir, 1, &o, &r, err, sizeof(err)), -EISDIR);
	assert_null(r);
	assert_non_null(strstr(err, tmp));
}

/* A .gz cut short is an error naming the file, not a short report. */
static void test_truncated_gz(void **state)
{
	const char *files[] = { path("cut.gz") };
	struct sg_replay_opts o = { .th = &th };
	char buf[4096], err[1024];
	json_t *r = NULL;
	FILE *in, *out;
	size_t n;

	in = fopen(path("mail.log.gz"), "rb");
	if (!in) { /* made by test_gz_same_as_plain */
		transcode(path("mail.log"), path("mail.log.gz"), 1);
		in = fopen(path("mail.log.gz"), "rb");
	}
	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	assert_int_equal(n, sizeof(buf));
	out = fopen(path("cut.gz"), "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(sg_replay(files, 1, &o, &r, err, sizeof(err)), -EIO);
	assert_null(r);
	assert_non_null(strstr(err, path("cut.gz")));
}

static void test_print(void **state)
{
	const char *files[] = { path("mail.log.1.gz"), path("mail.log") };
	json_t *r = run(files, 2, SG_MTA_NONE, 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	sg_replay_print(f, r);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text, "replay of 2026-11-23 22:00:01 to 23:52:04 (UTC+00:00)\n"));
	assert_non_null(strstr(text,
			       "\nsasl:info@shop.example        120    120     24      96      "
			       "0   80.0%    6     96     0  23:24:05 23:39:29 23:24:14\n"
			       "  23:24:14 new_sender 120.0 > 60.0\n"
			       "  23:24:15 bounce_share 0.80 > 0.50\n"
			       "  23:25:55 client_ips 6.0 > 5.0\n"
			       "  23:26:51 destinations 51.0 > 50.0\n"));
	assert_non_null(strstr(text,
			       "\nsasl:office@bakery.example      3      3      3       0      "
			       "0    0.0%    1      0     0  22:05:10 23:52:03 -\n"
			       "local:1001 "));
	assert_non_null(strstr(text, "\n1111 lines read; records: 123 submit, 2 local, 221 queued, "
				     "221 delivery, 221 done, 3 auth_fail, 0 hold; 3 principals; "
				     "4 alerts raised (1 principal)\n"));
	free(text);
	json_decref(r);
}

/*
 * Credential stuffing in Postfix's words (as test_campaign.c's, read from
 * a log): message k (0-199) at 10:00:00 + 18k s from 198.51.100.(k % 3 +
 * 1) as user(k % 40)@victim.example, bounced unless k % 5 == 0, a second
 * later. No account reaches a rule of its own (5 messages each); .1 is
 * condemned at 10:08:07 with its 10 accounts, .2 at 10:08:25, .3 at
 * 10:08:43; accounts 30-39 are held as they log in from them.
 */
static void test_campaign(void **state)
{
	const char *files[] = { path("stuffing.log") };
	struct sg_replay_opts o = { .type = SG_MTA_NONE, .th = &th };
	static const int late[3][4] = { { 30, 33, 36, 39 },
					{ 31, 34, 37, -1 },
					{ 32, 35, 38, -1 } };
	char err[1024], expect[4096], *text = NULL, *e;
	FILE *f = fopen(path("stuffing.log"), "w");
	struct sg_config *c = calloc(1, sizeof(*c));
	json_t *r = NULL, *p;
	size_t len = 0, i;
	int k, t, a, j;

	assert_non_null(f);
	assert_non_null(c);
	for (k = 0; k < 200; k++) {
		t = 36000 + 18 * k;
		fprintf(f,
			"Nov 23 %02d:%02d:%02d web1 postfix/submission/smtpd[5]: 8A%08X: "
			"client=unknown[198.51.100.%d], sasl_method=LOGIN, "
			"sasl_username=user%d@victim.example\n",
			t / 3600, t % 3600 / 60, t % 60, k, k % 3 + 1, k % 40);
		fprintf(f,
			"Nov 23 %02d:%02d:%02d web1 postfix/qmgr[6]: 8A%08X: "
			"from=<user%d@victim.example>, size=900, nrcpt=1 (queue active)\n",
			t / 3600, t % 3600 / 60, t % 60, k, k % 40);
		t++;
		fprintf(f,
			"Nov 23 %02d:%02d:%02d web1 postfix/smtp[7]: 8A%08X: "
			"to=<r%d@far%d.example>, "
			"relay=mx.far.example[192.0.2.30]:25, delay=1, delays=0/0/0/1, dsn=%s, "
			"status=%s (x)\n",
			t / 3600, t % 3600 / 60, t % 60, k, k, k, k % 5 ? "5.1.1" : "2.0.0",
			k % 5 ? "bounced" : "sent");
		fprintf(f, "Nov 23 %02d:%02d:%02d web1 postfix/qmgr[6]: 8A%08X: removed\n",
			t / 3600, t % 3600 / 60, t % 60, k);
	}
	assert_int_equal(fclose(f), 0);
	set_mtime(path("stuffing.log"), MTIME);
	sg_config_default(c);
	o.config = c;
	assert_int_equal(sg_replay(files, 1, &o, &r, err, sizeof(err)), 0);
	assert_int_equal(num(json_object_get(r, "campaign"), "held"), 40);
	assert_int_equal(num(r, "alerts"), 0);
	json_array_foreach(json_object_get(r, "principals"), i, p)
	{
		assert_int_equal(json_array_size(json_object_get(p, "rules")), 0);
		assert_int_equal(num(p, "messages"), 5);
	}
	assert_string_equal(str(principal(r, "sasl:user39@victim.example"), "held_by"),
			    "198.51.100.1");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	sg_replay_print(f, r);
	assert_int_equal(fclose(f), 0);
	for (a = 0; a < 3; a++) {
		e = expect;
		e += sprintf(e,
			     "\ncampaign 198.51.100.%d condemned 10:08:%02d: 10 accounts, 2 sent, "
			     "8 bounced, not new; %d held\n",
			     a + 1, 7 + 18 * a, a ? 13 : 14);
		for (j = 0; j < 10; j++)
			e += sprintf(e, "  10:08:%02d held sasl:user%d@victim.example\n",
				     7 + 18 * a, 3 * j + a);
		for (j = 0; j < 4 && late[a][j] >= 0; j++) {
			t = 36000 + 18 * late[a][j];
			e += sprintf(e, "  %02d:%02d:%02d held sasl:user%d@victim.example\n",
				     t / 3600, t % 3600 / 60, t % 60, late[a][j]);
		}
		if (!strstr(text, expect))
			fail_msg("no\n%s\nin\n%s", expect, text);
	}
	assert_non_null(strstr(text, "\ncampaign: 3 addresses condemned, 40 accounts held, "
				     "0 host-wide alerts\n"));
	free(text);
	free(c);
	json_decref(r);
}

/* Runs the command with stdout into a file; returns its exit status, the output in out. */
static int command(char *out, size_t len, int argc, ...)
{
	char *argv[8];
	int saved, fd, rc, i;
	va_list ap;
	ssize_t n;

	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path("stdout"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	optind = 0;
	opterr = 0;
	rc = sg_dispatch(&sg_cmd_replay, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return rc;
}

static void test_command(void **state)
{
	static char out[1 << 20];
	json_t *a;

	setenv("SMTPGUARD_CONFIG", "/nonexistent/smtpguard.conf", 1);
	assert_int_equal(
		command(out, sizeof(out), 3, "replay", "--json", (char *)path("exim-mainlog.log")),
		SG_EXIT_OK);
	a = json_loads(out, 0, NULL);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(str(json_array_get(a, 2), "first_alert"), "2026-11-20T10:00:09+00:00");
	json_decref(a);
	/* A file that cannot be read: exit 1, no report at all. */
	assert_int_equal(command(out, sizeof(out), 4, "replay", "--json", (char *)path("mail.log"),
				 "/nonexistent/mail.log.1"),
			 SG_EXIT_FAIL);
	assert_string_equal(out, "");
	assert_int_equal(
		command(out, sizeof(out), 3, "replay", "--mta=qmail", (char *)path("mail.log")),
		SG_EXIT_USAGE);
	assert_int_equal(command(out, sizeof(out), 2, "replay", "--json"), SG_EXIT_USAGE);
	assert_string_equal(out, "");
	assert_int_equal(command(out, sizeof(out), 4, "replay", "--mta", "postfix",
				 (char *)path("mail.log")),
			 SG_EXIT_OK);
	assert_non_null(strstr(out, "  23:24:14 new_sender 120.0 > 60.0\n"));
}

static void remove_tree(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

static int setup(void **state)
{
	copy_fixture("mail.log");
	copy_fixture("mail.log.1.gz");
	copy_fixture("exim-mainlog.log");
	return 0;
}

/* Which MTA a file's line says wrote it, as a replay without --mta tells its files apart. */
static void test_writer(void **state)
{
	static const struct {
		const char *name, *line;
		enum sg_mta_type want;
	} cases[] = {
		{ "postfix syslog", "Nov 23 23:24:01 mx postfix/smtpd[1]: connect",
		  SG_MTA_POSTFIX },
		{ "postfix instance", "Nov 23 23:24:01 mx postfix-out/qmgr[1]: X: removed",
		  SG_MTA_POSTFIX },
		{ "exim mainlog", "2026-11-23 23:24:01 1rABcD-0003Xy-1a Completed", SG_MTA_EXIM },
		{ "exim mainlog, fraction", "2026-11-23 23:24:01.123 [77] x", SG_MTA_EXIM },
		{ "exim syslog", "Nov 23 23:24:01 mx exim[42]: 2026-11-23 23:24:01 x",
		  SG_MTA_EXIM },
		{ "exim4 syslog", "Nov 23 23:24:01 mx exim4[42]: x", SG_MTA_EXIM },
		{ "exim's stamp over a postfix word",
		  "2026-11-23 23:24:01 H=x postfix/smtpd[1]:", SG_MTA_EXIM },
		{ "both tags: postfix first", "Nov 23 23:24:01 mx postfix/smtpd[1]: exim[2]",
		  SG_MTA_POSTFIX },
		{ "dovecot only", "Nov 23 23:24:01 mx dovecot[9]: imap-login: x", SG_MTA_NONE },
		{ "a date without a time", "2026-11-23 nothing", SG_MTA_NONE },
		{ "empty", "", SG_MTA_NONE },
	};
	char far[SG_MTA_TAG_SPAN + 32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# %s\n", cases[i].name);
		assert_int_equal(sg_mta_writer(cases[i].line, strlen(cases[i].line)),
				 cases[i].want);
	}
	/* A tag past the span is the text's, not syslog's. */
	memset(far, 'x', sizeof(far));
	memcpy(far + SG_MTA_TAG_SPAN - 4, " postfix/", 9);
	assert_int_equal(sg_mta_writer(far, sizeof(far)), SG_MTA_NONE);
	memcpy(far + SG_MTA_TAG_SPAN - 9, " postfix/", 9);
	assert_int_equal(sg_mta_writer(far, sizeof(far)), SG_MTA_POSTFIX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s4_night),
		cmocka_unit_test(test_every_second_agrees),
		cmocka_unit_test(test_gz_same_as_plain),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_exim),
		cmocka_unit_test(test_mta_type),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_raised_between_records),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_long_and_untimed_lines),
		cmocka_unit_test(test_month),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_truncated_gz),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_campaign),
		cmocka_unit_test(test_command),
	};
	char src[] = __FILE__;
	int rc;

	/* The fixtures' times are UTC wall clock; so is every expected string. */
	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(fixtures, sizeof(fixtures), "%s/fixtures/replay", dirname(src));
	snprintf(tmp, sizeof(tmp), "/tmp/sg-replay.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, setup, NULL);
	remove_tree(tmp);
	return rc;
}
