/*
 * target/ — the one way pyheap reads another process's memory.
 *
 * Everything that parses target memory goes through struct target and its
 * ops table; nothing dereferences a target address any other way.  Backends:
 *
 *   live   a running process: /proc/PID/maps, process_vm_readv (falling back
 *          to pread on /proc/PID/mem), and ptrace to stop/resume threads
 *   fake   an in-memory set of regions, for unit tests of walkers
 *   image  a local copy of a live process's memory, taken while it was
 *          stopped, parsed after it runs again (see "Images")
 *
 * Reads
 * -----
 * target_read() either fills all `len` bytes and returns 0, or returns
 * -PH_E_READ (nothing promised about buf).  A read may span several
 * adjacent mappings.  The scanning flavour target_read_u64_or() returns a
 * default instead and counts the miss in t->stats.misses, for walkers that
 * step over bad pointers.  Target memory is hostile: these functions check
 * only that the bytes could be read; callers validate what they mean.  A
 * live target can also fail in ways that are not about one address and so
 * are not skippable: -PH_E_NOPROC (the process is gone) and -PH_E_PERM (it
 * cannot be read at all).
 *
 * Stopping (live backend only)
 * ----------------------------
 * target_stop() seizes every thread (PTRACE_SEIZE, then PTRACE_INTERRUPT),
 * re-reading /proc/PID/task until no new thread appears, and waits until each
 * is in a ptrace-stop.  While threads are stopped:
 *   - an emergency hook is armed (base.h ph_die) and handlers for SIGINT,
 *     SIGTERM, SIGHUP, SIGPIPE, SIGQUIT and SIGALRM detach every thread
 *     before pyheap exits; SIGTSTP/SIGTTIN/SIGTTOU are blocked, so pyheap
 *     cannot be suspended with the target stopped;
 *   - a watchdog (setitimer) detaches every thread if the pause exceeds
 *     max_pause_ms and, by t->pause_limit, either exits with status 2
 *     ("pause exceeded N ms; target resumed; giving up, nothing written")
 *     or, with PAUSE_LIMIT_CONTINUE, warns that it reads on without
 *     stopping and returns: target_stop() (if it was still stopping)
 *     returns 0 with the target running, reads go on as with --no-stop,
 *     and t->pause_limit_hit is set once the target is resumed;
 *   - if pyheap is killed with SIGKILL the kernel detaches; PTRACE_SEIZE
 *     (unlike PTRACE_ATTACH) leaves no SIGSTOP behind, so the threads run on.
 * target_resume() detaches every thread, re-injecting any signal that was
 * intercepted in a signal-delivery-stop so none is lost, and records the
 * pause.  It is idempotent and is also called by target_close().
 * Nothing is ever written into the target.
 *
 * The signal handlers and the watchdog work from file-static state, so only
 * one target can be stopped at a time.  A thread that does not reach a
 * ptrace-stop within 2 s (stuck in the kernel, state D) makes target_stop()
 * fail with -PH_E_TIMEOUT; such a thread cannot be detached until it stops,
 * so pyheap installs a SIGCHLD handler (chaining to any previous one) that
 * detaches it the moment it does; it is removed again once no such thread
 * is left.
 *
 * Images
 * ------
 * The pause of the target is bounded by copying, not by parsing: stop,
 * target_image_capture(), resume, then parse the image through the same
 * target_read().  A capture copies every mapping that is readable, private
 * and not executable, except the kernel's own ([vvar], [vdso], ...) and
 * data files (files mapped executable nowhere: the locale archive, weights
 * loaded with mmap).  That is heap, stacks, anonymous memory (pymalloc and
 * malloc arenas) and the data segments of ELF files; code is in the files.
 * In anonymous mappings only pages that are present or swapped out are
 * copied; the others (untouched stacks and arena tails, most of the
 * address space) read as zero and cost no local memory.  Pages that cannot
 * be read also read as zero, and are counted.  Resident pages are found
 * with the PAGEMAP_SCAN ioctl (Linux 6.7); older kernels read
 * /proc/PID/pagemap, 8 bytes per page, and there an anonymous mapping
 * larger than 64 GiB (an ASan shadow) is left out with a warning rather
 * than lengthen the pause by seconds.  Copies are batched process_vm_readv()
 * calls, or reads of /proc/PID/mem where that is refused (as for live
 * reads).
 *
 * An image keeps every mapping of the process in t->maps with its real
 * permissions, so ELF lookups (load bias, the interpreter's file) work on
 * it; map.copied says which ones it holds.  Reads succeed only within
 * copied mappings (adjacent ones join): elsewhere, including r-x text that
 * target_mapped() reports as mapped, they fail with -PH_E_READ.  It has its
 * own copies of pid, exe, cmdline, root and threads (those of the last
 * target_stop() of the live target, none if it was never stopped); it
 * cannot be stopped, and target_refresh_maps() does nothing.
 *
 * Ownership: target_live_open()/target_fake_new()/target_image_capture()
 * allocate; target_close() resumes (if stopped) and frees everything,
 * including maps and threads.
 */
#ifndef PYHEAP_TARGET_H
#define PYHEAP_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "../base/base.h"

/* ---- /proc/PID/maps ---------------------------------------------------- */

#define MAP_R 1u
#define MAP_W 2u
#define MAP_X 4u
#define MAP_P 8u /* private (copy on write); shared otherwise */

struct map {
	uint64_t start, end; /* [start, end) */
	uint64_t offset;     /* file offset of start */
	uint64_t inode;
	unsigned dev_major, dev_minor;
	unsigned perms;      /* MAP_R | MAP_W | MAP_X | MAP_P */
	bool deleted;        /* path ended in " (deleted)" (stripped from path) */
	bool copied;         /* image targets: its content is in the image */
	char *path;          /* NULL for anonymous; "[heap]", "[stack]", ... */
	char *open_path;     /* cores with --exe: the file to open instead
			      * of root + path; else NULL */
};

/* Sorted by start, non-overlapping.  maps_parse() rejects text that breaks
 * this; maps_read() of a running process can see the maps change between
 * two read()s and retries, then repairs (see maps.c), so the result is
 * always ordered but only exact while the process is stopped. */
struct maps {
	struct map *v;
	size_t n, alloc;
};
#define MAPS_INIT { NULL, 0, 0 }

/* Parse the text of a maps file.  Malformed lines are an error
 * (-PH_E_FORMAT), not skipped: the kernel never writes them.  *out must be
 * initialised (MAPS_INIT); on success its old contents are released and
 * replaced, on error it is left unchanged. */
int maps_parse(const char *text, size_t len, struct maps *out);
/* The same, but a line that overlaps or precedes the one before wins:
 * earlier entries ending after its start are trimmed to it or dropped (what
 * maps_read() falls back to when a running process keeps changing its maps).
 * Malformed lines are still -PH_E_FORMAT. */
int maps_parse_repair(const char *text, size_t len, struct maps *out);
/* Read and parse /proc/PID/maps (same contract for *out).  -PH_E_NOPROC,
 * -PH_E_PERM, -PH_E_IO, -PH_E_FORMAT. */
int maps_read(pid_t pid, struct maps *out);
/* The mapping containing addr, or NULL (binary search). */
const struct map *maps_find(const struct maps *m, uint64_t addr);
void maps_release(struct maps *m);

/* ---- the target -------------------------------------------------------- */

struct target;

/* General-purpose registers kept per stopped thread: x86_64's struct
 * user_regs_struct (sys/user.h) is 27 words. */
#define TARGET_NREGS 27

struct target_thread {
	pid_t tid;
	uint64_t fs_base; /* thread pointer; on x86_64 glibc == pthread_self() */
	/* The registers as PTRACE_GETREGS read them during the stop (a
	 * native-leak scan's roots), and the stack pointer among them;
	 * has_regs is false where they were not read. */
	uint64_t regs[TARGET_NREGS];
	uint64_t sp;
	bool has_regs;
	bool stopped;     /* currently in a ptrace-stop under our control */
	int pending_sig;  /* signal intercepted while stopping; re-sent on detach */
};

/* Reads attempted, bytes read successfully, target_read_u64_or() misses. */
struct target_stats {
	uint64_t reads, bytes, misses;
};

enum pause_limit {
	PAUSE_LIMIT_FAIL = 0, /* resume, say so, exit with status 2 */
	PAUSE_LIMIT_CONTINUE, /* resume, say so, let the caller go on */
};

struct target_ops {
	/* Fill buf with len bytes at addr: 0 or -PH_E_READ (live also
	 * -PH_E_NOPROC, -PH_E_PERM; see "Reads"). */
	int (*read)(struct target *t, uint64_t addr, void *buf, size_t len);
	/* Release backend state (called by target_close after resume). */
	void (*close)(struct target *t);
};

struct target {
	const struct target_ops *ops;
	pid_t pid;            /* 0 for fake targets */
	struct maps maps;
	struct target_thread *threads;
	size_t nthreads, threads_alloc;
	/* Prefix to open files the target sees by path, so targets in other
	 * mount namespaces (containers) work: "/proc/PID/root"; "" for fake. */
	char *root;
	char *exe;            /* /proc/PID/exe as the kernel reports it, or NULL */
	char *cmdline;        /* argv joined by spaces, or NULL */
	struct target_stats stats;
	/* Pause accounting (live): time from the first PTRACE_INTERRUPT to the
	 * last PTRACE_DETACH, summed over stop/resume cycles. */
	uint64_t pause_ns;
	uint64_t stop_started_ns; /* 0 when not stopped */
	/* What the watchdog does past max_pause_ms (see "Stopping"); set
	 * before target_stop().  pause_limit_hit says it happened during
	 * the last stop. */
	enum pause_limit pause_limit;
	bool pause_limit_hit;
	/* Cores: map.inode numbers files (a core records no inodes) and the
	 * backend checked each file against the core; symbols/ compares no
	 * inodes. */
	bool inodes_unknown;
	void *priv;
	/* The copied extent the last read of an image fell in (image.c):
	 * [hot_start, hot_end) is at hot.  Most reads follow one another
	 * within an arena, and then skip the extent search and the call. */
	const unsigned char *hot;
	uint64_t hot_start, hot_end;
};

static inline int target_read(struct target *t, uint64_t addr, void *buf,
			      size_t len)
{
	int rc;

	t->stats.reads++;
	if (addr >= t->hot_start && addr < t->hot_end &&
	    len <= t->hot_end - addr && len) {
		const unsigned char *src = t->hot + (addr - t->hot_start);

		/* Most reads are one word: a constant size is a move, not
		 * a call. */
		if (len == 8)
			memcpy(buf, src, 8);
		else
			memcpy(buf, src, len);
		t->stats.bytes += len;
		return 0;
	}
	rc = t->ops->read(t, addr, buf, len);
	if (!rc)
		t->stats.bytes += len;
	return rc;
}

int target_read_u64(struct target *t, uint64_t addr, uint64_t *out);
int target_read_u32(struct target *t, uint64_t addr, uint32_t *out);
/* Scanning flavour: returns dflt (and counts a miss) if unreadable. */
uint64_t target_read_u64_or(struct target *t, uint64_t addr, uint64_t dflt);
/* Read a NUL-terminated C string of at most max-1 bytes into buf (size max).
 * -PH_E_READ if unreadable, -PH_E_LIMIT if no NUL within max-1 bytes (buf
 * then holds the first max-1 bytes, NUL-terminated).  Reads page by page so
 * a string near the end of a mapping still works.  buf is always
 * NUL-terminated when max > 0; max == 0 is -PH_E_LIMIT. */
int target_read_cstr(struct target *t, uint64_t addr, char *buf, size_t max);
/* True if [addr, addr+len) lies in readable mappings (MAP_R), possibly
 * several contiguous ones.  len 0 is taken as 1; a range that wraps past
 * 2^64 is not mapped. */
bool target_mapped(const struct target *t, uint64_t addr, size_t len);

/* ---- live backend ------------------------------------------------------ */

/* Open a running process without stopping it: checks it exists and that we
 * may read it, reads maps, exe and cmdline.  Errors:
 *   -PH_E_NOPROC  no such process (message names the PID)
 *   -PH_E_PERM    not allowed (message says how to fix: run as root or with
 *                 CAP_SYS_PTRACE, kernel.yama.ptrace_scope, Docker
 *                 --cap-add=SYS_PTRACE)  */
int target_live_open(pid_t pid, struct target **out);

/* Stop every thread (see the header comment).  max_pause_ms > 0 arms the
 * watchdog.  -PH_E_PERM, -PH_E_NOPROC, -PH_E_ATTACH, -PH_E_TIMEOUT.  On error
 * every thread already seized is released again.  On success t->threads
 * lists the stopped threads (with fs_base) and t->maps has been re-read.
 * Stopping a stopped target, or a target that is not live, does nothing
 * and returns 0; stopping a second target while one is stopped, or pyheap
 * itself, is -PH_E_ATTACH. */
int target_stop(struct target *t, unsigned max_pause_ms);
/* Resume every thread; 0 or the first detach error (all are attempted).
 * t->threads is kept (stopped == false) as a record of the last stop. */
int target_resume(struct target *t);
bool target_is_stopped(const struct target *t);
/* Re-read maps (live; 0 and nothing done for other backends).  Valid while
 * stopped for a consistent view. */
int target_refresh_maps(struct target *t);

/* The fix appended to -PH_E_PERM messages about reading another process. */
#define TARGET_PERM_HINT                                                     \
	"run as root or grant CAP_SYS_PTRACE; check "                        \
	"kernel.yama.ptrace_scope; in Docker use --cap-add=SYS_PTRACE"
/* For the backends: the error for failing to open /proc/PID/... (`what`)
 * with errno err: -PH_E_NOPROC "no such process: PID", -PH_E_PERM with the
 * hint, else -PH_E_IO. */
int target_proc_error(pid_t pid, const char *what, int err);

/* ---- core backend (core.c) --------------------------------------------- */

/*
 * Cores
 * -----
 * target_core_open() reads an x86_64 ELF core (gcore, the kernel's dump,
 * `coredumpctl dump -o FILE`) as the process it records: its mappings
 * (PT_LOAD, named from NT_FILE; [heap] and [stack] inferred), threads and
 * registers (NT_PRSTATUS), pid and command line (NT_PRPSINFO).  Reads
 * return what the core holds; in a file mapping it does not hold, the
 * file's bytes (opened under sysroot), once the file is checked to be the
 * one the process mapped (build-id, where the core holds the file's first
 * page: a mismatch fails the open, -PH_E_ELF).  It cannot be stopped.
 * A zstd-compressed core is refused with advice; -PH_E_FORMAT for what is
 * no core, -PH_E_NOTFOUND / -PH_E_IO if the file cannot be opened.
 */
struct core_opts {
	const char *sysroot; /* prefix of every path the core names; NULL */
	const char *exe;     /* the executable's file, if not its path */
};

/* What a core lacks, for the snapshot and a warning. */
struct target_core_info {
	/* Readable, non-executable mappings it holds no (or not all) bytes
	 * of: coredump_filter left them out. */
	uint64_t missing_mappings, missing_bytes;
	uint64_t truncated_bytes;   /* bytes past the end of a cut file */
	uint64_t held_bytes;        /* process memory the core holds */
	uint64_t files_checked;     /* files whose build-id was checked */
	uint64_t files_unchecked;   /* files read from although the core
				     * holds no header to check them by */
	uint64_t files_missing;     /* ELF files it names that cannot be
				     * opened under the sysroot */
};

int target_core_open(const char *path, const struct core_opts *o,
		     struct target **out);
bool target_is_core(const struct target *t);
/* NULL unless t is a core. */
const struct target_core_info *target_core_info(const struct target *t);

/* ---- fake backend (unit tests) ----------------------------------------- */

struct target *target_fake_new(void);
bool target_is_fake(const struct target *t);
/* Add a region at addr with a copy of len bytes (zeros if data is NULL);
 * also adds a map entry with the given perms and optional path.  Regions
 * must not overlap and len must not be 0 (ph_die() otherwise: a broken
 * test).  Like a real process, a region without MAP_R cannot be read. */
void target_fake_add(struct target *t, uint64_t addr, const void *data,
		     size_t len, unsigned perms, const char *path);
/* The local bytes of [addr, addr + len) of fake target t, which must lie
 * inside one region; NULL otherwise.  Writing through the pointer changes
 * what reads return (fuzzers patch one target in place per input). */
void *target_fake_bytes(struct target *t, uint64_t addr, size_t len);

/* ---- image backend (see "Images") ------------------------------------- */

/* A buffer to copy into, reserved and faulted in before the target is
 * stopped (target_image_reserve), so the pause pays for no page fault. */
struct image_buf {
	unsigned char *p;
	size_t len;
};

struct image_opts {
	/* Refuse (-PH_E_LIMIT) if the copy would exceed this; 0 = no limit. */
	uint64_t max_bytes;
	/* Find resident pages by reading /proc/PID/pagemap even where
	 * PAGEMAP_SCAN works: the path older kernels take, for tests. */
	bool pagemap_read;
	/* NULL, or a reserved buffer: the capture takes it over when the
	 * copy fits (buf->p becomes NULL), else releases it and allocates
	 * anew.  Either way the caller need only release it after. */
	struct image_buf *buf;
	/* Threads that copy at once (each a run of the image); 0 or 1: the
	 * calling thread alone.  At most 8. */
	int jobs;
	/* No run shorter than this goes to a thread of its own; 0: 8 MiB.
	 * Tests set a page, to cut small images into many runs. */
	uint64_t run_min;
};

struct image_stats {
	uint64_t bytes;            /* copied from the target */
	uint64_t hole_pages;       /* anonymous, neither present nor swapped:
				    * zero, not copied */
	uint64_t unreadable_pages; /* could not be read: zero in the image */
	uint64_t copy_threads;     /* that copied it */
	uint64_t maps;             /* mappings copied */
	uint64_t maps_left_out;    /* would be copied, but see "Images" */
	uint64_t copy_ns;          /* the whole capture (its part of the
				    * pause), ... */
	uint64_t scan_ns;          /* ... of which deciding what to copy
				    * (finding resident pages) */
};

/* Copy the memory of live target t (stopped or not) into a new image
 * target *image.  Stopped, t->maps is used as it is (exact); running, maps
 * are read afresh and the copy is not consistent (--no-stop).  o may be
 * NULL (no limit).  *out_bytes (may be NULL) receives the bytes copied.
 * Errors: -PH_E_LIMIT (nothing copied), -PH_E_NOMEM (no local memory for
 * the copy), -PH_E_NOPROC, -PH_E_PERM, -PH_E_IO, -PH_E_USAGE (t is not
 * live); *image is then NULL and nothing is left allocated. */
int target_image_capture(struct target *t, const struct image_opts *o,
			 struct target **image, uint64_t *out_bytes);
/* How many bytes a capture of t would copy now, for a pre-flight check;
 * does not stop t.  The same errors but -PH_E_LIMIT and -PH_E_NOMEM. */
int target_image_estimate(struct target *t, uint64_t *bytes);
/* Map and fault in bytes of local memory for a capture (b->p NULL when
 * bytes is 0), on up to jobs threads.  0, or -PH_E_NOMEM.  Release with target_image_buf_release
 * (which does nothing to a buffer a capture took over). */
int target_image_reserve(uint64_t bytes, int jobs, struct image_buf *b);
void target_image_buf_release(struct image_buf *b);
/* At -vvv, log each extent an image holds ("copied extent START-END"),
 * for bench/copy; call it after the target is resumed.  Nothing for other
 * targets. */
void target_image_log_extents(const struct target *t);
/* The statistics of an image target; NULL for other targets. */
const struct image_stats *target_image_stats(const struct target *t);

/*
 * Sandboxing (sandbox/sandbox.h)
 * ------------------------------
 * The parsing process cannot read another process: its live target's
 * reads go to fn instead, which asks the privileged parent.  fn has
 * target_live_read_prefix()'s contract.  The parent serves them with
 * target_live_read_prefix(): the bytes of [addr, addr + len) readable
 * from the start (*done of them); 0, or -PH_E_NOPROC, -PH_E_PERM,
 * -PH_E_IO.  A range that wraps, or a target not live, reads nothing.
 */
/* The state letter /proc/PID/task/TID/stat gives ('R', 'S', 'T', 'Z',
 * ...), or '?' if it cannot be read (the thread is gone). */
char target_task_state(pid_t pid, pid_t tid);
typedef int (*target_remote_read_fn)(uint64_t addr, void *buf, size_t len,
				     size_t *done);
void target_live_set_remote(struct target *t, target_remote_read_fn fn);
int target_live_read_prefix(struct target *t, uint64_t addr, void *buf,
			    size_t len, size_t *done);

void target_close(struct target *t);

#endif
