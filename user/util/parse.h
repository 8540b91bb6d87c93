/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsers of what administrators type: rates, durations, CIDRs, UIDs.
 * Pure functions: 0 on success; on failure -EINVAL or -ERANGE and *why
 * names the problem in words fit for an error message.
 */
#ifndef SG_PARSE_H
#define SG_PARSE_H

#include <linux/types.h>

#include "smtpguard.h"

/* "N/s", "N/min" or "N/h" (also "N/sec", "N/m", "N/hour") into connections per hour. */
int sg_parse_rate(const char *s, __u64 *per_hour, const char **why);

/*
 * "90s", "15m", "2h", "1d", "1h30m" into nanoseconds; more than zero, at most a year. Every
 * number has its unit, and each unit comes once, largest first: "5" and "1h1h" are refused.
 */
int sg_parse_duration(const char *s, __u64 *ns, const char **why);

/* A positive integer no greater than max. */
int sg_parse_count(const char *s, __u32 max, __u32 *out, const char **why);

/* "198.51.100.0/24", "2001:db8::/32", or a bare address (a host prefix). IPv4 is stored mapped. */
int sg_parse_cidr(const char *s, struct sg_ban_key *key, const char **why);

/* addr (16 bytes, IPv4 mapped) is inside the prefix net. */
int sg_cidr_contains(const struct sg_ban_key *net, const __u32 addr[4]);

/* addr is inside one of the n prefixes nets. */
int sg_cidr_list_contains(const struct sg_ban_key *nets, int n, const __u32 addr[4]);

/* A decimal UID (0 to 4294967294). */
int sg_parse_uid(const char *s, __u32 *uid, const char **why);

#endif
