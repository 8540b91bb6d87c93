// SPDX-License-Identifier: GPL-2.0
/*
 * A line of an MTA's log to its parser (mtalog.h): the parsers are
 * postfix_log.c, exim_log.c and dovecot_log.c, on the cursor of logline.c.
 */
#include "mail/mtalog.h"

static const struct {
	enum sg_mta_event (*parse)(const char *line, size_t len, time_t ref,
				   struct sg_mta_rec *out);
	int (*wrote)(const char *line, size_t len);
} parsers[] = {
	[SG_MTA_POSTFIX] = { sg_mta_parse_postfix, sg_mta_postfix_wrote },
	[SG_MTA_EXIM] = { sg_mta_parse_exim, sg_mta_exim_wrote },
};

#define N_PARSERS (sizeof(parsers) / sizeof(parsers[0]))

enum sg_mta_type sg_mta_writer(const char *line, size_t len)
{
	enum sg_mta_type t = SG_MTA_NONE;
	int best = 0, said;
	size_t i;

	for (i = 0; i < N_PARSERS; i++) {
		said = parsers[i].wrote ? parsers[i].wrote(line, len) : 0;
		if (said > best) {
			best = said;
			t = (enum sg_mta_type)i;
		}
	}
	return t;
}

enum sg_mta_event sg_mta_parse(enum sg_mta_type t, const char *line, size_t len, time_t ref,
			       struct sg_mta_rec *out)
{
	enum sg_mta_event ev = sg_mta_parse_dovecot(line, len, ref, out);

	if (ev != SG_MEV_NONE || (size_t)t >= N_PARSERS || !parsers[t].parse)
		return ev;
	return parsers[t].parse(line, len, ref, out);
}
