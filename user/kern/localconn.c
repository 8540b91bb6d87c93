// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "kern/localconn.h"
#include "util/parse.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

/* A bare numeric address (no prefix), IPv4 mapped as in the map's keys. */
static int parse_addr(const char *s, __u32 addr[4])
{
	struct sg_ban_key k;
	const char *why;

	if (!s || strchr(s, '/') || sg_parse_cidr(s, &k, &why))
		return -EINVAL;
	memcpy(addr, k.addr, sizeof(k.addr));
	return 0;
}

/*
 * The cookie of our own network namespace, which is the MTA's (the daemon
 * runs beside it), so that a namespace someone made cannot stand in for it.
 */
static int netns_cookie(__u64 *out)
{
	socklen_t len = sizeof(*out);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, out, &len))
		err = errno == ENOPROTOOPT ? -EOPNOTSUPP : -errno;
	close(fd);
	return err;
}

int sg_localconn_owner(int map_fd, const char *client_ip, int client_port, const char *server_ip,
		       int server_port, struct sg_local_owner *out)
{
	struct sg_local_conn_key key;
	int err;

	memset(&key, 0, sizeof(key));
	if (client_port < 1 || client_port > 65535 || server_port < 1 || server_port > 65535 ||
	    parse_addr(client_ip, key.client) || parse_addr(server_ip, key.server))
		return -EINVAL;
	key.client_port = client_port;
	key.server_port = server_port;
	err = netns_cookie(&key.netns);
	if (err)
		return err;
	return bpf_map_lookup_elem(map_fd, &key, out) ? -errno : 0;
}
