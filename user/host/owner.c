// SPDX-License-Identifier: GPL-2.0
/* The owner of a mail principal and its contact address; see owner.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mailstats.h"
#include "core/notice.h"
#include "host/attrib.h"
#include "host/owner.h"

/* A panel's per-user file is a few hundred lines; what lies beyond is not read. */
#define PANEL_FILE_LINES 4096

/* A panel user names a file: one path component. */
static int user_ok(const char *u)
{
	return *u && !strchr(u, '/') && strcmp(u, ".") && strcmp(u, "..");
}

/*
 * The value of key ("KEY=value" lines) in path, as written: a carriage
 * return or a blank stays, so that a hostile value fails the address check.
 */
static int file_value(const char *path, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), cap = 0, n;
	int ret = -ENOENT, lines = 0;
	char *line = NULL;
	ssize_t got;
	FILE *in;

	in = fopen(path, "re");
	if (!in)
		return -errno;
	while (ret == -ENOENT && lines++ < PANEL_FILE_LINES &&
	       (got = getline(&line, &cap, in)) > 0) {
		n = (size_t)got - (line[got - 1] == '\n');
		if (n <= klen || strncmp(line, key, klen) || line[klen] != '=')
			continue;
		if (n - klen - 1 >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		memcpy(out, line + klen + 1, n - klen - 1);
		out[n - klen - 1] = '\0';
		ret = *out ? 0 : -ENOENT;
	}
	free(line);
	fclose(in);
	return ret;
}

/* The panel user behind principal, and its panel ("" when the name is taken as both's). */
static int panel_user(const struct sg_config *c, const char *principal, char *user, size_t len,
		      const char **panel)
{
	struct sg_attrib_cfg a = {
		.cpanel_userdomains = c->attribution.cpanel_userdomains,
		.directadmin_domainowners = c->attribution.directadmin_domainowners,
	};
	const char *name, *at;
	char *end;
	long uid;

	*panel = "";
	if (!strncmp(principal, SG_MAIL_SASL, strlen(SG_MAIL_SASL))) {
		name = principal + strlen(SG_MAIL_SASL);
		at = strrchr(name, '@');
		if (at)
			return sg_panel_domain_user(&a, at + 1, user, len, panel);
	} else if (!strncmp(principal, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL))) {
		/* Unattributed local mail is nobody's: not a panel user named "unknown"'s. */
		if (!strcmp(principal, SG_MAIL_LOCAL_UNKNOWN))
			return -ENOENT;
		name = principal + strlen(SG_MAIL_LOCAL);
		errno = 0;
		uid = strtol(name, &end, 10);
		if (*name && !*end && !errno)
			return uid < 0 || uid > UINT_MAX ? -ENOENT
							 : sg_user_name((__u32)uid, user, len);
	} else {
		return -EINVAL;
	}
	/* A bare login, or a local sender's name: the panel account's own. */
	if (strlen(name) >= len)
		return -ENAMETOOLONG;
	strcpy(user, name);
	return 0;
}

int sg_owner_contact(const struct sg_config *c, const char *principal, char *addr, size_t len,
		     char *how, size_t howlen)
{
	char user[256], path[PATH_MAX];
	const char *panel;
	int ret, da, n;

	ret = panel_user(c, principal, user, sizeof(user), &panel);
	if (ret || !user_ok(user)) {
		snprintf(how, howlen, "no panel account");
		return -ENOENT;
	}
	for (da = 0; da < 2; da++) {
		if (*panel && strcmp(panel, da ? "directadmin" : "cpanel"))
			continue;
		n = da ? snprintf(path, sizeof(path), "%s/%s/user.conf",
				  c->notify.directadmin_users, user)
		       : snprintf(path, sizeof(path), "%s/%s", c->notify.cpanel_users, user);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		ret = file_value(path, da ? "email" : "CONTACTEMAIL", addr, len);
		snprintf(how, howlen, "%s user %s", da ? "directadmin" : "cpanel", user);
		if (ret == -ENOENT)
			continue;
		if (!ret && sg_notice_address_ok(addr))
			return 0;
		if (ret && ret != -ENAMETOOLONG) {
			snprintf(how, howlen, "%s: %s", path, strerror(-ret));
			return ret;
		}
		snprintf(how, howlen, "%s user %s's %s is not a plain address",
			 da ? "directadmin" : "cpanel", user, da ? "email" : "CONTACTEMAIL");
		return -EINVAL;
	}
	snprintf(how, howlen, "%s user %s has no contact address", *panel ? panel : "panel", user);
	return -ENOENT;
}
