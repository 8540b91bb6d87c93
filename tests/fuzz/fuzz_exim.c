// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: sg_mta_parse_exim and sg_mta_parse(SG_MTA_EXIM) on any bytes; see fuzz_line.h. */
#define FUZZ_PARSER sg_mta_parse_exim
#define FUZZ_TYPE   SG_MTA_EXIM
#include "fuzz_line.h"
