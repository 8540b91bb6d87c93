/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One mail server as smtpguard uses it: where it is and where it logs,
 * the lookup tables a containment writes into its configuration, how its
 * queued messages are held and let go, and check-mta's checks of its
 * set-up. One file per MTA (postfix.c, exim.c) fills a struct sg_mta_ops;
 * sg_mta_backend() is the registry, so another MTA is one file, one row
 * there and one name in SG_MTA_TYPES (core/mailrec.h). The log parsers
 * are mtalog.h's. Functions return -errno; the message for a failure is
 * appended to err ("; " between), so every failed step is told.
 */
#ifndef SG_MTA_H
#define SG_MTA_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "core/config.h"
#include "core/mailrec.h"

/* The kinds of table a containment writes; an MTA names the file of each kind it has. */
enum sg_mta_table {
	SG_TAB_ACCOUNT, /* a SASL login, held */
	SG_TAB_LOCAL,	/* a local sender's login name, held */
	/*
	 * Envelope senders, held server-wide by versions before this one
	 * (inbound mail from them too): never written now; a state that
	 * lists some has their lines removed on release.
	 */
	SG_TAB_SENDER,
	SG_TAB_KINDS,
};

#define SG_MTA_VALUE_MAX 128

/* One line of a table: key and value (the MTA's action; unused on release). */
struct sg_mta_entry {
	enum sg_mta_table table;
	char key[SG_MTA_LOGIN_MAX]; /* a SASL login or a local sender's name, raw */
	char value[SG_MTA_VALUE_MAX];
	int done; /* set by hold_account or release_account: the MTA has taken it up */
};

struct sg_mta_ops {
	const char *name; /* as in sg_mta_type_names */
	enum sg_mta_type type;
	/* The table files by enum sg_mta_table (in its configuration directory); NULL: none. */
	const char *const *tables;
	/* Whether the MTA is installed where the config says. */
	int (*installed)(const struct sg_config *c);
	/* Where it logs by default, up to max (>= 1) files; returns their number. */
	int (*discover)(const struct sg_config *c, char (*logs)[PATH_MAX], int max);
	/* The value of a table line of a principal held by rule; action is HOLD or REJECT. */
	void (*entry_value)(enum sg_mta_table t, const char *action, const char *principal,
			    const char *rule, char *buf, size_t len);
	/* Writes the entries (set e->done on each taken up), then makes the MTA read them. */
	int (*hold_account)(const struct sg_config *c, struct sg_mta_entry *e, size_t n, char *err,
			    size_t errlen);
	/* Removes the entries' keys, as hold_account wrote them. */
	int (*release_account)(const struct sg_config *c, struct sg_mta_entry *e, size_t n,
			       char *err, size_t errlen);
	/* Holds queued messages by queue id (Postfix hold, Exim freeze), or releases them. */
	int (*hold_queued)(const struct sg_config *c, const char *const *qids, size_t n, char *err,
			   size_t errlen);
	int (*release_queued)(const struct sg_config *c, const char *const *qids, size_t n,
			      char *err, size_t errlen);
	/* Submits message (headers, a blank line, the body) to its To: (sendmail -i -t). */
	int (*submit)(const struct sg_config *c, const char *message, char *err, size_t errlen);
	/* check-mta's checks of the set-up, one line each to out; returns how many failed. */
	int (*check)(const struct sg_config *c, FILE *out);
};

/* The MTA of type t; NULL for SG_MTA_NONE or a type with none. */
const struct sg_mta_ops *sg_mta_backend(enum sg_mta_type t);

/* The MTA called name ("postfix", "exim"); NULL when none is. */
const struct sg_mta_ops *sg_mta_backend_named(const char *name);

/* The MTA the config names, or the first installed, or SG_MTA_NONE. */
enum sg_mta_type sg_mta_detect(const struct sg_config *c);

/* The MTA's log files: [mta] logs, or where the MTA of type t writes by default. */
int sg_mta_logs(const struct sg_config *c, enum sg_mta_type t, char (*out)[PATH_MAX], int max);

/*
 * check-mta: whether the MTA is configured for containment (its
 * backend's checks) and its logs can be read. Prints one line per check
 * to out; returns the number of checks that failed.
 */
int sg_mta_check(const struct sg_config *c, enum sg_mta_type t, const char (*logs)[PATH_MAX],
		 int n_logs, FILE *out);

#endif
