// SPDX-License-Identifier: GPL-2.0
/*
 * The policy protocol (policyproto.h): every attribute kept, exactly;
 * unknown ones read past; a request fed whole, byte by byte and two in one
 * buffer, each from a heap buffer of its exact length; no empty line
 * (MORE), oversized, NUL, lines without '=', values cut and counted,
 * numbers out of range; the answers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/policyproto.h"

/* What Postfix 3.7.11's submission smtpd sent at END-OF-MESSAGE in the lab (scripts/mta-lab.sh). */
#define EOM_REQ                                                                                    \
	"request=smtpd_access_policy\n"                                                            \
	"protocol_state=END-OF-MESSAGE\n"                                                          \
	"protocol_name=ESMTP\n"                                                                    \
	"client_address=198.51.100.10\n"                                                           \
	"client_name=unknown\n"                                                                    \
	"client_port=40163\n"                                                                      \
	"reverse_client_name=unknown\n"                                                            \
	"server_address=198.51.100.1\n"                                                            \
	"server_port=587\n"                                                                        \
	"helo_name=client-198.51.100.10.example\n"                                                 \
	"sender=alice@hosting.test\n"                                                              \
	"recipient=ok1@remote.test\n"                                                              \
	"recipient_count=1\n"                                                                      \
	"queue_id=683D6A725E5\n"                                                                   \
	"instance=5604.6b155143.5f807.0\n"                                                         \
	"size=261\n"                                                                               \
	"etrn_domain=\n"                                                                           \
	"stress=\n"                                                                                \
	"sasl_method=PLAIN\n"                                                                      \
	"sasl_username=alice@hosting.test\n"                                                       \
	"sasl_sender=\n"                                                                           \
	"ccert_subject=\n"                                                                         \
	"ccert_issuer=\n"                                                                          \
	"ccert_fingerprint=\n"                                                                     \
	"ccert_pubkey_fingerprint=\n"                                                              \
	"encryption_protocol=\n"                                                                   \
	"encryption_cipher=\n"                                                                     \
	"encryption_keysize=0\n"                                                                   \
	"policy_context=\n"                                                                        \
	"\n"

/* Parses the whole of s from a heap copy of its exact length. */
static int parse_all(struct sg_policy_parser *p, const char *s, size_t len, size_t *used,
		     struct sg_policy_req *r)
{
	char *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, s, len);
	ret = sg_policy_parse(p, copy, len, used, r);
	free(copy);
	return ret;
}

static int parse_str(const char *s, struct sg_policy_req *r, size_t *used)
{
	struct sg_policy_parser p = { 0 };

	return parse_all(&p, s, strlen(s), used, r);
}

static void assert_eom(const struct sg_policy_req *r)
{
	assert_string_equal(r->request, "smtpd_access_policy");
	assert_string_equal(r->protocol_state, "END-OF-MESSAGE");
	assert_string_equal(r->sasl_username, "alice@hosting.test");
	assert_string_equal(r->client_address, "198.51.100.10");
	assert_int_equal(r->client_port, 40163);
	assert_string_equal(r->server_address, "198.51.100.1");
	assert_int_equal(r->server_port, 587);
	assert_string_equal(r->sender, "alice@hosting.test");
	assert_string_equal(r->recipient, "ok1@remote.test");
	assert_int_equal(r->recipient_count, 1);
	assert_string_equal(r->queue_id, "683D6A725E5");
	assert_int_equal(r->caller_uid, -1);
	assert_int_equal(r->truncated, 0);
}

static void test_every_attribute(void **state)
{
	struct sg_policy_req r;
	size_t used = 0;

	assert_int_equal(parse_str(EOM_REQ, &r, &used), SG_POLICY_DONE);
	assert_int_equal(used, strlen(EOM_REQ));
	assert_eom(&r);
}

static void test_exim_attributes(void **state)
{
	static const char req[] = "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
				  "sasl_username=\nclient_address=\nclient_port=\n"
				  "server_address=\nserver_port=\nsender=bob@example.net\n"
				  "recipient_count=1\nqueue_id=1vXyZa-000abc-Qr\n"
				  "caller_uid=1001\n\n";
	struct sg_policy_req r;
	size_t used;

	assert_int_equal(parse_str(req, &r, &used), SG_POLICY_DONE);
	assert_int_equal(used, sizeof(req) - 1);
	assert_int_equal(r.caller_uid, 1001);
	assert_int_equal(r.client_port, -1);
	assert_int_equal(r.server_port, -1);
	assert_string_equal(r.client_address, "");
	assert_string_equal(r.sender, "bob@example.net");
	assert_string_equal(r.queue_id, "1vXyZa-000abc-Qr");
	assert_int_equal(r.recipient_count, 1);
}

/* Unknown names, names longer than any kept, a name that only starts like one, '=' in a value. */
static void test_unknown_ignored(void **state)
{
	static const char req[] =
		"x=1\nsender_extra=evil\nclient_address_and_then_some_more=9.9.9.9\n"
		"client_addres=8.8.8.8\nsender=a=b@c\n"
		"policy_context=sender=forged\n\n";
	struct sg_policy_req r;
	size_t used;

	assert_int_equal(parse_str(req, &r, &used), SG_POLICY_DONE);
	assert_string_equal(r.sender, "a=b@c");
	assert_string_equal(r.client_address, "");
	assert_string_equal(r.request, "");
	assert_int_equal(r.truncated, 0);
}

static void test_byte_by_byte(void **state)
{
	struct sg_policy_parser p = { 0 };
	size_t n = strlen(EOM_REQ), i, used;
	struct sg_policy_req r;
	int ret;

	for (i = 0; i + 1 < n; i++) {
		assert_int_equal(parse_all(&p, EOM_REQ + i, 1, &used, &r), SG_POLICY_MORE);
		assert_int_equal(used, 1);
	}
	ret = parse_all(&p, EOM_REQ + i, 1, &used, &r);
	assert_int_equal(ret, SG_POLICY_DONE);
	assert_int_equal(used, 1);
	assert_eom(&r);
	assert_int_equal(p.have, 0);
}

/* Two requests in one buffer, the second split at every place into a third read. */
static void test_pipelined(void **state)
{
	static const char second[] = "sender=x@y\nclient_port=7\n\n";
	size_t n1 = strlen(EOM_REQ), n2 = sizeof(second) - 1, cut, used;
	char both[sizeof(EOM_REQ) + sizeof(second)];
	struct sg_policy_parser p = { 0 };
	struct sg_policy_req r;

	memcpy(both, EOM_REQ, n1);
	memcpy(both + n1, second, n2);
	for (cut = 0; cut < n2; cut++) {
		assert_int_equal(parse_all(&p, both, n1 + cut, &used, &r), SG_POLICY_DONE);
		assert_int_equal(used, n1);
		assert_eom(&r);
		assert_int_equal(parse_all(&p, both + n1, cut, &used, &r), SG_POLICY_MORE);
		assert_int_equal(used, cut);
		assert_int_equal(parse_all(&p, both + n1 + cut, n2 - cut, &used, &r),
				 SG_POLICY_DONE);
		assert_int_equal(used, n2 - cut);
		/* The second request starts afresh: nothing of the first is left. */
		assert_string_equal(r.sender, "x@y");
		assert_int_equal(r.client_port, 7);
		assert_string_equal(r.sasl_username, "");
		assert_int_equal(r.recipient_count, 0);
		assert_int_equal(r.server_port, -1);
	}
}

static void test_no_empty_line(void **state)
{
	struct sg_policy_parser p = { 0 };
	size_t n = strlen(EOM_REQ) - 1, used;
	struct sg_policy_req r;

	assert_int_equal(parse_all(&p, EOM_REQ, n, &used, &r), SG_POLICY_MORE);
	assert_int_equal(used, n);
	assert_int_equal(p.have, n);
}

static void test_oversized(void **state)
{
	struct sg_policy_parser p = { 0 };
	size_t n = SG_POLICY_REQ_MAX + 10, used;
	struct sg_policy_req r;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "x=", 2);
	assert_int_equal(parse_all(&p, big, SG_POLICY_REQ_MAX, &used, &r), SG_POLICY_MORE);
	assert_int_equal(parse_all(&p, big, 1, &used, &r), -E2BIG);
	assert_int_equal(used, 1);
	/* A request of exactly the limit, its empty line included, is whole. */
	memset(&p, 0, sizeof(p));
	big[SG_POLICY_REQ_MAX - 2] = '\n';
	big[SG_POLICY_REQ_MAX - 1] = '\n';
	assert_int_equal(parse_all(&p, big, n, &used, &r), SG_POLICY_DONE);
	assert_int_equal(used, SG_POLICY_REQ_MAX);
	/* Many short lines count as much as one long one. */
	memset(&p, 0, sizeof(p));
	for (used = 0; used + 4 <= n; used += 4)
		memcpy(big + used, "a=b\n", 4);
	assert_int_equal(parse_all(&p, big, n, &used, &r), -E2BIG);
	assert_int_equal(used, SG_POLICY_REQ_MAX + 1);
	free(big);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *in;
		size_t len, used;
		int ret;
	} bad[] = {
		{ "sender=a\0b\n\n", 12, 9, -EINVAL },
		{ "\0", 1, 1, -EINVAL },
		{ "no equals sign\n\n", 16, 15, -EINVAL },
		{ "sender=a\nnoeq\n\n", 15, 14, -EINVAL },
		{ "=value\n\n", 8, 1, -EINVAL },
		{ "\n", 1, 1, -EINVAL },
		{ "\xff\xfe=\x01\x02\n\n", 7, 7, SG_POLICY_DONE },
		{ "sender=\xc3\x28\x80\r\n\n", 13, 13, SG_POLICY_DONE },
	};
	struct sg_policy_req r;
	size_t i, used;
	struct sg_policy_parser p;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0, sizeof(p));
		assert_int_equal(parse_all(&p, bad[i].in, bad[i].len, &used, &r), bad[i].ret);
		assert_int_equal(used, bad[i].used);
		assert_int_equal(p.have, 0);
	}
	/* Binary is kept as it came, a CR included: the judge escapes what it prints. */
	assert_string_equal(r.sender, "\xc3\x28\x80\r");
}

static void test_cut_values(void **state)
{
	char req[4096], login[2000];
	struct sg_policy_req r;
	size_t used;

	memset(login, 'L', sizeof(login) - 1);
	login[sizeof(login) - 1] = '\0';
	snprintf(req, sizeof(req),
		 "sasl_username=%s\nqueue_id=%.*s\nprotocol_state=%.*s\n"
		 "client_address=%.45s\nsender=ok\n\n",
		 login, 40, login, 31, login, login);
	assert_int_equal(parse_str(req, &r, &used), SG_POLICY_DONE);
	assert_int_equal(strlen(r.sasl_username), SG_POLICY_LOGIN_MAX - 1);
	assert_int_equal(strlen(r.queue_id), SG_MTA_QID_MAX - 1);
	assert_int_equal(strlen(r.protocol_state), 31); /* exactly fits */
	assert_int_equal(strlen(r.client_address), 45); /* exactly fits */
	assert_string_equal(r.sender, "ok");
	assert_int_equal(r.truncated, 2);
	/* A long login that the MTA allows is kept whole up to the field. */
	login[600] = '\0';
	snprintf(req, sizeof(req), "sasl_username=%s\n\n", login);
	assert_int_equal(parse_str(req, &r, &used), SG_POLICY_DONE);
	assert_int_equal(strlen(r.sasl_username), 600);
	assert_int_equal(r.truncated, 0);
	/* A repeated name: the value kept is the last, and so is its cut, counted once. */
	login[600] = 'L';
	snprintf(req, sizeof(req),
		 "sasl_username=%.1100s\nsasl_username=%.1100s\nsasl_username=%.1100s\n\n", login,
		 login, login);
	assert_int_equal(parse_str(req, &r, &used), SG_POLICY_DONE);
	assert_int_equal(strlen(r.sasl_username), SG_POLICY_LOGIN_MAX - 1);
	assert_int_equal(r.truncated, 1);
	snprintf(req, sizeof(req), "sasl_username=%.1100s\nsasl_username=short\n\n", login);
	assert_int_equal(parse_str(req, &r, &used), SG_POLICY_DONE);
	assert_string_equal(r.sasl_username, "short");
	assert_int_equal(r.truncated, 0);
}

static void test_numbers(void **state)
{
	static const struct {
		const char *in;
		int client_port, server_port;
		long long uid;
		unsigned int count;
	} cases[] = {
		{ "client_port=0\nserver_port=65535\ncaller_uid=0\nrecipient_count=0\n\n", 0, 65535,
		  0, 0 },
		{ "client_port=65536\nserver_port=-1\ncaller_uid=4294967295\nrecipient_count="
		  "4294967295"
		  "\n\n",
		  -1, -1, 4294967295LL, 4294967295U },
		{ "client_port=12a\nserver_port= 25\ncaller_uid=4294967296\nrecipient_count=x\n\n",
		  -1, -1, -1, 0 },
		{ "client_port=\nserver_port=0025\ncaller_uid=99999999999999999999999\n"
		  "recipient_count=-3\n\n",
		  -1, 25, -1, 0 },
		{ "client_port=1\nclient_port=2\ncaller_uid=1e3\n\n", 2, -1, -1, 0 },
	};
	struct sg_policy_req r;
	size_t i, used;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_str(cases[i].in, &r, &used), SG_POLICY_DONE);
		assert_int_equal(r.client_port, cases[i].client_port);
		assert_int_equal(r.server_port, cases[i].server_port);
		assert_int_equal(r.caller_uid, cases[i].uid);
		assert_int_equal(r.recipient_count, cases[i].count);
	}
}

static void test_answer(void **state)
{
	char buf[64];

	assert_int_equal(sg_policy_answer(SG_POLICY_DUNNO, "ignored", buf, sizeof(buf)), 14);
	assert_string_equal(buf, "action=DUNNO\n\n");
	assert_int_equal(sg_policy_answer(SG_POLICY_HOLD, "over budget", buf, sizeof(buf)), 25);
	assert_string_equal(buf, "action=HOLD over budget\n\n");
	assert_int_equal(sg_policy_answer(SG_POLICY_REJECT, NULL, buf, sizeof(buf)), 15);
	assert_string_equal(buf, "action=REJECT\n\n");
	assert_int_equal(sg_policy_answer(SG_POLICY_DEFER, "", buf, sizeof(buf)), 14);
	assert_string_equal(buf, "action=DEFER\n\n");
	/* A newline in the text would end the answer early: the text stops before it. */
	assert_int_equal(sg_policy_answer(SG_POLICY_REJECT, "no\naction=DUNNO", buf, sizeof(buf)),
			 18);
	assert_string_equal(buf, "action=REJECT no\n\n");
	assert_int_equal(sg_policy_answer(SG_POLICY_HOLD, "caf\xc3\xa9", buf, sizeof(buf)), 17);
	assert_string_equal(buf, "action=HOLD caf\n\n");
	assert_int_equal(sg_policy_answer(SG_POLICY_HOLD, "x", buf, 15), -ENOSPC);
	assert_int_equal(sg_policy_answer(SG_POLICY_HOLD, "x", buf, 16), 15);
	assert_int_equal(sg_policy_answer(SG_POLICY_VERDICT_KINDS, NULL, buf, sizeof(buf)),
			 -EINVAL);
	assert_string_equal(sg_policy_verdict_names[SG_POLICY_DEFER], "DEFER");
}

static void test_socket_path(void **state)
{
	assert_string_equal(sg_policy_socket("auto", SG_MTA_POSTFIX),
			    "/var/spool/postfix/private/smtpguard-policy");
	assert_string_equal(sg_policy_socket("auto", SG_MTA_EXIM), "/run/smtpguard/policy.sock");
	assert_null(sg_policy_socket("auto", SG_MTA_NONE));
	assert_null(sg_policy_socket("none", SG_MTA_POSTFIX));
	assert_string_equal(sg_policy_socket("/srv/p.sock", SG_MTA_EXIM), "/srv/p.sock");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_attribute), cmocka_unit_test(test_exim_attributes),
		cmocka_unit_test(test_unknown_ignored), cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_pipelined),	cmocka_unit_test(test_no_empty_line),
		cmocka_unit_test(test_oversized),	cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_cut_values),	cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_answer),		cmocka_unit_test(test_socket_path),
	};

	return cmocka_run_group_tests_name("policyproto", tests, NULL, NULL);
}
