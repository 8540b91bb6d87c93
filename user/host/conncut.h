/* SPDX-License-Identifier: GPL-2.0 */
/* Cutting a UID's open SMTP connections (conncut.c). */
#ifndef SG_CONNCUT_H
#define SG_CONNCUT_H

#include <linux/types.h>

/*
 * Destroys, through sock_diag's SOCK_DESTROY (as `ss -K` does), every TCP
 * connection owned by uid in this network namespace, IPv4 and IPv6, being
 * opened or open or with data still to send, to a port set in watched
 * (SG_PORT_BITS, kern/maps.h; NULL: sg_ports's outbound ports, and with
 * [ports] detect_any the destinations of the UID's sg_smtp entries). Each
 * socket's owner is read again, by its cookie, right before it is
 * destroyed. Needs CAP_NET_ADMIN. Returns how many were cut, or -errno
 * when none was and something failed.
 */
int sg_cut_connections(__u32 uid, const __u8 *watched);

#endif
