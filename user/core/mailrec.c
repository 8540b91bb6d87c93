// SPDX-License-Identifier: GPL-2.0
/* The names of mailrec.h's enums, from their X-macros. */
#include "core/mailrec.h"

#define X(e, s) [e] = s,
const char *const sg_mta_event_names[] = { SG_MTA_EVENTS(X) };
const char *const sg_mta_outcome_names[] = { SG_MTA_OUTCOMES(X) };
const char *const sg_mta_type_names[] = { SG_MTA_TYPES(X) };
#undef X
