// SPDX-License-Identifier: GPL-2.0
/*
 * sg_thread_holder: a process whose SMTP connection only a thread other
 * than its leader shows, or that many threads show, as kill must find it
 * (and search once). A second thread connects to
 * ADDR:PORT; the process prints its pid once connected, and then, as MODE:
 *   unshare       the thread holds the socket in a descriptor table of its
 *                 own (unshare(CLONE_FILES)): /proc/PID/fd never shows it;
 *   leader-exits  the leader exits (pthread_exit) and the process lives on
 *                 in the thread: a zombie leader shows no descriptors and no
 *                 namespace;
 *   shared        the process runs SHARED_THREADS threads in all, sharing the
 *                 one descriptor table, which kill must search only once.
 * Either way the process ends after 60 s at most.
 *
 * Usage: sg_thread_holder ADDR PORT unshare|leader-exits|shared
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LIFETIME_S     60
#define SHARED_THREADS 50

static struct sockaddr_in dest = { .sin_family = AF_INET };
static int own_table;
static int result = -1; /* the thread's: 0 connected, else an errno */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

static void *holder(void *arg)
{
	int err = 0, fd;

	(void)arg;
	if (own_table && unshare(CLONE_FILES))
		err = errno;
	fd = err ? -1 : socket(AF_INET, SOCK_STREAM, 0);
	if (!err && (fd < 0 || connect(fd, (struct sockaddr *)&dest, sizeof(dest))))
		err = errno;
	pthread_mutex_lock(&lock);
	result = err;
	pthread_cond_signal(&done);
	pthread_mutex_unlock(&lock);
	if (!err)
		sleep(LIFETIME_S);
	exit(err ? 2 : 0);
}

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* Threads beyond the leader and the holder, up to SHARED_THREADS: 0, or -1 with a message. */
static int add_threads(void)
{
	pthread_t t;
	int i;

	for (i = 2; i < SHARED_THREADS; i++)
		if (pthread_create(&t, NULL, idle, NULL)) {
			fprintf(stderr, "sg_thread_holder: pthread_create failed\n");
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t;
	int shared;
	long port;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &dest.sin_addr) != 1 ||
	    (port = strtol(argv[2], NULL, 10)) < 1 || port > 65535 ||
	    (strcmp(argv[3], "unshare") && strcmp(argv[3], "leader-exits") &&
	     strcmp(argv[3], "shared"))) {
		fprintf(stderr, "usage: sg_thread_holder ADDR PORT unshare|leader-exits|shared\n");
		return 2;
	}
	dest.sin_port = htons((unsigned short)port);
	own_table = !strcmp(argv[3], "unshare");
	shared = !strcmp(argv[3], "shared");
	if (pthread_create(&t, NULL, holder, NULL)) {
		fprintf(stderr, "sg_thread_holder: pthread_create failed\n");
		return 2;
	}
	pthread_mutex_lock(&lock);
	while (result < 0)
		pthread_cond_wait(&done, &lock);
	pthread_mutex_unlock(&lock);
	if (result) {
		fprintf(stderr, "sg_thread_holder: connect: %s\n", strerror(result));
		return 2;
	}
	if (shared && add_threads())
		return 2;
	printf("%d\n", getpid());
	fflush(stdout);
	if (own_table || shared)
		sleep(LIFETIME_S);
	else
		pthread_exit(NULL);
	return 0;
}
