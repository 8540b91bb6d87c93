// SPDX-License-Identifier: GPL-2.0
/*
 * The MTA log follower (see follow.h). inotify only says "look again": at
 * every call each file is read to its end, then its fd (fstat) is compared
 * with its path (stat): same inode and no shorter than what was read, it is
 * the same file; shorter, it was truncated (read again from 0); another
 * inode, it was rotated: the old file becomes the file's "prev" stream,
 * still read for a grace period (a writer not yet told of the rotation
 * still writes there), and the new one is read from its start.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/follow.h"
#include "mail/mtalog.h"

#define READ_MAX (64 * 1024)
/* How long a rotated-away file is still read after it last grew. */
#define GRACE_NS (10 * 1000000000LL)
/* Rotations or truncations one file may go through in one call (the rest wait for the next). */
#define CHANGES_MAX 4
#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |        \
	 IN_ATTRIB | IN_ONLYDIR)

/* One open file: the path's current file, or the one rotated away. */
struct stream {
	int fd; /* -1: none */
	dev_t dev;
	ino_t ino;
	off_t off;   /* bytes read from the start of the file */
	int skip;    /* dropping bytes up to the next newline */
	size_t plen; /* bytes of an unterminated line in part */
	char part[SG_MTA_LINE_MAX + 1];
};

struct ffile {
	char *path;
	char *dir;
	int wd;	    /* -1: to watch again */
	dev_t ddev; /* the directory watched */
	ino_t dino;
	int seen;	  /* a file was opened at the path: the next one is new, read from 0 */
	__s64 prev_until; /* when prev is closed if it does not grow */
	struct stream cur, prev;
	struct sg_follow_stats st;
};

struct sg_follower {
	int ifd;
	int n;
	unsigned int rr; /* which file reads first, turn by turn */
	struct ffile *files[SG_FOLLOW_MAX];
	char buf[READ_MAX + 1]; /* + 1: room to NUL-terminate a line ending the buffer */
};

/* One sg_follower_read call. */
struct run {
	struct sg_follower *f;
	sg_follow_fn fn;
	void *ctx;
	__s64 now;
	long lines;
};

static __s64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void stream_init(struct stream *s)
{
	s->fd = -1;
	s->off = 0;
	s->skip = 0;
	s->plen = 0;
}

static void stream_close(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	stream_init(s);
}

static void emit(struct run *r, int idx, char *line, size_t len)
{
	r->f->files[idx]->st.lines++;
	r->lines++;
	if (r->fn)
		r->fn(idx, line, len, r->ctx);
}

/* An unterminated last line goes out as it is (its file is left or starts again). */
static void flush(struct run *r, int idx, struct stream *s)
{
	size_t len = s->plen;

	if (!len)
		return;
	s->part[len] = '\0';
	s->plen = 0;
	emit(r, idx, s->part, len);
}

/* Splits n bytes at p (with one writable byte after them) into lines. */
static void consume(struct run *r, int idx, struct stream *s, char *p, size_t n)
{
	struct sg_follow_stats *st = &r->f->files[idx]->st;
	char *end = p + n;

	while (p < end) {
		char *nl = memchr(p, '\n', end - p);
		size_t len = (nl ? nl : end) - p;
		size_t room = SG_MTA_LINE_MAX - s->plen;

		if (s->skip) {
			if (!nl)
				return;
			s->skip = 0;
			p = nl + 1;
			continue;
		}
		if (!s->plen && nl && len <= SG_MTA_LINE_MAX) {
			/* The common case: a whole line in the buffer. */
			*nl = '\0';
			emit(r, idx, p, len);
			p = nl + 1;
			continue;
		}
		if (len <= room) {
			memcpy(s->part + s->plen, p, len);
			s->plen += len;
			if (!nl)
				return;
			s->part[s->plen] = '\0';
			emit(r, idx, s->part, s->plen);
			s->plen = 0;
			p = nl + 1;
			continue;
		}
		/* Longer than SG_MTA_LINE_MAX: its head once, the rest dropped. */
		memcpy(s->part + s->plen, p, room);
		s->part[SG_MTA_LINE_MAX] = '\0';
		s->plen = 0;
		st->cut++;
		emit(r, idx, s->part, SG_MTA_LINE_MAX);
		if (!nl) {
			s->skip = 1;
			return;
		}
		p = nl + 1;
	}
}

/*
 * Reads up to allow bytes of s; *eof when it has no more for now (end of
 * file, an empty FIFO, or an error: the next call tries again).
 */
static size_t stream_read(struct run *r, int idx, struct stream *s, size_t allow, int *eof)
{
	struct sg_follower *f = r->f;
	size_t got = 0;

	*eof = 0;
	while (got < allow) {
		size_t want = allow - got < READ_MAX ? allow - got : READ_MAX;
		ssize_t n = read(s->fd, f->buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*eof = 1;
			break;
		}
		s->off += n;
		f->files[idx]->st.bytes += n;
		got += n;
		consume(r, idx, s, f->buf, n);
	}
	return got;
}

/* Opens what the path holds now, read from its start: 1, or -errno when nothing can be. */
static int open_cur(struct ffile *ff)
{
	struct stat st;
	int fd, err;

	fd = open(ff->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
	if (err) {
		close(fd);
		return err;
	}
	if (ff->prev.fd >= 0 && ff->prev.dev == st.st_dev && ff->prev.ino == st.st_ino) {
		/* The file rotated away came back (renamed back): carry on where it was. */
		close(fd);
		ff->cur = ff->prev;
		stream_init(&ff->prev);
		return 1;
	}
	stream_init(&ff->cur);
	ff->cur.fd = fd;
	ff->cur.dev = st.st_dev;
	ff->cur.ino = st.st_ino;
	if (ff->seen)
		ff->st.rotations++;
	ff->seen = 1;
	return 1;
}

/* cur is left (at its end): it becomes prev, still read for GRACE_NS. */
static void retire(struct run *r, int idx, struct ffile *ff)
{
	flush(r, idx, &ff->prev);
	stream_close(&ff->prev);
	flush(r, idx, &ff->cur);
	ff->prev = ff->cur;
	ff->prev_until = r->now + GRACE_NS;
	stream_init(&ff->cur);
}

/*
 * Reads up to allow bytes of file idx: what is left of its rotated-away
 * file, then its current one, following truncations and rotations. *done
 * when it has nothing more to give in this call.
 */
static size_t pump(struct run *r, int idx, size_t allow, int *done, int *changes)
{
	struct ffile *ff = r->f->files[idx];
	size_t used = 0;
	int eof;

	*done = 0;
	if (ff->prev.fd >= 0) {
		size_t n = stream_read(r, idx, &ff->prev, allow, &eof);

		used += n;
		if (n)
			ff->prev_until = r->now + GRACE_NS;
		if (!eof)
			return used;
		if (r->now >= ff->prev_until) {
			flush(r, idx, &ff->prev);
			stream_close(&ff->prev);
		}
	}
	for (;;) {
		struct stat fs, ps;

		if (ff->cur.fd < 0 && open_cur(ff) < 0)
			break;
		used += stream_read(r, idx, &ff->cur, allow - used, &eof);
		if (!eof)
			return used;
		if (*changes >= CHANGES_MAX || fstat(ff->cur.fd, &fs))
			break;
		if (S_ISREG(fs.st_mode) && fs.st_size < ff->cur.off) {
			/* copytruncate, or rewritten in place: again from the start. */
			flush(r, idx, &ff->cur);
			ff->cur.skip = 0;
			if (lseek(ff->cur.fd, 0, SEEK_SET) < 0)
				break;
			ff->cur.off = 0;
			ff->st.truncations++;
			(*changes)++;
			continue;
		}
		if (!stat(ff->path, &ps)) {
			if (ps.st_dev == ff->cur.dev && ps.st_ino == ff->cur.ino)
				break;
			/* Another file at the path: the next turn opens it. */
			retire(r, idx, ff);
			(*changes)++;
			continue;
		}
		/*
		 * Nothing at the path: renamed away (the new file is not there
		 * yet, and a writer may still use this one: keep it), or deleted.
		 */
		if (!fs.st_nlink)
			retire(r, idx, ff);
		break;
	}
	*done = 1;
	return used;
}

/* Reads what the inotify fd holds; a watch the kernel dropped (directory gone) is retried. */
static int drain_events(struct sg_follower *f)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(f->ifd, ev, sizeof(ev));
		const struct inotify_event *e;
		char *p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		for (p = ev; p < ev + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (e->mask & IN_IGNORED) {
				for (int i = 0; i < f->n; i++)
					if (f->files[i]->wd == e->wd)
						f->files[i]->wd = -1;
			}
		}
	}
}

static int wd_used(const struct sg_follower *f, int wd)
{
	for (int i = 0; i < f->n; i++)
		if (f->files[i]->wd == wd)
			return 1;
	return 0;
}

/*
 * Watches the file's directory, again when the kernel dropped the watch or
 * the directory was made anew (the old one, still held by an open file in
 * it, may keep its watch for a while). 1 when watched anew, 0 when it was.
 */
static int watch_dir(struct sg_follower *f, struct ffile *ff)
{
	struct stat ds;
	int wd, old = ff->wd;

	if (stat(ff->dir, &ds))
		return -errno;
	if (old >= 0 && ds.st_dev == ff->ddev && ds.st_ino == ff->dino)
		return 0;
	wd = inotify_add_watch(f->ifd, ff->dir, WATCH_MASK);
	if (wd < 0)
		return -errno;
	ff->wd = wd;
	ff->ddev = ds.st_dev;
	ff->dino = ds.st_ino;
	if (old >= 0 && old != wd && !wd_used(f, old))
		inotify_rm_watch(f->ifd, old);
	return 1;
}

struct sg_follower *sg_follower_new(void)
{
	struct sg_follower *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->ifd < 0) {
		int err = errno;

		free(f);
		errno = err;
		return NULL;
	}
	return f;
}

static void ffile_free(struct ffile *ff)
{
	if (!ff)
		return;
	stream_close(&ff->cur);
	stream_close(&ff->prev);
	free(ff->path);
	free(ff->dir);
	free(ff);
}

void sg_follower_free(struct sg_follower *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++)
		ffile_free(f->files[i]);
	close(f->ifd);
	free(f);
}

/* The directory of path: "." for a bare name, "/" for a file at the root. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, slash - path);
}

/* A file that cannot be read when added is an error (say it now), one that is not there is not. */
static int open_at_add(struct ffile *ff, int from_start)
{
	struct stat st;
	char last;
	off_t end;
	int err;

	err = open_cur(ff);
	if (err < 0)
		return err == -ENOENT ? 0 : err;
	if (from_start || fstat(ff->cur.fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	end = lseek(ff->cur.fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	ff->cur.off = end;
	/* Started in the middle of a line: its end is old content too. */
	if (end > 0 && pread(ff->cur.fd, &last, 1, end - 1) == 1 && last != '\n')
		ff->cur.skip = 1;
	return 0;
}

int sg_follow_add(struct sg_follower *f, const char *path, int from_start)
{
	struct ffile *ff;
	size_t len;
	int err;

	if (!f || !path || !*path)
		return -EINVAL;
	len = strlen(path);
	if (path[len - 1] == '/')
		return -EISDIR;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (f->n >= SG_FOLLOW_MAX)
		return -ENOSPC;
	ff = calloc(1, sizeof(*ff));
	if (!ff)
		return -ENOMEM;
	stream_init(&ff->cur);
	stream_init(&ff->prev);
	ff->path = strdup(path);
	ff->dir = dir_of(path);
	if (!ff->path || !ff->dir) {
		err = -ENOMEM;
		goto fail;
	}
	/* Watch first: what happens from now on is seen. */
	ff->wd = -1;
	err = watch_dir(f, ff);
	if (err < 0)
		goto fail;
	err = open_at_add(ff, from_start);
	if (err)
		goto fail_watch;
	f->files[f->n] = ff;
	return f->n++;

fail_watch:
	if (!wd_used(f, ff->wd))
		inotify_rm_watch(f->ifd, ff->wd);
fail:
	ffile_free(ff);
	return err;
}

int sg_follower_fd(const struct sg_follower *f)
{
	return f ? f->ifd : -EINVAL;
}

int sg_follower_read(struct sg_follower *f, size_t max_bytes, sg_follow_fn fn, void *ctx)
{
	struct run r = { .f = f, .fn = fn, .ctx = ctx };
	int done[SG_FOLLOW_MAX] = { 0 }, changes[SG_FOLLOW_MAX] = { 0 };
	size_t budget = max_bytes ? max_bytes : SIZE_MAX;
	int err, left, rewatched = 0;

	if (!f)
		return -EINVAL;
	err = drain_events(f);
	if (err)
		return err;
	/* A directory gone is retried at the next call. */
	for (int i = 0; i < f->n; i++)
		rewatched |= watch_dir(f, f->files[i]) > 0;
	/* The old watches' IN_IGNORED, not to wake the caller for nothing. */
	if (rewatched) {
		err = drain_events(f);
		if (err)
			return err;
	}
	r.now = now_ns();

	/* Turns: each file with more to read gets an equal share of what is left. */
	left = f->n;
	while (left && budget) {
		size_t share = budget == SIZE_MAX ? READ_MAX : budget / left;

		if (!share)
			share = 1;
		for (int k = 0; k < f->n && budget; k++) {
			int i = (f->rr + k) % f->n;
			size_t n;

			if (done[i])
				continue;
			n = pump(&r, i, share < budget ? share : budget, &done[i], &changes[i]);
			if (budget != SIZE_MAX)
				budget -= n;
			if (done[i])
				left--;
		}
	}
	if (f->n)
		f->rr = (f->rr + 1) % f->n;
	return r.lines > INT_MAX ? INT_MAX : (int)r.lines;
}

void sg_follower_stats(const struct sg_follower *f, int index, struct sg_follow_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (f && index >= 0 && index < f->n)
		*out = f->files[index]->st;
}
