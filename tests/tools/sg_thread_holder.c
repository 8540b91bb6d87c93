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
 *                 one descriptor table, which kill must search only once;
 *   unshare-shared
 *                 as unshare, and the thread then starts SHARED_THREADS
 *                 more on its own table: two tables of SHARED_THREADS + 2
 *                 threads, neither searched twice.
 * Either way the process ends after 60 s at most.
 *
 * Usage: sg_thread_holder ADDR PORT unshare|leader-exits|shared|unshare-shared
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
static int threads_on_own; /* unshare-shared: threads the holder starts on its table */
static int result = -1;	   /* the thread's: 0 connected, else an errno */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* N idle threads sharing the caller's descriptor table: 0, or -1 with a message. */
static int add_threads(int n)
{
	pthread_t t;
	int i;

	for (i = 0; i < n; i++)
		if (pthread_create(&t, NULL, idle, NULL)) {
			fprintf(stderr, "sg_thread_holder: pthread_create failed\n");
			return -1;
		}
	return 0;
}

static void *holder(void *arg)
{
	int err = 0, fd;

	(void)arg;
	if (own_table && unshare(CLONE_FILES))
		err = errno;
	fd = err ? -1 : socket(AF_INET, SOCK_STREAM, 0);
	if (!err && (fd < 0 || connect(fd, (struct sockaddr *)&dest, sizeof(dest))))
		err = errno;
	if (!err && add_threads(threads_on_own))
		err = EAGAIN;
	pthread_mutex_lock(&lock);
	result = err;
	pthread_cond_signal(&done);
	pthread_mutex_unlock(&lock);
	if (!err)
		sleep(LIFETIME_S);
	exit(err ? 2 : 0);
}

int main(int argc, char **argv)
{
	pthread_t t;
	int shared;
	long port;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &dest.sin_addr) != 1 ||
	    (port = strtol(argv[2], NULL, 10)) < 1 || port > 65535 ||
	    (strcmp(argv[3], "unshare") && strcmp(argv[3], "leader-exits") &&
	     strcmp(argv[3], "shared") && strcmp(argv[3], "unshare-shared"))) {
		fprintf(stderr, "usage: sg_thread_holder ADDR PORT "
				"unshare|leader-exits|shared|unshare-shared\n");
		return 2;
	}
	dest.sin_port = htons((unsigned short)port);
	threads_on_own = strcmp(argv[3], "unshare-shared") ? 0 : SHARED_THREADS;
	own_table = !strcmp(argv[3], "unshare") || threads_on_own;
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
	/* Beyond the leader and the holder, SHARED_THREADS in all. */
	if (shared && add_threads(SHARED_THREADS - 2))
		return 2;
	printf("%d\n", getpid());
	fflush(stdout);
	if (own_table || shared)
		sleep(LIFETIME_S);
	else
		pthread_exit(NULL);
	return 0;
}
