// SPDX-License-Identifier: GPL-2.0
/*
 * Loads each BPF object given and prints, per program, what the running
 * kernel's verifier says it cost, then the object's result:
 *   insns OBJECT PROGRAM PROCESSED LIMIT
 *   load OBJECT ok|fail
 * The counts come from the verifier's own statistics line ("processed N
 * insns (limit L)"), which every kernel since 5.2 writes at log level 4;
 * bpf_prog_info's verified_insns would only cover 5.16 and later. When an
 * object is refused, it is loaded again at log level 1 and the log's end,
 * which names the instruction and the reason, comes before its load line.
 *
 * Usage: sg_verify PIN_DIR OBJECT.bpf.o...   (maps pinned by name go in PIN_DIR)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

/* Stats alone are a few lines; a level 1 log of a refused program can be long. */
#define STATS_LOG  (64 * 1024)
#define FULL_LOG   (16 * 1024 * 1024)
#define FAIL_LINES 30

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* The object's name: its file name without .bpf.o. */
static const char *base(const char *path)
{
	static char name[256];
	const char *s = strrchr(path, '/');
	char *dot;

	snprintf(name, sizeof(name), "%s", s ? s + 1 : path);
	dot = strstr(name, ".bpf.o");
	if (dot)
		*dot = '\0';
	return name;
}

static struct bpf_object *open_obj(const char *path, const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct bpf_object *obj = bpf_object__open_file(path, &opts);

	if (!obj)
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
	return obj;
}

/* Once refused: the same object at log level 1, for the verifier's reason. */
static void explain(const char *path, const char *pin_dir)
{
	struct bpf_object *obj = open_obj(path, pin_dir);
	struct bpf_program *prog;
	char *log = calloc(1, FULL_LOG);
	int lines = 0;
	size_t len;

	if (!obj || !log)
		goto out;
	bpf_object__for_each_program (prog, obj) {
		bpf_program__set_log_level(prog, 1);
		bpf_program__set_log_buf(prog, log, FULL_LOG);
	}
	if (!bpf_object__load(obj))
		goto out;
	/* The log ends in a newline: FAIL_LINES lines start after the one before them. */
	for (len = strlen(log); len > 0 && lines <= FAIL_LINES;)
		lines += log[--len] == '\n';
	printf("verifier log of %s, last lines:\n%s", base(path), log + len + (lines > FAIL_LINES));
out:
	free(log);
	bpf_object__close(obj);
}

static int verify(const char *path, const char *pin_dir)
{
	struct bpf_object *obj = open_obj(path, pin_dir);
	struct bpf_program *prog;
	unsigned long processed, limit;
	char logs[8][STATS_LOG], *s;
	int i = 0, err;

	if (!obj)
		return -1;
	bpf_object__for_each_program (prog, obj) {
		if (i == 8) {
			fprintf(stderr, "%s: more than 8 programs\n", path);
			bpf_object__close(obj);
			return -1;
		}
		logs[i][0] = '\0';
		bpf_program__set_log_level(prog, 4);
		bpf_program__set_log_buf(prog, logs[i++], STATS_LOG);
	}
	err = bpf_object__load(obj);
	i = 0;
	bpf_object__for_each_program (prog, obj) {
		s = strstr(logs[i++], "processed ");
		if (!err && s &&
		    sscanf(s, "processed %lu insns (limit %lu)", &processed, &limit) == 2)
			printf("insns %s %s %lu %lu\n", base(path), bpf_program__name(prog),
			       processed, limit);
	}
	bpf_object__close(obj);
	if (err)
		explain(path, pin_dir);
	printf("load %s %s\n", base(path), err ? "fail" : "ok");
	return err;
}

int main(int argc, char **argv)
{
	int i, failed = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PIN_DIR OBJECT.bpf.o...\n", argv[0]);
		return 2;
	}
	/* The libbpf warnings on stderr stay next to the object they are about. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(quiet);
	for (i = 2; i < argc; i++)
		failed |= verify(argv[i], argv[1]) != 0;
	return failed;
}
