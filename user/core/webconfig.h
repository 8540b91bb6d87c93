/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exporter's web config: the Prometheus exporter-toolkit's file
 * (tls_server_config: cert_file, key_file; basic_auth_users: name: bcrypt
 * hash), read and parsed with libyaml; and HTTP basic credentials,
 * parsed from an Authorization field and checked against its bcrypt hashes
 * with crypt_r. Functions return -errno.
 */
#ifndef SG_WEBCONFIG_H
#define SG_WEBCONFIG_H

#include <limits.h>
#include <stddef.h>

#define SG_WEB_USERS	64
#define SG_WEB_NAME_MAX 128
#define SG_WEB_HASH_MAX 128
#define SG_WEB_PASS_MAX 1024
#define SG_WEB_FILE_MAX (64 * 1024) /* a web config is a few lines */

struct sg_webuser {
	char name[SG_WEB_NAME_MAX];
	char hash[SG_WEB_HASH_MAX]; /* bcrypt: $2a$, $2b$ or $2y$ */
};

struct sg_webconfig {
	char cert_file[PATH_MAX]; /* both set (TLS) or both empty (plain HTTP) */
	char key_file[PATH_MAX];
	struct sg_webuser users[SG_WEB_USERS];
	size_t n_users; /* 0: no authentication */
};

/*
 * The web config in buf (len bytes) into *out. On error, -EINVAL with err
 * "LINE: message" (1-based) naming the first problem; *out is then partial,
 * for the caller to discard.
 */
int sg_webconfig_parse(const char *buf, size_t len, struct sg_webconfig *out, char *err,
		       size_t errlen);

/*
 * The web config file at path into *out (whole: nothing of a bad one); on
 * error, err says "PATH:LINE: message" or "PATH: reason".
 */
int sg_webconfig_load(const char *path, struct sg_webconfig *out, char *err, size_t errlen);

/*
 * The user and password of an Authorization field's value ("Basic
 * BASE64(user:password)"); -EINVAL when it is not one, or either does not
 * fit (user in SG_WEB_NAME_MAX, password in SG_WEB_PASS_MAX).
 */
int sg_webauth_parse(const char *value, char user[SG_WEB_NAME_MAX], char pass[SG_WEB_PASS_MAX]);

/* 0 when user is listed and pass matches its hash; -EACCES otherwise, -ENOMEM. */
int sg_webauth_check(const struct sg_webconfig *w, const char *user, const char *pass);

#endif
