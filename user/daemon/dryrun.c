// SPDX-License-Identifier: GPL-2.0
/* Automatic actions told instead of taken; see dryrun.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dryrun.h"
#include "host/ownaddr.h"
#include "util/log.h"
#include "util/render.h"

/* One daemon a process, and its loop the only caller: a table of its own. */
static struct sg_dry_count counts[SG_DRY_PAIRS];
static size_t n_counts;

static void count(const char *action, const char *rule, __u64 n)
{
	struct sg_dry_count *k;
	size_t i;

	for (i = 0; i < n_counts; i++)
		if (!strcmp(counts[i].action, action) && !strcmp(counts[i].rule, rule)) {
			counts[i].n += n;
			return;
		}
	/* The actions and rules are the code's own names: the last slot is never expected. */
	if (n_counts == SG_DRY_PAIRS - 1) {
		k = &counts[SG_DRY_PAIRS - 1];
		snprintf(k->action, sizeof(k->action), "other");
		snprintf(k->rule, sizeof(k->rule), "other");
		k->n += n;
		return;
	}
	k = &counts[n_counts++];
	snprintf(k->action, sizeof(k->action), "%s", action);
	snprintf(k->rule, sizeof(k->rule), "%s", rule);
	k->n = n;
}

void sg_dry_counted(const char *action, const char *rule, __u64 n)
{
	if (n)
		count(action, rule, n);
}

int sg_dry_run(const struct sg_config *c, const struct sg_audit_cfg *audit,
	       const struct sg_audit_entry *e, const char *rule)
{
	char action[48], user[SG_ESCAPED_LEN(64) + 2], who[sizeof(user) + 32];
	char target[SG_ESCAPED_LEN(128) + 2];
	struct sg_audit_entry would = *e;
	char *evidence;

	if (!c->dry_run)
		return 0;
	snprintf(action, sizeof(action), "would-%s", e->action);
	would.action = action;
	if (audit)
		sg_audit_write(audit, &would);
	/* A customer's names escaped, the evidence JSON-quoted: no line of theirs is forged. */
	snprintf(who, sizeof(who), "user=%s uid=%u",
		 e->user && *e->user ? sg_log_value(e->user, user, sizeof(user)) : "-", e->uid);
	evidence = e->params ? json_dumps(e->params, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	sg_info("would %s %s%s%s%s because %s: %s", e->action, e->has_uid ? who : "",
		e->has_uid && e->target ? " " : "", e->target ? "target=" : "",
		e->target ? sg_log_value(e->target, target, sizeof(target)) : "", rule,
		evidence ? evidence : "{}");
	free(evidence);
	count(e->action, rule, 1);
	return 1;
}

int sg_dry_run_once(const struct sg_config *c, const struct sg_audit_cfg *audit,
		    const struct sg_audit_entry *e, const char *rule, int *told)
{
	if (!*told)
		*told = sg_dry_run(c, audit, e, rule);
	return *told && c->dry_run;
}

int sg_dry_ban(const struct sg_config *c, const struct sg_audit_cfg *audit,
	       const struct sg_audit_entry *e, const struct sg_ban_key *key, __u64 for_ns,
	       __u32 reason)
{
	if (!sg_ban_covers_own(c, key, NULL, 0) &&
	    sg_dry_run(c, audit, e, sg_ban_reason_name(reason)))
		return SG_DRY_TOLD;
	return sg_ban_auto(c, key, for_ns, reason);
}

const struct sg_dry_count *sg_dry_counts(size_t *n)
{
	*n = n_counts + (counts[SG_DRY_PAIRS - 1].n > 0);
	return counts;
}
