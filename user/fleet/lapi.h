/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transport to a CrowdSec Local API ([crowdsec] url): one blocking
 * HTTP request at a time through libcurl, JSON in and out, TLS verified
 * (against [crowdsec] ca_file, else the system's CAs) with the optional
 * client certificate. It blocks for up to SG_LAPI_TIMEOUT_S: only a
 * thread of its own calls it (fleet/link.h's for the bouncer, the
 * machine's pusher's), never the daemon's loop.
 *
 * A connection is used by one thread at a time. Failures come back as a
 * kind, for the metrics, and a one-line text, for the log.
 */
#ifndef SG_FLEET_LAPI_H
#define SG_FLEET_LAPI_H

#include <stddef.h>
#include <jansson.h>

#include "core/config.h"
#include "smtpguard.h"

#define SG_LAPI_CONNECT_TIMEOUT_S 5
#define SG_LAPI_TIMEOUT_S	  30
#define SG_LAPI_REPLY_MAX	  (64u << 20) /* a startup stream of 100,000 decisions is ~20 MB */
#define SG_LAPI_PATH_MAX	  16384	      /* a path and query sg_lapi_call takes */

/* Why a request failed: smtpguard_crowdsec_errors_total{kind}. */
#define SG_LAPI_ERRORS(X)                                                                          \
	X(SG_LAPI_DOWN, "unreachable") /* no connection, or no answer in time */                   \
	X(SG_LAPI_TLS, "tls")	       /* the certificate, ours or the server's, refused */        \
	X(SG_LAPI_AUTH, "auth")	       /* 401 or 403: a wrong key or password, or a revoked one */ \
	X(SG_LAPI_HTTP, "http")	       /* any other status but 2xx */                              \
	X(SG_LAPI_REPLY, "bad_reply")  /* not the JSON asked for, or too large */                  \
	X(SG_LAPI_SECRET, "key_file")  /* the key or password file unreadable, or refused */

enum sg_lapi_error { SG_LAPI_OK = -1, SG_LAPI_ERRORS(SG_ENUM_VALUE) SG_LAPI__MAX };
extern const char *const sg_lapi_error_names[SG_LAPI__MAX];

struct sg_lapi;

struct sg_lapi_reply {
	long status;		 /* HTTP status; 0: none came */
	json_t *json;		 /* the body, parsed; NULL when empty (the caller decrefs) */
	enum sg_lapi_error kind; /* SG_LAPI_OK on a 2xx with JSON (or no body) */
	char error[256];	 /* what failed, for one log line */
};

/* A connection to c's url with c's TLS settings. -ENOMEM, or -EINVAL when curl refuses them. */
int sg_lapi_open(const struct sg_crowdsec_cfg *c, struct sg_lapi **out);
void sg_lapi_close(struct sg_lapi *l);

/*
 * METHOD url+path with the header auth ("X-Api-Key: ..." or "Authorization:
 * Bearer ..."; NULL: none) and body as JSON (NULL: none). Fills r; returns
 * 0 when r->kind is SG_LAPI_OK, else -EIO (-ENAMETOOLONG, nothing sent, for
 * a path over SG_LAPI_PATH_MAX). r->json is set on any status
 * whose body is JSON, so that a 4xx's message can be said.
 */
int sg_lapi_call(struct sg_lapi *l, const char *method, const char *path, const char *auth,
		 const json_t *body, struct sg_lapi_reply *r);

/*
 * A secret (the bouncer's key, the machine's password) from path, its first
 * line: -EPERM, the reason in why, when the file is a group's or others' to
 * read or write, or not root's (a customer must not read the fleet's key
 * nor slip in one of theirs); -EINVAL when empty or longer than len - 1.
 */
int sg_lapi_read_secret(const char *path, char *buf, size_t len, char *why, size_t whylen);

#endif
