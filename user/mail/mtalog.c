// SPDX-License-Identifier: GPL-2.0
/*
 * A line of an MTA's log to its parser (mtalog.h): the parsers are
 * postfix_log.c, exim_log.c and dovecot_log.c, on the cursor of logline.c.
 */
#include "mail/mtalog.h"

typedef enum sg_mta_event (*parse_fn)(const char *line, size_t len, time_t ref,
				      struct sg_mta_rec *out);

static const parse_fn parsers[] = {
	[SG_MTA_POSTFIX] = sg_mta_parse_postfix,
	[SG_MTA_EXIM] = sg_mta_parse_exim,
};

enum sg_mta_event sg_mta_parse(enum sg_mta_type t, const char *line, size_t len, time_t ref,
			       struct sg_mta_rec *out)
{
	enum sg_mta_event ev = sg_mta_parse_dovecot(line, len, ref, out);

	if (ev != SG_MEV_NONE || (size_t)t >= sizeof(parsers) / sizeof(parsers[0]) || !parsers[t])
		return ev;
	return parsers[t](line, len, ref, out);
}
