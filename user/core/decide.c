// SPDX-License-Identifier: GPL-2.0
/* Whether a rule's response is carried out; see decide.h. */
#include <stdio.h>

#include "core/decide.h"
#include "util/render.h"

const char *sg_exempt_text(enum sg_exempt e)
{
	switch (e) {
	case SG_EXEMPT_ALLOW:
		return "on the allow list";
	case SG_EXEMPT_MTA:
		return "the MTA's own user: its customers are told apart by SASL account";
	case SG_EXEMPT_ALERT_ONLY:
		return "its override says actions = alert";
	default:
		return NULL;
	}
}

static const char *const owner_text[] = {
	[SG_OWNER_DEFAULT] = "the default policy",
	[SG_OWNER_CONFIG] = "the config",
	[SG_OWNER_DETECTOR] = "the detector",
	[SG_OWNER_HUMAN] = "an administrator",
};

/* Block beats throttle; of two throttles the slower one is the stricter; observe is weakest. */
static int at_least_as_strict(const struct sg_standing *s, const struct sg_proposal *want)
{
	if (s->mode == SG_MODE_BLOCK)
		return 1;
	return want->kind == SG_ACT_THROTTLE && s->mode == SG_MODE_THROTTLE &&
	       s->rate_per_hour <= want->rate_per_hour;
}

/*
 * An exemption is told before a human's policy: it holds whoever sets
 * what, and either way nothing is done.
 */
enum sg_decision sg_decide(const struct sg_standing *now, const struct sg_proposal *want, char *why,
			   size_t len)
{
	why[0] = '\0';
	if (want->kind == SG_ACT_ALERT)
		return SG_DECIDE_ALERT;
	if (want->exempt != SG_EXEMPT_NONE) {
		snprintf(why, len, "no action: %s", sg_exempt_text(want->exempt));
		return SG_DECIDE_EXEMPT;
	}
	if (now->owner == SG_OWNER_HUMAN) {
		snprintf(why, len, "no action: an administrator's %s stands",
			 now->mode == SG_MODE_OBSERVE ? "release" : sg_mode_name(now->mode));
		return SG_DECIDE_HUMAN;
	}
	/* A kill stops what sends now: no policy in force makes it redundant. */
	if (want->kind == SG_ACT_KILL) {
		if (!want->root)
			return SG_DECIDE_APPLY;
		snprintf(why, len, "no action: root's processes are the system's");
		return SG_DECIDE_ROOT;
	}
	if (at_least_as_strict(now, want)) {
		snprintf(why, len, "no action: already %s by %s", sg_mode_name(now->mode),
			 owner_text[now->owner]);
		return SG_DECIDE_STRICTER;
	}
	return SG_DECIDE_APPLY;
}

int sg_policy_in_force(const struct sg_policy *p, __u64 now_ns)
{
	return !p->expires_ns || p->expires_ns > now_ns;
}

void sg_standing_policy(const struct sg_policy *own, const struct sg_policy *dflt, __u64 now_ns,
			struct sg_standing *s)
{
	const struct sg_policy *p = own && sg_policy_in_force(own, now_ns) ? own : NULL;

	s->owner = !p				  ? SG_OWNER_DEFAULT
		   : p->set_by == SG_SET_CLI	  ? SG_OWNER_HUMAN
		   : p->set_by == SG_SET_DETECTOR ? SG_OWNER_DETECTOR
						  : SG_OWNER_CONFIG;
	if (!p)
		p = dflt;
	s->mode = p->mode;
	s->rate_per_hour = p->rate_per_hour;
}

void sg_standing_mail(int contained, time_t released_until, time_t now, struct sg_standing *s)
{
	if (contained)
		*s = (struct sg_standing){ SG_OWNER_DETECTOR, SG_MODE_BLOCK, 0 };
	else if (now < released_until)
		*s = (struct sg_standing){ SG_OWNER_HUMAN, SG_MODE_OBSERVE, 0 };
	else
		*s = (struct sg_standing){ SG_OWNER_DEFAULT, SG_MODE_OBSERVE, 0 };
}

void sg_proposal_mail(enum sg_action kind, enum sg_exempt exempt, struct sg_proposal *want)
{
	*want = (struct sg_proposal){
		.kind = kind == SG_ACT_ALERT ? SG_ACT_ALERT : SG_ACT_BLOCK,
		.exempt = exempt,
	};
}

enum sg_config_step sg_decide_config(const struct sg_policy *cur, const struct sg_policy *want,
				     int exempt)
{
	if (!cur)
		return SG_CONFIG_WRITE;
	if (cur->set_by == SG_SET_CLI || (cur->set_by == SG_SET_DETECTOR && !exempt))
		return SG_CONFIG_KEEP;
	/* Unchanged: rewriting it would refill the bucket. */
	if (cur->set_by == SG_SET_CONFIG && cur->mode == want->mode &&
	    cur->rate_per_hour == want->rate_per_hour && cur->burst == want->burst &&
	    !cur->expires_ns)
		return SG_CONFIG_KEEP;
	return cur->set_by == SG_SET_DETECTOR ? SG_CONFIG_LIFT : SG_CONFIG_WRITE;
}
