// SPDX-License-Identifier: GPL-2.0
/* Containments and releases carried on after a crash or a failure; see mailresume.h. */
#include <stdio.h>
#include <string.h>

#include "daemon/mailresume.h"
#include "mail/contain.h"
#include "util/log.h"
#include "util/render.h"

#define PRUNE_EVERY 3600 /* seconds: retention counts in days */

void sg_mailresume_count(struct sg_mailguard *g, const json_t *e, json_t *failed)
{
	json_t *v;
	size_t i;
	int s;

	json_array_foreach(json_object_get(e, "todo"), i, v)
	{
		s = sg_clog_step(json_string_value(v));
		if (s < 0)
			continue;
		g->steps_failed[s]++;
		if (failed)
			json_array_append(failed, v);
	}
}

struct resume_ctx {
	struct sg_mailguard *g;
	const struct sg_audit_cfg *audit;
	time_t now;
};

/* One entry's run: told in the log, audited as the containment or the release it carries on. */
static void told(const char *id, const json_t *before, const json_t *after, const char *err,
		 void *ctx)
{
	struct resume_ctx *r = ctx;
	const char *what = json_object_get(after, "released") ? "release" : "contain";
	json_t *done = json_array(), *failed = json_array(), *v;
	char safe[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX) + 2];
	size_t i;

	sg_mailresume_count(r->g, after, failed);
	json_array_foreach(
		json_object_get(before, "todo"), i,
		v) if (!sg_clog_pending(after,
					(enum sg_contain_step)sg_clog_step(json_string_value(v))))
		json_array_append(done, v);
	sg_log_value(id, safe, sizeof(safe));
	if (json_array_size(failed)) {
		r->g->errors++;
		sg_error("mta: resuming %s of %s: steps failed (try %lld, again in %llds): %s",
			 what, safe, (long long)json_integer_value(json_object_get(after, "tries")),
			 (long long)(json_integer_value(json_object_get(after, "retry_at")) -
				     r->now),
			 err);
	} else {
		sg_info("mta: resumed %s of %s: done", what, safe);
	}
	sg_audit_daemon(r->audit, what, id,
			json_pack("{s:b, s:o, s:o, s:s*}", "resumed", 1, "done", done, "failed",
				  failed, "errors", *err ? err : NULL),
			NULL, 0);
}

void sg_mailresume_tick(struct sg_mailguard *g, const struct sg_config *c,
			const struct sg_audit_cfg *audit, time_t now)
{
	struct resume_ctx r = { g, audit, now };
	int ret;

	if (g->resume_at && now >= g->resume_at)
		g->resume_at = sg_contain_resume(c, now, told, &r);
	if (now < g->prune_at)
		return;
	g->prune_at = now + PRUNE_EVERY;
	ret = sg_contain_prune(c, now, g->pruned);
	if (ret)
		sg_error("mta: pruning %s: %s", c->mta.contained_path, strerror(-ret));
}
