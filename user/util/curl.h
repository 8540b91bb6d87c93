/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcurl, opened at its first use rather than linked: a daemon with no
 * LAPI nor Alertmanager to talk to never maps it, nor the twenty libraries
 * it pulls in (Kerberos, LDAP, OpenSSL, ...), 3 MB of RSS. The functions
 * are libcurl's own, called through pointers.
 */
#ifndef SG_CURL_H
#define SG_CURL_H

#include <curl/curl.h>

/* The soname the headers are of: Debian's libcurl4. */
#define SG_LIBCURL "libcurl.so.4"

struct sg_curl {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};

/* libcurl's functions, loaded at the first call (thread-safe); NULL with errno ELIBACC when it
 * cannot be. */
const struct sg_curl *sg_curl(void);

#endif
