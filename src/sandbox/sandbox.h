/*
 * sandbox/ — privilege separation (pyheap(1) SECURITY).
 *
 * pyheap runs as root, or with CAP_SYS_PTRACE, against processes that
 * others control, often in containers.  What those processes control —
 * their ELF and DWARF files, their memory and the copy of it, a core file
 * — is parsed by sandbox_run()'s child, which keeps no privilege:
 *
 *   - root: an empty directory (when pyheap may chroot), removed once
 *     the child is in it;
 *   - uid, gid and groups of `nobody` (when pyheap may change them), every
 *     capability dropped (effective, permitted, inheritable, ambient, and
 *     the bounding set where CAP_SETPCAP allows), PR_SET_NO_NEW_PRIVS,
 *     not dumpable;
 *   - a seccomp filter admitting what parsing and writing need: memory,
 *     threads (clone with CLONE_THREAD, nothing that makes a process),
 *     reads and writes on descriptors it holds, the socket to its parent,
 *     clocks; open() fails with EACCES and the rest with EPERM, so it
 *     cannot open, signal (but itself), trace, connect or execute;
 *   - descriptors: stdin, stdout, stderr, the socket, and one the parent
 *     chose to leave it (the output file, created by the parent).
 *
 * The parent keeps the privileged part: finding the target, attaching,
 * stopping, copying, resuming and detaching, and a broker on the socket
 * for the child's requests, checked against a policy:
 *
 *   OPEN path   a file under the target's root (/proc/PID/root/..., or a
 *               --sysroot), opened with openat2(RESOLVE_IN_ROOT) so that
 *               no symbolic link leads out of it; /proc/PID/map_files/A-B;
 *               the host's debug files (/usr/lib/debug, RESOLVE_BENEATH);
 *               for a core without --sysroot, any file every user may
 *               read; or one of the exact paths the user named (the core,
 *               --exe).  Read-only, regular files only (but the exact
 *               paths, which the child then refuses itself); the
 *               descriptor is passed back.  What a core names under a
 *               --sysroot, too, only if every user may read it.
 *   READ a n    bytes of the live target (for the interpreter's constants
 *               before the stop), at most SANDBOX_READ_MAX per request.
 *   PUT k data  a result for the parent (sandbox_put()), bounded.
 *   ALIVE       whether the target still runs.
 *   STOP, RESUME  stop the live target (target_stop(), with its watchdog
 *               and handlers, in the parent) while the child reads it,
 *               and let it run; if the child ends with it stopped, the
 *               parent resumes it at once.  THREADS: while stopped, its
 *               threads' ids and thread pointers.
 *
 * If the child crashes or is killed, the parent says so in one line
 * (-PH_E_CRASH: exit 2) and writes nothing; the target is never stopped
 * while a child runs.  Environment PYHEAP_TEST_SANDBOX (tests only):
 * "status=FILE" writes what the child could do and its /proc status
 * there, read by the parent while the child is confined; "crash" makes
 * the child die of SIGSEGV once confined; "walk" makes the parent resolve
 * paths as it does where openat2() is missing or refused (broker.c).
 */
#ifndef PYHEAP_SANDBOX_H
#define PYHEAP_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/base.h"

struct target;

/* A build with AddressSanitizer (tests only), whose runtime's leak check
 * at exit needs more than the filter admits (drop.c). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

#define SANDBOX_READ_MAX 65536
#define SANDBOX_PUT_MAX ((size_t)64 << 20)

/* Files the broker opened, kept for the next child under the same
 * policy: snap's second step then reads the very files the first one did,
 * even once the target has exited and its /proc/PID/root is gone. */
struct sandbox_files {
	char **paths;
	int *fds;
	size_t n, alloc;
};
#define SANDBOX_FILES_INIT { NULL, NULL, 0, 0 }
void sandbox_files_release(struct sandbox_files *f);

/* What the child may ask for. */
struct sandbox_policy {
	pid_t pid;               /* > 0: files under /proc/PID/root and its
				  * map_files */
	struct target *live;     /* its memory the child may read; NULL */
	bool may_stop;           /* and stop it (STOP, RESUME) */
	unsigned max_pause_ms;   /* for target_stop() */
	bool core;               /* files a core names: under root, or
				  * anywhere without one, world-readable
				  * ones only */
	const char *root;        /* --sysroot; NULL */
	const char *const *paths; /* exact paths it may open; NULL-ended */
	int keep_fd;             /* left open in the child; -1 for none */
	struct sandbox_files *files; /* reuse and keep what is opened; NULL */
};

/* Results the child puts, by key. */
enum sandbox_key {
	SANDBOX_KEY_ELF,   /* the interpreter's file, as the maps name it */
	SANDBOX_KEY_PROM,  /* metrics (output.h prom_serialize()) */
	SANDBOX_KEY_SUMMARY, /* the line snap prints */
	SANDBOX_KEY_PID,   /* the process a core records, decimal */
	SANDBOX_KEY__COUNT
};

struct sandbox_out {
	struct strbuf put[SANDBOX_KEY__COUNT];
};

void sandbox_out_init(struct sandbox_out *out);
void sandbox_out_release(struct sandbox_out *out);

/*
 * Run fn(ctx) in a confined child; serve its requests until it exits.
 * Returns fn's result: 0, its error (code and message, as if fn had run
 * here), or -PH_E_CRASH if the child died without one, -PH_E_PERM if it
 * could not be confined, -PH_E_IO if it could not be started.  The child
 * sees the parent's memory as it was at the call (fork): ctx and what it
 * points at.  about names the target in messages ("process 1234").
 */
int sandbox_run(const struct sandbox_policy *pol, const char *about,
		int (*fn)(void *ctx), void *ctx, struct sandbox_out *out);

/* The parent's side alone, on sock (a SOCK_SEQPACKET socket whose peer
 * plays the child): for fuzzing.  0 when the peer closes, -1 at its first
 * malformed request. */
int sandbox_serve(const struct sandbox_policy *pol, int sock,
		  struct sandbox_out *out);

/* In the child: whether it is one, the descriptor keep_fd became, and a
 * result for the parent (appended to out->put[key]).  0, or -PH_E_IO. */
bool sandbox_active(void);
int sandbox_kept_fd(void);
int sandbox_put(enum sandbox_key key, const void *data, size_t len);
/* In the child: whether the policy's process still runs (not a zombie). */
bool sandbox_target_alive(void);
/* In the child: stop the policy's process (0, or target_stop()'s error;
 * its threads' ids and thread pointers then replace the child's list),
 * and let it run again (the pause in ns).  While it is stopped, reads are
 * cached by page. */
int sandbox_stop(void);
uint64_t sandbox_resume(void);

/* drop.c, in the child: give up privileges and install the filter.  0, or
 * -PH_E_PERM naming what could not be dropped. */
int sandbox_drop(uid_t uid, gid_t gid, const char *empty_root);
/* For tests: what the child can do, one "what: result" line each. */
void sandbox_probe(pid_t target, struct strbuf *out);

#endif
