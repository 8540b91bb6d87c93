// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: sg_policy_parse on any bytes, fed whole and again in pieces
 * whose sizes the input's first byte chooses. Each piece is a heap buffer
 * of its exact size, so a read past it is an ASan report. Invariants: used
 * never past the piece; every text field NUL-terminated; numbers in their
 * ranges; DONE only just after an empty line that follows a newline; the
 * same requests and errors however the stream is cut.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/policyproto.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define CHECK_STR(field) CHECK(memchr(field, '\0', sizeof(field)))
#define MAX_REQS	 64

struct outcome {
	int ret[MAX_REQS];
	struct sg_policy_req req[MAX_REQS];
	size_t n;
};

static void check_req(const struct sg_policy_req *r)
{
	CHECK_STR(r->request);
	CHECK_STR(r->protocol_state);
	CHECK_STR(r->sasl_username);
	CHECK_STR(r->client_address);
	CHECK_STR(r->server_address);
	CHECK_STR(r->sender);
	CHECK_STR(r->recipient);
	CHECK_STR(r->queue_id);
	CHECK(r->client_port >= -1 && r->client_port <= 65535);
	CHECK(r->server_port >= -1 && r->server_port <= 65535);
	CHECK(r->caller_uid >= -1 && r->caller_uid <= 0xffffffffLL);
	CHECK(r->truncated <= 12);
}

/* The stream in pieces of step bytes (0: whole); stops at the first error. */
static void run(const uint8_t *data, size_t size, size_t step, struct outcome *o)
{
	struct sg_policy_parser p = { 0 };
	size_t off = 0, n, used, at;
	char *piece;
	int ret;

	o->n = 0;
	while (off < size && o->n < MAX_REQS) {
		n = step && size - off > step ? step : size - off;
		piece = malloc(n);
		CHECK(piece);
		memcpy(piece, data + off, n);
		at = 0;
		while (at < n && o->n < MAX_REQS) {
			/* Poisoned before a request's first byte, which must clear it all. */
			if (!p.have)
				memset(&o->req[o->n], 0xa5, sizeof(o->req[o->n]));
			ret = sg_policy_parse(&p, piece + at, n - at, &used, &o->req[o->n]);
			CHECK(used >= 1 && used <= n - at);
			CHECK(ret == SG_POLICY_MORE || ret == SG_POLICY_DONE || ret == -E2BIG ||
			      ret == -EINVAL);
			CHECK(ret != SG_POLICY_MORE || used == n - at);
			at += used;
			if (ret == SG_POLICY_MORE)
				continue;
			/* DONE: the bytes before the last were a line's end, then this empty line.
			 */
			if (ret == SG_POLICY_DONE) {
				CHECK(off + at >= 2 && data[off + at - 1] == '\n' &&
				      data[off + at - 2] == '\n');
				check_req(&o->req[o->n]);
			}
			CHECK(p.have == 0);
			o->ret[o->n++] = ret;
			if (ret < 0) {
				free(piece);
				return;
			}
		}
		free(piece);
		off += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome whole, cut;
	size_t i, step;

	if (!size)
		return 0;
	step = data[0] % 17 + 1;
	run(data + 1, size - 1, 0, &whole);
	run(data + 1, size - 1, step, &cut);
	CHECK(whole.n == cut.n);
	for (i = 0; i < whole.n; i++) {
		CHECK(whole.ret[i] == cut.ret[i]);
		if (whole.ret[i] == SG_POLICY_DONE)
			CHECK(!memcmp(&whole.req[i], &cut.req[i], sizeof(whole.req[i])));
	}
	return 0;
}
