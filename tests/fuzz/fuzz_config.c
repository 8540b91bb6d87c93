// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: sg_config_load (inih behind our line reader, and every key's
 * parser) on any bytes, as a file. Invariants: no crash and no leak
 * (ASan); accepted, or refused with -EINVAL and a message that names the
 * file and a line of it, "FILE:N: ...", N from 1 to the file's lines + 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static int fd = -1;
static char path[64];
static struct sg_config *cfg;

/* The number the message gives after "FILE:"; 0 when there is none. */
static long line_of(const char *err)
{
	size_t len = strlen(path);
	char *end;
	long n;

	if (strncmp(err, path, len) || err[len] != ':')
		return 0;
	n = strtol(err + len + 1, &end, 10);
	return end > err + len + 1 && !strncmp(end, ": ", 2) ? n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	long lines = 1;
	size_t i;
	int ret;

	if (fd < 0) {
		fd = memfd_create("fuzz_config", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		cfg = malloc(sizeof(*cfg));
		CHECK(cfg);
	}
	CHECK(!ftruncate(fd, 0));
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	ret = sg_config_load(path, cfg, err, sizeof(err));
	CHECK(!ret || ret == -EINVAL);
	if (ret)
		CHECK(line_of(err) >= 1 && line_of(err) <= lines);
	return 0;
}
