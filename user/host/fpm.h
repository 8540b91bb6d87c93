/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Asking a PHP-FPM pool what its workers run: a FastCGI request for the
 * pool's status page (pm.status_path) with ?full&json, straight to the
 * pool's socket. Functions return -errno.
 */
#ifndef SG_FPM_H
#define SG_FPM_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The script (SCRIPT_FILENAME, else the request URI) that worker pid is
 * running per the status page of the pool behind socket; -ENOENT when the
 * pool has no such worker or it is idle; timeout_ms bounds the whole exchange.
 */
int sg_fpm_script(const char *socket, const char *status_path, pid_t pid, char *script, size_t len,
		  int timeout_ms);

/*
 * Whether the unix socket at path can only be a pool root put there, so its
 * answer may name a worker's script: a socket, in a directory root owns and
 * only root can write, below directories root owns that are not writable by
 * others either, but for sticky ones (/tmp), whose entries others cannot
 * move; a directory on the way may be root's symlink (/var/run), and then
 * where it leads is held to the same. A socket where a customer could put
 * one of its own is never asked.
 */
int sg_fpm_socket_trusted(const char *path);

#endif
