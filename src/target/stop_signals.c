/*
 * While a live target is stopped (stop.c): the seized threads as signal
 * handlers can see them, the handlers that release them before pyheap
 * dies, the pause watchdog, and the SIGCHLD handler that releases a
 * thread that reached its stop only after target_stop() gave up on it.
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

/*
 * The seized threads, for the signal handlers and the emergency hook, which
 * must release them without touching struct target (they may interrupt any
 * code).  Changed only with the handled signals blocked, so a handler never
 * sees a half-written entry or a stale pointer.
 */

static struct seized *seized;
static size_t seized_alloc;
volatile sig_atomic_t stop_nseized;

static const int handled_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGALRM,
};
static const int blocked_signals[] = { SIGTSTP, SIGTTIN, SIGTTOU };

/* What to put back at resume. */
static struct sigaction saved_actions[PH_ARRAY_SIZE(handled_signals)];
static sigset_t saved_mask;
const struct target *stop_current;

/* Formatted before the alarm can fire: snprintf is not async-signal-safe. */
static char alarm_msg[192];
static size_t alarm_msg_len;
static volatile sig_atomic_t watchdog_armed;
/* PAUSE_LIMIT_CONTINUE: the watchdog released the threads and pyheap goes
 * on reading the running target (target_stop() and release() look). */
static volatile sig_atomic_t watchdog_continue;
volatile sig_atomic_t stop_watchdog_fired;
volatile uint64_t stop_watchdog_fired_ns;

static void put_stderr(const char *s, size_t len)
{
	ssize_t r = write(STDERR_FILENO, s, len);

	(void)r;
}

static void handled_set(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < PH_ARRAY_SIZE(handled_signals); i++)
		sigaddset(set, handled_signals[i]);
}

void stop_block_handled(sigset_t *old)
{
	sigset_t set;

	handled_set(&set);
	sigprocmask(SIG_BLOCK, &set, old);
}

void stop_restore_mask(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

struct seized *stop_seized_find(pid_t tid)
{
	int i;

	for (i = 0; i < stop_nseized; i++)
		if (seized[i].tid == tid)
			return &seized[i];
	return NULL;
}

void stop_seized_add(pid_t tid)
{
	sigset_t old;

	stop_block_handled(&old);
	PH_GROW(seized, seized_alloc, (size_t)stop_nseized + 1);
	seized[stop_nseized].tid = tid;
	seized[stop_nseized].sig = 0;
	seized[stop_nseized].waited = 0;
	stop_nseized = stop_nseized + 1;
	stop_restore_mask(&old);
}

/* Called with the handled signals blocked. */
void stop_seized_del(pid_t tid)
{
	struct seized *s = stop_seized_find(tid);

	if (!s)
		return;
	*s = seized[stop_nseized - 1];
	stop_nseized = stop_nseized - 1;
}

/*
 * Async-signal-safe: only waitpid() and ptrace().  A thread whose stop has
 * not been collected yet may be in a signal-delivery-stop; detaching with 0
 * would discard that signal, so collect it first.  A thread not stopped yet
 * cannot be detached; the kernel detaches it when pyheap exits, which every
 * caller of this does next.
 */
static void detach_seized(void)
{
	int i, n = stop_nseized;

	for (i = 0; i < n; i++) {
		struct seized *s = &seized[i];
		long sig = s->sig;
		int st;

		if (!s->waited &&
		    waitpid(s->tid, &st, __WALL | WNOHANG) == s->tid &&
		    WIFSTOPPED(st) && (st >> 16) == 0)
			sig = WSTOPSIG(st);
		ptrace(PTRACE_DETACH, s->tid, NULL, (void *)sig);
	}
	stop_nseized = 0;
}

static void on_signal(int sig)
{
	static const char msg[] = "pyheap: interrupted; target resumed\n";
	struct sigaction dfl;

	detach_seized();
	if (sig == SIGALRM && watchdog_armed) {
		put_stderr(alarm_msg, alarm_msg_len);
		if (!watchdog_continue)
			_exit(PH_EXIT_ERROR);
		stop_watchdog_fired_ns = ph_now_ns(); /* clock_gettime: safe */
		stop_watchdog_fired = 1;
		watchdog_armed = 0;
		return;
	}
	put_stderr(msg, sizeof(msg) - 1);
	/* Die of the same signal, so the parent sees what happened.  It is
	 * blocked while we run and is delivered on return. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void emergency_detach(void)
{
	sigset_t old;

	stop_block_handled(&old);
	detach_seized();
	stop_restore_mask(&old);
}

void stop_install_handlers(const struct target *t, unsigned max_pause_ms)
{
	struct sigaction sa;
	sigset_t set;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	handled_set(&sa.sa_mask);
	for (i = 0; i < PH_ARRAY_SIZE(handled_signals); i++) {
		int sig = handled_signals[i];

		sigaction(sig, NULL, &saved_actions[i]);
		/* An ignored signal (nohup, a caller that handles EPIPE) does
		 * not end pyheap, so it needs no handler; the watchdog's
		 * SIGALRM is ours and always does. */
		if (saved_actions[i].sa_handler == SIG_IGN && sig != SIGALRM)
			continue;
		sigaction(sig, &sa, NULL);
	}
	sigemptyset(&set);
	for (i = 0; i < PH_ARRAY_SIZE(blocked_signals); i++)
		sigaddset(&set, blocked_signals[i]);
	sigprocmask(SIG_BLOCK, &set, &saved_mask);
	/* A caller that blocked these would defeat the handlers. */
	handled_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	watchdog_continue = t->pause_limit == PAUSE_LIMIT_CONTINUE;
	stop_watchdog_fired = 0;
	if (watchdog_continue)
		snprintf(alarm_msg, sizeof(alarm_msg),
			 "pyheap: warning: pause exceeded %u ms; target "
			 "resumed; reading on without stopping it (result "
			 "marked inconsistent)\n", max_pause_ms);
	else
		snprintf(alarm_msg, sizeof(alarm_msg),
			 "pyheap: pause exceeded %u ms; target resumed; "
			 "giving up, nothing written\n", max_pause_ms);
	alarm_msg_len = strlen(alarm_msg);
	ph_set_emergency_hook(emergency_detach);
}

void stop_arm_watchdog(unsigned max_pause_ms)
{
	struct itimerval it;

	if (!max_pause_ms)
		return;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = max_pause_ms / 1000;
	it.it_value.tv_usec = (suseconds_t)(max_pause_ms % 1000) * 1000;
	watchdog_armed = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Called with the handled signals blocked and nothing seized any more. */
void stop_restore_handlers(void)
{
	struct itimerval off;
	struct sigaction ign;
	size_t i;

	ph_set_emergency_hook(NULL);
	if (watchdog_armed) {
		memset(&off, 0, sizeof(off));
		setitimer(ITIMER_REAL, &off, NULL);
		/* An alarm that fired while we were already resuming must not
		 * reach the caller's SIGALRM disposition (by default: death).
		 * Setting SIG_IGN discards it. */
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		sigaction(SIGALRM, &ign, NULL);
		watchdog_armed = 0;
	}
	for (i = 0; i < PH_ARRAY_SIZE(handled_signals); i++)
		sigaction(handled_signals[i], &saved_actions[i], NULL);
	stop_restore_mask(&saved_mask);
}

/* ---- threads that would not stop ---------------------------------------- */

/*
 * A thread stuck in the kernel (state D, e.g. a vfork() parent) when
 * target_stop() gives up still has our PTRACE_INTERRUPT pending and cannot
 * be detached until it acts on it.  Left alone it would stop as soon as it
 * leaves the kernel and stay stopped for as long as pyheap runs.  That stop
 * sends us SIGCHLD, so a SIGCHLD handler detaches it then.  (Past
 * LINGER_MAX, the kernel detaches the rest when pyheap exits.)
 */
#define LINGER_MAX 256

static pid_t lingering[LINGER_MAX];
static volatile sig_atomic_t nlingering;
static struct sigaction saved_chld;
static volatile sig_atomic_t chld_installed;

static void block_chld(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, old);
}

/* Async-signal-safe; called from the handler or with SIGCHLD blocked. */
static void release_lingering(void)
{
	int i = 0;

	while (i < nlingering) {
		pid_t tid = lingering[i], r;
		long sig = 0;
		int st;

		r = waitpid(tid, &st, __WALL | WNOHANG);
		if (r == 0) {
			i++;
			continue;
		}
		if (r == tid && WIFSTOPPED(st)) {
			if ((st >> 16) == 0)
				sig = WSTOPSIG(st);
			ptrace(PTRACE_DETACH, tid, NULL, (void *)sig);
		}
		/* Detached, or dead, or no longer ours (ECHILD). */
		lingering[i] = lingering[nlingering - 1];
		nlingering = nlingering - 1;
	}
	if (!nlingering && chld_installed) {
		sigaction(SIGCHLD, &saved_chld, NULL);
		chld_installed = 0;
	}
}

static void on_sigchld(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction old = saved_chld;
	int saved_errno = errno;

	release_lingering();
	/* Pass it on to whoever had SIGCHLD before, as they asked for it. */
	if (!(old.sa_flags & SA_NOCLDSTOP) || si->si_code == CLD_EXITED ||
	    si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) {
		if (old.sa_flags & SA_SIGINFO)
			old.sa_sigaction(sig, si, ctx);
		else if (old.sa_handler != SIG_DFL &&
			 old.sa_handler != SIG_IGN)
			old.sa_handler(sig);
	}
	errno = saved_errno;
}

void stop_linger(pid_t tid)
{
	struct sigaction sa;
	sigset_t old;

	block_chld(&old);
	if (nlingering < LINGER_MAX) {
		lingering[nlingering] = tid;
		nlingering = nlingering + 1;
	}
	if (nlingering && !chld_installed) {
		sigaction(SIGCHLD, NULL, &saved_chld);
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigchld;
		/* Keep "ignored" meaning "reaped automatically" for the
		 * caller's children; stops are still reported. */
		sa.sa_flags = SA_SIGINFO | SA_RESTART |
			      (saved_chld.sa_flags & SA_NOCLDWAIT);
		if (!(saved_chld.sa_flags & SA_SIGINFO) &&
		    saved_chld.sa_handler == SIG_IGN)
			sa.sa_flags |= SA_NOCLDWAIT;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
		chld_installed = 1;
	}
	/* It may have stopped already, before the handler was there. */
	release_lingering();
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* If tid is a lingering thread, it is still seized by us: hand it back to
 * a new target_stop() instead of seizing it again (which fails). */
bool stop_lingering_take(pid_t tid)
{
	bool found = false;
	sigset_t old;
	int i;

	block_chld(&old);
	for (i = 0; i < nlingering; i++) {
		if (lingering[i] != tid)
			continue;
		lingering[i] = lingering[nlingering - 1];
		nlingering = nlingering - 1;
		found = true;
		break;
	}
	release_lingering(); /* puts SIGCHLD back if that was the last */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return found;
}
