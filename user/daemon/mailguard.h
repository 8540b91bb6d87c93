/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's mail-server side: the MTA's logs followed, their records
 * counted per SASL account and local sender (mailstats.h), those
 * principals through the same detector as UIDs (their baselines in the
 * same store), and a rule's response carried out through the MTA
 * (contain.h): any response but alert contains the principal until a
 * human releases it. Functions return -errno.
 */
#ifndef SG_MAILGUARD_H
#define SG_MAILGUARD_H

#include <time.h>
#include <jansson.h>

#include "host/audit.h"
#include "core/campaign.h"
#include "core/config.h"
#include "core/decide.h"
#include "daemon/defence.h"
#include "core/detect.h"
#include "mail/containlog.h"
#include "mail/follow.h"
#include "mail/journal.h"
#include "mail/ownernotice.h"
#include "core/mailstats.h"
#include "daemon/metrics.h"
#include "core/mailrec.h"
#include "daemon/respond.h"

struct sg_mailguard {
	enum sg_mta_type type;
	char logs[SG_MAX_MTA_LOGS][PATH_MAX];
	int n_logs;
	struct sg_follower *follow; /* NULL: no MTA, or the journal read */
	struct sg_journal *journal; /* NULL: the files followed */
	char source_why[128];	    /* why the journal or the files ([mta] source) */
	char err[PATH_MAX + 256];   /* what init refused, for the caller's message */
	struct sg_mailstats *stats;
	struct sg_detector *det;	 /* borrowed: the guard's */
	struct sg_defence *defence;	 /* borrowed: gets the records too (NULL: none) */
	const struct sg_responder *resp; /* borrowed: the guard's, for exemptions */
	struct stat_key {
		dev_t dev;
		ino_t ino;
		time_t mtime;
		long mtime_ns;
		off_t size;
	} state_seen; /* of the containment state file, when last read */
	__u64 contained, releases, holds, alerts;
	__u64 errors;			      /* containment steps that failed */
	__u64 steps_failed[SG_CONTAIN_STEPS]; /* by step (mail/containlog.h) */
	__u64 pruned[SG_PRUNED_KINDS];	      /* state entries dropped, by why */
	__u64 notices[SG_NOTICE_OUTCOMES];    /* owners' notices, by outcome (mail/ownernotice.h) */
	time_t resume_at; /* when the state's unfinished steps are due; 0: none */
	time_t prune_at;  /* when the state is pruned next */
	/* Credential stuffing (daemon/mailcampaign.h); cfg: the daemon's, as of the last tick. */
	struct sg_campaign *campaign;
	const struct sg_config *cfg;
	struct sg_campaign_metrics campaign_m;
};

/*
 * Follows the MTA's logs when there is an MTA: the journal, or files (one
 * named in [mta] logs that a syslog daemon writes is refused, -EPERM with
 * g->err saying why, unless trust_syslog; one found, not named, is left
 * out with a warning); det and resp are the
 * guard's: the same detector and baselines, and the same exemptions (a
 * local sender on the allow list, an MTA user or an override with actions
 * = alert is only alerted on, never contained).
 */
int sg_mailguard_init(struct sg_mailguard *g, const struct sg_config *c, struct sg_detector *det,
		      const struct sg_responder *resp, struct sg_defence *defence);
void sg_mailguard_free(struct sg_mailguard *g);

/* The follower's inotify descriptor for epoll, or -1. */
int sg_mailguard_fd(const struct sg_mailguard *g);

/* Reads what the logs have gained, at now. */
void sg_mailguard_read(struct sg_mailguard *g, time_t now);

/* Once a tick: the principals through the detector, alerts, containment, releases. */
void sg_mailguard_tick(struct sg_mailguard *g, const struct sg_config *c,
		       const struct sg_audit_cfg *audit, time_t now);

/*
 * The first rule held on p (dp: its detector state) whose response contains
 * p at now, or -1: none, or p exempt (ex), contained already, or released
 * by a human within the release's grace (sg_decide()).
 */
int sg_mailguard_containing(const struct sg_mail_principal *p, const struct sg_principal *dp,
			    const struct sg_config *c, enum sg_exempt ex, time_t now);

/*
 * Contains p at now for a verdict reached outside the detector (the
 * in-band judge's rule, value against limit), as a rule's response does:
 * its mail held, its login IPs banned, logged and audited.
 */
void sg_mailguard_contain(struct sg_mailguard *g, const struct sg_config *c,
			  const struct sg_audit_cfg *audit, struct sg_mail_principal *p,
			  const char *rule, double value, double limit, time_t now);

/* What the daemon knows of a mail principal, for explain; NULL when unknown. */
json_t *sg_mailguard_explain(struct sg_mailguard *g, const struct sg_config *c, const char *id,
			     time_t now);

/* The busiest principals by messages in the last hour, at most max, as JSON rows (top --accounts).
 */
json_t *sg_mailguard_top(struct sg_mailguard *g, time_t now, size_t max);

/*
 * The /metrics view at now: host-wide counts into m, and the max busiest
 * principals into rows (m->accounts points there); records has room for
 * SG_MTA_EVENT_KINDS counts.
 */
void sg_mailguard_metrics(struct sg_mailguard *g, time_t now, struct sg_mta_metrics *m,
			  struct sg_account_metric *rows, size_t max, __u64 *records);

#endif
