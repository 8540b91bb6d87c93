// SPDX-License-Identifier: GPL-2.0
/* The MTA backends' registry, and what is said of any MTA through it; see mta.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mail/backend.h"
#include "mail/mta.h"

/* In the order an installed MTA is looked for. */
static const struct sg_mta_ops *const backends[] = {
	[SG_MTA_POSTFIX] = &sg_mta_postfix,
	[SG_MTA_EXIM] = &sg_mta_exim,
};

#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

const struct sg_mta_ops *sg_mta_backend(enum sg_mta_type t)
{
	return (size_t)t < N_BACKENDS ? backends[t] : NULL;
}

const struct sg_mta_ops *sg_mta_backend_named(const char *name)
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++)
		if (backends[i] && !strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

enum sg_mta_type sg_mta_detect(const struct sg_config *c)
{
	size_t i;

	if (c->mta.type != SG_MTA_AUTO)
		return c->mta.type;
	for (i = 0; i < N_BACKENDS; i++)
		if (backends[i] && backends[i]->installed(c))
			return backends[i]->type;
	return SG_MTA_NONE;
}

int sg_mta_logs(const struct sg_config *c, enum sg_mta_type t, char (*out)[PATH_MAX], int max)
{
	const struct sg_mta_ops *b = sg_mta_backend(t);
	int i, n = 0;

	for (i = 0; i < c->mta.n_logs && n < max; i++)
		snprintf(out[n++], PATH_MAX, "%s", c->mta.logs[i]);
	if (n || !b || max < 1)
		return n;
	return b->discover(c, out, max);
}

int sg_mta_check(const struct sg_config *c, enum sg_mta_type t, const char (*logs)[PATH_MAX],
		 int n_logs, FILE *out)
{
	const struct sg_mta_ops *b = sg_mta_backend(t);
	char what[PATH_MAX + 32];
	int failed = 0, i;

	fprintf(out, "MTA: %s\n", sg_mta_type_names[t]);
	if (b)
		failed += b->check(c, out);
	else
		failed += sg_mta_check_line(out, 0, "a mail server to contain accounts through",
					    "install Postfix or Exim, or set [mta] type");
	for (i = 0; i < n_logs; i++) {
		snprintf(what, sizeof(what), "%s is readable", logs[i]);
		failed += sg_mta_check_line(out, !access(logs[i], R_OK), what,
					    "set [mta] logs to the MTA's log files");
	}
	return failed;
}
