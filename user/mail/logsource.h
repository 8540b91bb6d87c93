/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the daemon reads the mail server's lines ([mta] source), and
 * whether a log file can be believed ([mta] trust_syslog). A file a
 * syslog daemon writes takes any line any local user sends it (logger,
 * PHP's syslog()), so a forged auth failure would ban any address and a
 * forged client= line contain another's account. A file is the MTA's own
 * when its writer takes no line from a customer:
 *   Postfix  the file `postconf -h maillog_file` names (postlogd writes it),
 *            unless postlog is set-gid: then any user reaches postlogd with
 *            any tag (tested: Debian 12's postlog is not; run by a user,
 *            it exits 1 and writes nothing; with group postdrop it writes)
 *   Exim     a file in the directory of its log_file_path (`exim -bP`, with
 *            [mta] exim), owned by a user other than root and writable by it
 *            alone (Exim writes its mainlog itself, as its user); one not
 *            there yet, in a directory so owned
 *   Dovecot  the file `doveconf -c [mta] dovecot_config -h log_path` (or
 *            info_log_path) names (Dovecot's log process writes it)
 * Any other needs trust_syslog = yes: named in [mta] logs, the daemon
 * refuses to start; found where the MTA logs by default, it is not
 * followed (a warning says why) and the daemon runs. Functions return
 * -errno.
 */
#ifndef SG_LOGSOURCE_H
#define SG_LOGSOURCE_H

#include <limits.h>
#include <stddef.h>

#include "core/config.h"
#include "core/mailrec.h"

/*
 * The source to read for MTA t: SG_SOURCE_JOURNAL or SG_SOURCE_FILES,
 * with why it was chosen in why. auto: the journal where journald runs,
 * unless [mta] logs names files or the MTA writes its own file (Postfix's
 * maillog_file, Exim's log_file_path), whose lines are not in the journal.
 */
enum sg_mta_source sg_mta_source_pick(const struct sg_config *c, enum sg_mta_type t, char *why,
				      size_t len);

/* 1 when path is MTA t's (or Dovecot's) own log file (the header's rules), else 0. */
int sg_mta_log_own(const struct sg_config *c, enum sg_mta_type t, const char *path);

/*
 * 0 when every file may be followed: each the MTA's own, or trust_syslog
 * set; else -EPERM, with a message naming the first other file and the
 * key in err.
 */
int sg_mta_logs_trusted(const struct sg_config *c, enum sg_mta_type t, const char (*logs)[PATH_MAX],
			int n, char *err, size_t len);

#endif
