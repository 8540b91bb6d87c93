// SPDX-License-Identifier: GPL-2.0
/* libcurl opened at its first use; see curl.h. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

#include "util/curl.h"

static struct sg_curl api;
static int loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
		{ "curl_easy_init", offsetof(struct sg_curl, easy_init) },
		{ "curl_easy_setopt", offsetof(struct sg_curl, easy_setopt) },
		{ "curl_easy_perform", offsetof(struct sg_curl, easy_perform) },
		{ "curl_easy_getinfo", offsetof(struct sg_curl, easy_getinfo) },
		{ "curl_easy_cleanup", offsetof(struct sg_curl, easy_cleanup) },
		{ "curl_easy_strerror", offsetof(struct sg_curl, easy_strerror) },
		{ "curl_slist_append", offsetof(struct sg_curl, slist_append) },
		{ "curl_slist_free_all", offsetof(struct sg_curl, slist_free_all) },
	};
	void *lib = dlopen(SG_LIBCURL, RTLD_NOW | RTLD_LOCAL), *fn;
	size_t i;

	if (!lib)
		return;
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		fn = dlsym(lib, syms[i].name);
		if (!fn) {
			dlclose(lib);
			return;
		}
		*(void **)((char *)&api + syms[i].off) = fn;
	}
	loaded = 1;
}

const struct sg_curl *sg_curl(void)
{
	pthread_once(&once, load);
	if (!loaded) {
		errno = ELIBACC;
		return NULL;
	}
	return &api;
}
