/*
 * Running independent pieces of work on several threads (snap --jobs).
 *
 * pyheap is a ptrace tracer, and ptrace requests are only honoured from the
 * thread that attached: the signal handler that resumes and detaches a
 * stopped target (target/live.c, on_signal) must therefore run on the main
 * thread.  Workers are created with every signal blocked, so a SIGINT,
 * SIGTERM or the pause watchdog's SIGALRM is always delivered to the main
 * thread, which takes part in the work and joins the workers after.
 * Workers report nothing themselves (the error message slot is one, see
 * base.c): each piece records what went wrong and the caller reports it.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>

#include "base.h"

#define PH_JOBS_MAX 8

int ph_jobs_default(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > PH_JOBS_MAX ? PH_JOBS_MAX : n;
}

struct piece {
	void (*fn)(void *);
	void *arg;
};

static void *run_piece(void *p)
{
	const struct piece *w = p;

	w->fn(w->arg);
	return NULL;
}

void ph_parallel(size_t n, void (*fn)(void *), void *items, size_t size)
{
	pthread_t th[PH_JOBS_MAX];
	struct piece w[PH_JOBS_MAX];
	bool started[PH_JOBS_MAX] = { false };
	sigset_t all, old;
	size_t i;

	if (n > PH_JOBS_MAX)
		ph_die("internal error: %zu pieces of parallel work (at most "
		       "%d)", n, PH_JOBS_MAX);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < n; i++) {
		w[i].fn = fn;
		w[i].arg = (char *)items + i * size;
		started[i] = !pthread_create(&th[i], NULL, run_piece, &w[i]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* A thread that could not be created: its piece runs here. */
	for (i = 0; i < n; i++)
		if (!i || !started[i])
			fn((char *)items + i * size);
	for (i = 1; i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}
