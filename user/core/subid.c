// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/subid.h"
#include "util/log.h"

const char *const sg_subid_outcome_names[SG_SUBID__MAX] = { SG_SUBID_OUTCOMES(SG_ENUM_NAME) };

/* subuid(5) lines are short; a longer one is refused whole, never read into memory. */
#define LINE_MAX_BYTES 512

/* A decimal UID or count, digits only, below 2^32 - 1 ((uid_t)-1 is no UID). */
static int parse_u32(const char *s, __u32 *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= 0xffffffffULL)
			return -ERANGE;
	}
	*out = (__u32)v;
	return 0;
}

/* Splits "a:b:c" in place into exactly three fields. */
static int split3(char *line, char *f[3])
{
	int i;

	for (i = 0; i < 3; i++) {
		f[i] = line;
		line = strchr(line, ':');
		if (i < 2 && !line)
			return -EINVAL;
		if (line)
			*line++ = '\0';
	}
	return line ? -EINVAL : 0;
}

#define WHY_MAX 128

/* The outcome of one line's text, with *r filled when it is loaded, else why in words. */
static enum sg_subid_outcome parse_line(char *text, const struct sg_subid_env *env,
					struct sg_subid_range *r, char why[WHY_MAX])
{
	char *f[3];
	__u32 uid;

	snprintf(why, WHY_MAX, "not OWNER:START:COUNT with numbers below 4294967295");
	if (split3(text, f) || !*f[0] || parse_u32(f[1], &r->start) || parse_u32(f[2], &r->count))
		return SG_SUBID_MALFORMED;
	if (!r->count || (__u64)r->start + r->count > 0xffffffffULL) {
		snprintf(why, WHY_MAX, "an empty range, or one past UID 4294967294");
		return SG_SUBID_MALFORMED;
	}
	if (parse_u32(f[0], &r->owner) && env->owner(f[0], &r->owner, env->ctx)) {
		snprintf(why, WHY_MAX, "no user '%.64s'", f[0]);
		return SG_SUBID_UNKNOWN_OWNER;
	}
	if (!r->owner) {
		snprintf(why, WHY_MAX, "root's range: its UIDs stay policed one by one");
		return SG_SUBID_ROOT;
	}
	if (env->account(r->start, r->count, &uid, env->ctx)) {
		snprintf(why, WHY_MAX, "it holds UID %u, an account's", uid);
		return SG_SUBID_ACCOUNT;
	}
	return SG_SUBID_LOADED;
}

static void refuse(struct sg_subid_set *set, const char *path, unsigned line,
		   enum sg_subid_outcome o, const char *why)
{
	set->outcomes[o]++;
	sg_warn("%s:%u: sub-UID range refused (%s): %s", path, line, sg_subid_outcome_names[o],
		why);
}

static int add(struct sg_subid_set *set, const struct sg_subid_range *r)
{
	struct sg_subid_range *grown;

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;

		grown = realloc(set->ranges, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		set->ranges = grown;
		set->cap = cap;
	}
	set->ranges[set->n++] = *r;
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct sg_subid_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/* Sorted by start, a range that begins before the end of one kept before it overlaps. */
static void drop_overlaps(struct sg_subid_set *set, const char *path)
{
	__u64 end = 0;
	size_t i, out = 0;
	char why[WHY_MAX];

	qsort(set->ranges, set->n, sizeof(set->ranges[0]), by_start);
	for (i = 0; i < set->n; i++) {
		const struct sg_subid_range *r = &set->ranges[i];

		if (out && r->start < end) {
			set->outcomes[SG_SUBID_LOADED]--;
			snprintf(why, sizeof(why), "it overlaps line %u's range",
				 set->ranges[out - 1].line);
			refuse(set, path, r->line, SG_SUBID_OVERLAP, why);
			continue;
		}
		set->ranges[out++] = *r;
		end = (__u64)r->start + r->count;
	}
	set->n = out;
}

int sg_subid_read(FILE *f, const char *path, const struct sg_subid_env *env,
		  struct sg_subid_set *set)
{
	char buf[LINE_MAX_BYTES + 2];
	struct sg_subid_range r;
	enum sg_subid_outcome o;
	char why[WHY_MAX];
	unsigned line = 0;
	size_t len;
	int c, err;

	while (fgets(buf, sizeof(buf), f)) {
		line++;
		len = strlen(buf);
		if (len && buf[len - 1] == '\n') {
			buf[--len] = '\0';
		} else if (!feof(f)) {
			while ((c = getc(f)) != EOF && c != '\n')
				;
			refuse(set, path, line, SG_SUBID_MALFORMED, "a line over 512 bytes");
			continue;
		}
		if (!len || buf[0] == '#')
			continue;
		r = (struct sg_subid_range){ .line = line };
		o = parse_line(buf, env, &r, why);
		if (o != SG_SUBID_LOADED) {
			refuse(set, path, line, o, why);
			continue;
		}
		err = add(set, &r);
		if (err)
			return err;
		set->outcomes[SG_SUBID_LOADED]++;
	}
	if (ferror(f))
		return -EIO;
	drop_overlaps(set, path);
	return 0;
}

void sg_subid_free(struct sg_subid_set *set)
{
	free(set->ranges);
	memset(set, 0, sizeof(*set));
}

int sg_subid_prefixes(__u32 start, __u32 count, struct sg_subuid_key *out)
{
	__u64 at = start, end = (__u64)start + count;
	int n = 0, bits;

	while (at < end && n < SG_SUBID_MAX_PREFIXES) {
		/* The largest block aligned at at that still fits. */
		bits = at ? __builtin_ctzll(at) : 32;
		if (bits > 32)
			bits = 32;
		while (at + (1ULL << bits) > end)
			bits--;
		out[n].prefixlen = 32 - bits;
		out[n].uid = htonl((__u32)at);
		n++;
		at += 1ULL << bits;
	}
	return n;
}
