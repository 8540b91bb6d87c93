// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: sg_mta_parse_postfix and sg_mta_parse(SG_MTA_POSTFIX) on any bytes; see fuzz_line.h. */
#define FUZZ_PARSER sg_mta_parse_postfix
#define FUZZ_TYPE   SG_MTA_POSTFIX
#include "fuzz_line.h"
