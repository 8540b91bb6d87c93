// SPDX-License-Identifier: GPL-2.0
/* Failed writes of a file, counted and told once per streak; see writefail.h. */
#include <string.h>

#include "util/log.h"
#include "util/writefail.h"

void sg_write_note(struct sg_write_fail *w, const char *what, int err)
{
	if (!err) {
		if (w->streak)
			sg_info("writing %s works again, after %llu failed writes", what,
				(unsigned long long)w->streak);
		w->streak = 0;
		return;
	}
	w->errors++;
	if (!w->streak++)
		sg_error("writing %s: %s; what depends on it goes on, this is told again "
			 "when a write works",
			 what, strerror(-err));
}
