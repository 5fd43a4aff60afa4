/*
 * pyheap watch: pyheap snap every --interval, for hosts without cron.
 *
 * Each round runs in a child process (fork) that does exactly what
 * `pyheap snap` does, with snap's own signal handling: its handlers
 * release a stopped target and remove a half-written file before it dies.
 * The parent only waits: it keeps SIGTERM, SIGINT, SIGHUP and SIGCHLD
 * blocked and takes them with sigtimedwait(), so it never runs a handler
 * and never interrupts anything.  On SIGTERM, SIGINT or SIGHUP it passes
 * the signal on to a running child, waits for it (SIGKILL after
 * CHILD_GRACE_S: the kernel then detaches a traced target, which runs on)
 * and exits 0.  A round's memory, errors and crashes stay in its child.
 *
 * The target is looked up again every round: with --pidfile or --name a
 * restarted process is followed; while there is none, watch says so once
 * and looks again at the next round.  A PID that has exited ends watch
 * (status 0): only --pidfile and --name can follow a restart.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "output/output.h"
#include "series.h"

enum { WOPT_INTERVAL = 1, WOPT_COUNT };

#define DEFAULT_INTERVAL "10m"
#define CHILD_GRACE_S 10

static const struct option_spec watch_options[] = {
	{ WOPT_INTERVAL, 0, "interval", "DURATION",
	  "take a snapshot every DURATION (default " DEFAULT_INTERVAL
	  "; e.g. 30s, 10m, 1h)" },
	{ WOPT_COUNT, 0, "count", "N",
	  "stop after N snapshots (default: run until SIGTERM or SIGINT)" },
	SNAP_TARGET_OPTIONS,
	SNAP_SERIES_OPTIONS,
	SNAP_CAPTURE_OPTIONS,
	{ 0 }
};

const struct command_help watch_help = {
	"watch", "[options] --dir DIR PID | --pidfile FILE | --name PATTERN",
	"take a snapshot every --interval, for hosts without cron",
	"Run pyheap snap every --interval into --dir DIR, with snap's "
	"options, until\nSIGTERM or SIGINT (exit 0; a snapshot under way "
	"ends first, its target\nreleased).  With --pidfile or --name a "
	"restarted target is followed; while\nnone is running, watch waits "
	"for one.  The first round's failure ends watch\nwith its status; "
	"later ones are reported and watch goes on.",
	watch_options,
};

struct watch_opts {
	struct snap_opts s;
	double interval;
	unsigned long long count;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct watch_opts *o = ctx;
	int rc;

	switch (id) {
	case WOPT_INTERVAL:
		return parse_duration(&watch_help, "--interval", arg,
				      &o->interval);
	case WOPT_COUNT:
		rc = parse_uint(&watch_help, "--count", arg, 1ull << 40,
				&o->count);
		if (!rc && !o->count)
			rc = usage_error(&watch_help, "--count: give 1 or "
					 "more");
		return rc;
	}
	rc = snap_option(&watch_help, &o->s, id, arg);
	return rc > 0 ? 0 : rc;
}

static void wait_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
}

/* Wait for a signal of set for at most `seconds`; the signal, or 0. */
static int wait_signal(const sigset_t *set, double seconds)
{
	struct timespec ts;
	int sig;

	if (seconds < 0)
		seconds = 0;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	do {
		sig = sigtimedwait(set, NULL, &ts);
	} while (sig < 0 && errno == EINTR);
	return sig < 0 ? 0 : sig;
}

static double mono_s(void)
{
	return (double)ph_now_ns() / 1e9;
}

/*
 * Run one round in a child.  Returns its exit status (128 + N if signal
 * N killed it); *stop_sig is set if SIGTERM, SIGINT or SIGHUP came
 * meanwhile (then passed on to the child).
 */
static int run_child(const struct watch_opts *o, const pid_t *pids, size_t n,
		     const sigset_t *set, const sigset_t *old_mask,
		     int *stop_sig)
{
	double kill_at = 0;
	pid_t child;
	int st, sig;

	fflush(stdout);
	fflush(stderr);
	child = fork();
	if (child < 0) {
		ph_warn("watch: cannot fork: %s", strerror(errno));
		return PH_EXIT_ERROR;
	}
	if (!child) {
		struct sigaction dfl;
		int rc;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigprocmask(SIG_SETMASK, old_mask, NULL);
		rc = snap_run(&o->s, pids, n);
		if (rc < 0) {
			fprintf(stderr, "pyheap: %s\n", ph_errmsg());
			rc = ph_exit_status(rc);
		}
		exit(rc);
	}
	for (;;) {
		pid_t w = waitpid(child, &st, WNOHANG);

		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			ph_warn("watch: waitpid: %s", strerror(errno));
			return PH_EXIT_ERROR;
		}
		if (kill_at && mono_s() >= kill_at) {
			kill(child, SIGKILL);
			kill_at = 0;
		}
		/* SIGCHLD wakes us; the timeout only guards against a lost
		 * one (and times the grace period). */
		sig = wait_signal(set, 1.0);
		if (sig && sig != SIGCHLD && !*stop_sig) {
			*stop_sig = sig;
			kill(child, sig);
			kill_at = mono_s() + CHILD_GRACE_S;
		}
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static bool same_pids(const pid_t *a, size_t na, const pid_t *b, size_t nb)
{
	return na == nb && (!na || !memcmp(a, b, na * sizeof(*a)));
}

static void say_pids(const char *what, const pid_t *v, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%d", i ? ", " : "", (int)v[i]);
	fprintf(stderr, "pyheap: watch: %s process%s %s\n", what,
		n == 1 ? "" : "es", sb.buf);
	strbuf_release(&sb);
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o;
	sigset_t set, old_mask;
	pid_t *pids = NULL, *last = NULL;
	size_t n = 0, nlast = 0;
	struct strbuf waiting = STRBUF_INIT;
	unsigned long long done = 0;
	int rc, first, stop_sig = 0;
	bool masked = false;
	double next;

	memset(&o, 0, sizeof(o));
	snap_opts_init(&o.s);
	rc = first = options_parse(argc, argv, &watch_help, on_opt, &o);
	if (first <= 0)
		goto out;
	if (!o.interval)
		parse_duration(&watch_help, "--interval", DEFAULT_INTERVAL,
			       &o.interval);
	rc = snap_options_check(&watch_help, &o.s, argc - first, argv + first);
	if (rc)
		goto out;
	if (!o.s.dir) {
		rc = usage_error(&watch_help, "watch writes a series: give "
				 "--dir DIR");
		goto out;
	}

	wait_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	masked = true;
	next = mono_s();
	for (;;) {
		/* A PID cannot come back. */
		if (o.s.sel.pid && done && !process_alive(o.s.sel.pid)) {
			fprintf(stderr, "pyheap: watch: process %d has exited; "
				"nothing left to watch\n", o.s.sel.pid);
			rc = 0;
			goto out;
		}
		rc = select_targets(&o.s.sel, &pids, &n);
		if (rc) {
			/* Say it once, not every round. */
			if (strcmp(waiting.buf, ph_errmsg())) {
				strbuf_reset(&waiting);
				strbuf_addstr(&waiting, ph_errmsg());
				fprintf(stderr, "pyheap: watch: %s; waiting\n",
					waiting.buf);
			}
			nlast = 0;
		} else {
			int status;

			if (waiting.len || (done && !same_pids(pids, n, last,
							       nlast)))
				say_pids("following", pids, n);
			strbuf_reset(&waiting);
			status = run_child(&o, pids, n, &set, &old_mask,
					   &stop_sig);
			done++;
			free(last);
			last = pids;
			nlast = n;
			pids = NULL;
			if (stop_sig)
				break;
			/* The first round's failure is the command line's
			 * or the system's: say so now, not in ten
			 * minutes. */
			if (status && done == 1) {
				rc = status;
				goto out;
			}
			if (o.count && done >= o.count)
				break;
		}
		free(pids);
		pids = NULL;
		/* Rounds start every interval; a round that overran its
		 * interval is followed at once by the next, not by a burst. */
		next += o.interval;
		if (next < mono_s())
			next = mono_s();
		while (!stop_sig) {
			double left = next - mono_s();
			int sig;

			if (left <= 0)
				break;
			sig = wait_signal(&set, left);
			if (sig && sig != SIGCHLD)
				stop_sig = sig;
		}
		if (stop_sig)
			break;
	}
	rc = 0;
	if (stop_sig && !o.s.quiet)
		fprintf(stderr, "pyheap: watch: stopped by %s after %llu "
			"round%s\n", stop_sig == SIGTERM ? "SIGTERM" :
			stop_sig == SIGINT ? "SIGINT" : "SIGHUP", done,
			done == 1 ? "" : "s");
out:
	/* After a stop signal, another may be pending: exit with it
	 * blocked. */
	if (masked && !stop_sig)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	free(pids);
	free(last);
	strbuf_release(&waiting);
	snap_opts_release(&o.s);
	return rc;
}
