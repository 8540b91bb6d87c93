/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Asking the running daemon: a GET on its root-only control socket ([exporter] control),
 * for the CLI's views that only the daemon has (explain's rates and rules,
 * top --accounts).
 */
#ifndef SG_ASK_H
#define SG_ASK_H

#include <stddef.h>
#include <jansson.h>

#include "core/config.h"

/*
 * GET path_and_query ("/explain?principal=uid:1001") of the daemon's
 * exporter: the JSON it answers with, or NULL with why set and errno
 * telling why: ENOENT when the daemon answered 404 (it does not know what
 * was asked of it), ECONNREFUSED when it could not be reached or asked
 * (not running, not root, timed out), EPROTO when its answer
 * was not what was expected, ENOMEM.
 */
json_t *sg_ask_daemon(const struct sg_config *c, const char *path_and_query, char *why,
		      size_t whylen);

#endif
