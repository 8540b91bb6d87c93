// SPDX-License-Identifier: GPL-2.0
/* The daemon's mail objects for a unit test: see mailfix.h. */
#include <stdio.h>
#include <stdlib.h>

#include "mailfix.h"

int mail_fixture_open(struct mail_fixture *fx, struct sg_mailguard *mail, const char *name,
		      time_t now)
{
	struct sg_config *c = &fx->cfg;

	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/%s.XXXXXX", name);
	if (!mkdtemp(fx->tmp))
		return -1;
	sg_config_default(c);
	c->mta.type = SG_MTA_NONE;
	c->mta.ban_ns = 0; /* no sg_bans here */
	snprintf(c->mta.contained_path, sizeof(c->mta.contained_path), "%s/contained.json",
		 fx->tmp);
	snprintf(c->audit.path, sizeof(c->audit.path), "%s/audit.log", fx->tmp);
	c->audit.syslog = 0;
	c->bruteforce.state[0] = '\0';
	fx->store = sg_baselines_new();
	fx->det = fx->store ? sg_detector_new(fx->store) : NULL;
	fx->resp = sg_responder_new();
	if (!fx->det || !fx->resp || sg_defence_init(&fx->defence, &c->bruteforce, now) ||
	    sg_mailguard_init(mail, c, fx->det, fx->resp, &fx->defence))
		return -1;
	sg_respond_resolve(fx->resp, c, 0);
	return 0;
}

int mail_fixture_close(struct mail_fixture *fx, struct sg_mailguard *mail)
{
	char cmd[128];

	sg_mailguard_free(mail);
	sg_responder_free(fx->resp);
	sg_defence_free(&fx->defence);
	sg_detector_free(fx->det);
	sg_baselines_free(fx->store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->tmp);
	return system(cmd) ? -1 : 0;
}
