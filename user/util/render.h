/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `top` and `status` show, as plain rows, and their text and JSON
 * forms. Pure: collecting the rows from the maps is report.c's job, so the
 * output can be tested on rows made by hand.
 */
#ifndef SG_RENDER_H
#define SG_RENDER_H

#include <limits.h>
#include <stdio.h>
#include <jansson.h>
#include <linux/types.h>

#include "smtpguard.h"

extern const char *const sg_error_names[SG_ERR__MAX];
extern const char *const sg_counter_names[SG_CNT__MAX];
/* Why a source is banned (enum sg_ban_reason): "manual", "contain", "auth_failures", ... */
extern const char *const sg_ban_reason_names[SG_BAN__MAX];
const char *sg_ban_reason_name(__u32 reason);

const char *sg_mode_name(__u32 mode);
const char *sg_setter_name(__u32 setter);

/* XDP_ATTACHED_*: "native", "generic", "offload", "none". */
const char *sg_xdp_mode_name(__u32 mode);

/* "600/min"-style: the largest unit that keeps the rate a whole number. */
char *sg_format_rate(__u64 per_hour, char *buf, size_t len);

/* "1h30m"-style, whole seconds. */
char *sg_format_duration(__u64 ns, char *buf, size_t len);

/* IPv4-mapped addresses print as IPv4. */
char *sg_format_addr(const __u32 addr[4], char *buf, size_t len);

/* A ban's prefix as the ban command takes it: "203.0.113.0/24", "2001:db8::/32". */
char *sg_format_cidr(const struct sg_ban_key *key, char *buf, size_t len);

struct sg_top_row {
	__u32 uid;
	int no_socket; /* egress traffic with no owning socket: uid is the overflow uid */
	char user[64]; /* "" when the UID has no passwd entry */
	__u64 attempts;
	__u64 allowed;
	__u64 denied;
	__u64 egress_syns;
	int has_policy; /* the UID's own unexpired policy */
	struct sg_policy policy;
};

/* Busiest first: attempts, then egress SYNs, then UID. */
void sg_top_sort(struct sg_top_row *rows, size_t n);
json_t *sg_top_json(const struct sg_top_row *rows, size_t n, __u64 now);
void sg_top_print(FILE *f, const struct sg_top_row *rows, size_t n, __u64 now);

struct sg_status_hook {
	const char *name; /* connect4, connect6, sockops */
	int attached;
	__u64 cgroup_id;
	char cgroup[PATH_MAX]; /* "" when the id is not the cgroup2 root's */
};

struct sg_status_map {
	const char *name;
	int entries; /* -1: not countable (arrays, ring buffer) */
	__u32 capacity;
};

struct sg_status_port {
	__u32 port;
	struct sg_port v;
};

struct sg_status {
	char pin_dir[PATH_MAX];
	struct sg_status_hook hooks[3];
	size_t n_hooks;
	struct sg_iface ifaces[SG_MAX_IFACES];
	struct sg_iface_key iface_keys[SG_MAX_IFACES];
	size_t n_ifaces;
	__u64 netns; /* the namespace status runs in */
	struct sg_status_map maps[16];
	size_t n_maps;
	struct sg_status_port ports[SG_MAX_PORTS];
	size_t n_ports;
	struct sg_policy default_policy;
	__u32 policies[3]; /* unexpired per-UID policies by mode */
	__u64 errors[SG_ERR__MAX];
	__u64 counters[SG_CNT__MAX];
};

json_t *sg_status_json(const struct sg_status *st);
void sg_status_print(FILE *f, const struct sg_status *st);

/*
 * Failing closed: a throttled user's connect() refused because there was
 * no room for its token bucket (sg_buckets full), or UIDs left uncounted,
 * so absent from top (sg_uid_stats full). status and top say it first;
 * status --json has it as "fail_closed" (null when neither happened).
 * Prints nothing and returns 0 when neither happened, else 1.
 */
int sg_fail_closed_print(FILE *f, const struct sg_status *st);
json_t *sg_fail_closed_json(const struct sg_status *st);

/*
 * A string the user or a process chose, as JSON: null for NULL or "", and
 * bytes that are not UTF-8 (which JSON cannot carry) as '?'.
 */
json_t *sg_json_text(const char *s);

/*
 * The one escape of what a customer controls (a SASL login, a recipient, a
 * process's name, command line, paths) in our output: JSON, an audit or log
 * line, a terminal, a metric label, the containment state's keys; any bytes
 * but NUL, reversibly. Printable ASCII and well-formed UTF-8 stay as they
 * are; a backslash becomes "\\", and a control byte (C0, DEL), a double
 * quote or a byte that is not part of well-formed UTF-8 becomes "\xNN"
 * (lower-case hex), a C1 control (U+0080..U+009F) its two bytes so
 * ("\xc2\x9b"). A string that needs none of that is its own escape.
 */

/* The escape of the character at c (one byte or one UTF-8 sequence): its length; *used: bytes read.
 */
#define SG_ESCAPE_CHAR_MAX 9
size_t sg_escape_char(const char *c, char out[SG_ESCAPE_CHAR_MAX], size_t *used);

/*
 * The escape of a whole string. SG_ESCAPED_LEN(n) is the room for the
 * escape of n bytes. Returns the escape's length, or -ENOSPC with buf
 * (len > 0) holding as much of it as fits, whole escapes only.
 */
#define SG_ESCAPED_LEN(n) (4 * (n) + 1)
int sg_escape_id(const char *id, char *buf, size_t len);

/* The id whose escape is s; -EINVAL for a backslash that is neither escape, or "\x00". */
int sg_unescape_id(const char *s, char *buf, size_t len);

/* s for a terminal: its escape, cut to whole escapes that fit in len; returns buf. */
char *sg_printable(const char *s, char *buf, size_t len);

/*
 * s as one field value of a log line ("key=VALUE"): its escape, in double
 * quotes when empty, holding a space or not its own escape, so that no value
 * forges a field or a line; cut to whole escapes that fit in len. Returns buf.
 */
char *sg_log_value(const char *s, char *buf, size_t len);

/* s percent-encoded for a URL's query string; -ENAMETOOLONG when it does not fit in len. */
int sg_query_escape(const char *s, char *out, size_t len);

/* Print a JSON value to f followed by a newline; -EIO on failure. */
int sg_json_print(FILE *f, json_t *v);

#endif
