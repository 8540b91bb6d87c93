// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the exporter's request-side parsers that see outside bytes.
 * The input's first byte chooses: even, the web config parser on the rest
 * (a heap buffer of its exact size); odd, the Authorization field parser
 * on the rest as a string. Invariants: a config either refused with a
 * "LINE: " message or accepted with every path absolute and NUL-terminated,
 * both or neither TLS file, each user named, colon-free and unique, each
 * hash bcrypt's; credentials either refused or a user without ':' and a
 * password that fit, re-encoding to the same base64.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/webconfig.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define CHECK_STR(field) CHECK(memchr(field, '\0', sizeof(field)))

static struct sg_webconfig w;

static void check_config(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), err[256] = "";
	size_t i, j;
	int ret;

	CHECK(buf);
	memcpy(buf, data, size);
	ret = sg_webconfig_parse(buf, size, &w, err, sizeof(err));
	free(buf);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ENOMEM);
		CHECK(ret == -ENOMEM || (err[0] >= '1' && err[0] <= '9' && strstr(err, ": ")));
		return;
	}
	CHECK_STR(w.cert_file);
	CHECK_STR(w.key_file);
	CHECK(!*w.cert_file == !*w.key_file);
	CHECK(!*w.cert_file || (w.cert_file[0] == '/' && w.key_file[0] == '/'));
	CHECK(w.n_users <= SG_WEB_USERS);
	for (i = 0; i < w.n_users; i++) {
		CHECK_STR(w.users[i].name);
		CHECK_STR(w.users[i].hash);
		CHECK(*w.users[i].name && !strchr(w.users[i].name, ':'));
		CHECK(!strncmp(w.users[i].hash, "$2", 2));
		for (j = 0; j < i; j++)
			CHECK(strcmp(w.users[i].name, w.users[j].name));
	}
}

static void check_authorization(const uint8_t *data, size_t size)
{
	char *value = malloc(size + 1), user[SG_WEB_NAME_MAX], pass[SG_WEB_PASS_MAX];

	CHECK(value);
	memcpy(value, data, size);
	value[size] = '\0';
	if (!sg_webauth_parse(value, user, pass)) {
		CHECK(memchr(user, '\0', sizeof(user)) && !strchr(user, ':'));
		CHECK(memchr(pass, '\0', sizeof(pass)));
		CHECK(strcasestr(value, "basic"));
	}
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		check_authorization(data + 1, size - 1);
	else
		check_config(data + 1, size - 1);
	return 0;
}
