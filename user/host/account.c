// SPDX-License-Identifier: GPL-2.0
/*
 * Who is behind a UID: its passwd name, and the hosting account, reseller
 * and domains the panel's files give it (cPanel's userdomains and
 * trueuserowners, DirectAdmin's domainowners). The daemon asks for every
 * event, so each file is parsed once and kept until it changes.
 *
 * Not thread-safe: the panel cache is static, for the daemon's one loop.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/attrib.h"

/* getpwuid_r's buffer grows on ERANGE up to this. */
#define PW_BUF_MAX (1 << 20)

/* A panel file bigger than this is not a panel file; the rest is ignored. */
#define PANEL_MAX_ENTRIES (1 << 20)
/* Longest names kept: what sg_sender_info holds; a domain name has at most 253 characters. */
#define NAME_MAX_LEN   (sizeof(((struct sg_sender_info *)0)->user) - 1)
#define DOMAIN_MAX_LEN 253

/* One line of a panel file, by user: val is a domain or the reseller. */
struct panel_pair {
	char *user;
	char *val;
};

/* A parsed panel file and the identity of what was parsed. */
struct panel_file {
	char *path; /* NULL: nothing cached */
	dev_t dev;
	ino_t ino;
	struct timespec mtim;
	off_t size;
	struct panel_pair *v; /* sorted by user, then val */
	size_t n;
};

static struct panel_file userdomains, trueuserowners, domainowners;

static void panel_drop(struct panel_file *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].user); /* val shares the allocation */
	free(f->v);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

static int same_file(const struct panel_file *f, const char *path, const struct stat *st)
{
	return f->path && !strcmp(f->path, path) && f->dev == st->st_dev && f->ino == st->st_ino &&
	       f->mtim.tv_sec == st->st_mtim.tv_sec && f->mtim.tv_nsec == st->st_mtim.tv_nsec &&
	       f->size == st->st_size;
}

static char *trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return s;
}

/* A name or domain: something, with no blank inside, not cPanel's "*" catch-all. */
static int good_field(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n && n <= max && !strpbrk(s, " \t") && strcmp(s, "*");
}

/*
 * "left: right" into a pair; user_first says which side is the user, val_max
 * how long the other may be. Comments, blank and malformed lines are not
 * pairs (-EINVAL).
 */
static int parse_line(char *line, int user_first, size_t val_max, struct panel_pair *p)
{
	char *colon, *left, *right, *user, *val;
	size_t ulen;

	line[strcspn(line, "\r\n")] = '\0';
	line = trim(line);
	if (*line == '#')
		return -EINVAL;
	colon = strchr(line, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	left = trim(line);
	right = trim(colon + 1);
	user = user_first ? left : right;
	val = user_first ? right : left;
	if (!good_field(user, NAME_MAX_LEN) || !good_field(val, val_max))
		return -EINVAL;
	ulen = strlen(user);
	p->user = malloc(ulen + 1 + strlen(val) + 1);
	if (!p->user)
		return -ENOMEM;
	p->val = p->user + ulen + 1;
	strcpy(p->user, user);
	strcpy(p->val, val);
	return 0;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct panel_pair *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	return c ? c : strcmp(x->val, y->val);
}

static int panel_parse(struct panel_file *f, FILE *in, int user_first, size_t val_max)
{
	struct panel_pair p, *v;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	int err = 0;

	while (f->n < PANEL_MAX_ENTRIES && getline(&line, &cap, in) >= 0) {
		err = parse_line(line, user_first, val_max, &p);
		if (err == -EINVAL) {
			err = 0;
			continue;
		}
		if (err)
			break;
		if (f->n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			v = realloc(f->v, alloc * sizeof(*v));
			if (!v) {
				free(p.user);
				err = -ENOMEM;
				break;
			}
			f->v = v;
		}
		f->v[f->n++] = p;
	}
	if (!err && ferror(in))
		err = -EIO;
	free(line);
	if (!err)
		qsort(f->v, f->n, sizeof(*f->v), pair_cmp);
	return err;
}

/*
 * The panel file at path, parsed, from the cache while the file is the
 * same (device, inode, mtime, size). A missing or unreadable file, or one
 * that cannot be parsed, reads as empty and is tried again next time.
 */
static const struct panel_file *panel_get(struct panel_file *f, const char *path, int user_first,
					  size_t val_max)
{
	struct stat st;
	FILE *in;
	int err;

	if (!path || !*path || stat(path, &st)) {
		panel_drop(f);
		return f;
	}
	if (same_file(f, path, &st))
		return f;
	panel_drop(f);
	in = fopen(path, "re");
	if (!in)
		return f;
	/* What was parsed is what the open file is, whatever the path points to by now. */
	err = fstat(fileno(in), &st) ? -errno : panel_parse(f, in, user_first, val_max);
	fclose(in);
	if (!err) {
		f->path = strdup(path);
		err = f->path ? 0 : -ENOMEM;
	}
	if (err) {
		panel_drop(f);
		return f;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mtim = st.st_mtim;
	f->size = st.st_size;
	return f;
}

/* The user's pairs: their number, the first at *first. */
static size_t panel_find(const struct panel_file *f, const char *user, size_t *first)
{
	size_t lo = 0, hi = f->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(f->v[mid].user, user) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < f->n && !strcmp(f->v[end].user, user); end++)
		;
	*first = lo;
	return end - lo;
}

/*
 * The domains, already sorted, space-separated. What does not fit ends
 * with a "..." word, never with part of a domain.
 */
static void join_domains(const struct panel_file *f, size_t first, size_t n, char *buf, size_t len)
{
	size_t i, pos = 0, need, more;
	const char *d;

	buf[0] = '\0';
	for (i = first; i < first + n; i++) {
		d = f->v[i].val;
		if (i > first && !strcmp(d, f->v[i - 1].val))
			continue;
		need = (pos ? 1 : 0) + strlen(d);
		/* Keep room for " ..." while more domains follow. */
		more = i + 1 < first + n ? 4 : 0;
		if (pos + need + more >= len) {
			if (pos + 4 < len)
				strcpy(buf + pos, pos ? " ..." : "...");
			return;
		}
		sprintf(buf + pos, "%s%s", pos ? " " : "", d);
		pos += need;
	}
}

int sg_user_name(__u32 uid, char *name, size_t len)
{
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	struct passwd pw, *res = NULL;
	char *buf = NULL, *nbuf;
	int err;

	if (size < 1024)
		size = 1024;
	for (;;) {
		nbuf = realloc(buf, size);
		if (!nbuf) {
			err = ENOMEM;
			break;
		}
		buf = nbuf;
		err = getpwuid_r(uid, &pw, buf, size, &res);
		if (err != ERANGE || size >= PW_BUF_MAX)
			break;
		size *= 2;
	}
	if (!err && !res)
		err = ENOENT;
	if (!err && strlen(pw.pw_name) >= len)
		err = ENAMETOOLONG;
	if (!err)
		strcpy(name, pw.pw_name);
	free(buf);
	return -err;
}

void sg_attrib_account(const struct sg_attrib_cfg *cfg, __u32 uid, struct sg_sender_info *out)
{
	const struct panel_file *domains, *owners;
	size_t first, n;

	out->uid = uid;
	out->user[0] = out->account[0] = out->owner[0] = out->panel[0] = out->domains[0] = '\0';
	if (sg_user_name(uid, out->user, sizeof(out->user)))
		return;
	strcpy(out->account, out->user);

	/* cPanel lists every account in trueuserowners, with its reseller. */
	owners = panel_get(&trueuserowners, cfg->cpanel_trueuserowners, 1, NAME_MAX_LEN);
	if (panel_find(owners, out->user, &first)) {
		strcpy(out->panel, "cpanel");
		strcpy(out->owner, owners->v[first].val);
	}
	domains = panel_get(&userdomains, cfg->cpanel_userdomains, 0, DOMAIN_MAX_LEN);
	n = panel_find(domains, out->user, &first);
	if (n) {
		strcpy(out->panel, "cpanel");
	} else if (!out->panel[0]) {
		domains =
			panel_get(&domainowners, cfg->directadmin_domainowners, 0, DOMAIN_MAX_LEN);
		n = panel_find(domains, out->user, &first);
		if (n)
			strcpy(out->panel, "directadmin");
	}
	join_domains(domains, first, n, out->domains, sizeof(out->domains));
}

int sg_panel_domain_user(const struct sg_attrib_cfg *cfg, const char *domain, char *user,
			 size_t len, const char **panel)
{
	const struct panel_file *f;
	size_t i;
	int da;

	/* cPanel's first, as sg_attrib_account asks; each file is sorted by user: read through. */
	for (da = 0; da < 2; da++) {
		f = da ? panel_get(&domainowners, cfg->directadmin_domainowners, 0, DOMAIN_MAX_LEN)
		       : panel_get(&userdomains, cfg->cpanel_userdomains, 0, DOMAIN_MAX_LEN);
		for (i = 0; i < f->n; i++) {
			if (strcasecmp(f->v[i].val, domain))
				continue;
			if (strlen(f->v[i].user) >= len)
				return -ENAMETOOLONG;
			strcpy(user, f->v[i].user);
			*panel = da ? "directadmin" : "cpanel";
			return 0;
		}
	}
	return -ENOENT;
}

#define NAME_CACHE   4096
#define NAME_CACHE_S 60

struct cached_name {
	__u32 uid;
	int err; /* the lookup's answer, kept too: an unknown UID is asked once a minute */
	time_t at;
	char name[64];
};

/* Where getpwuid() reads from: a change to any of them empties the cache. */
static const char *const name_sources[] = { "/etc/passwd", "/etc/group", "/etc/nsswitch.conf" };

struct source_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

static int stamp_differs(const struct source_stamp *a, const struct source_stamp *b)
{
	return a->dev != b->dev || a->ino != b->ino || a->size != b->size ||
	       a->mtime.tv_sec != b->mtime.tv_sec || a->mtime.tv_nsec != b->mtime.tv_nsec ||
	       a->ctime.tv_sec != b->ctime.tv_sec || a->ctime.tv_nsec != b->ctime.tv_nsec;
}

/*
 * Whether a name source changed since the last look, which is once a
 * second at most: `useradd` is seen by the next tick, and a tick asks the
 * filesystem three stats, not NSS a lookup per UID. A file that cannot be
 * read has a zero stamp.
 */
static int sources_changed(time_t now)
{
	static struct source_stamp seen[sizeof(name_sources) / sizeof(name_sources[0])];
	static time_t looked;
	struct source_stamp cur;
	struct stat sb;
	size_t i;
	int changed = 0;

	if (looked == now)
		return 0;
	looked = now;
	for (i = 0; i < sizeof(name_sources) / sizeof(name_sources[0]); i++) {
		memset(&cur, 0, sizeof(cur));
		if (!stat(name_sources[i], &sb))
			cur = (struct source_stamp){ sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim,
						     sb.st_ctim };
		changed |= stamp_differs(&cur, &seen[i]);
		seen[i] = cur;
	}
	return changed;
}

int sg_user_name_cached(__u32 uid, char *name, size_t len)
{
	static struct cached_name cache[NAME_CACHE];
	struct cached_name *e = &cache[uid % NAME_CACHE];
	time_t now = time(NULL);

	if (sources_changed(now))
		memset(cache, 0, sizeof(cache));
	if (!e->at || e->uid != uid || now - e->at >= NAME_CACHE_S || now < e->at) {
		e->uid = uid;
		e->at = now;
		e->err = sg_user_name(uid, e->name, sizeof(e->name));
	}
	if (e->err)
		return e->err;
	if (strlen(e->name) >= len)
		return -ENAMETOOLONG;
	strcpy(name, e->name);
	return 0;
}
