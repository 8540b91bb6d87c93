// SPDX-License-Identifier: GPL-2.0
/* Bans and holds pushed to a CrowdSec Local API: see fleetpush.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alert.h"
#include "core/mailstats.h"
#include "daemon/daemon.h"
#include "daemon/exposition.h"
#include "daemon/fleetpush.h"
#include "fleet/lapi.h"
#include "util/log.h"
#include "util/parse.h"
#include "sg_bucket.h"

#define BACKOFF_MIN  1	/* seconds */
#define BACKOFF_MAX  60 /* seconds */
#define RENEW_BEFORE 60 /* seconds before the JWT's expire */
#define PASSWORD_MAX 256
/* The LAPI refuses a machine's login whose User-Agent is not NAME/VERSION. */
#define USER_AGENT "User-Agent: smtpguard/" SG_VERSION

enum dropped { DROPPED_FULL, DROPPED_EXPIRED, DROPPED__MAX };
static const char *const dropped_names[DROPPED__MAX] = { "full", "expired" };

/* The pusher: its queue and counters under lock; the thread's login its own. */
static struct pusher {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int started, stop, on;
	struct sg_crowdsec_cfg set;
	char password[PASSWORD_MAX];
	unsigned gen; /* of the settings: a login is for one */
	struct sg_alert q[SG_FLEETPUSH_QUEUE];
	size_t head, n;
	time_t retry_at; /* the monotonic clock's: the next post after a failure */
	__u64 sent, released, failures, refused, dropped[DROPPED__MAX];
	time_t last_sent; /* the wall clock's */
} P = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * What went wrong, said once a streak: the first refused login, the first
 * failure of another kind, and the first success after either.
 */
enum said { SAID_NOTHING, SAID_REFUSED, SAID_FAILING };

/* What the thread alone uses: the settings of its last look, its connection, the JWT. */
struct link {
	struct sg_crowdsec_cfg set;
	char password[PASSWORD_MAX];
	unsigned gen;
	struct sg_lapi *api; /* NULL: curl refused the settings */
	char *token;	     /* NULL: not logged in for gen */
	time_t token_until, backoff;
	enum said said;
};

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* --- the queue (under lock) --------------------------------------------------------- */

static struct sg_alert *at(size_t i)
{
	return &P.q[(P.head + i) % SG_FLEETPUSH_QUEUE];
}

static void pop(size_t k)
{
	while (k-- && P.n) {
		sg_alert_free(at(0));
		P.head = (P.head + 1) % SG_FLEETPUSH_QUEUE;
		P.n--;
	}
}

static int is_release(const struct sg_alert *a)
{
	return !strcmp(a->type, SG_ALERT_TYPE_RELEASE);
}

static void enqueue(struct sg_alert *a)
{
	pthread_mutex_lock(&P.lock);
	if (!P.on) {
		sg_alert_free(a);
	} else if (P.n == SG_FLEETPUSH_QUEUE) {
		P.dropped[DROPPED_FULL]++;
		sg_alert_free(a);
	} else {
		*at(P.n++) = *a;
		pthread_cond_signal(&P.wake);
	}
	pthread_mutex_unlock(&P.lock);
}

static int pushing(void)
{
	int on;

	pthread_mutex_lock(&P.lock);
	on = P.on;
	pthread_mutex_unlock(&P.lock);
	return on;
}

void sg_fleetpush_ban(const char *rule, const struct sg_ban_key *key, __u64 for_ns,
		      const json_t *evidence)
{
	struct sg_alert a;

	if (pushing() && !sg_alert_ban(&a, rule, key, for_ns / SG_NS_PER_SEC, evidence, time(NULL)))
		enqueue(&a);
}

/*
 * A containment's evidence as pushed: its rule and counts, and the account
 * in the one escape; not the lists (client addresses, senders, queue ids).
 */
static json_t *contain_evidence(const char *principal, const json_t *evidence)
{
	char account[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	json_t *e = json_object(), *v;
	const char *k;

	if (!e)
		return NULL;
	json_object_foreach((json_t *)evidence, k, v) if (json_is_number(v) || !strcmp(k, "rule"))
		json_object_set(e, k, v);
	sg_escape_id(principal, account, sizeof(account));
	json_object_set_new(e, "account", json_string(account));
	return e;
}

void sg_fleetpush_contain(const char *principal, const char *rule, const json_t *done,
			  const json_t *evidence)
{
	const json_t *bans = json_object_get(done, "bans");
	__u64 ban_for_s = (__u64)json_integer_value(json_object_get(done, "ban_for_s"));
	size_t sasl = strlen(SG_MAIL_SASL), i;
	struct sg_ban_key key;
	struct sg_alert a;
	const char *why;
	json_t *e, *v;
	__u64 hold_ns;

	/* The fleet's own hold, applied here: not echoed. */
	if (!pushing() || !strcmp(rule, SG_FLEET_RULE))
		return;
	pthread_mutex_lock(&P.lock);
	hold_ns = P.set.hold_ns;
	pthread_mutex_unlock(&P.lock);
	e = contain_evidence(principal, evidence);
	if (!strncmp(principal, SG_MAIL_SASL, sasl) &&
	    !sg_alert_hold(&a, rule, principal + sasl, hold_ns / SG_NS_PER_SEC, e, time(NULL)))
		enqueue(&a);
	json_array_foreach(bans, i, v)
	{
		if (sg_parse_cidr(json_string_value(v) ?: "", &key, &why) ||
		    sg_alert_ban(&a, "contain", &key, ban_for_s, e, time(NULL)))
			continue;
		enqueue(&a);
	}
	json_decref(e);
}

void sg_fleetpush_release(const char *principal)
{
	size_t sasl = strlen(SG_MAIL_SASL);
	struct sg_alert a;
	__u64 hold_ns;

	if (!pushing() || strncmp(principal, SG_MAIL_SASL, sasl))
		return;
	pthread_mutex_lock(&P.lock);
	hold_ns = P.set.hold_ns;
	pthread_mutex_unlock(&P.lock);
	if (!sg_alert_release(&a, principal + sasl, hold_ns / SG_NS_PER_SEC, time(NULL)))
		enqueue(&a);
}

/* Those at the head whose decision ended go, delivered or not. */
static void drop_expired(void)
{
	time_t now = time(NULL);

	while (P.n && at(0)->until <= now) {
		pop(1);
		P.dropped[DROPPED_EXPIRED]++;
	}
}

/*
 * The first alerts of the queue, up to a release, as one POST's body, *k
 * of them taken (those whose decision ended are in it no longer, and
 * counted). NULL: none to send.
 */
static json_t *take(size_t *k, size_t *expired)
{
	json_t *arr = json_array(), *a;
	time_t now = time(NULL);
	size_t i;

	*expired = 0;
	for (i = 0; i < P.n && i < SG_FLEETPUSH_BATCH && !is_release(at(i)); i++) {
		a = sg_alert_json(at(i), now);
		if (a)
			json_array_append_new(arr, a);
		else
			++*expired;
	}
	*k = i;
	if (json_array_size(arr))
		return arr;
	json_decref(arr);
	return NULL;
}

/* --- the link (the thread's, no lock) ------------------------------------------------- */

static void tell(struct link *l, enum said now, const char *err)
{
	if (now == l->said)
		return;
	if (now == SAID_REFUSED)
		sg_error("crowdsec: %s refused the login of machine %s (%s): wrong [crowdsec] "
			 "machine_id or password_file; alerts wait in the queue",
			 l->set.url, l->set.machine_id, err);
	else if (now == SAID_FAILING)
		sg_warn("crowdsec: pushing to %s: %s; alerts wait in the queue, retried",
			l->set.url, err);
	else
		sg_info("crowdsec: pushing to %s again", l->set.url);
	l->said = now;
}

/* The JWT of a login's reply, and when it expires. */
static int token_of(struct link *l, const json_t *reply)
{
	const char *tok = json_string_value(json_object_get(reply, "token"));
	const char *exp = json_string_value(json_object_get(reply, "expire"));
	struct tm tm = { 0 };

	if (!tok || !exp || !strptime(exp, "%Y-%m-%dT%H:%M:%S", &tm))
		return -EBADMSG;
	free(l->token);
	l->token = strdup(tok);
	l->token_until = mono() + (timegm(&tm) - time(NULL));
	return l->token ? 0 : -ENOMEM;
}

/*
 * Logged in for the settings of l, the JWT not about to expire: 0, or
 * -EACCES (refused), -EIO; r says why.
 */
static int login(struct link *l, struct sg_lapi_reply *r)
{
	json_t *req;
	int err;

	if (l->token && mono() < l->token_until - RENEW_BEFORE)
		return 0;
	free(l->token);
	l->token = NULL;
	req = json_pack("{s:s, s:s}", "machine_id", l->set.machine_id, "password", l->password);
	if (!req)
		return -ENOMEM;
	err = sg_lapi_call(l->api, "POST", "/v1/watchers/login", USER_AGENT, req, r);
	json_decref(req);
	if (!err && token_of(l, r->json)) {
		snprintf(r->error, sizeof(r->error),
			 "POST /v1/watchers/login: no token in the reply");
		err = -EIO;
	}
	json_decref(r->json);
	r->json = NULL;
	return !err ? 0 : r->kind == SG_LAPI_AUTH ? -EACCES : -EIO;
}

/* What a post of the queue's head sends: POST /v1/alerts, or a release's DELETE. */
struct request {
	const char *method, *path;
	const json_t *body;
};

/* req with the JWT: 0, or -EACCES when it no longer holds, -EIO. */
static int post(struct link *l, const struct request *req, struct sg_lapi_reply *r)
{
	char auth[4096];
	int err;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", l->token);
	err = sg_lapi_call(l->api, req->method, req->path, auth, req->body, r);
	json_decref(r->json);
	r->json = NULL;
	return !err ? 0 : r->kind == SG_LAPI_AUTH ? -EACCES : -EIO;
}

/* --- the thread ---------------------------------------------------------------------- */

/*
 * After a post: k taken alerts (or a release) delivered (ok), counted into
 * *delivered, or to retry; the counters and the back-off.
 */
static void settle(struct link *l, __u64 *delivered, size_t k, size_t expired, int ok, int refused)
{
	pthread_mutex_lock(&P.lock);
	if (ok) {
		pop(k);
		*delivered += k - expired;
		P.dropped[DROPPED_EXPIRED] += expired;
		if (k > expired)
			P.last_sent = time(NULL);
		l->backoff = 0;
	} else {
		P.failures++;
		P.refused += refused;
		l->backoff = l->backoff ? l->backoff * 2 : BACKOFF_MIN;
		if (l->backoff > BACKOFF_MAX)
			l->backoff = BACKOFF_MAX;
	}
	P.retry_at = mono() + (ok ? 0 : l->backoff);
	pthread_mutex_unlock(&P.lock);
}

/* One post of the queue's head, logging in first when needed. */
static void deliver(struct link *l, const struct request *req, __u64 *delivered, size_t k,
		    size_t expired)
{
	struct sg_lapi_reply r = {};
	int err = -EIO;

	if (!l->api)
		snprintf(r.error, sizeof(r.error), "libcurl refused the [crowdsec] settings");
	else
		err = login(l, &r);
	if (!err) {
		err = post(l, req, &r);
		/* The JWT no longer holds (the LAPI restarted with a new secret): log in again. */
		if (err == -EACCES) {
			free(l->token);
			l->token = NULL;
			err = login(l, &r);
			if (!err)
				err = post(l, req, &r);
		}
	}
	tell(l, !err ? SAID_NOTHING : err == -EACCES ? SAID_REFUSED : SAID_FAILING, r.error);
	settle(l, delivered, k, expired, !err, err == -EACCES);
}

_Static_assert(SG_ALERT_RELEASE_PATH_MAX <= SG_LAPI_PATH_MAX, "a release's path fits a call");

/*
 * Under lock, the queue's head due: a release, sent alone (it unlocks),
 * or the alerts before the next one.
 */
static void send_head(struct link *l)
{
	char path[SG_ALERT_RELEASE_PATH_MAX];
	struct request req = { "POST", "/v1/alerts", NULL };
	size_t k, expired;
	json_t *alerts;

	drop_expired();
	if (P.n && is_release(at(0))) {
		/* Room for any (alert.h): it cannot fail. */
		sg_alert_release_path(at(0), path, sizeof(path));
		pthread_mutex_unlock(&P.lock);
		req = (struct request){ "DELETE", path, NULL };
		deliver(l, &req, &P.released, 1, 0);
		return;
	}
	alerts = take(&k, &expired);
	pthread_mutex_unlock(&P.lock);
	req.body = alerts;
	if (alerts)
		deliver(l, &req, &P.sent, k, expired);
	else
		settle(l, &P.sent, k, expired, 1, 0);
	json_decref(alerts);
}

/* Under lock: the settings into l when they changed, a new connection and login then. */
static void look(struct link *l)
{
	if (l->gen == P.gen)
		return;
	l->set = P.set;
	memcpy(l->password, P.password, sizeof(l->password));
	l->gen = P.gen;
	free(l->token);
	l->token = NULL;
	sg_lapi_close(l->api);
	l->api = NULL;
	if (sg_lapi_open(&l->set, &l->api))
		l->api = NULL;
}

/* Under lock: until stopped, given new settings, or alerts are due. */
static void wait_work(const struct link *l)
{
	struct timespec until = { .tv_sec = P.retry_at };

	while (!P.stop && l->gen == P.gen && (!P.n || mono() < P.retry_at)) {
		if (P.n)
			pthread_cond_timedwait(&P.wake, &P.lock, &until);
		else
			pthread_cond_wait(&P.wake, &P.lock);
	}
}

/*
 * New settings: logged in at once, so that the first ban goes without
 * waiting for a login (the LAPI's password check takes about 0.4 s) and
 * a wrong password is said at start, not at the first ban.
 */
static void log_in_early(struct link *l)
{
	struct sg_lapi_reply r = {};
	int err = -EIO;

	if (!l->set.url[0] || !l->set.machine_id[0])
		return;
	if (!l->api)
		snprintf(r.error, sizeof(r.error), "libcurl refused the [crowdsec] settings");
	else
		err = login(l, &r);
	tell(l, !err ? SAID_NOTHING : err == -EACCES ? SAID_REFUSED : SAID_FAILING, r.error);
	pthread_mutex_lock(&P.lock);
	P.refused += err == -EACCES;
	pthread_mutex_unlock(&P.lock);
}

static void *run(void *arg)
{
	struct link l = {};

	pthread_mutex_lock(&P.lock);
	for (;;) {
		wait_work(&l);
		if (P.stop)
			break;
		if (l.gen != P.gen) {
			look(&l);
			pthread_mutex_unlock(&P.lock);
			log_in_early(&l);
			pthread_mutex_lock(&P.lock);
			continue;
		}
		send_head(&l);
		pthread_mutex_lock(&P.lock);
	}
	pthread_mutex_unlock(&P.lock);
	free(l.token);
	sg_lapi_close(l.api);
	explicit_bzero(l.password, sizeof(l.password));
	return NULL;
}

static int start(void)
{
	pthread_condattr_t ca;
	sigset_t all, saved;
	pthread_t t;
	int err;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&P.wake, &ca);
	pthread_condattr_destroy(&ca);
	/* The daemon reads its signals from a signalfd: none may be delivered to this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = pthread_create(&t, NULL, run, NULL);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err) {
		pthread_cond_destroy(&P.wake);
		return -err;
	}
	/* Never joined: stopping must not wait for a transfer in flight. */
	pthread_detach(t);
	P.started = 1;
	return 0;
}

/* --- settings ------------------------------------------------------------------------ */

int sg_fleetpush_apply(const struct sg_crowdsec_cfg *c, char *why, size_t whylen)
{
	char password[PASSWORD_MAX] = "";
	int on = c->url[0] && c->machine_id[0], err = 0;

	if (on) {
		err = sg_lapi_read_secret(c->password_file, password, sizeof(password), why,
					  whylen);
		if (err)
			return err;
	}
	pthread_mutex_lock(&P.lock);
	if (on && !P.started)
		err = start();
	if (!err && (P.on != on || memcmp(&P.set, c, sizeof(*c)) || strcmp(P.password, password))) {
		P.set = *c;
		memcpy(P.password, password, sizeof(password));
		P.gen++;
		P.on = on;
		P.retry_at = 0;
		if (!on)
			pop(P.n);
		if (P.started)
			pthread_cond_signal(&P.wake);
	}
	pthread_mutex_unlock(&P.lock);
	explicit_bzero(password, sizeof(password));
	if (err)
		snprintf(why, whylen, "starting the pushes' thread: %s", strerror(-err));
	return err;
}

void sg_fleetpush_stop(void)
{
	pthread_mutex_lock(&P.lock);
	P.stop = 1;
	P.on = 0;
	if (P.started)
		pthread_cond_signal(&P.wake);
	pthread_mutex_unlock(&P.lock);
}

int sg_fleetpush_render(FILE *f)
{
	int i;

	pthread_mutex_lock(&P.lock);
	family_u64(f, "smtpguard_crowdsec_alerts_pushed_total", "counter",
		   "Alerts (bans and holds this server made) delivered to the CrowdSec Local API.",
		   P.sent);
	family_u64(f, "smtpguard_crowdsec_releases_pushed_total", "counter",
		   "Human releases of mail accounts delivered to the CrowdSec Local API, each "
		   "deleting the fleet's holds on its account.",
		   P.released);
	family_u64(f, "smtpguard_crowdsec_push_failures_total", "counter",
		   "Pushes to the CrowdSec Local API that failed (LAPI down, an error, a refused "
		   "login); each is retried with back-off.",
		   P.failures);
	family_u64(f, "smtpguard_crowdsec_login_refused_total", "counter",
		   "Logins of [crowdsec] machine_id the Local API refused: a wrong machine or "
		   "password.",
		   P.refused);
	family(f, "smtpguard_crowdsec_alerts_dropped_total", "counter",
	       "Alerts and releases never delivered: the queue was full, or their decision "
	       "(a release's: the hold it deletes) ended first.");
	for (i = 0; i < DROPPED__MAX; i++)
		sample_u64(f, "smtpguard_crowdsec_alerts_dropped_total",
			   LABELS({ "reason", dropped_names[i] }), P.dropped[i]);
	family_u64(f, "smtpguard_crowdsec_push_queue", "gauge",
		   "Alerts and releases waiting to be pushed to the CrowdSec Local API.", P.n);
	family_u64(f, "smtpguard_crowdsec_push_last_success_timestamp_seconds", "gauge",
		   "When alerts were last delivered to the CrowdSec Local API (0: never).",
		   (__u64)P.last_sent);
	pthread_mutex_unlock(&P.lock);
	return ferror(f) ? -EIO : 0;
}
