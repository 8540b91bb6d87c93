// SPDX-License-Identifier: GPL-2.0
/*
 * sg_config_keys: every key of the config table (user/core/config_keys.h,
 * the one the loader reads), one a line, tab-separated: section, name and
 * the built-in default as the file gives it ("-" for [override NAME]'s,
 * which have none). tests/man/run.sh checks smtpguard.conf(5) against it.
 */
#include <stdio.h>

#include "core/config_keys.h"

int main(void)
{
	int i;

	for (i = 0; i < N_KEYS; i++)
		printf("%s\t%s\t%s\n", sg_cfg_keys[i].section, sg_cfg_keys[i].name,
		       sg_cfg_keys[i].def ? sg_cfg_keys[i].def : "-");
	return 0;
}
