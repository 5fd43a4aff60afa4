/*
 * Stopping a live target and letting it go (target.h "Stopping"): seizing
 * every thread, waiting for each to reach a ptrace-stop, reading the
 * registers, and releasing them, re-injecting what was intercepted.  The
 * signal handlers, the watchdog and the threads that would not stop are
 * in stop_signals.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "target.h"

/* A thread that takes longer than this to reach a ptrace-stop is stuck in
 * the kernel (state D); waiting longer would only lengthen the pause. */
#define STOP_TIMEOUT_MS 2000
/* A process that creates threads faster than we can seize them would keep
 * target_stop() busy forever; this many passes is far beyond any real one. */
#define STOP_MAX_PASSES 100

char target_task_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
		 (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	/* The command name in parentheses may itself contain ") ". */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return '?';
	return p[2];
}

static pid_t tracer_of(pid_t pid, pid_t tid)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
		 (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nTracerPid:");
	return p ? (pid_t)atoi(p + strlen("\nTracerPid:")) : 0;
}

/* The command name of a process, "a debugger?" if it cannot be read. */
static void comm_of(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, size, "a debugger?");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static struct target_thread *find_thread(struct target *t, pid_t tid)
{
	size_t i;

	for (i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

/* Forget a thread that died.  Called with the handled signals blocked. */
static void drop_thread(struct target *t, size_t i)
{
	stop_seized_del(t->threads[i].tid);
	memmove(t->threads + i, t->threads + i + 1,
		(t->nthreads - i - 1) * sizeof(*t->threads));
	t->nthreads--;
}

static int seize_error(struct target *t, pid_t tid, int err)
{
	pid_t tracer;

	if (err != EPERM)
		return ph_error(PH_E_ATTACH,
				"cannot seize thread %d of process %d: %s",
				(int)tid, (int)t->pid, strerror(err));
	/* Only one tracer per thread: a debugger or another profiler looks
	 * like a permission problem unless we say otherwise. */
	tracer = tracer_of(t->pid, tid);
	if (tracer) {
		char comm[64];

		comm_of(tracer, comm, sizeof(comm));
		return ph_error(PH_E_ATTACH,
				"cannot stop process %d: it is already traced "
				"by process %d (%s); only one tracer at a time",
				(int)t->pid, (int)tracer, comm);
	}
	return ph_error(PH_E_PERM,
			"cannot stop process %d: permission denied (%s)",
			(int)t->pid, TARGET_PERM_HINT);
}

/* Seize and interrupt the threads not seized yet; *added counts them. */
static int seize_new_threads(struct target *t, unsigned max_pause_ms,
			     size_t *added)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	*added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
	dir = opendir(path);
	if (!dir)
		return target_proc_error(t->pid, path, errno);
	while ((de = readdir(dir))) {
		struct target_thread *th;
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0 || find_thread(t, (pid_t)tid))
			continue;
		if (!stop_lingering_take((pid_t)tid) &&
		    ptrace(PTRACE_SEIZE, (pid_t)tid, NULL, NULL) == -1) {
			int err = errno;
			char c;

			/* It exited since the listing.  A zombie (a leader
			 * that called pthread_exit(), or one exiting now) is
			 * refused with EPERM but needs no stopping. */
			if (err == ESRCH)
				continue;
			c = target_task_state(t->pid, (pid_t)tid);
			if (err == EPERM && (c == 'Z' || c == 'X' || c == '?'))
				continue;
			rc = seize_error(t, (pid_t)tid, err);
			goto cleanup;
		}
		PH_GROW(t->threads, t->threads_alloc, t->nthreads + 1);
		th = &t->threads[t->nthreads++];
		memset(th, 0, sizeof(*th));
		th->tid = (pid_t)tid;
		stop_seized_add(th->tid);
		(*added)++;
		if (!t->stop_started_ns) {
			t->stop_started_ns = ph_now_ns();
			stop_arm_watchdog(max_pause_ms);
		}
		/* ESRCH: it died after the seize; waitpid() reports that. */
		if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) == -1 &&
		    errno != ESRCH) {
			rc = ph_error(PH_E_ATTACH,
				      "cannot interrupt thread %d of process "
				      "%d: %s", (int)th->tid, (int)t->pid,
				      strerror(errno));
			goto cleanup;
		}
	}

cleanup:
	closedir(dir);
	return rc;
}

/* Collect the stops that have happened; *pending counts the others. */
static int collect_stops(struct target *t, size_t *pending)
{
	size_t i = 0;
	int rc = 0;

	*pending = 0;
	while (i < t->nthreads) {
		struct target_thread *th = &t->threads[i];
		struct seized *s;
		pid_t r;
		int st;

		if (th->stopped) {
			i++;
			continue;
		}
		r = waitpid(th->tid, &st, __WALL | WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECHILD) {
			/* Not our tracee any more: it is gone. */
			drop_thread(t, i);
			continue;
		}
		if (r < 0) {
			rc = ph_error(PH_E_ATTACH, "cannot wait for thread %d "
				      "of process %d: %s", (int)th->tid,
				      (int)t->pid, strerror(errno));
			break;
		}
		if (r == 0) {
			(*pending)++;
			i++;
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			drop_thread(t, i);
			continue;
		}
		if (!WIFSTOPPED(st)) {
			(*pending)++;
			i++;
			continue;
		}
		/* PTRACE_EVENT_STOP is our interrupt (or a group-stop);
		 * event 0 is a signal-delivery-stop: a signal got there
		 * first, and detaching must hand it back. */
		th->stopped = true;
		if ((st >> 16) == 0)
			th->pending_sig = WSTOPSIG(st);
		s = stop_seized_find(th->tid);
		if (s) {
			s->sig = th->pending_sig;
			s->waited = 1;
		}
		i++;
	}
	return rc;
}

static int wait_stopped(struct target *t, uint64_t deadline)
{
	uint64_t next_check = ph_now_ns() + 10000000u;
	long delay_ns = 20000;

	for (;;) {
		struct timespec ts;
		size_t pending, i;
		sigset_t old;
		uint64_t now;
		int rc;

		/* Blocked so that a handler cannot run between waitpid()
		 * collecting a signal-delivery-stop and its recording. */
		stop_block_handled(&old);
		rc = collect_stops(t, &pending);
		stop_restore_mask(&old);
		if (stop_watchdog_fired)
			return 0; /* target_stop() sees it */
		if (rc || !pending)
			return rc;
		now = ph_now_ns();
		if (now >= next_check || now >= deadline) {
			/* A leader that called pthread_exit() stays a zombie
			 * while other threads run and never stops. */
			stop_block_handled(&old);
			for (i = 0; i < t->nthreads;) {
				char c;

				if (t->threads[i].stopped) {
					i++;
					continue;
				}
				c = target_task_state(t->pid, t->threads[i].tid);
				if (c == 'Z' || c == 'X') {
					drop_thread(t, i);
					continue;
				}
				if (now >= deadline) {
					stop_restore_mask(&old);
					return ph_error(PH_E_TIMEOUT,
						"thread %d of process %d did "
						"not stop within %d ms "
						"(state %c)",
						(int)t->threads[i].tid,
						(int)t->pid, STOP_TIMEOUT_MS,
						c);
				}
				i++;
			}
			stop_restore_mask(&old);
			next_check = now + 10000000u;
			continue;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = delay_ns;
		nanosleep(&ts, NULL);
		delay_ns = PH_MIN(delay_ns * 2, 1000000L);
	}
}

static int read_thread_regs(struct target *t)
{
	size_t i = 0;

	while (i < t->nthreads) {
		struct target_thread *th = &t->threads[i];
		struct user_regs_struct regs;

		if (ptrace(PTRACE_GETREGS, th->tid, NULL, &regs) == -1) {
			sigset_t old;

			if (errno != ESRCH)
				return ph_error(PH_E_ATTACH,
						"cannot read registers of "
						"thread %d of process %d: %s",
						(int)th->tid, (int)t->pid,
						strerror(errno));
			/* SIGKILL reaches a stopped thread too. */
			stop_block_handled(&old);
			drop_thread(t, i);
			stop_restore_mask(&old);
			continue;
		}
		th->fs_base = regs.fs_base;
		_Static_assert(sizeof(regs) == sizeof(th->regs),
			       "user_regs_struct is TARGET_NREGS words");
		memcpy(th->regs, &regs, sizeof(th->regs));
		th->sp = regs.rsp;
		th->has_regs = true;
		i++;
	}
	return 0;
}

/* Reap a thread that died while seized, so it does not stop_linger as a zombie
 * in the target's thread list for as long as pyheap runs. */
static void reap_if_dead(pid_t tid)
{
	int st;

	while (waitpid(tid, &st, __WALL | WNOHANG) < 0 && errno == EINTR)
		;
}

/* Detach every stopped thread and put the signal state back. */
static int release(struct target *t)
{
	size_t i;
	int rc = 0;

	/* Blocked until stop_restore_handlers() puts the caller's mask back: a
	 * signal now would detach threads twice and lose pending_sig. */
	stop_block_handled(NULL);
	for (i = 0; i < t->nthreads; i++) {
		struct target_thread *th = &t->threads[i];

		/* After the watchdog (PAUSE_LIMIT_CONTINUE), only threads
		 * seized since are still ours; the others are detached and
		 * a second PTRACE_DETACH fails harmlessly with ESRCH. */
		if (!th->stopped) {
			stop_linger(th->tid);
			continue;
		}
		if (ptrace(PTRACE_DETACH, th->tid, NULL,
			   (void *)(long)th->pending_sig) == -1) {
			if (errno == ESRCH)
				reap_if_dead(th->tid);
			else if (!rc)
				rc = ph_error(PH_E_ATTACH,
					      "cannot resume thread %d of "
					      "process %d: %s", (int)th->tid,
					      (int)t->pid, strerror(errno));
		}
		th->stopped = false;
		th->pending_sig = 0;
	}
	stop_nseized = 0;
	if (stop_watchdog_fired) {
		/* The threads ran on from when the watchdog let them go. */
		t->pause_ns += stop_watchdog_fired_ns - t->stop_started_ns;
		t->pause_limit_hit = true;
		stop_watchdog_fired = 0;
	} else {
		t->pause_ns += ph_now_ns() - t->stop_started_ns;
	}
	t->stop_started_ns = 0;
	stop_current = NULL;
	stop_restore_handlers();
	return rc;
}

/*
 * PYHEAP_DEBUG_HOLD_MS (man page, ENVIRONMENT) keeps the target stopped for
 * a while so tests can interrupt or kill pyheap at the worst moment.  The
 * watchdog still applies, so a typo cannot hold a process for long.
 */
static void debug_hold(void)
{
	const char *s = getenv("PYHEAP_DEBUG_HOLD_MS");
	unsigned long ms;
	struct timespec ts;

	if (!s || !*s)
		return;
	ms = strtoul(s, NULL, 10);
	if (ms > 600000)
		ms = 600000;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	/* Signals end the sleep early; their handlers release the target
	 * (the watchdog's may let us go on: then stop holding). */
	while (nanosleep(&ts, &ts) && errno == EINTR && !stop_watchdog_fired)
		;
}

int target_stop(struct target *t, unsigned max_pause_ms)
{
	bool released;
	uint64_t deadline = 0;
	size_t added;
	int pass, rc = 0;

	if (!target_is_live(t) || t->stop_started_ns)
		return 0;
	if (stop_current)
		return ph_error(PH_E_ATTACH, "cannot stop process %d while "
				"process %d is stopped", (int)t->pid,
				(int)stop_current->pid);
	if (t->pid == getpid())
		return ph_error(PH_E_ATTACH, "cannot stop pyheap itself");

	t->nthreads = 0;
	t->pause_limit_hit = false;
	stop_current = t;
	stop_install_handlers(t, max_pause_ms);
	/* A thread that is running can create more; one that is stopped
	 * cannot, and a clone() completes before its caller stops.  So once
	 * every listed thread is stopped, a listing with nothing new is the
	 * complete set. */
	for (pass = 0;; pass++) {
		if (stop_watchdog_fired)
			goto cleanup;
		if (pass == STOP_MAX_PASSES) {
			rc = ph_error(PH_E_ATTACH, "cannot stop process %d: "
				      "threads kept appearing after %d passes",
				      (int)t->pid, STOP_MAX_PASSES);
			goto cleanup;
		}
		rc = seize_new_threads(t, max_pause_ms, &added);
		if (rc)
			goto cleanup;
		if (!added)
			break;
		if (!deadline)
			deadline = t->stop_started_ns +
				   (uint64_t)STOP_TIMEOUT_MS * 1000000u;
		rc = wait_stopped(t, deadline);
		if (rc)
			goto cleanup;
	}
	if (stop_watchdog_fired)
		goto cleanup;
	if (!t->nthreads) {
		rc = live_gone_error(t->pid);
		goto cleanup;
	}
	rc = read_thread_regs(t);
	if (!rc && !t->nthreads && !stop_watchdog_fired)
		rc = live_gone_error(t->pid);
	if (!rc)
		rc = target_refresh_maps(t);
	if (!rc)
		debug_hold();

cleanup:
	/* Released by the watchdog (PAUSE_LIMIT_CONTINUE) while stopping:
	 * errors since were about threads it let go.  Let go of any seized
	 * since and carry on with the target running. */
	released = stop_watchdog_fired;
	if (rc || released) {
		sigset_t old;
		size_t pending;

		/* Threads that stopped since the last look can still be let
		 * go; the others stop_linger (see stop_linger()). */
		stop_block_handled(&old);
		collect_stops(t, &pending);
		stop_restore_mask(&old);
		if (!t->stop_started_ns)
			t->stop_started_ns = ph_now_ns();
		release(t);
		if (released)
			rc = target_refresh_maps(t);
	}
	return rc;
}

int target_resume(struct target *t)
{
	if (!t || !target_is_live(t) || !t->stop_started_ns)
		return 0;
	return release(t);
}

bool target_is_stopped(const struct target *t)
{
	return t->stop_started_ns != 0;
}
