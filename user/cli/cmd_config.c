// SPDX-License-Identifier: GPL-2.0
/* check-config: whether the daemon would accept a config file. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/webconfig.h"

static int run_check_config(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	/* Static: some 90 KiB of paths. */
	static struct sg_config c;
	static struct sg_webconfig web;
	const char *path = getenv("SMTPGUARD_CONFIG");
	char err[PATH_MAX + 512];

	if (n_args)
		path = args[0];
	else if (!path || !*path)
		path = SG_CONFIG_PATH;

	if (sg_config_load(path, &c, err, sizeof(err)))
		return sg_fail("%s", err);
	if (*c.exporter.web_config &&
	    sg_webconfig_load(c.exporter.web_config, &web, err, sizeof(err)))
		return sg_fail("%s", err);
	printf("%s: ok\n", path);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_check_config = {
	.name = "check-config",
	.summary = "check a config file as the daemon would read it",
	.usage = "usage: smtpguard check-config [FILE]\n"
		 "  Reads FILE (default: $SMTPGUARD_CONFIG, else " SG_CONFIG_PATH ")\n"
		 "  as 'smtpguard run' and SIGHUP do, and prints 'FILE: ok', or the first\n"
		 "  error as FILE:LINE: message; the same for its [exporter] web_config.\n"
		 "  Changes nothing; needs no privileges beyond reading them.\n",
	.max_args = 1,
	.run = run_check_config,
};
