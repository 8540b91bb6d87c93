// SPDX-License-Identifier: GPL-2.0
/* The names of mailrec.h's enums, from their X-macros. */
#include "core/mailrec.h"

const char *const sg_mta_event_names[] = { SG_MTA_EVENTS(SG_ENUM_NAME) };
const char *const sg_mta_outcome_names[] = { SG_MTA_OUTCOMES(SG_ENUM_NAME) };
const char *const sg_mta_type_names[] = { SG_MTA_TYPES(SG_ENUM_NAME) };
