// SPDX-License-Identifier: GPL-2.0
/*
 * The policy service in the daemon: the socket the MTA asks (policysrv.h)
 * with the in-band judge (inband.h) behind it, on the daemon's one loop.
 * The judge lives as long as the daemon, so a reload keeps every budget
 * and every message waiting for hold_grace; the socket is made again
 * only when the reload names another. Without it (no MTA, [mta]
 * policy_socket = none, or the socket cannot be made) the mail view still
 * runs on the logs, and says so.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "daemon/inband.h"
#include "daemon/run.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "mail/policypeer.h"
#include "util/log.h"

static enum sg_policy_verdict judge(void *ctx, const struct sg_policy_req *req, char *why,
				    size_t len)
{
	struct daemon *d = ctx;

	return sg_inband_judge(d->inband, d->cfg, &d->audit, req, time(NULL), sg_boot_ns(), why,
			       len);
}

/* The socket c names for the daemon's MTA, served and in the loop; -errno, logged. */
static int open_socket(struct daemon *d, const struct sg_config *c)
{
	const char *path = sg_policy_socket(c->mta.policy_socket, d->mail.type);
	struct sg_policysrv_opts o = { .judge = judge, .ctx = d, .group = (gid_t)-1 };
	uid_t uid;
	int err;

	if (!path)
		return 0;
	err = sg_policy_peer(c, d->mail.type, &uid, &o.group);
	if (err) {
		sg_error("policy service: the %s user: %s", sg_mta_type_names[d->mail.type],
			 strerror(-err));
		return err;
	}
	o.path = path;
	o.uids = &uid;
	o.n_uids = 1;
	err = sg_policysrv_open(&o, &d->policy);
	if (!err)
		err = sg_daemon_watch(d, sg_policysrv_fd(d->policy), SRC_POLICY);
	if (err) {
		sg_error("policy service at %s: %s", path, strerror(-err));
		sg_policysrv_close(d->policy);
		d->policy = NULL;
		return err;
	}
	snprintf(d->policy_path, sizeof(d->policy_path), "%s", path);
	sg_info("policy service at %s, for %s (uid %u) and root", path,
		sg_mta_type_names[d->mail.type], (unsigned)uid);
	return 0;
}

int sg_daemon_policy_start(struct daemon *d)
{
	if (d->mail.type == SG_MTA_NONE)
		return 0;
	d->inband = sg_inband_new(&d->mail, d->cfg);
	if (!d->inband)
		return -ENOMEM;
	d->conns_fd = sg_pin_open(SG_MAP_LOCAL_CONNS);
	if (d->conns_fd < 0)
		sg_warn("policy service: %s: %s; local SMTP clients are judged as local:unknown",
			SG_MAP_LOCAL_CONNS, strerror(-d->conns_fd));
	sg_inband_set_conns(d->inband, d->conns_fd);
	/* A socket that cannot be made leaves the logs' view: said, not fatal. */
	if (open_socket(d, d->cfg))
		sg_warn("policy service: off; mail is judged from the logs only");
	return 0;
}

/* The new socket is made before the old one goes: a bad path leaves the MTA served. */
void sg_daemon_policy_reload(struct daemon *d)
{
	struct sg_policysrv *old = d->policy;
	const char *path;

	if (!d->inband)
		return;
	path = sg_policy_socket(d->cfg->mta.policy_socket, d->mail.type);
	if (old && path && !strcmp(path, d->policy_path))
		return;
	d->policy = NULL;
	if (path && open_socket(d, d->cfg)) {
		d->policy = old;
		if (old)
			sg_warn("policy service: still at %s", d->policy_path);
		else
			sg_warn("policy service: off; mail is judged from the logs only");
		return;
	}
	sg_policysrv_close(old);
	if (!path)
		d->policy_path[0] = '\0';
}

void sg_daemon_policy_run(struct daemon *d)
{
	if (d->policy)
		sg_policysrv_run(d->policy, sg_boot_ns());
}

void sg_daemon_policy_contain(struct daemon *d)
{
	if (d->inband)
		sg_inband_contain_pending(d->inband, d->cfg, &d->audit, time(NULL));
}

void sg_daemon_policy_tick(struct daemon *d, __u64 now)
{
	if (!d->inband)
		return;
	if (d->policy)
		sg_policysrv_expire(d->policy, sg_boot_ns());
	sg_inband_tick(d->inband, d->cfg, &d->audit, time(NULL), now);
}

void sg_daemon_policy_reopen(struct daemon *d)
{
	if (!d->inband)
		return;
	if (d->conns_fd >= 0)
		close(d->conns_fd);
	d->conns_fd = sg_pin_open(SG_MAP_LOCAL_CONNS);
	sg_inband_set_conns(d->inband, d->conns_fd);
}

void sg_daemon_policy_stop(struct daemon *d)
{
	sg_policysrv_close(d->policy);
	d->policy = NULL;
	sg_inband_free(d->inband);
	d->inband = NULL;
	if (d->conns_fd >= 0)
		close(d->conns_fd);
	d->conns_fd = -1;
}
