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
#define CMDLINE_MAX 4096
/* Early readable mappings to try at open before giving up on the probe:
 * some ([vvar]) are readable by mode yet refuse every read. */
#define PROBE_MAPS 8
/* process_vm_readv() rejects iovecs whose total exceeds SSIZE_MAX; stay
 * far below and loop. */
#define READ_CHUNK ((size_t)1 << 30)

struct live {
	int memfd;    /* /proc/PID/mem, opened on first need; -1 before */
	bool use_mem; /* process_vm_readv() was refused: read memfd instead */
	target_remote_read_fn remote; /* in a sandbox: reads go to it */
};

static const struct target_ops live_ops;

/* ---- reads ------------------------------------------------------------- */

static int read_error(uint64_t addr, size_t len)
{
	return ph_error(PH_E_READ, "cannot read %zu bytes at %#" PRIx64, len,
			addr);
}

static int gone_error(pid_t pid)
{
	return ph_error(PH_E_NOPROC, "no such process: %d", (int)pid);
}

static int open_mem(struct target *t, struct live *lv)
{
	char path[64];

	if (lv->memfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
	lv->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (lv->memfd < 0)
		return target_proc_error(t->pid, path, errno);
	return 0;
}

/*
 * /proc/PID/mem reads with FOLL_FORCE, so it also returns PROT_NONE pages
 * (guard pages) that the process itself and process_vm_readv() cannot read.
 * Stop before mappings known to be unreadable so both paths agree;
 * addresses not in t->maps (stale) are left to the kernel.
 */
static size_t readable_prefix(const struct target *t, uint64_t a, size_t want)
{
	const struct maps *m = &t->maps;
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a + want cannot wrap: the caller checked the whole range. */
	for (; lo < m->n && m->v[lo].start < a + want; lo++)
		if (!(m->v[lo].perms & MAP_R))
			return m->v[lo].start <= a ? 0 :
			       (size_t)(m->v[lo].start - a);
	return want;
}

int live_read_prefix(struct target *t, uint64_t addr, void *buf, size_t len,
		     size_t *done)
{
	struct live *lv = t->priv;
	char *out = buf;
	int rc;

	*done = 0;
	if (lv->remote)
		return lv->remote(addr, buf, len, done);
	while (*done < len) {
		size_t want = PH_MIN(len - *done, READ_CHUNK);
		uint64_t a = addr + *done;
		ssize_t n;

		if (lv->use_mem) {
			want = readable_prefix(t, a, want);
			/* pread() takes a signed offset. */
			if (a > INT64_MAX || !want)
				return 0;
			rc = open_mem(t, lv);
			if (rc)
				return rc;
			n = pread(lv->memfd, out + *done, want, (off_t)a);
		} else {
			struct iovec local = { out + *done, want };
			struct iovec remote = { (void *)(uintptr_t)a, want };

			n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
		}
		/* A short read stops at the first page that cannot be read;
		 * the retry from there tells whether anything more can. */
		if (n > 0) {
			*done += (size_t)n;
			continue;
		}
		if (n == 0) {
			/* /proc/PID/mem reads as empty once the mm is gone. */
			if (lv->use_mem && kill(t->pid, 0) && errno == ESRCH)
				return gone_error(t->pid);
			return 0;
		}
		switch (errno) {
		case EINTR:
			continue;
		case EPERM:
		case ENOSYS:
			/* Seccomp profiles (Docker's default without
			 * CAP_SYS_PTRACE) refuse process_vm_readv() while
			 * /proc/PID/mem still works.  If permission is really
			 * missing, opening it says so. */
			if (!lv->use_mem) {
				ph_debug(1, "process_vm_readv: %s; reading "
					 "/proc/%d/mem instead",
					 strerror(errno), (int)t->pid);
				lv->use_mem = true;
				continue;
			}
			return 0;
		case ESRCH:
			return gone_error(t->pid);
		default:
			/* EFAULT, EIO: unmapped or unreadable, which walkers
			 * expect and skip: the prefix ends here. */
			return 0;
		}
	}
	return 0;
}

static int live_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	uint64_t end;
	size_t done;
	int rc;

	/* live_read_prefix() relies on this for readable_prefix(). */
	if (!ph_add(addr, len, &end))
		return read_error(addr, len);
	rc = live_read_prefix(t, addr, buf, len, &done);
	if (rc)
		return rc;
	return done == len ? 0 : read_error(addr, len);
}

static void live_close(struct target *t)
{
	struct live *lv = t->priv;

	if (!lv)
		return;
	if (lv->memfd >= 0)
		close(lv->memfd);
	free(lv);
	t->priv = NULL;
}

static const struct target_ops live_ops = {
	.read = live_read,
	.close = live_close,
};

void target_live_set_remote(struct target *t, target_remote_read_fn fn)
{
	struct live *lv = t->priv;

	/* The descriptor of /proc/PID/mem is the parent's, not ours. */
	lv->memfd = -1;
	lv->remote = fn;
}

int target_live_read_prefix(struct target *t, uint64_t addr, void *buf,
			    size_t len, size_t *done)
{
	uint64_t end;

	*done = 0;
	if (!target_is_live(t) || !ph_add(addr, len, &end))
		return 0;
	return live_read_prefix(t, addr, buf, len, done);
}

/* ---- open -------------------------------------------------------------- */

static char *read_link(const char *path)
{
	size_t size = 256;

	for (;;) {
		char *buf = xmalloc(size);
		ssize_t n = readlink(path, buf, size);

		if (n < 0) {
			free(buf);
			return NULL;
		}
		if ((size_t)n < size) {
			buf[n] = '\0';
			return buf;
		}
		/* readlink() truncates silently: retry bigger. */
		free(buf);
		if (size >= 65536)
			return NULL;
		size *= 2;
	}
}

static char *read_cmdline(pid_t pid)
{
	char path[64], buf[CMDLINE_MAX];
	size_t len = 0, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	while (len && buf[len - 1] == ' ')
		len--;
	/* Kernel threads and zombies have no command line. */
	return len ? xstrndup(buf, len) : NULL;
}

/*
 * Permission is checked per operation (maps, process_vm_readv, /proc/PID/mem
 * each have their own rules), so read a byte now rather than let the first
 * real read fail halfway through a command.
 */
static int probe_read(struct target *t)
{
	size_t i, tried = 0;

	for (i = 0; i < t->maps.n && tried < PROBE_MAPS; i++) {
		unsigned char byte;
		int rc;

		if (!(t->maps.v[i].perms & MAP_R))
			continue;
		tried++;
		rc = target_read(t, t->maps.v[i].start, &byte, 1);
		if (rc != -PH_E_READ)
			return rc;
	}
	return 0;
}

int target_live_open(pid_t pid, struct target **out)
{
	struct target *t;
	struct live *lv;
	char path[64];
	struct stat st;
	int rc;

	*out = NULL;
	if (pid <= 0)
		return gone_error(pid);
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st))
		return target_proc_error(pid, path, errno);
	/* A zombie has exited and has no memory left; its parent has not
	 * collected its status yet.  Its maps read as empty, which would
	 * otherwise look like "not a Python process". */
	if (target_task_state(pid, pid) == 'Z')
		return ph_error(PH_E_NOPROC, "process %d has exited (a zombie "
				"its parent has not reaped): nothing to read",
				(int)pid);

	t = xcalloc(1, sizeof(*t));
	lv = xcalloc(1, sizeof(*lv));
	lv->memfd = -1;
	t->ops = &live_ops;
	t->priv = lv;
	t->pid = pid;
	t->root = xasprintf("/proc/%d/root", (int)pid);
	rc = maps_read(pid, &t->maps);
	if (rc)
		goto cleanup;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	t->exe = read_link(path);
	t->cmdline = read_cmdline(pid);
	rc = probe_read(t);
	memset(&t->stats, 0, sizeof(t->stats));

cleanup:
	if (rc) {
		target_close(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

bool target_is_live(const struct target *t)
{
	return t->ops == &live_ops;
}

int target_refresh_maps(struct target *t)
{
	if (t->ops != &live_ops)
		return 0;
	return maps_read(t->pid, &t->maps);
}

/* ---- stopping: state the signal handlers can see ----------------------- */

/*
 * The seized threads, for the signal handlers and the emergency hook, which
 * must release them without touching struct target (they may interrupt any
 * code).  Changed only with the handled signals blocked, so a handler never
 * sees a half-written entry or a stale pointer.
 */
struct seized {
	pid_t tid;
	volatile sig_atomic_t sig;    /* to re-inject on detach */
	volatile sig_atomic_t waited; /* its stop was collected by waitpid */
};

static struct seized *seized;
static size_t seized_alloc;
static volatile sig_atomic_t nseized;

static const int handled_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGALRM,
};
static const int blocked_signals[] = { SIGTSTP, SIGTTIN, SIGTTOU };

/* What to put back at resume. */
static struct sigaction saved_actions[PH_ARRAY_SIZE(handled_signals)];
static sigset_t saved_mask;
static const struct target *stopped_target;

/* Formatted before the alarm can fire: snprintf is not async-signal-safe. */
static char alarm_msg[192];
static size_t alarm_msg_len;
static volatile sig_atomic_t watchdog_armed;
/* PAUSE_LIMIT_CONTINUE: the watchdog released the threads and pyheap goes
 * on reading the running target (target_stop() and release() look). */
static volatile sig_atomic_t watchdog_continue, watchdog_fired;
static volatile uint64_t watchdog_fired_ns;

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

static void block_handled(sigset_t *old)
{
	sigset_t set;

	handled_set(&set);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void restore_mask(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

static struct seized *seized_find(pid_t tid)
{
	int i;

	for (i = 0; i < nseized; i++)
		if (seized[i].tid == tid)
			return &seized[i];
	return NULL;
}

static void seized_add(pid_t tid)
{
	sigset_t old;

	block_handled(&old);
	PH_GROW(seized, seized_alloc, (size_t)nseized + 1);
	seized[nseized].tid = tid;
	seized[nseized].sig = 0;
	seized[nseized].waited = 0;
	nseized = nseized + 1;
	restore_mask(&old);
}

/* Called with the handled signals blocked. */
static void seized_del(pid_t tid)
{
	struct seized *s = seized_find(tid);

	if (!s)
		return;
	*s = seized[nseized - 1];
	nseized = nseized - 1;
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
	int i, n = nseized;

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
	nseized = 0;
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
		watchdog_fired_ns = ph_now_ns(); /* clock_gettime: safe */
		watchdog_fired = 1;
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

	block_handled(&old);
	detach_seized();
	restore_mask(&old);
}

static void install_handlers(const struct target *t, unsigned max_pause_ms)
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
	watchdog_fired = 0;
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

static void arm_watchdog(unsigned max_pause_ms)
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
static void restore_handlers(void)
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
	restore_mask(&saved_mask);
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

static void linger(pid_t tid)
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
static bool lingering_take(pid_t tid)
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

/* ---- stopping ---------------------------------------------------------- */

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
	seized_del(t->threads[i].tid);
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
		if (!lingering_take((pid_t)tid) &&
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
		seized_add(th->tid);
		(*added)++;
		if (!t->stop_started_ns) {
			t->stop_started_ns = ph_now_ns();
			arm_watchdog(max_pause_ms);
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
		s = seized_find(th->tid);
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
		block_handled(&old);
		rc = collect_stops(t, &pending);
		restore_mask(&old);
		if (watchdog_fired)
			return 0; /* target_stop() sees it */
		if (rc || !pending)
			return rc;
		now = ph_now_ns();
		if (now >= next_check || now >= deadline) {
			/* A leader that called pthread_exit() stays a zombie
			 * while other threads run and never stops. */
			block_handled(&old);
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
					restore_mask(&old);
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
			restore_mask(&old);
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
			block_handled(&old);
			drop_thread(t, i);
			restore_mask(&old);
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

/* Reap a thread that died while seized, so it does not linger as a zombie
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

	/* Blocked until restore_handlers() puts the caller's mask back: a
	 * signal now would detach threads twice and lose pending_sig. */
	block_handled(NULL);
	for (i = 0; i < t->nthreads; i++) {
		struct target_thread *th = &t->threads[i];

		/* After the watchdog (PAUSE_LIMIT_CONTINUE), only threads
		 * seized since are still ours; the others are detached and
		 * a second PTRACE_DETACH fails harmlessly with ESRCH. */
		if (!th->stopped) {
			linger(th->tid);
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
	nseized = 0;
	if (watchdog_fired) {
		/* The threads ran on from when the watchdog let them go. */
		t->pause_ns += watchdog_fired_ns - t->stop_started_ns;
		t->pause_limit_hit = true;
		watchdog_fired = 0;
	} else {
		t->pause_ns += ph_now_ns() - t->stop_started_ns;
	}
	t->stop_started_ns = 0;
	stopped_target = NULL;
	restore_handlers();
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
	while (nanosleep(&ts, &ts) && errno == EINTR && !watchdog_fired)
		;
}

int target_stop(struct target *t, unsigned max_pause_ms)
{
	bool released;
	uint64_t deadline = 0;
	size_t added;
	int pass, rc = 0;

	if (t->ops != &live_ops || t->stop_started_ns)
		return 0;
	if (stopped_target)
		return ph_error(PH_E_ATTACH, "cannot stop process %d while "
				"process %d is stopped", (int)t->pid,
				(int)stopped_target->pid);
	if (t->pid == getpid())
		return ph_error(PH_E_ATTACH, "cannot stop pyheap itself");

	t->nthreads = 0;
	t->pause_limit_hit = false;
	stopped_target = t;
	install_handlers(t, max_pause_ms);
	/* A thread that is running can create more; one that is stopped
	 * cannot, and a clone() completes before its caller stops.  So once
	 * every listed thread is stopped, a listing with nothing new is the
	 * complete set. */
	for (pass = 0;; pass++) {
		if (watchdog_fired)
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
	if (watchdog_fired)
		goto cleanup;
	if (!t->nthreads) {
		rc = gone_error(t->pid);
		goto cleanup;
	}
	rc = read_thread_regs(t);
	if (!rc && !t->nthreads && !watchdog_fired)
		rc = gone_error(t->pid);
	if (!rc)
		rc = target_refresh_maps(t);
	if (!rc)
		debug_hold();

cleanup:
	/* Released by the watchdog (PAUSE_LIMIT_CONTINUE) while stopping:
	 * errors since were about threads it let go.  Let go of any seized
	 * since and carry on with the target running. */
	released = watchdog_fired;
	if (rc || released) {
		sigset_t old;
		size_t pending;

		/* Threads that stopped since the last look can still be let
		 * go; the others linger (see linger()). */
		block_handled(&old);
		collect_stops(t, &pending);
		restore_mask(&old);
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
	if (!t || t->ops != &live_ops || !t->stop_started_ns)
		return 0;
	return release(t);
}

bool target_is_stopped(const struct target *t)
{
	return t->stop_started_ns != 0;
}
