/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cursor the mail-log parsers (postfix_log.c, exim_log.c,
 * dovecot_log.c) walk over [p, end) of a line, and the field helpers they
 * share; internal to mail/. Nothing here reads past end: the line is not
 * NUL-terminated, and parts of it were written by strangers (addresses,
 * HELO names, logins, the replies of remote servers). A field is found by
 * the text the daemon writes around it, searching from the side the
 * daemon controls, so that a stranger's text imitating that text does as
 * little as possible. Every search is linear in the line: lines may be 1 MB.
 */
#ifndef SG_LOGLINE_H
#define SG_LOGLINE_H

#include <stddef.h>
#include <string.h>
#include <time.h>

#include "mail/mtalog.h"

struct cur {
	const char *p, *end;
};

/* The one-liners every parser calls per byte or word: inline. */
static inline size_t left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

static inline int at(const struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	return left(c) >= n && !memcmp(c->p, lit, n);
}

static inline int eat(struct cur *c, const char *lit)
{
	if (!at(c, lit))
		return 0;
	c->p += strlen(lit);
	return 1;
}

static inline void skip_blanks(struct cur *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* The run of non-blanks at the cursor; the cursor moves to the blank after it. */
static inline struct cur word(struct cur *c)
{
	struct cur w = { c->p, c->p };

	while (w.end < c->end && *w.end != ' ')
		w.end++;
	c->p = w.end;
	return w;
}

/* The next word, the blanks before it skipped. */
static inline struct cur next_word(struct cur *c)
{
	skip_blanks(c);
	return word(c);
}

static inline int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static inline int is_alnum(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* lit starts at p. */
static inline int lit_at(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(end - p) >= n && !memcmp(p, lit, n);
}

static inline const char *find(const char *p, const char *end, const char *lit)
{
	if (p >= end)
		return NULL;
	return memmem(p, (size_t)(end - p), lit, strlen(lit));
}

static inline const char *find_ch(const char *p, const char *end, char ch)
{
	return p < end ? memchr(p, ch, (size_t)(end - p)) : NULL;
}

static inline const char *rfind_ch(const char *p, const char *end, char ch)
{
	return p < end ? memrchr(p, ch, (size_t)(end - p)) : NULL;
}

/* The last lit in [p, end). */
const char *sg_line_rfind(const char *p, const char *end, const char *lit);

/* [p, q) into dst, cut to fit: a record holds its own copy. */
void sg_line_copy(char *dst, size_t size, const char *p, const char *q);

#define COPY(field, p, q) sg_line_copy(field, sizeof(field), p, q)

/*
 * [p, q) as the client address if it is one ("IPv6:" prefix dropped, as
 * Postfix and Exim may write it); anything else leaves dst empty, so a
 * HELO name dressed as an address never reaches a ban list.
 */
void sg_line_set_ip(char *dst, const char *p, const char *q);

/* "NAME[IP]", "[IP]:PORT", "[IP]:": the address in the last brackets of w. */
void sg_line_bracket_ip(char *dst, struct cur w);

/*
 * An address after its '<': it ends at the first '>' outside a quoted
 * string (the MTA quotes a local part holding '>', ',' or a blank)
 * followed by the end, a blank or a comma. The null address "<>" sets
 * *null.
 */
int sg_line_angle(struct cur *c, char *dst, size_t size, int *null);

/*
 * Where the address at p ends as an RFC 5321 path: at the first blank
 * outside a quoted string, a backslash escaping the character after it
 * inside one. NULL when a quote is left open: not an address the MTA
 * accepted, and nothing after it can be told from it.
 */
const char *sg_line_path_end(const char *p, const char *end);

/* Decimal digits at the cursor as an unsigned value up to max; 0 when none or too large. */
int sg_line_number(struct cur *c, unsigned long long max, unsigned long long *v);

/* Case-insensitive: does s hold any of the words? (s is a field already copied, so bounded.) */
int sg_line_holds_any(const char *s, const char *const *words);

/*
 * The line as the parsers read it, after its timestamp (into r->when); r
 * is cleared first (uid = -1). NUL bytes at its start are skipped (a log
 * file cut short by a crash has a run of them before the next line); one
 * inside ends it, as it would end the C string the daemon wrote.
 */
struct cur sg_line_begin(const char *line, size_t len, time_t ref, struct sg_mta_rec *r);

/* A line of no interest keeps only its time, so no half-filled record reaches the caller. */
enum sg_mta_event sg_line_finish(struct sg_mta_rec *r, enum sg_mta_event ev);

#endif
