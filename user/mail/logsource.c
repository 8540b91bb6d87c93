// SPDX-License-Identifier: GPL-2.0
/* Which log source, and which log files are the MTA's own; see logsource.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mail/backend.h"
#include "mail/journal.h"
#include "mail/logsource.h"

/* Whether a and b are the same file (or, when either is not there, the same path). */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!*a || !*b)
		return 0;
	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return !strcmp(a, b);
}

/*
 * The path a config tool printed, moved to the start of out; "" when none.
 * Its stderr is in out too: a warning line ("/usr/sbin/postconf: warning:
 * open .../master.cf", "doveconf: Warning: ...") is not the value.
 */
static void path_value(char *out)
{
	char *p = out, *end;

	for (; *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		if (*p != '/' || memmem(p, end - p, ": warning: ", 11) ||
		    memmem(p, end - p, ": Warning: ", 11) || memmem(p, end - p, ": fatal: ", 9) ||
		    memmem(p, end - p, ": Fatal: ", 9))
			continue;
		memmove(out, p, end - p);
		out[end - p] = '\0';
		return;
	}
	*out = '\0';
}

/* A parameter of Postfix's main.cf that is a path; "" when not one. */
static void postconf_path(const struct sg_config *c, const char *name, char *out, size_t len)
{
	char *argv[] = {
		"postconf", "-c", (char *)c->mta.postfix_config, "-h", (char *)name, NULL
	};

	sg_mta_capture(argv, out, len);
	path_value(out);
}

/* Postfix's maillog_file, "" when it logs through syslog. */
static void postfix_maillog(const struct sg_config *c, char *out, size_t len)
{
	postconf_path(c, "maillog_file", out, len);
}

/*
 * A set-gid postlog (upstream's permissions; Debian's is not) reaches
 * postlogd for anyone, with any tag: maillog_file is then a syslog file.
 */
static int postlog_setid(const struct sg_config *c)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct stat st;

	postconf_path(c, "command_directory", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/postlog", *dir ? dir : "/usr/sbin");
	return !stat(path, &st) && (st.st_mode & (S_ISGID | S_ISUID));
}

static int dovecot_own(const struct sg_config *c, const char *path)
{
	static const char *const keys[] = { "log_path", "info_log_path" };
	char out[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *argv[] = { "doveconf",	  "-c", (char *)c->mta.dovecot_config, "-h",
				 (char *)keys[i], NULL };

		sg_mta_capture(argv, out, sizeof(out));
		path_value(out);
		if (*out && same_file(out, path))
			return 1;
	}
	return 0;
}

/* Writable by its owner alone, and that owner not root (a syslog daemon writes as root). */
static int owner_only(const struct stat *st)
{
	return st->st_uid && !(st->st_mode & 022);
}

/*
 * Exim's log_file_path (`exim -bP`), its first file's template as
 * "/var/log/exim4/%slog"; "" when it logs to syslog or cannot be asked.
 */
static void exim_log_path(const struct sg_config *c, char *out, size_t len)
{
	char buf[PATH_MAX], *argv[12];
	int n;

	n = sg_mta_exim_argv(c, buf, sizeof(buf), argv, 10);
	argv[n++] = "-bP";
	argv[n++] = "log_file_path";
	argv[n] = NULL;
	sg_mta_capture(argv, out, len);
	/* "log_file_path = /var/log/exim4/%slog", or ":syslog", or more than one, ':' between. */
	if (strncmp(out, "log_file_path = /", 17)) {
		*out = '\0';
		return;
	}
	memmove(out, out + 16, strlen(out + 16) + 1);
	out[strcspn(out, ":\n")] = '\0';
}

/*
 * Exim's log: in the directory of its log_file_path, written by its user
 * alone; before Exim first writes it, that directory so owned (only that
 * user can make it).
 */
static int exim_own(const struct sg_config *c, const char *path)
{
	char dir[PATH_MAX + 64], *slash;
	struct stat st;

	exim_log_path(c, dir, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash || strncmp(path, dir, slash - dir + 1) || strchr(path + (slash - dir) + 1, '/'))
		return 0;
	if (!stat(path, &st))
		return S_ISREG(st.st_mode) && owner_only(&st);
	*slash = '\0';
	return errno == ENOENT && !stat(*dir ? dir : "/", &st) && S_ISDIR(st.st_mode) &&
	       owner_only(&st);
}

int sg_mta_log_own(const struct sg_config *c, enum sg_mta_type t, const char *path)
{
	char own[PATH_MAX];

	if (t == SG_MTA_POSTFIX) {
		postfix_maillog(c, own, sizeof(own));
		if (same_file(own, path))
			return !postlog_setid(c);
	}
	if (t == SG_MTA_EXIM && exim_own(c, path))
		return 1;
	return dovecot_own(c, path);
}

int sg_mta_logs_trusted(const struct sg_config *c, enum sg_mta_type t, const char (*logs)[PATH_MAX],
			int n, char *err, size_t len)
{
	int i;

	if (c->mta.trust_syslog)
		return 0;
	for (i = 0; i < n; i++) {
		if (sg_mta_log_own(c, t, logs[i]))
			continue;
		snprintf(
			err, len,
			"%s is not the mail server's own log: any local user can write lines into "
			"a syslog file; read the journal ([mta] source = journal) or the MTA's own "
			"file, or set [mta] trust_syslog = yes (unsafe on shared hosting)",
			logs[i]);
		return -EPERM;
	}
	return 0;
}

enum sg_mta_source sg_mta_source_pick(const struct sg_config *c, enum sg_mta_type t, char *why,
				      size_t len)
{
	char own[PATH_MAX];

	if (c->mta.source != SG_SOURCE_AUTO) {
		snprintf(why, len, "[mta] source = %s",
			 c->mta.source == SG_SOURCE_JOURNAL ? "journal" : "files");
		return c->mta.source;
	}
	if (c->mta.n_logs) {
		snprintf(why, len, "[mta] logs names files");
		return SG_SOURCE_FILES;
	}
	if (!sg_journal_running()) {
		snprintf(why, len, "journald does not run here");
		return SG_SOURCE_FILES;
	}
	if (t == SG_MTA_EXIM) {
		exim_log_path(c, own, sizeof(own));
		if (*own) {
			snprintf(why, len, "Exim writes its own mainlog");
			return SG_SOURCE_FILES;
		}
	}
	if (t == SG_MTA_POSTFIX) {
		postfix_maillog(c, own, sizeof(own));
		if (*own) {
			snprintf(why, len, "Postfix writes its own maillog_file");
			return SG_SOURCE_FILES;
		}
	}
	snprintf(why, len, "journald runs: lines trusted by their sender's _UID");
	return SG_SOURCE_JOURNAL;
}
