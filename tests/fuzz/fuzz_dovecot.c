// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: sg_mta_parse_dovecot and sg_mta_parse(SG_MTA_NONE), which reads only Dovecot
 * lines, on any bytes; see fuzz_line.h. */
#define FUZZ_PARSER sg_mta_parse_dovecot
#define FUZZ_TYPE   SG_MTA_NONE
#include "fuzz_line.h"
