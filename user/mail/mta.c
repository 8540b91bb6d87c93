// SPDX-License-Identifier: GPL-2.0
/* The MTA backends' registry, and what is said of any MTA through it; see mta.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mail/backend.h"
#include "mail/journal.h"
#include "mail/logsource.h"
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

static int check_journal(FILE *out)
{
	struct sg_journal_trust t = { .n = 1 };
	struct sg_journal *j = NULL;
	int ret = sg_journal_open(&j, &t, 0);

	sg_journal_free(j);
	return sg_mta_check_line(out, sg_journal_running(), "journald runs (its socket is there)",
				 "start systemd-journald, or set [mta] source = files") +
	       sg_mta_check_line(out, !ret, "the journal can be read",
				 "run as root (or in group systemd-journal), or set [mta] source");
}

/* A file local users cannot write lines into, or trust_syslog says so. */
static int check_own(const struct sg_config *c, enum sg_mta_type t, const char *path, FILE *out)
{
	char what[PATH_MAX + 96];

	if (sg_mta_log_own(c, t, path)) {
		snprintf(what, sizeof(what), "%s is the mail server's own log", path);
		return sg_mta_check_line(out, 1, what, NULL);
	}
	if (c->mta.trust_syslog) {
		snprintf(what, sizeof(what),
			 "%s is a syslog file, trusted by [mta] trust_syslog = yes "
			 "(unsafe on shared hosting)",
			 path);
		return sg_mta_check_line(out, 1, what, NULL);
	}
	snprintf(what, sizeof(what), "%s is the mail server's own log (the daemon refuses it)",
		 path);
	return sg_mta_check_line(out, 0, what,
				 "any local user can write lines into a syslog file: set [mta] "
				 "source = journal, or log to the MTA's own file (smtpguard(8)), "
				 "or [mta] trust_syslog = yes (unsafe on shared hosting)");
}

int sg_mta_check(const struct sg_config *c, enum sg_mta_type t, const char (*logs)[PATH_MAX],
		 int n_logs, FILE *out)
{
	const struct sg_mta_ops *b = sg_mta_backend(t);
	char what[PATH_MAX + 32], why[128];
	int failed = 0, i;

	fprintf(out, "MTA: %s\n", sg_mta_type_names[t]);
	if (b)
		failed += b->check(c, out);
	else
		failed += sg_mta_check_line(out, 0, "a mail server to contain accounts through",
					    "install Postfix or Exim, or set [mta] type");
	if (t == SG_MTA_NONE)
		return failed;
	if (sg_mta_source_pick(c, t, why, sizeof(why)) == SG_SOURCE_JOURNAL) {
		fprintf(out, "log source: the journal (%s)\n", why);
		return failed + check_journal(out);
	}
	fprintf(out, "log source: files (%s)\n", why);
	for (i = 0; i < n_logs; i++) {
		snprintf(what, sizeof(what), "%s is readable", logs[i]);
		failed += sg_mta_check_line(out, !access(logs[i], R_OK), what,
					    "set [mta] logs to the MTA's log files");
		failed += check_own(c, t, logs[i], out);
	}
	return failed;
}
