/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The body of a line parser's libFuzzer target: FUZZ_PARSER and
 * sg_mta_parse(FUZZ_TYPE) on any bytes (the target defines both, then
 * includes this). The input is copied into a heap buffer of exactly its size, not
 * NUL-terminated, so a read past len is an ASan report; the record must be
 * well formed whatever the line, the same twice, and the same with the
 * readers' newline after it.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mtalog.h"

#if !defined(FUZZ_PARSER) || !defined(FUZZ_TYPE)
#error "define FUZZ_PARSER and FUZZ_TYPE before including fuzz_line.h"
#endif

#define REF 1795476241 /* 2026-11-23 23:24:01 UTC */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define CHECK_STR(field) CHECK(memchr(field, '\0', sizeof(field)))

static void check(const struct sg_mta_rec *r, enum sg_mta_event ev)
{
	unsigned char bin[16];
	size_t i;

	CHECK(r->ev == ev && ev >= SG_MEV_NONE && ev <= SG_MEV_HOLD);
	CHECK(r->outcome >= SG_OUT_NONE && r->outcome <= SG_OUT_BOUNCED);
	CHECK(r->service >= SG_SVC_NONE && r->service <= SG_SVC_OTHER);
	CHECK_STR(r->qid);
	CHECK_STR(r->client_ip);
	CHECK_STR(r->login);
	CHECK_STR(r->user);
	CHECK_STR(r->sender);
	CHECK_STR(r->rcpt);
	CHECK_STR(r->dsn);
	CHECK_STR(r->relay);
	for (i = 0; r->qid[i]; i++)
		CHECK((r->qid[i] >= '0' && r->qid[i] <= '9') ||
		      (r->qid[i] >= 'a' && r->qid[i] <= 'z') ||
		      (r->qid[i] >= 'A' && r->qid[i] <= 'Z') || r->qid[i] == '-');
	if (r->client_ip[0])
		CHECK(inet_pton(AF_INET, r->client_ip, bin) == 1 ||
		      inet_pton(AF_INET6, r->client_ip, bin) == 1);
	CHECK((r->outcome != SG_OUT_NONE) == (ev == SG_MEV_DELIVERY));
	CHECK((r->service != SG_SVC_NONE) == (ev == SG_MEV_AUTH_FAIL));
	CHECK(ev != SG_MEV_DELIVERY || r->rcpt[0]);
	CHECK(r->uid == -1 || (ev == SG_MEV_LOCAL && r->uid >= 0 && r->uid <= 0xffffffffLL));
	CHECK(r->null_sender == 0 || (r->null_sender == 1 && !r->sender[0]));
	CHECK(r->local == 0 || (r->local == 1 && ev == SG_MEV_DELIVERY));
	if (ev == SG_MEV_NONE)
		CHECK(!r->qid[0] && !r->client_ip[0] && !r->login[0] && !r->user[0] &&
		      !r->sender[0] && !r->rcpt[0] && !r->dsn[0] && !r->relay[0] && !r->nrcpt &&
		      !r->null_sender && !r->local && r->uid == -1);
}

typedef enum sg_mta_event (*parser_fn)(const char *line, size_t len, time_t ref,
				       struct sg_mta_rec *out);

static enum sg_mta_event parse_any(const char *line, size_t len, time_t ref, struct sg_mta_rec *out)
{
	return sg_mta_parse(FUZZ_TYPE, line, len, ref, out);
}

/* fn on data, then on data + "\n": the same record unless the line already ends in one. */
static void run(parser_fn fn, const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1), *nl = malloc(size + 1);
	struct sg_mta_rec a, b;

	CHECK(line && nl);
	if (size)
		memcpy(line, data, size);
	check(&a, fn(line, size, REF, &a));
	check(&b, fn(line, size, REF, &b));
	CHECK(!memcmp(&a, &b, sizeof(a)));
	if (!size || line[size - 1] != '\n') {
		if (size)
			memcpy(nl, data, size);
		nl[size] = '\n';
		check(&b, fn(nl, size + 1, REF, &b));
		CHECK(!memcmp(&a, &b, sizeof(a)));
	}
	free(nl);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(FUZZ_PARSER, data, size);
	run(parse_any, data, size);
	return 0;
}
