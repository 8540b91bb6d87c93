// SPDX-License-Identifier: GPL-2.0
/*
 * The config file, parsed by inih through a line reader of our own. inih as
 * Debian builds it reports only the number of the first bad line, never
 * shows the handler a section header, takes an indented line as the
 * continuation of the key above it (keeping any comment in it) and splits
 * lines longer than its buffer in two. So the reader counts lines, checks
 * section headers itself, refuses indented continuations and long lines,
 * and notices a line inih rejected by the handler not being called for it.
 * The first error stops the parse: the reader returns EOF.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ini.h>

#include "core/config_keys.h"
#include "util/log.h"
#include "util/render.h"
#include "sg_bucket.h"

static const char *const sections[] = {
	"daemon", "ports",  "policy",  "exporter", "attribution",
	"audit",  "detect", "actions", "mta",	   "bruteforce",
	"relay",  "dnsbl",  "budget",  "campaign", "crowdsec", "override NAME",
};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* Records the error in l->msg, at line, about key k (NULL: the line); returns 0 for inih. */
static int failed(struct load *l, int line, const struct key *k)
{
	if (k)
		snprintf(l->err, l->errlen, "%s:%d: [%s] %s: %s", l->path, line, k->section,
			 k->name, l->msg);
	else
		snprintf(l->err, l->errlen, "%s:%d: %s", l->path, line, l->msg);
	l->err_line = line;
	return 0;
}

static int handle(void *user, const char *section, const char *name, const char *value)
{
	struct load *l = user;
	const struct key *k = NULL;
	const char *names[N_KEYS];
	char list[512];
	int i, n = 0;

	/* Not inih's section: header() has checked it and trimmed it. */
	l->pair_line = l->lineno;
	if (!l->section) {
		bad(l, "'%s' comes before any [section]", name);
		return failed(l, l->lineno, NULL);
	}
	for (i = 0; i < N_KEYS && !k; i++)
		if (!strcmp(sg_cfg_keys[i].section, l->section) &&
		    !strcmp(sg_cfg_keys[i].name, name))
			k = &sg_cfg_keys[i];
	if (!k) {
		for (i = 0; i < N_KEYS; i++)
			if (!strcmp(sg_cfg_keys[i].section, l->section))
				names[n++] = sg_cfg_keys[i].name;
		bad(l, "[%s] unknown key '%s' (expected %s)", l->section, name,
		    sg_cfg_join(names, n, "", "", list, sizeof(list)));
		return failed(l, l->lineno, NULL);
	}
	l->prev = k;
	if (l->seen[k - sg_cfg_keys]) {
		bad(l, "given twice (first on line %d)", l->seen[k - sg_cfg_keys]);
		return failed(l, l->lineno, k);
	}
	l->seen[k - sg_cfg_keys] = l->lineno;
	if (l->ov)
		l->ov->given |= 1U << (k - &sg_cfg_keys[KEY_O_FIRST]);
	if (!*value && !(k->flags & EMPTY)) {
		bad(l, "no value");
		return failed(l, l->lineno, k);
	}
	return k->parse(l, k, value) ? failed(l, l->lineno, k) : 1;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* "[override NAME]": a new override, named once; its keys may be given again. */
static int override_header(struct load *l, const char *name)
{
	struct sg_config *c = l->c;
	struct sg_override *o;
	int i;

	if (!*name || strpbrk(name, " \t")) {
		bad(l,
		    "expected [override NAME], NAME a user, a UID, sasl:LOGIN or an address, got "
		    "[override %s]",
		    name);
		return failed(l, l->lineno, NULL);
	}
	for (i = 0; i < c->n_overrides; i++) {
		if (!strcmp(c->overrides[i].name, name)) {
			bad(l, "[override %s] given twice (first on line %d)", name,
			    c->overrides[i].line);
			return failed(l, l->lineno, NULL);
		}
	}
	if (c->n_overrides == SG_MAX_OVERRIDES || strlen(name) >= sizeof(o->name)) {
		bad(l,
		    c->n_overrides == SG_MAX_OVERRIDES ? "more than %d overrides"
						       : "override name longer than 63 characters",
		    SG_MAX_OVERRIDES);
		return failed(l, l->lineno, NULL);
	}
	o = &c->overrides[c->n_overrides++];
	memset(o, 0, sizeof(*o));
	strcpy(o->name, name);
	o->line = l->lineno;
	for (i = KEY_O_FIRST; i < N_KEYS; i++)
		l->seen[i] = 0;
	l->section = "override";
	l->ov = o;
	l->prev = NULL;
	return 1;
}

/* A "[name]" line: the name must be known. */
static int header(struct load *l, char *s)
{
	char *end = strchr(s, ']'), list[256];
	size_t i;

	if (!end) {
		bad(l, "section header without ']': '%s'", s);
		return failed(l, l->lineno, NULL);
	}
	*end = '\0';
	s = trim(s + 1);
	l->ov = NULL;
	if (!strncmp(s, "override", 8) && (!s[8] || isspace((unsigned char)s[8])))
		return override_header(l, trim(s + 8));
	for (i = 0; i < N_SECTIONS; i++) {
		if (!strcmp(s, sections[i])) {
			l->section = sections[i];
			l->prev = NULL;
			return 1;
		}
	}
	bad(l, "unknown section [%s] (expected %s)", s,
	    sg_cfg_join(sections, N_SECTIONS, "[", "]", list, sizeof(list)));
	return failed(l, l->lineno, NULL);
}

/* Classifies the line in l->buf as inih will see it; 0 when it is an error. */
static int classify(struct load *l)
{
	char *p = l->buf, *s;

	if (l->lineno == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	s = trim(p);
	l->text = s;
	l->want_pair = 0;
	if (!*s || strchr(";#", *s))
		return 1;
	if (s > p && l->prev) {
		bad(l,
		    "continued on an indented line ('%s'); put the value on one line, "
		    "without indentation",
		    s);
		return failed(l, l->lineno, l->prev);
	}
	if (*s == '[')
		return header(l, s);
	l->want_pair = 1;
	return 1;
}

/*
 * The next line into l->buf, newline included, reading at most num - 1
 * bytes of it: a longer line is refused before the rest is read, as is a
 * NUL byte, which inih would end the line at, and a file larger than
 * SG_CONFIG_MAX_BYTES. Its length; 0 at the end; -1 on an error.
 */
static ssize_t get_line(struct load *l, int num)
{
	size_t n = 0;
	int ch = 0, nul = 0;
	char *p;

	if (l->cap < (size_t)num) {
		p = realloc(l->buf, (size_t)num);
		if (!p) {
			l->read_err = ENOMEM;
			return -1;
		}
		l->buf = p;
		l->cap = (size_t)num;
	}
	while (n < (size_t)num - 1 && ch != '\n' && (ch = getc(l->f)) != EOF) {
		l->buf[n++] = (char)ch;
		nul |= !ch;
	}
	l->buf[n] = '\0';
	if (ch == EOF && ferror(l->f)) {
		l->read_err = errno ? errno : EIO;
		return -1;
	}
	if (!n)
		return 0;
	l->lineno++;
	l->bytes += n;
	if (l->bytes > SG_CONFIG_MAX_BYTES)
		bad(l, "the file is larger than %d bytes", SG_CONFIG_MAX_BYTES);
	else if (nul)
		bad(l, "a NUL byte in the line");
	/* inih would split a line that does not fit its buffer with the newline. */
	else if (n == (size_t)num - 1 && l->buf[n - 1] != '\n')
		bad(l, "line longer than %d characters", num - 2);
	else
		return (ssize_t)n;
	failed(l, l->lineno, NULL);
	return -1;
}

static char *read_line(char *str, int num, void *stream)
{
	struct load *l = stream;
	ssize_t len;

	if (l->err_line)
		return NULL;
	/* inih calls the handler for every key = value line it accepts. */
	if (l->want_pair && l->pair_line != l->lineno) {
		if (l->section)
			bad(l, "[%s] expected 'key = value', got '%s'", l->section, l->text);
		else
			bad(l, "expected '[section]' or 'key = value', got '%s'", l->text);
		failed(l, l->lineno, NULL);
		return NULL;
	}
	len = get_line(l, num);
	if (len <= 0)
		return NULL;
	memcpy(str, l->buf, (size_t)len + 1);
	return classify(l) ? str : NULL;
}

/* Of two keys that go together, the one given last: where an error shows. */
static int later(const struct load *l, int a, int b)
{
	return l->seen[a] > l->seen[b] ? a : b;
}

static void failed_key(struct load *l, int key)
{
	failed(l, l->seen[key], &sg_cfg_keys[key]);
}

/* What no single line shows: how rate and burst go with the default mode. */
static void check_policy(struct load *l)
{
	struct sg_policy *p = &l->c->policy.def;
	int i;

	/* With no rate given, the built-in one stands, with its burst. */
	if (p->mode == SG_MODE_THROTTLE) {
		if (l->seen[KEY_policy_rate] && !l->seen[KEY_policy_burst])
			p->burst = sg_bucket_default_burst(p->rate_per_hour);
		return;
	}
	p->rate_per_hour = 0;
	p->burst = 0;
	for (i = KEY_policy_rate; i <= KEY_policy_burst; i++) {
		if (l->seen[i]) {
			bad(l, "only for default = throttle (the default here is %s)",
			    sg_mode_name(p->mode));
			failed_key(l, i);
			return;
		}
	}
}

/* The kernel's sg_ports holds SG_MAX_PORTS ports, outbound and inbound together. */
static void check_ports(struct load *l)
{
	const struct sg_ports_cfg *p = &l->c->ports;
	int i, j, n = p->n_outbound;

	for (i = 0; i < p->n_inbound; i++) {
		for (j = 0; j < p->n_outbound && p->outbound[j] != p->inbound[i]; j++)
			;
		n += j == p->n_outbound;
	}
	if (n <= SG_MAX_PORTS)
		return;
	bad(l, "%d distinct ports in outbound and inbound together; at most %d", n, SG_MAX_PORTS);
	failed_key(l, later(l, KEY_ports_inbound, KEY_ports_outbound));
}

/* [crowdsec]: the keys that come in pairs, said at the second one's line. */
static void check_crowdsec(struct load *l)
{
	const struct sg_crowdsec_cfg *c = &l->c->crowdsec;

	if (*c->api_key && *c->api_key_file) {
		bad(l, "[crowdsec] api_key and api_key_file: one of them, not both");
		failed_key(l, later(l, KEY_crowdsec_api_key, KEY_crowdsec_api_key_file));
	} else if (*c->url && !*c->api_key && !*c->api_key_file) {
		bad(l, "[crowdsec] url needs api_key_file (or api_key): the bouncer's key");
		failed_key(l, KEY_crowdsec_url);
	} else if (!*c->cert_file != !*c->key_file) {
		bad(l, "[crowdsec] cert_file and key_file go together");
		failed_key(l, later(l, KEY_crowdsec_cert_file, KEY_crowdsec_key_file));
	} else if (!*c->machine_id != !*c->password_file) {
		bad(l, "[crowdsec] machine_id and password_file go together");
		failed_key(l, later(l, KEY_crowdsec_machine_id, KEY_crowdsec_password_file));
	}
}

/* [bruteforce]: the keys that depend on one another, or on [ports]. */
static void check_bruteforce(struct load *l)
{
	const struct sg_bruteforce_cfg *b = &l->c->bruteforce;
	const struct sg_ports_cfg *p = &l->c->ports;
	int i, j;

	/* XDP counts a source's SYNs on inbound ports only; the default's are left out quietly. */
	for (i = 0; l->seen[KEY_bruteforce_syn_ports] && i < b->n_syn_ports; i++) {
		for (j = 0; j < p->n_inbound && p->inbound[j] != b->syn_ports[i]; j++)
			;
		if (j == p->n_inbound) {
			bad(l, "[bruteforce] syn_ports has %u, which is not in [ports] inbound",
			    b->syn_ports[i]);
			failed(l, l->seen[later(l, KEY_ports_inbound, KEY_bruteforce_syn_ports)],
			       NULL);
			return;
		}
	}
	if (b->distributed > SG_MAX_DISTRIBUTED) {
		bad(l, "at most %d", SG_MAX_DISTRIBUTED);
		failed_key(l, KEY_bruteforce_distributed);
		return;
	}
	if (b->ipv6_prefix < SG_IPV6_PREFIX_MIN) {
		bad(l, "%u is broader than a /%d, the shortest a provider gives one site",
		    b->ipv6_prefix, SG_IPV6_PREFIX_MIN);
		failed_key(l, KEY_bruteforce_ipv6_prefix);
		return;
	}
	if (b->ban_max_ns < b->ban_ns) {
		bad(l, "ban_max is shorter than ban");
		failed_key(l, later(l, KEY_bruteforce_ban_max, KEY_bruteforce_ban));
	}
}

/* An override's thresholds are [detect]'s but for the keys it gives, wherever [detect] is. */
static void merge_overrides(struct load *l)
{
	struct sg_config *c = l->c;
	struct sg_override *o;
	const struct key *k;
	int i;

	for (o = c->overrides; o < c->overrides + c->n_overrides; o++) {
		for (i = KEY_O_FIRST; i < N_KEYS; i++) {
			k = &sg_cfg_keys[i];
			if (k->off >= OV(t) && k->off < OV(t) + OV_SIZE(t) &&
			    !(o->given & (1U << (i - KEY_O_FIRST))))
				memcpy((char *)o + k->off,
				       (char *)&c->detect.thresholds + k->off - OV(t), k->size);
		}
		if (o->given & (1U << (KEY_override_burst - KEY_O_FIRST)) &&
		    o->limit.mode != SG_MODE_THROTTLE) {
			bad(l, "[override %s] burst needs a rate in 'limit'", o->name);
			failed(l, o->line, NULL);
			return;
		}
	}
}

int sg_config_load(const char *path, struct sg_config *c, char *err, size_t errlen)
{
	struct load l = { .path = path, .err = err, .errlen = errlen };
	int ret;

	l.c = malloc(sizeof(*l.c));
	if (!l.c) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	l.f = fopen(path, "re");
	if (!l.f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		free(l.c);
		return ret;
	}
	sg_config_default(l.c);
	ret = ini_parse_stream(read_line, &l, handle, &l);
	if (l.read_err) {
		snprintf(err, errlen, "%s: %s", path, strerror(l.read_err));
		ret = -l.read_err;
	} else {
		/* The reader sees every error inih reports; this is in case it missed one. */
		if (ret && !l.err_line) {
			bad(&l, "cannot parse this line");
			failed(&l, ret > 0 ? ret : l.lineno, NULL);
		}
		if (!l.err_line)
			check_policy(&l);
		if (!l.err_line)
			check_ports(&l);
		if (!l.err_line)
			check_bruteforce(&l);
		if (!l.err_line)
			check_crowdsec(&l);
		if (!l.err_line)
			merge_overrides(&l);
		ret = l.err_line ? -EINVAL : 0;
	}
	if (!ret)
		memcpy(c, l.c, sizeof(*c));
	fclose(l.f);
	free(l.buf);
	free(l.c);
	return ret;
}

void sg_config_env(struct sg_config *c)
{
	const char *log = getenv("SMTPGUARD_AUDIT_LOG");

	if (log && *log)
		snprintf(c->audit.path, sizeof(c->audit.path), "%s", log);
}

void sg_config_cli(struct sg_config *c)
{
	const char *path = getenv("SMTPGUARD_CONFIG");
	char err[PATH_MAX + 256];

	if (!path || !*path)
		path = SG_CONFIG_PATH;
	/* On failure c keeps the defaults: a broken config must not stop an emergency command. */
	sg_config_default(c);
	if (!access(path, F_OK) && sg_config_load(path, c, err, sizeof(err)))
		sg_warn("warning: %s; going on with the default settings", err);
	sg_config_env(c);
}
