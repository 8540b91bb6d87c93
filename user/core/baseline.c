// SPDX-License-Identifier: GPL-2.0
/*
 * Baselines by hour of the week and their file; see baseline.h. Each record
 * is allocated on its own, so a pointer to it stays valid as the table
 * grows (the detector keeps them across ticks) until the store is freed or
 * loaded anew.
 *
 * The file, gzip-compressed, all integers little-endian:
 *   "SGBASE\0\0", __u32 version (VERSION below), __u32 count,
 *   count x { __u16 length, principal (length bytes, no NUL), __s64 first_seen,
 *             __s64 last_seen (from version 3 on), __s64 hour, __u64 acc,
 *             __u8 tainted, learned (21 bytes), 168 x per_min (float bits as __u32) },
 *   __u32 CRC32 of all the bytes before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/baseline.h"
#include "util/htab.h"
#include "util/tmpfile.h"

#define MAGIC	  "SGBASE\0\0"
#define MAGIC_LEN 8
/*
 * 3: each record's last_seen. 2, still read (last_seen taken as the hour
 * it was accumulating): principals of up to SG_PRINCIPAL_MAX - 1 bytes (a
 * SASL login of any length the MTA takes); 1, still read: of fewer than 128.
 */
#define VERSION	    3
#define V1_ID_LIMIT 128
/* No host has this many principals: a larger count is damage, not a reason to allocate. */
#define MAX_RECORDS 10000000U
/* A record on disk after its principal: first_seen, last_seen, hour, acc, tainted, learned,
 * per_min; version 2's has no last_seen. */
#define FIXED_LEN    (8 + 8 + 8 + 8 + 1 + SG_HOURS_PER_WEEK / 8 + 4 * SG_HOURS_PER_WEEK)
#define FIXED_LEN_V2 (FIXED_LEN - 8)
#define RECORD_MAX   (2 + SG_PRINCIPAL_MAX + FIXED_LEN)

/* The table's entry: records are allocated on their own, so entries hold pointers. */
struct slot {
	const char *principal; /* b's */
	struct sg_baseline *b;
};

struct sg_baselines {
	struct sg_htab *t; /* of struct slot, never deleted from but all at once */
};

struct sg_baselines *sg_baselines_new(void)
{
	struct sg_baselines *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->t = sg_htab_new(SG_HTAB_STRING_REF, SG_PRINCIPAL_MAX, sizeof(struct slot), 512, 0);
	if (!s->t) {
		free(s);
		return NULL;
	}
	return s;
}

static void drop_all(struct sg_baselines *s)
{
	struct slot *e;
	size_t pos = 0;

	while ((e = sg_htab_next(s->t, &pos)))
		free(e->b);
	sg_htab_clear(s->t);
}

void sg_baselines_free(struct sg_baselines *s)
{
	if (!s)
		return;
	drop_all(s);
	sg_htab_free(s->t);
	free(s);
}

/* Adds b, which the store then owns; -EEXIST when its principal is there already. */
static int insert(struct sg_baselines *s, struct sg_baseline *b)
{
	struct slot *e;
	int ret = sg_htab_add(s->t, b->principal, (void **)&e);

	if (ret < 0)
		return ret;
	if (!ret)
		return -EEXIST;
	e->principal = b->principal;
	e->b = b;
	return 0;
}

/* A zeroed record with room for a principal of len bytes and its NUL. */
static struct sg_baseline *baseline_alloc(size_t len)
{
	return calloc(1, sizeof(struct sg_baseline) + len + 1);
}

/* NULL also when creating fails: on ENOMEM, or a principal too long to keep whole. */
struct sg_baseline *sg_baselines_get(struct sg_baselines *s, const char *principal, int create,
				     time_t now)
{
	struct slot *e = sg_htab_find(s->t, principal);
	struct sg_baseline *b;

	if (e || !create)
		return e ? e->b : NULL;
	/* Cut short, two principals could share a record. */
	if (strnlen(principal, SG_PRINCIPAL_MAX) == SG_PRINCIPAL_MAX)
		return NULL;
	b = baseline_alloc(strlen(principal));
	if (!b)
		return NULL;
	strcpy(b->principal, principal);
	b->first_seen = now;
	b->last_seen = now;
	if (insert(s, b)) {
		free(b);
		return NULL;
	}
	return b;
}

size_t sg_baselines_count(const struct sg_baselines *s)
{
	return sg_htab_count(s->t);
}

int sg_baselines_remove(struct sg_baselines *s, const char *principal)
{
	struct slot *e = sg_htab_find(s->t, principal);
	struct sg_baseline *b;

	if (!e)
		return -ENOENT;
	/* The key is the record's own string: freed only once the entry is gone. */
	b = e->b;
	sg_htab_delete(s->t, principal);
	free(b);
	return 0;
}

int sg_baselines_each(struct sg_baselines *s, int (*fn)(struct sg_baseline *b, void *ctx),
		      void *ctx)
{
	struct slot *e;
	size_t pos = 0;
	int ret;

	while ((e = sg_htab_next(s->t, &pos))) {
		ret = fn(e->b, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

int sg_hour_of_week(time_t t)
{
	struct tm tm;

	/* Only times billions of years away fail to convert. */
	if (!localtime_r(&t, &tm))
		return 0;
	return tm.tm_wday * 24 + tm.tm_hour;
}

int sg_baseline_learned(const struct sg_baseline *b, int how)
{
	return !!(b->learned[how / 8] & (1 << (how % 8)));
}

/* One more week's value for the slot of hour (unix time / 3600). */
static void learn(struct sg_baseline *b, __s64 hour, double per_min)
{
	int w = sg_hour_of_week((time_t)hour * 3600);

	if (sg_baseline_learned(b, w))
		b->per_min[w] += SG_BASELINE_WEIGHT * (per_min - b->per_min[w]);
	else
		b->per_min[w] = per_min;
	b->learned[w / 8] |= 1 << (w % 8);
}

void sg_baseline_roll(struct sg_baseline *b, time_t now)
{
	__s64 h = now / 3600, t;

	/* A new record: an alert marked before its first count belongs to its first hour. */
	if (!b->hour) {
		b->hour = h;
		return;
	}
	if (h < b->hour) {
		/* The clock stepped back: the hour goes on, but its count is no one hour's. */
		b->tainted = 1;
		/* Far back, waiting for the clock to come round would stop learning for that long.
		 */
		if (b->hour - h > SG_HOURS_PER_WEEK) {
			b->hour = h;
			b->acc = 0;
		}
		return;
	}
	if (h == b->hour)
		return;
	if (!b->tainted)
		learn(b, b->hour, b->acc / 60.0);
	/* Beyond a week of silence, every slot has had its zero: more would only repeat it. */
	t = h - b->hour - 1 > SG_HOURS_PER_WEEK ? h - SG_HOURS_PER_WEEK : b->hour + 1;
	for (; t < h; t++)
		learn(b, t, 0);
	b->hour = h;
	b->acc = 0;
	b->tainted = 0;
}

void sg_baseline_add(struct sg_baseline *b, __u64 n, time_t now)
{
	sg_baseline_roll(b, now);
	b->acc += n;
}

void sg_baselines_roll(struct sg_baselines *s, time_t now)
{
	struct slot *e;
	size_t pos = 0;

	while ((e = sg_htab_next(s->t, &pos)))
		sg_baseline_roll(e->b, now);
}

double sg_baseline_per_min(const struct sg_baseline *b, time_t now)
{
	return sg_baseline_per_min_in(b, sg_hour_of_week(now));
}

double sg_baseline_per_min_in(const struct sg_baseline *b, int how)
{
	int w, n = 0;
	double sum = 0;

	if (sg_baseline_learned(b, how))
		return b->per_min[how];
	/* Every UID, every tick: eight hours with nothing learned are one test. */
	for (w = 0; w < SG_HOURS_PER_WEEK; w++) {
		if (!b->learned[w / 8]) {
			w += 7;
			continue;
		}
		if (!sg_baseline_learned(b, w))
			continue;
		sum += b->per_min[w];
		n++;
	}
	return n ? sum / n : -1;
}

static unsigned char *put(unsigned char *p, __u64 v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = v >> (8 * i);
	return p + bytes;
}

static __u64 get(const unsigned char **p, int bytes)
{
	__u64 v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v |= (__u64)(*p)[i] << (8 * i);
	*p += bytes;
	return v;
}

static __u32 float_bits(float f)
{
	__u32 u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float bits_float(__u32 u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* b on disk into buf; returns its length. */
static size_t encode(unsigned char *buf, const struct sg_baseline *b)
{
	size_t len = strlen(b->principal);
	unsigned char *p = put(buf, len, 2);
	int i;

	memcpy(p, b->principal, len);
	p = put(p + len, b->first_seen, 8);
	p = put(p, b->last_seen, 8);
	p = put(p, b->hour, 8);
	p = put(p, b->acc, 8);
	p = put(p, !!b->tainted, 1);
	memcpy(p, b->learned, sizeof(b->learned));
	p += sizeof(b->learned);
	for (i = 0; i < SG_HOURS_PER_WEEK; i++)
		p = put(p, float_bits(b->per_min[i]), 4);
	return p - buf;
}

/* gzclose's and gzwrite's failures as -errno; right after them, while errno is theirs. */
static int gz_errno(int zerr)
{
	if (zerr == Z_ERRNO && errno)
		return -errno;
	return zerr == Z_MEM_ERROR ? -ENOMEM : -EIO;
}

struct writer {
	gzFile gz;
	uLong crc;
};

static int out(struct writer *w, const unsigned char *buf, size_t len)
{
	int zerr;

	w->crc = crc32(w->crc, buf, len);
	if (gzwrite(w->gz, buf, len) == (int)len)
		return 0;
	gzerror(w->gz, &zerr);
	return gz_errno(zerr);
}

static int write_store(const struct sg_baselines *s, int fd)
{
	struct writer w = { .crc = crc32(0, NULL, 0) };
	unsigned char buf[RECORD_MAX], *p;
	const struct slot *e;
	int gz_fd, ret, zerr;
	size_t pos = 0;

	/* gzclose closes its descriptor, and the file is fsynced after that. */
	gz_fd = dup(fd);
	if (gz_fd < 0)
		return -errno;
	w.gz = gzdopen(gz_fd, "wb");
	if (!w.gz) {
		close(gz_fd);
		return -ENOMEM;
	}
	memcpy(buf, MAGIC, MAGIC_LEN);
	p = put(buf + MAGIC_LEN, VERSION, 4);
	p = put(p, sg_htab_count(s->t), 4);
	ret = out(&w, buf, p - buf);
	while (!ret && (e = sg_htab_next(s->t, &pos)))
		ret = out(&w, buf, encode(buf, e->b));
	if (!ret) {
		put(buf, w.crc, 4);
		ret = out(&w, buf, 4);
	}
	zerr = gzclose(w.gz);
	if (zerr != Z_OK && !ret)
		ret = gz_errno(zerr);
	return ret;
}

/* The rename lasts a crash once the directory holding it is on disk. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd, ret = 0;

	if (!slash)
		strcpy(dir, ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int sg_baselines_save(const struct sg_baselines *s, const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = sg_tmpfile_open(tmp, 0600);
	if (fd < 0) {
		ret = fd;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = write_store(s, fd);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	else
		ret = sync_dir(path);
	if (ret)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	return ret;
}

struct reader {
	gzFile gz;
	uLong crc;
	char why[128]; /* when the file is not a good one */
};

static int bad(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return 1;
}

/*
 * What gzread's answer got means when want bytes were asked for: 0 when it
 * is them all, 1 (why set) when the file is damaged, -errno when it cannot
 * be read. A gzip stream cut short reads as Z_BUF_ERROR; a file that is not
 * gzip just ends.
 */
static int check(struct reader *r, int got, int want)
{
	const char *msg;
	int zerr;

	msg = gzerror(r->gz, &zerr);
	if (zerr == Z_ERRNO)
		return errno ? -errno : -EIO;
	if (zerr == Z_MEM_ERROR)
		return -ENOMEM;
	if (zerr == Z_BUF_ERROR || (zerr == Z_OK && got != want))
		return bad(r, "corrupt (truncated)");
	if (zerr != Z_OK) {
		/* zlib names the stream "<fd:N>"; the caller names the file. */
		if (strstr(msg, ": "))
			msg = strstr(msg, ": ") + 2;
		return bad(r, "corrupt (%s)", msg);
	}
	return 0;
}

static int in(struct reader *r, void *buf, unsigned int len)
{
	int ret = check(r, gzread(r->gz, buf, len), len);

	if (!ret)
		r->crc = crc32(r->crc, buf, len);
	return ret;
}

/*
 * Record i of the file into *out, made to its principal's length, checked:
 * nothing in the file is trusted. The caller frees *out, even on an error.
 */
static int read_record(struct reader *r, struct sg_baseline **out, __u32 version, __u32 i)
{
	unsigned char buf[FIXED_LEN];
	const unsigned char *p = buf;
	struct sg_baseline *b;
	unsigned int len;
	int ret, w;
	float f;

	ret = in(r, buf, 2);
	if (ret)
		return ret;
	len = get(&p, 2);
	if (!len || len >= (version == 1 ? V1_ID_LIMIT : SG_PRINCIPAL_MAX))
		return bad(r, "corrupt (record %u: principal length %u)", i, len);
	b = *out = baseline_alloc(len);
	if (!b)
		return -ENOMEM;
	ret = in(r, b->principal, len);
	if (ret)
		return ret;
	if (memchr(b->principal, '\0', len))
		return bad(r, "corrupt (record %u: a NUL in the principal)", i);
	ret = in(r, buf, version < 3 ? FIXED_LEN_V2 : FIXED_LEN);
	if (ret)
		return ret;
	p = buf;
	b->first_seen = get(&p, 8);
	b->last_seen = version < 3 ? 0 : get(&p, 8);
	b->hour = get(&p, 8);
	b->acc = get(&p, 8);
	b->tainted = get(&p, 1);
	if (b->hour < 0)
		return bad(r, "corrupt (record %u: hour %lld)", i, (long long)b->hour);
	/*
	 * Before, the hour it was counting (every record's is rolled on to the
	 * hour of the save), or its first count if it had none.
	 */
	if (version < 3)
		b->last_seen = b->hour >= INT64_MAX / 3600	? INT64_MAX
			       : b->hour * 3600 > b->first_seen ? b->hour * 3600
								: b->first_seen;
	if (b->tainted > 1)
		return bad(r, "corrupt (record %u: tainted %d)", i, b->tainted);
	memcpy(b->learned, p, sizeof(b->learned));
	p += sizeof(b->learned);
	for (w = 0; w < SG_HOURS_PER_WEEK; w++) {
		f = bits_float(get(&p, 4));
		if (!isfinite(f) || f < 0)
			return bad(r, "corrupt (record %u: %g per minute)", i, f);
		b->per_min[w] = f;
	}
	return 0;
}

static int read_store(struct sg_baselines *s, struct reader *r)
{
	unsigned char buf[MAGIC_LEN + 8];
	const unsigned char *p = buf + MAGIC_LEN;
	struct sg_baseline *b;
	__u32 version, n, i;
	uLong crc;
	int ret;

	ret = in(r, buf, MAGIC_LEN);
	if (ret)
		return ret;
	if (memcmp(buf, MAGIC, MAGIC_LEN))
		return bad(r, "not a smtpguard baseline file");
	ret = in(r, buf + MAGIC_LEN, 8);
	if (ret)
		return ret;
	version = get(&p, 4);
	n = get(&p, 4);
	if (version < 1 || version > VERSION)
		return bad(r, "baseline format version %u, this smtpguard reads 1 to %u", version,
			   VERSION);
	if (n > MAX_RECORDS)
		return bad(r, "corrupt (%u records)", n);
	for (i = 0; i < n; i++) {
		b = NULL;
		ret = read_record(r, &b, version, i);
		if (!ret) {
			ret = insert(s, b);
			if (ret == -EEXIST)
				ret = bad(r, "corrupt (record %u: a principal seen before)", i);
		}
		if (ret) {
			free(b);
			return ret;
		}
	}
	crc = r->crc;
	ret = in(r, buf, 4);
	if (ret)
		return ret;
	p = buf;
	if (get(&p, 4) != crc)
		return bad(r, "corrupt (CRC mismatch)");
	/* Reading past the end is what makes zlib check the gzip trailer. */
	ret = gzread(r->gz, buf, 1);
	return ret > 0 ? bad(r, "corrupt (data after the end)") : check(r, ret, 0);
}

/* On any failure the store is left empty: never half of a file. */
int sg_baselines_load(struct sg_baselines *s, const char *path, char *warn, size_t warnlen)
{
	struct reader r = { .crc = crc32(0, NULL, 0) };
	int fd, ret;

	drop_all(s);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		ret = -errno;
		snprintf(warn, warnlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	/* A file that is not gzip reads as it is, and so fails on the magic. */
	r.gz = gzdopen(fd, "rb");
	if (!r.gz) {
		close(fd);
		ret = -ENOMEM;
	} else {
		ret = read_store(s, &r);
		gzclose(r.gz);
	}
	if (ret)
		drop_all(s);
	if (ret > 0)
		snprintf(warn, warnlen, "%s: %s; starting with no baselines", path, r.why);
	else if (ret)
		snprintf(warn, warnlen, "%s: %s", path, strerror(-ret));
	return ret;
}
