// SPDX-License-Identifier: GPL-2.0
/* The exporter's web config and HTTP basic credentials; see webconfig.h. */
#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/webconfig.h"

struct parse {
	yaml_document_t *doc;
	struct sg_webconfig *w;
	char *err;
	size_t errlen;
};

static int bad(struct parse *p, const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, p->errlen, "%zu: ", (size_t)at->start_mark.line + 1);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The scalar's text, or NULL when the node is not a scalar or holds a NUL ("\0" in YAML). */
static const char *text(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE)
		return NULL;
	s = (const char *)n->data.scalar.value;
	return strlen(s) == n->data.scalar.length ? s : NULL;
}

static int copy_text(struct parse *p, const yaml_node_t *n, const char *what, char *dst, size_t len)
{
	const char *s = text(n);

	if (!s)
		return bad(p, n, "%s: expected a string", what);
	if (!*s)
		return bad(p, n, "%s is empty", what);
	if (strlen(s) >= len)
		return bad(p, n, "%s is longer than %zu bytes", what, len - 1);
	strcpy(dst, s);
	return 0;
}

static int copy_path(struct parse *p, const yaml_node_t *n, const char *what, char *dst)
{
	int err = copy_text(p, n, what, dst, PATH_MAX);

	if (!err && *dst != '/')
		return bad(p, n, "%s: '%s' is not an absolute path", what, dst);
	return err;
}

/* tls_server_config (named at key): cert_file and key_file, both. */
static int parse_tls(struct parse *p, const yaml_node_t *key_node, const yaml_node_t *map)
{
	yaml_node_pair_t *i;
	yaml_node_t *k, *v;
	const char *key;
	int err;

	if (map->type != YAML_MAPPING_NODE)
		return bad(p, key_node, "tls_server_config: expected a mapping");
	for (i = map->data.mapping.pairs.start; i < map->data.mapping.pairs.top; i++) {
		k = yaml_document_get_node(p->doc, i->key);
		v = yaml_document_get_node(p->doc, i->value);
		key = text(k);
		if (key && !strcmp(key, "cert_file") && !*p->w->cert_file)
			err = copy_path(p, v, "cert_file", p->w->cert_file);
		else if (key && !strcmp(key, "key_file") && !*p->w->key_file)
			err = copy_path(p, v, "key_file", p->w->key_file);
		else if (key && (!strcmp(key, "cert_file") || !strcmp(key, "key_file")))
			err = bad(p, k, "tls_server_config: %s given twice", key);
		else
			err = bad(p, k,
				  "tls_server_config: '%s' is unknown or not supported (cert_file "
				  "and key_file are)",
				  key ? key : "?");
		if (err)
			return err;
	}
	if (!*p->w->cert_file || !*p->w->key_file)
		return bad(p, key_node, "tls_server_config: needs both cert_file and key_file");
	return 0;
}

static int parse_user(struct parse *p, const yaml_node_t *k, const yaml_node_t *v)
{
	struct sg_webuser *u = &p->w->users[p->w->n_users];
	size_t i;
	int err;

	if (p->w->n_users == SG_WEB_USERS)
		return bad(p, k, "basic_auth_users: more than %d users", SG_WEB_USERS);
	err = copy_text(p, k, "basic_auth_users: a user name", u->name, sizeof(u->name));
	if (!err && strchr(u->name, ':'))
		return bad(p, k, "basic_auth_users: '%s': a user name cannot hold ':'", u->name);
	for (i = 0; !err && i < p->w->n_users; i++)
		if (!strcmp(p->w->users[i].name, u->name))
			return bad(p, k, "basic_auth_users: '%s' given twice", u->name);
	if (!err)
		err = copy_text(p, v, "basic_auth_users: a password hash", u->hash,
				sizeof(u->hash));
	if (!err && strncmp(u->hash, "$2a$", 4) && strncmp(u->hash, "$2b$", 4) &&
	    strncmp(u->hash, "$2y$", 4))
		return bad(p, v, "basic_auth_users: '%s': not a bcrypt hash ($2a$, $2b$ or $2y$)",
			   u->name);
	if (!err)
		p->w->n_users++;
	return err;
}

static int parse_users(struct parse *p, const yaml_node_t *key_node, const yaml_node_t *map)
{
	yaml_node_pair_t *i;
	int err;

	if (map->type != YAML_MAPPING_NODE)
		return bad(p, key_node,
			   "basic_auth_users: expected a mapping of user: bcrypt hash");
	for (i = map->data.mapping.pairs.start; i < map->data.mapping.pairs.top; i++) {
		err = parse_user(p, yaml_document_get_node(p->doc, i->key),
				 yaml_document_get_node(p->doc, i->value));
		if (err)
			return err;
	}
	return 0;
}

static int parse_root(struct parse *p, const yaml_node_t *root)
{
	int seen_tls = 0, seen_users = 0, err;
	yaml_node_pair_t *i;
	yaml_node_t *k, *v;
	const char *key;

	/* An empty file: plain HTTP, no authentication. */
	if (!root || (root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return bad(p, root, "expected a mapping (tls_server_config, basic_auth_users)");
	for (i = root->data.mapping.pairs.start; i < root->data.mapping.pairs.top; i++) {
		k = yaml_document_get_node(p->doc, i->key);
		v = yaml_document_get_node(p->doc, i->value);
		key = text(k);
		if (key && !strcmp(key, "tls_server_config") && !seen_tls++)
			err = parse_tls(p, k, v);
		else if (key && !strcmp(key, "basic_auth_users") && !seen_users++)
			err = parse_users(p, k, v);
		else if (key &&
			 (!strcmp(key, "tls_server_config") || !strcmp(key, "basic_auth_users")))
			err = bad(p, k, "%s given twice", key);
		else
			err = bad(p, k,
				  "'%s' is unknown or not supported (tls_server_config and "
				  "basic_auth_users are)",
				  key ? key : "?");
		if (err)
			return err;
	}
	return 0;
}

int sg_webconfig_parse(const char *buf, size_t len, struct sg_webconfig *out, char *err,
		       size_t errlen)
{
	struct parse p = { .w = out, .err = err, .errlen = errlen };
	yaml_document_t doc, next;
	yaml_parser_t parser;
	yaml_node_t *root;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%zu: %s", (size_t)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	p.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	ret = parse_root(&p, root);
	/* One document only: a second would be ignored by one reader and not by another. */
	if (!ret && root) {
		if (!yaml_parser_load(&parser, &next)) {
			snprintf(err, errlen, "%zu: %s", (size_t)parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "not YAML");
			ret = -EINVAL;
		} else {
			if (yaml_document_get_root_node(&next))
				ret = bad(&p, yaml_document_get_root_node(&next),
					  "a second document: the file holds one");
			yaml_document_delete(&next);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

int sg_webconfig_load(const char *path, struct sg_webconfig *out, char *err, size_t errlen)
{
	char *buf = malloc(SG_WEB_FILE_MAX + 1), why[256] = "out of memory";
	struct sg_webconfig *w = calloc(1, sizeof(*w));
	FILE *f = NULL;
	size_t len = 0;
	int ret = -ENOMEM;

	if (buf && w) {
		f = fopen(path, "re");
		ret = f ? 0 : -errno;
	}
	if (f) {
		len = fread(buf, 1, SG_WEB_FILE_MAX + 1, f);
		ret = ferror(f) ? -EIO : len > SG_WEB_FILE_MAX ? -EFBIG : 0;
		fclose(f);
	}
	if (ret)
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EFBIG ? "larger than 64 KiB" : strerror(-ret));
	else if ((ret = sg_webconfig_parse(buf, len, w, why, sizeof(why))))
		snprintf(err, errlen, "%s:%s", path, why);
	else
		*out = *w;
	free(buf);
	free(w);
	return ret;
}

/* The value of a base64 digit (RFC 4648, standard alphabet), or -1. */
static int b64(char c)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *at = c ? strchr(digits, c) : NULL;

	return at ? (int)(at - digits) : -1;
}

/* Strict base64 of len chars (a multiple of 4, '=' only as padding) into out; its length or -1. */
static long b64_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, n = 0, pad, total;
	unsigned int acc;
	int d, j;

	if (!len || len % 4)
		return -1;
	pad = s[len - 1] == '=' ? 1 + (s[len - 2] == '=') : 0;
	total = len / 4 * 3 - pad;
	if (total > cap)
		return -1;
	for (i = 0; i < len; i += 4) {
		for (j = 0, acc = 0; j < 4; j++) {
			d = i + j >= len - pad ? 0 : b64(s[i + j]);
			if (d < 0)
				return -1;
			acc = acc << 6 | (unsigned int)d;
		}
		for (j = 16; j >= 0 && n < total; j -= 8)
			out[n++] = (char)(acc >> j);
	}
	return (long)total;
}

int sg_webauth_parse(const char *value, char user[SG_WEB_NAME_MAX], char pass[SG_WEB_PASS_MAX])
{
	char plain[SG_WEB_NAME_MAX + SG_WEB_PASS_MAX];
	const char *tok, *colon;
	size_t len;
	long n;

	value += strspn(value, " \t");
	if (strncasecmp(value, "Basic", 5) || (value[5] != ' ' && value[5] != '\t'))
		return -EINVAL;
	tok = value + 5 + strspn(value + 5, " \t");
	len = strcspn(tok, " \t");
	if (tok[len + strspn(tok + len, " \t")])
		return -EINVAL;
	n = b64_decode(tok, len, plain, sizeof(plain) - 1);
	if (n < 0)
		return -EINVAL;
	plain[n] = '\0';
	colon = memchr(plain, ':', (size_t)n);
	/* A NUL inside would cut the password short: refused rather than matched on a prefix. */
	if (!colon || strlen(plain) != (size_t)n || (size_t)(colon - plain) >= SG_WEB_NAME_MAX ||
	    strlen(colon + 1) >= SG_WEB_PASS_MAX)
		return -EINVAL;
	memcpy(user, plain, (size_t)(colon - plain));
	user[colon - plain] = '\0';
	strcpy(pass, colon + 1);
	return 0;
}

int sg_webauth_check(const struct sg_webconfig *w, const char *user, const char *pass)
{
	struct crypt_data *data;
	const char *out;
	size_t i;
	int ok;

	for (i = 0; i < w->n_users && strcmp(w->users[i].name, user); i++)
		;
	if (i == w->n_users)
		return -EACCES;
	data = calloc(1, sizeof(*data));
	if (!data)
		return -ENOMEM;
	out = crypt_r(pass, w->users[i].hash, data);
	/* crypt_r hashes in time independent of how much of the password matches. */
	ok = out && !strcmp(out, w->users[i].hash);
	free(data);
	return ok ? 0 : -EACCES;
}
