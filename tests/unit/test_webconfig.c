// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter's web config (the exporter-toolkit's format) and basic credentials: every
 * field read, every kind of bad file refused with its line, and passwords checked against
 * real bcrypt hashes.
 */
#include <crypt.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/webconfig.h"

/* A real bcrypt hash of pass, at the lowest cost, so that the tests stay fast. */
static const char *bcrypt(const char *pass)
{
	static char hash[SG_WEB_HASH_MAX];
	struct crypt_data data = { 0 };
	char salt[64];

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	snprintf(hash, sizeof(hash), "%s", crypt_r(pass, salt, &data));
	assert_memory_equal(hash, "$2b$04$", 7);
	return hash;
}

static void parse_ok(const char *text, struct sg_webconfig *w)
{
	char err[256] = "";

	if (sg_webconfig_parse(text, strlen(text), w, err, sizeof(err)))
		fail_msg("refused: %s", err);
}

static void test_full(void **state)
{
	struct sg_webconfig *w = malloc(sizeof(*w));
	char *text;

	assert_true(asprintf(&text,
			     "# a comment\n"
			     "tls_server_config:\n"
			     "  cert_file: /etc/smtpguard/web.crt\n"
			     "  key_file: \"/etc/smtpguard/web.key\"\n"
			     "basic_auth_users:\n"
			     "  prometheus: %s\n"
			     "  'other user': "
			     "$2y$10$abcdefghijklmnopqrstuu5O0w3Yc8Qm4a1b2c3d4e5f6g7h8i9j0\n",
			     bcrypt("s3cret")) > 0);
	parse_ok(text, w);
	assert_string_equal(w->cert_file, "/etc/smtpguard/web.crt");
	assert_string_equal(w->key_file, "/etc/smtpguard/web.key");
	assert_int_equal(w->n_users, 2);
	assert_string_equal(w->users[0].name, "prometheus");
	assert_string_equal(w->users[1].name, "other user");
	assert_int_equal(sg_webauth_check(w, "prometheus", "s3cret"), 0);
	assert_int_equal(sg_webauth_check(w, "prometheus", "s3cre"), -EACCES);
	assert_int_equal(sg_webauth_check(w, "prometheus", "s3cret "), -EACCES);
	assert_int_equal(sg_webauth_check(w, "nobody", "s3cret"), -EACCES);
	assert_int_equal(sg_webauth_check(w, "other user", "s3cret"), -EACCES);
	free(text);

	/* Each part alone, and nothing at all. */
	parse_ok("basic_auth_users:\n  a: $2a$04$abcdefghijklmnopqrstuu\n", w);
	assert_int_equal(w->n_users, 1);
	assert_string_equal(w->cert_file, "");
	parse_ok("tls_server_config:\n  key_file: /k\n  cert_file: /c\n", w);
	assert_int_equal(w->n_users, 0);
	assert_string_equal(w->cert_file, "/c");
	parse_ok("", w);
	parse_ok("# nothing\n", w);
	assert_int_equal(w->n_users, 0);
	assert_string_equal(w->key_file, "");
	free(w);
}

static void test_refused(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "tls_server_config:\n  cert_file: /c\n", "1: tls_server_config: needs both "
							   "cert_file and key_file" },
		{ "tls_server_config:\n  cert_file: c\n  key_file: /k\n",
		  "2: cert_file: 'c' is not an absolute path" },
		{ "tls_server_config:\n  cert_file: /c\n  key_file: /k\n  client_ca_file: /ca\n",
		  "4: tls_server_config: 'client_ca_file' is unknown or not supported (cert_file "
		  "and key_file are)" },
		{ "tls_server_config:\n  cert_file: /c\n  cert_file: /d\n  key_file: /k\n",
		  "3: tls_server_config: cert_file given twice" },
		{ "tls_server_config: /c\n", "1: tls_server_config: expected a mapping" },
		{ "tls_server_config:\n  cert_file: [/c]\n  key_file: /k\n",
		  "2: cert_file: expected a string" },
		{ "tls_server_config:\n  cert_file: \"/c\\0x\"\n  key_file: /k\n",
		  "2: cert_file: expected a string" },
		{ "http_server_config:\n  http2: false\n",
		  "1: 'http_server_config' is unknown or not supported (tls_server_config and "
		  "basic_auth_users are)" },
		{ "\n\nbasic_auth_user:\n  a: $2b$04$x\n",
		  "3: 'basic_auth_user' is unknown or not supported (tls_server_config and "
		  "basic_auth_users are)" },
		{ "basic_auth_users:\n  a: secret\n",
		  "2: basic_auth_users: 'a': not a bcrypt hash ($2a$, $2b$ or $2y$)" },
		{ "basic_auth_users:\n  a: $2b$04$x\n  a: $2b$04$y\n",
		  "3: basic_auth_users: 'a' given twice" },
		{ "basic_auth_users:\n  'a:b': $2b$04$x\n",
		  "2: basic_auth_users: 'a:b': a user name cannot hold ':'" },
		{ "basic_auth_users:\n  a:\n", "2: basic_auth_users: a password hash is empty" },
		{ "basic_auth_users:\n  - a\n",
		  "1: basic_auth_users: expected a mapping of user: bcrypt hash" },
		{ "basic_auth_users:\n  a: $2b$04$x\nbasic_auth_users:\n  b: $2b$04$x\n",
		  "3: basic_auth_users given twice" },
		{ "- tls_server_config\n",
		  "1: expected a mapping (tls_server_config, basic_auth_users)" },
		{ "basic_auth_users:\n  a: $2b$04$x\n---\nbasic_auth_users:\n  b: $2b$04$x\n",
		  "4: a second document: the file holds one" },
		{ "basic_auth_users:\n  a: [\n", "3: did not find expected node content" },
		{ "tls_server_config:\n\tcert_file: /c\n",
		  "2: found character that cannot start any token" },
	};
	struct sg_webconfig *w = malloc(sizeof(*w));
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(sg_webconfig_parse(cases[i].text, strlen(cases[i].text), w, err,
						    sizeof(err)),
				 -EINVAL);
		if (strcmp(err, cases[i].err))
			fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].err, err);
	}
	free(w);
}

/* A file: its path in each message, and a missing or huge one refused too. */
static void test_load(void **state)
{
	struct sg_webconfig *w = malloc(sizeof(*w));
	char path[] = "/tmp/sg-webconfig-XXXXXX", err[512], want[512];
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("basic_auth_users:\n  a: plain\n", f);
	fclose(f);
	assert_int_equal(sg_webconfig_load(path, w, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2: basic_auth_users: 'a': not a bcrypt hash ($2a$, $2b$ "
		 "or $2y$)",
		 path);
	assert_string_equal(err, want);
	f = fopen(path, "w");
	assert_int_equal(fseek(f, SG_WEB_FILE_MAX, SEEK_SET), 0);
	fputc('\n', f);
	fclose(f);
	assert_int_equal(sg_webconfig_load(path, w, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 64 KiB", path);
	assert_string_equal(err, want);
	unlink(path);
	assert_int_equal(sg_webconfig_load(path, w, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	free(w);
}

static void test_authorization(void **state)
{
	static const struct {
		const char *value, *user, *pass; /* NULL user: refused */
	} cases[] = {
		{ "Basic dXNlcjpwYXNz", "user", "pass" },
		{ "basic   dXNlcjpwYXNz  ", "user", "pass" },
		{ "Basic dXNlcjpwYTpzcw==", "user", "pa:ss" }, /* user:pa:ss */
		{ "Basic OnBhc3M=", "", "pass" },	       /* :pass */
		{ "Basic dXNlcjo=", "user", "" },	       /* user: */
		{ "Basic dXNlcg==", NULL, NULL },	       /* no colon */
		{ "Basic dXNlcjpwYXNz=", NULL, NULL },	       /* not a multiple of 4 */
		{ "Basic dXNl*jpwYXNz", NULL, NULL },	       /* not base64 */
		{ "Basic dXNlcjpwYXNz dXNl", NULL, NULL },     /* two tokens */
		{ "Basic dXNlcgBhOnBhc3M=", NULL, NULL },      /* a NUL inside */
		{ "Bearer dXNlcjpwYXNz", NULL, NULL },
		{ "BasicdXNlcjpwYXNz", NULL, NULL },
		{ "Basic ", NULL, NULL },
		{ "", NULL, NULL },
	};
	char user[SG_WEB_NAME_MAX], pass[SG_WEB_PASS_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = sg_webauth_parse(cases[i].value, user, pass);

		if (!cases[i].user) {
			if (ret != -EINVAL)
				fail_msg("case %zu '%s' accepted", i, cases[i].value);
			continue;
		}
		if (ret)
			fail_msg("case %zu '%s' refused", i, cases[i].value);
		assert_string_equal(user, cases[i].user);
		assert_string_equal(pass, cases[i].pass);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_authorization),
	};

	return cmocka_run_group_tests_name("webconfig", tests, NULL, NULL);
}
