/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns a TCP connection made on this host to a watched port on this
 * host (a script talking SMTP to 127.0.0.1:25): sock_ops records, as the
 * connection is made, its four-tuple and the UID, PID and command of the
 * connect() (sg_local_conns, an LRU map). The policy service joins a
 * request's client address and port (and the server's) with it, exactly:
 * two live connections never share a four-tuple. Functions return -errno.
 */
#ifndef SG_LOCALCONN_H
#define SG_LOCALCONN_H

#include <linux/types.h>

#include "smtpguard.h"

/*
 * The owner of the connection from client_ip:client_port to
 * server_ip:server_port (numeric, v4 or v6), looked up in the map at
 * map_fd: -ENOENT when none is recorded (not made from this host, or
 * evicted), -EINVAL on an address that does not parse.
 */
int sg_localconn_owner(int map_fd, const char *client_ip, int client_port, const char *server_ip,
		       int server_port, struct sg_local_owner *out);
#endif
