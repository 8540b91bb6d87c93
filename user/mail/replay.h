/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replay: the mail-log parsers (mtalog.h), the principals' windows
 * (mailstats.h) and the detector (detect.h) over logs already written, as
 * if they were being written now: what happened last night, and what the
 * rules would have said under some thresholds, before actions are turned
 * on. Nothing is acted on, loaded or saved; the baselines start empty, so
 * every principal is new at its first message and the rate rule's limit
 * is its floor until an hour has been learned.
 *
 * The clock is the log's: each record's own time (a yearless syslog stamp
 * takes the year that puts it nearest to its file's mtime), a line without
 * one the latest time seen. The detector ticks once a second as the daemon
 * does, a second's tick after every record of that second; seconds in which
 * nothing could change are skipped (see replay.c), with the same result as
 * ticking every one. A record stamped before the time already reached (the
 * files given out of order, a clock stepped back) is taken at that time
 * and counted in out_of_order.
 *
 * Functions return -errno.
 */
#ifndef SG_REPLAY_H
#define SG_REPLAY_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <jansson.h>
#include <linux/types.h>

#include "core/config.h"
#include "core/detect.h"
#include "mail/mtalog.h"

struct sg_replay_opts {
	enum sg_mta_type type;		/* SG_MTA_NONE: detected in each file */
	const struct sg_thresholds *th; /* the rules' limits */
	/* An Exim U= user name to a UID (NULL, or -1 returned: "local:USER"). */
	__s64 (*uid_of_user)(const char *user);
	int every_second; /* tick every second, skipping none: slow, the tests' reference */
	/* The MTA's own users (sg_mailstats_mta_user): their submissions are the MTA's notices. */
	const char (*mta_users)[64];
	int n_mta_users;
	/* [campaign] and [bruteforce] allow for the campaign view (core/campaign.h); NULL: none. */
	const struct sg_config *config;
};

/*
 * Replays files in the order given ("-": standard input), plain or gzip.
 * Each file is opened before any is read: a missing or unreadable one fails
 * the whole replay. On success *out is the report (the caller frees it):
 *
 *   { "files": [ { "file", "mta", "lines", "cut", "records" } ],
 *     "lines", "cut", "untimed", "out_of_order", "principals_evicted",
 *     "records": { EVENT: n }, "from", "to", "alerts", "principals": [ PRINCIPAL ] }
 *
 * "cut": lines longer than SG_MTA_LINE_MAX, read up to it; "untimed":
 * records before any time was seen, dropped; "principals_evicted": times
 * the daemon's bounded table of principals (mailstats.h) let one go, or
 * did not take one, as it would have live; "mta": the file's format,
 * "none" when no line told. A PRINCIPAL, in order of first appearance:
 *
 *   { "principal", "kind" ("sasl", "local"), "messages", "recipients",
 *     "sent", "bounced", "deferred", "bounce_share" (bounced / (sent +
 *     bounced) over the replay, 0 when none), "client_ips" (distinct ever),
 *     "bounces_in", "auth_failures", "held", "senders": [ ], "first",
 *     "last" (first and last message), "first_alert", "alerts" (raised,
 *     again included), "rules": [ NAME ] (in order of first firing),
 *     "fired": [ { "rule", "at", "value", "limit" } ] (the first firing) }
 *
 * With opts.config, each PRINCIPAL has "held_by" (the address whose
 * campaign verdict holds it, or null) and the report a "campaign":
 *
 *   { "addresses": [ { "address", "at", "accounts", "sent", "bounced",
 *       "new", "held": [ { "principal", "at" } ] } ] (in order of verdict),
 *     "held" (accounts), "host_alerts": [ { "raised", "cleared",
 *       "bounce_share", "share_limit", "new_senders", "new_limit" } ] }
 *
 * the host-wide rule looked at in the minutes the replay ticks.
 *
 * Times are ISO 8601 in local time with its offset, or null. On failure
 * err gets "FILE: why" (or just why) and *out is NULL.
 */
int sg_replay(const char *const *files, size_t n, const struct sg_replay_opts *o, json_t **out,
	      char *err, size_t errlen);

/* The report as text: a table of the principals, their rules' first firings, a summary. */
void sg_replay_print(FILE *f, const json_t *report);

/* "2026-11-23T23:24:05+01:00": t in local time. */
char *sg_replay_iso(time_t t, char *buf, size_t len);

#endif
