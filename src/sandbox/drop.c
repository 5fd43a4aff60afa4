/*
 * The parsing process gives up what it does not need (sandbox.h): its
 * credentials, its capabilities, and most system calls.
 *
 * Order matters.  The bounding set can only be emptied while
 * CAP_SETPCAP is held, chroot() needs CAP_SYS_CHROOT, and groups, gid and
 * uid can only be changed while CAP_SETGID/CAP_SETUID are: so bounding
 * set first, then the empty root, then groups, gid, uid (which clears the
 * permitted and effective sets: no SECBIT_KEEP_CAPS),
 * then capset() to zero for a pyheap that held capabilities without being
 * root (file capabilities), then no-new-privs, which seccomp requires of
 * an unprivileged process, then the filter, last, because it forbids the
 * calls above.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox.h"

static int capset_zero(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

static bool caps_zero(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return !d[0].effective && !d[0].permitted && !d[0].inheritable &&
	       !d[1].effective && !d[1].permitted && !d[1].inheritable;
}

static int drop_error(const char *what)
{
	return ph_error(PH_E_PERM, "cannot drop privileges for the parsing "
			"process (%s: %s); --no-sandbox parses with pyheap's "
			"own", what, strerror(errno));
}

/* ---- the filter ---------------------------------------------------------- */

#define ARCH_NR AUDIT_ARCH_X86_64
#define X32_BIT 0x40000000u

struct bpf {
	struct sock_filter v[256];
	size_t n;
};

static void emit(struct bpf *b, struct sock_filter f)
{
	if (b->n < PH_ARRAY_SIZE(b->v))
		b->v[b->n++] = f;
}

#define STMT(c, k) ((struct sock_filter)BPF_STMT((c), (k)))
#define JUMP(c, k, t, f) ((struct sock_filter)BPF_JUMP((c), (k), (t), (f)))
#define LD_NR STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
/* Arguments are 64-bit; the low word is enough for the values checked
 * (pids, flags, ioctl numbers: the kernel reads ints). */
#define LD_ARG(i) STMT(BPF_LD | BPF_W | BPF_ABS, \
		       offsetof(struct seccomp_data, args[i]))
#define RET(v) STMT(BPF_RET | BPF_K, (v))
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

static void allow(struct bpf *b, int nr)
{
	emit(b, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1));
	emit(b, RET(SECCOMP_RET_ALLOW));
}

static void answer(struct bpf *b, int nr, unsigned ret)
{
	emit(b, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1));
	emit(b, RET(ret));
}

/* nr is allowed when its argument i equals v (jset: has a bit of v). */
static void allow_if(struct bpf *b, int nr, int i, unsigned v, bool jset,
		     int err)
{
	emit(b, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 4));
	emit(b, LD_ARG(i));
	emit(b, JUMP(BPF_JMP | (jset ? BPF_JSET : BPF_JEQ) | BPF_K, v, 0, 1));
	emit(b, RET(SECCOMP_RET_ALLOW));
	emit(b, RET(ERRNO(err)));
}

static const int allowed[] = {
	/* descriptors it holds: files the parent opened, the output, the
	 * socket, stdio */
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64,
	SYS_pwrite64, SYS_lseek, SYS_close, SYS_fstat, SYS_newfstatat,
	SYS_fsync, SYS_fdatasync, SYS_fcntl, SYS_sendmsg, SYS_recvmsg,
	SYS_sendto, SYS_recvfrom,
	/* memory and threads (libelf maps files; --jobs) */
	SYS_mmap, SYS_munmap, SYS_mremap, SYS_mprotect, SYS_madvise,
	SYS_brk, SYS_futex, SYS_set_robust_list, SYS_rseq,
	SYS_sched_yield, SYS_sched_getaffinity, SYS_getrandom,
	/* signals to itself, exit */
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn,
	SYS_sigaltstack, SYS_restart_syscall, SYS_exit, SYS_exit_group,
	/* who and when it is */
	SYS_getpid, SYS_gettid, SYS_getppid, SYS_getuid, SYS_geteuid,
	SYS_getgid, SYS_getegid, SYS_getresuid, SYS_getresgid,
	SYS_getgroups, SYS_uname, SYS_sysinfo, SYS_prlimit64,
	SYS_getrusage, SYS_clock_gettime, SYS_clock_getres,
	SYS_clock_nanosleep, SYS_nanosleep, SYS_gettimeofday, SYS_time,
};

#ifdef SANDBOX_SANITIZER
/* The AddressSanitizer runtime's leak check at exit stops the threads
 * from a task it clones, which traces them and reads /proc/self: in a
 * sanitizer build (tests only) the filter admits that too. */
static const int sanitizer_allowed[] = {
	SYS_ptrace, SYS_open, SYS_openat, SYS_readlink, SYS_readlinkat,
	SYS_getdents, SYS_getdents64, SYS_wait4, SYS_waitid, SYS_prctl,
	SYS_clone, SYS_lstat,
	SYS_kill, SYS_tgkill, SYS_tkill, SYS_pipe2, SYS_dup, SYS_dup2,
	SYS_poll, SYS_ioctl, SYS_execve, SYS_access, SYS_stat,
};
#endif

static int install_filter(pid_t self)
{
	struct bpf b = { .n = 0 };
	struct sock_fprog prog;
	size_t i;

	emit(&b, STMT(BPF_LD | BPF_W | BPF_ABS,
		      offsetof(struct seccomp_data, arch)));
	emit(&b, JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 1, 0));
	emit(&b, RET(SECCOMP_RET_KILL_PROCESS));
	emit(&b, LD_NR);
	/* x32 numbers are the same calls under another number. */
	emit(&b, JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 1));
	emit(&b, RET(ERRNO(EPERM)));
#ifdef SANDBOX_SANITIZER
	for (i = 0; i < PH_ARRAY_SIZE(sanitizer_allowed); i++)
		allow(&b, sanitizer_allowed[i]);
#endif
	for (i = 0; i < PH_ARRAY_SIZE(allowed); i++)
		allow(&b, allowed[i]);
	/* Threads only: a new process would escape nothing, but has no
	 * business here.  glibc tries clone3 first and falls back to clone
	 * on ENOSYS, whose flags a filter can read. */
	answer(&b, SYS_clone3, ERRNO(ENOSYS));
	allow_if(&b, SYS_clone, 0, CLONE_THREAD, true, EPERM);
	/* raise() and abort() signal the process itself. */
	allow_if(&b, SYS_tgkill, 0, (unsigned)self, false, EPERM);
	allow_if(&b, SYS_kill, 0, (unsigned)self, false, EPERM);
	/* isatty(): stdio asks whether stdout is a terminal. */
	allow_if(&b, SYS_ioctl, 1, TCGETS, false, ENOTTY);
	/* A file is the parent's to open: a clear "permission denied". */
	answer(&b, SYS_open, ERRNO(EACCES));
	answer(&b, SYS_openat, ERRNO(EACCES));
	answer(&b, SYS_openat2, ERRNO(EACCES));
	emit(&b, RET(ERRNO(EPERM)));
	if (b.n == PH_ARRAY_SIZE(b.v)) {
		errno = E2BIG;
		return -1;
	}
	prog.len = (unsigned short)b.n;
	prog.filter = b.v;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

int sandbox_drop(uid_t uid, gid_t gid, const char *empty_root)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uid_t r, e, s;
	uint32_t eff;
	int cap;

	if (syscall(SYS_capget, &h, d))
		return drop_error("capget");
	eff = d[0].effective;
	if (eff & (1u << CAP_SETPCAP))
		for (cap = 0; cap <= 63; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) &&
			    errno != EINVAL)
				return drop_error("the bounding set");
	/* An empty root: paths the filter cannot see (stat()'s) find
	 * nothing. */
	if (empty_root && (eff & (1u << CAP_SYS_CHROOT)) &&
	    (chroot(empty_root) || chdir("/")))
		return drop_error("chroot");
	/* Root, or able to become anyone: become nobody.  (Without these
	 * capabilities pyheap runs as its user already, who owns the target:
	 * nobody else to become.) */
	if ((eff & (1u << CAP_SETUID)) && (eff & (1u << CAP_SETGID))) {
		if (setgroups(0, NULL))
			return drop_error("setgroups");
		if (setresgid(gid, gid, gid))
			return drop_error("setresgid");
		if (setresuid(uid, uid, uid))
			return drop_error("setresuid");
		if (getresuid(&r, &e, &s) || r != uid || e != uid || s != uid)
			return drop_error("the uid stayed");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL)
		return drop_error("ambient capabilities");
	if (capset_zero() || !caps_zero())
		return drop_error("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return drop_error("no_new_privs");
#ifdef SANDBOX_SANITIZER
	/* The leak check's tracer must be allowed to trace us. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return drop_error("dumpable");
#else
	/* Nobody else running as nobody may trace or read us. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return drop_error("dumpable");
#endif
	if (install_filter(getpid()))
		return drop_error("seccomp");
	return 0;
}

/* ---- what it can do, for tests ------------------------------------------ */

static void probe_line(struct strbuf *out, const char *what, int rc)
{
	strbuf_addf(out, "%s: %s\n", what, rc < 0 ? strerror(errno) : "ok");
}

void sandbox_probe(pid_t target, struct strbuf *out)
{
	char path[64];
	int fd, rc;

#ifdef SANDBOX_SANITIZER
	strbuf_addstr(out, "sanitizer build: yes\n");
#else
	strbuf_addstr(out, "sanitizer build: no\n");
#endif
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	probe_line(out, "open /etc/passwd", fd);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)target);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	probe_line(out, "open /proc/TARGET/mem", fd);
	if (fd >= 0)
		close(fd);
	probe_line(out, "kill TARGET 0", kill(target, 0));
	probe_line(out, "ptrace TARGET", (int)ptrace(PTRACE_SEIZE, target,
						     NULL, NULL));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	probe_line(out, "socket", fd);
	if (fd >= 0)
		close(fd);
	rc = (int)syscall(SYS_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0);
	if (rc == 0)
		_exit(0);
	probe_line(out, "fork", rc);
	probe_line(out, "setuid 0", setuid(0));
}
