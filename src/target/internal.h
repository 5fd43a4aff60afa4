/*
 * target/internal.h — what the backends share with each other.  Nothing
 * outside target/ includes it; the interface is target.h.
 */
#ifndef PYHEAP_TARGET_INTERNAL_H
#define PYHEAP_TARGET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include "target.h"

/* live.c: whether t is a live target (the only kind an image copies). */
bool target_is_live(const struct target *t);
/* live.c: read what can be read of [addr, addr + len) of live target t, by
 * process_vm_readv() or, where that is refused, /proc/PID/mem.  *done
 * receives the bytes read before the first page that cannot be; 0, or
 * -PH_E_NOPROC, -PH_E_PERM, -PH_E_IO (errors not about one address).
 * addr + len must not wrap. */
int live_read_prefix(struct target *t, uint64_t addr, void *buf, size_t len,
		     size_t *done);

/* live.c: "no such process: PID", -PH_E_NOPROC. */
int live_gone_error(pid_t pid);

/*
 * stop_signals.c, for stop.c: what the signal handlers, the watchdog and
 * the emergency hook must see of a stopped target, which they may
 * interrupt anywhere.  The seized threads change only with the handled
 * signals blocked (stop_block_handled(), stop_restore_mask()), so a
 * handler never sees a half-written entry.
 */
struct seized {
	pid_t tid;
	volatile sig_atomic_t sig;    /* to re-inject on detach */
	volatile sig_atomic_t waited; /* its stop was collected by waitpid */
};
extern volatile sig_atomic_t stop_nseized;
/* The target stopped now (only one can be), or NULL. */
extern const struct target *stop_current;
/* The watchdog released the threads (PAUSE_LIMIT_CONTINUE), and when. */
extern volatile sig_atomic_t stop_watchdog_fired;
extern volatile uint64_t stop_watchdog_fired_ns;
void stop_block_handled(sigset_t *old);
void stop_restore_mask(const sigset_t *old);
struct seized *stop_seized_find(pid_t tid);
void stop_seized_add(pid_t tid);
void stop_seized_del(pid_t tid);
/* Handlers for the handled signals and the emergency hook, and the
 * watchdog of max_pause_ms once the first thread is seized; put back. */
void stop_install_handlers(const struct target *t, unsigned max_pause_ms);
void stop_arm_watchdog(unsigned max_pause_ms);
void stop_restore_handlers(void);
/* A thread that would not stop: released by the SIGCHLD handler once it
 * does.  stop_lingering_take(): whether tid was one (it is ours again). */
void stop_linger(pid_t tid);
bool stop_lingering_take(pid_t tid);

/*
 * image.c and copy.c: a memory image of a process.
 */
/* An address range reads may touch: copied mappings, adjacent ones joined,
 * so that a read can span them as it can in the live process. */
struct range {
	uint64_t start, end;
};

/* Target memory the image holds bytes for; the rest of a range is zero. */
struct extent {
	uint64_t start, end;
	unsigned char *data;
};

/*
 * All extents live in one anonymous mapping, in address order: its size is
 * known before copying (the resident pages), every byte of it is written
 * (so nothing is wasted on holes), and one mapping instead of one per
 * target mapping keeps us far from vm.max_map_count.
 */
struct image {
	struct range *ranges;
	size_t nranges, ranges_alloc;
	struct extent *ext;
	size_t next, ext_alloc;
	unsigned char *buf;
	size_t buf_len;
	uint64_t planned; /* bytes the extents cover */
	struct image_stats stats;
};

/* copy.c: copy im's planned extents out of live (into o->buf when it is
 * reserved and large enough, else a fresh mapping), on o->jobs threads;
 * its stats say what was copied.  0, or -PH_E_NOPROC, -PH_E_NOMEM,
 * -PH_E_IO, or live_read_prefix()'s errors. */
int image_copy_all(struct target *live, struct image *im,
		   const struct image_opts *o);

/*
 * core.c and core_mem.c: a core file (target.h "Cores").
 */
/* The bytes of the process a core holds: [start, end) at data. */
struct core_seg {
	uint64_t start, end;
	const unsigned char *data;
};

/* A file the core names (NT_FILE), opened under the sysroot when its
 * bytes are first needed. */
struct core_file {
	char *path;                 /* as the process saw it, or --exe's */
	bool absolute;              /* --exe: not under the sysroot */
	int fd;                     /* -1: not opened (yet, or cannot be) */
	bool tried;
	bool elf;                   /* an ELF object (else never read) */
	bool checked;               /* its build-id is the core's */
	bool counted;               /* read unchecked, and counted so */
	uint64_t size;
};

struct core {
	unsigned char *map;         /* the core file, mapped read-only */
	size_t len;
	struct core_seg *segs;      /* in address order, not overlapping */
	size_t nsegs, segs_alloc;
	struct core_file *files;    /* file i has map.inode i + 1 */
	size_t nfiles;
	char *root;                 /* the sysroot prefix, "" for none */
	struct target_core_info info;
};

/* core_mem.c: reads (the core's bytes, else an unwritten file mapping's
 * from its file) and closing. */
extern const struct target_ops core_target_ops;
/* Each file whose first page the core holds is the one the process
 * mapped (its build-id): 0, or -PH_E_ELF naming both. */
int core_check_files(const char *path, struct target *t, struct core *c);

static inline uint32_t core_le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

#endif
