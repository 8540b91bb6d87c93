// SPDX-License-Identifier: GPL-2.0
/* Alerts to Alertmanager; see alertmgr.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "notify/alertmgr.h"
#include "notify/event.h"
#include "util/curl.h"
#include "util/log.h"

struct alert {
	char *key; /* alertname, kind and principal: what an ending event ends */
	json_t *body;
	int ending; /* posted with its endsAt, then forgotten */
};

struct sg_am {
	struct alert alerts[SG_AM_MAX];
	int n;
	time_t posted; /* the last post's time, done or failed */
	int changed;   /* by an event since: posted at the next tick */
	int failing;   /* the last post failed: the next that works says so */
	struct sg_am_stats st;
	char err[CURL_ERROR_SIZE];
};

static const char *const alertnames[SG_EVENT__MAX] = {
	[SG_EVENT_CONTAIN] = "SmtpguardContained", [SG_EVENT_RELEASE] = "SmtpguardContained",
	[SG_EVENT_BAN] = "SmtpguardBanned",	   [SG_EVENT_UNBAN] = "SmtpguardBanned",
	[SG_EVENT_ALERT] = "SmtpguardAlert",
};

struct sg_am *sg_am_new(void)
{
	return calloc(1, sizeof(struct sg_am));
}

static void forget(struct sg_am *a, int i)
{
	free(a->alerts[i].key);
	json_decref(a->alerts[i].body);
	a->alerts[i] = a->alerts[--a->n];
}

void sg_am_free(struct sg_am *a)
{
	if (!a)
		return;
	while (a->n)
		forget(a, 0);
	free(a);
}

static json_t *iso(time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* The alert Alertmanager gets: its labels say which, its annotations what and how to look. */
static json_t *body(const json_t *e, const char *alertname, time_t now)
{
	const char *rule = json_string_value(json_object_get(e, "rule"));
	char *evidence = json_dumps(json_object_get(e, "evidence"), JSON_COMPACT | JSON_SORT_KEYS);
	json_t *b;

	b = json_pack("{s:{s:s, s:O, s:O, s:O}, s:{s:s?, s:O, s:O}, s:o}", "labels", "alertname",
		      alertname, "principal", json_object_get(e, "principal"), "kind",
		      json_object_get(e, "kind"), "host", json_object_get(e, "host"), "annotations",
		      "evidence", evidence, "summary", json_object_get(e, "summary"), "explain",
		      json_object_get(e, "explain"), "startsAt", iso(now));
	free(evidence);
	/* Alertmanager takes an empty label as none: a rule-less alert has none. */
	if (b && rule && *rule)
		json_object_set_new(json_object_get(b, "labels"), "rule", json_string(rule));
	return b;
}

static int find(const struct sg_am *a, const char *key)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (!a->alerts[i].ending && !strcmp(a->alerts[i].key, key))
			return i;
	return -1;
}

static void keep(struct sg_am *a, char *key, json_t *b, int ending)
{
	if (a->n == SG_AM_MAX || !key || !b) {
		a->st.dropped++;
		free(key);
		json_decref(b);
		return;
	}
	a->alerts[a->n++] = (struct alert){ key, b, ending };
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* One POST of body to url; 0, or -1 with a->err. */
static int post(struct sg_am *a, const char *url, const char *text)
{
	const struct sg_curl *cu = sg_curl();
	char where[SG_URL_MAX + 32];
	struct curl_slist *h;
	long status = 0;
	CURLcode rc;
	CURL *c;

	if (!cu) {
		snprintf(a->err, sizeof(a->err), "%s: %s", SG_LIBCURL, strerror(errno));
		return -1;
	}
	h = cu->slist_append(NULL, "Content-Type: application/json");
	c = cu->easy_init();
	snprintf(where, sizeof(where), "%s/api/v2/alerts", url);
	if (!c || !h) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		cu->slist_free_all(h);
		cu->easy_cleanup(c);
		return -1;
	}
	a->err[0] = '\0';
	cu->easy_setopt(c, CURLOPT_URL, where);
	cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cu->easy_setopt(c, CURLOPT_POSTFIELDS, text);
	cu->easy_setopt(c, CURLOPT_TIMEOUT, (long)SG_AM_TIMEOUT_S);
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(c, CURLOPT_ERRORBUFFER, a->err);
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = cu->easy_perform(c);
	if (rc == CURLE_OK)
		cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK && !a->err[0])
		snprintf(a->err, sizeof(a->err), "%s", cu->easy_strerror(rc));
	else if (rc == CURLE_OK && status != 200)
		snprintf(a->err, sizeof(a->err), "HTTP status %ld", status);
	cu->slist_free_all(h);
	cu->easy_cleanup(c);
	return rc == CURLE_OK && status == 200 ? 0 : -1;
}

/* Every alert known, in one post; the endings forgotten once it worked. */
static void post_all(struct sg_am *a, const struct sg_notify_cfg *c, time_t now)
{
	const char *url = c->alertmanager;
	json_t *all = json_array();
	char *text;
	int i, err;

	a->posted = now;
	a->changed = 0;
	if (!a->n) {
		json_decref(all);
		return;
	}
	for (i = 0; i < a->n; i++)
		json_array_append(all, a->alerts[i].body);
	text = json_dumps(all, JSON_COMPACT);
	json_decref(all);
	err = text ? post(a, url, text) : -1;
	free(text);
	if (err) {
		a->st.posts_failed++;
		/* Once a streak: a down Alertmanager is one line, not one a minute. */
		if (!a->failing)
			sg_error("alertmanager: posting to %s: %s; kept, posted again every %llu s",
				 url, a->err,
				 (unsigned long long)(c->alertmanager_resend_ns / 1000000000ULL));
		a->failing = 1;
		return;
	}
	a->st.posts_ok++;
	if (a->failing)
		sg_info("alertmanager: posting to %s works again", url);
	a->failing = 0;
	for (i = a->n - 1; i >= 0; i--)
		if (a->alerts[i].ending)
			forget(a, i);
}

void sg_am_event(struct sg_am *a, const json_t *e, time_t now)
{
	enum sg_notify_event ev = sg_event_of(e);
	const char *name = alertnames[ev];
	json_t *b;
	char *key;
	int i;

	if (asprintf(&key, "%s\n%s\n%s", name, json_string_value(json_object_get(e, "kind")),
		     json_string_value(json_object_get(e, "principal"))) < 0)
		key = NULL;
	i = key ? find(a, key) : -1;
	if (ev == SG_EVENT_RELEASE || ev == SG_EVENT_UNBAN) {
		free(key);
		if (i < 0)
			return; /* not ours to resolve */
		json_object_set_new(a->alerts[i].body, "endsAt", iso(now));
		a->alerts[i].ending = 1;
	} else {
		b = body(e, name, now);
		if (!b) {
			a->st.dropped++;
			free(key);
			return;
		}
		if (ev == SG_EVENT_ALERT)
			json_object_set_new(b, "endsAt", iso(now + SG_AM_ALERT_S));
		/* Contained again while contained: one alert, with the newer evidence. */
		if (i >= 0) {
			json_object_set(b, "startsAt",
					json_object_get(a->alerts[i].body, "startsAt"));
			json_decref(a->alerts[i].body);
			a->alerts[i].body = b;
			free(key);
		} else {
			keep(a, key, b, ev == SG_EVENT_ALERT);
		}
	}
	a->changed = 1;
}

void sg_am_tick(struct sg_am *a, const struct sg_notify_cfg *c, time_t now)
{
	time_t every = (time_t)(c->alertmanager_resend_ns / 1000000000ULL);

	if (a->changed || now - a->posted >= every || now < a->posted)
		post_all(a, c, now);
}

void sg_am_stats(const struct sg_am *a, struct sg_am_stats *out)
{
	*out = a->st;
	out->active = (__u64)a->n;
}
