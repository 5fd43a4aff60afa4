/*
 * base/ — the small things every other folder uses: errors, logging,
 * growable strings, checked arithmetic, allocation.
 *
 * Errors
 * ------
 * Every fallible function returns 0 on success or a negative error code
 * (-PH_E_xxx).  The code says *what kind* of failure it was (and so the
 * exit status); the text says *what* failed, on *what*.  ph_error() records
 * the text in one process-wide slot and returns the negative code, so a
 * failing function reads
 *
 *         return ph_error(PH_E_READ, "cannot read thread state at %#lx", a);
 *
 * The slot holds the most recent message only: callers that want to add
 * context call ph_error() again with the wider message.  pyheap is single
 * threaded; the slot is not thread safe by design.
 *
 * The table below is the one place where a code, its exit status and its
 * default text are declared (an X-macro, so they cannot drift apart).
 * "skippable" errors are the ones walkers count and step over (a pointer
 * into unmapped memory while scanning); the others end the command.
 *
 * Messages are lower case, no full stop, and say what to do when there is
 * something the user can do (see PH_E_PERM).
 *
 * Allocation
 * ----------
 * xmalloc() and friends never return NULL: on exhaustion they call
 * ph_die(), which first runs the emergency hook (target/ registers one that
 * detaches a stopped process) and exits with status 2.  Sizes derived from
 * target memory must be bounded *before* they reach an allocator; the
 * checked helpers ph_add()/ph_mul() report overflow instead of wrapping.
 */
#ifndef PYHEAP_BASE_H
#define PYHEAP_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses (contract: DESIGN.md "CLI"). */
#define PH_EXIT_OK 0
#define PH_EXIT_THRESHOLD 1
#define PH_EXIT_ERROR 2
#define PH_EXIT_NOTPYTHON 3
#define PH_EXIT_USAGE 64

/* E(name, exit status, skippable, default message) */
#define PH_ERRORS(E)                                                          \
	E(NONE, PH_EXIT_OK, 0, "success")                                     \
	E(USAGE, PH_EXIT_USAGE, 0, "usage error")                             \
	E(NOPROC, PH_EXIT_ERROR, 0, "no such process")                        \
	E(PERM, PH_EXIT_ERROR, 0, "permission denied")                        \
	E(NOTPYTHON, PH_EXIT_NOTPYTHON, 0, "not a Python process")            \
	E(UNSUPPORTED, PH_EXIT_NOTPYTHON, 0, "unsupported Python version")    \
	E(READ, PH_EXIT_ERROR, 1, "cannot read target memory")                \
	E(CORRUPT, PH_EXIT_ERROR, 1, "inconsistent data in target")           \
	E(NOTFOUND, PH_EXIT_ERROR, 1, "not found")                            \
	E(ELF, PH_EXIT_ERROR, 0, "cannot read ELF file")                      \
	E(IO, PH_EXIT_ERROR, 0, "input/output error")                         \
	E(FORMAT, PH_EXIT_ERROR, 0, "bad file format")                        \
	E(ATTACH, PH_EXIT_ERROR, 0, "cannot stop target")                     \
	E(TIMEOUT, PH_EXIT_ERROR, 0, "timed out")                             \
	E(INTR, PH_EXIT_ERROR, 0, "interrupted")                              \
	E(LIMIT, PH_EXIT_ERROR, 1, "limit exceeded")                          \
	E(NOMEM, PH_EXIT_ERROR, 0, "out of memory")                           \
	E(CRASH, PH_EXIT_ERROR, 0, "the parsing process crashed")

enum ph_err {
#define PH_E_ENUM(name, st, skip, msg) PH_E_##name,
	PH_ERRORS(PH_E_ENUM)
#undef PH_E_ENUM
	PH_E__COUNT
};

/* Record a message for `code` and return -code.  fmt may be NULL (the
 * table's default text is used). */
int ph_error(enum ph_err code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ph_verror(enum ph_err code, const char *fmt, va_list ap);
/* Prefix the recorded message with "what: " and return rc unchanged. */
int ph_error_context(int rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The recorded message (never NULL). */
const char *ph_errmsg(void);
/* Exit status for a negative return code (0 for rc >= 0). */
int ph_exit_status(int rc);
/* Name ("READ") and skippable flag of a negative return code. */
const char *ph_errname(int rc);
bool ph_err_skippable(int rc);

/* Logging to stderr, prefixed "pyheap: ".  ph_verbosity is set from -v. */
extern int ph_verbosity;
void ph_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ph_debug(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print "pyheap: fatal: ...", run the emergency hook, exit(2). */
_Noreturn void ph_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* One hook run by ph_die() before exiting (target/ sets it while a process
 * is stopped).  NULL clears it. */
void ph_set_emergency_hook(void (*fn)(void));

/*
 * Opening a file that belongs to the target (its executable, libraries,
 * debug files) read-only: open(2), or, in the sandboxed parsing process
 * (sandbox/sandbox.h), a request to the privileged parent, which opens it
 * confined to the target's root and passes the descriptor.  Returns a
 * descriptor (O_CLOEXEC) or -1 with errno set.
 */
int ph_open_ro(const char *path);
extern int (*ph_open_ro_hook)(const char *path);

/* Allocation that cannot fail (see above). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The directory part of path, newly allocated: "." without a slash, "/"
 * for "/name". */
char *ph_dirname(const char *path);
/* What follows path's last slash (path itself without one); not a copy. */
const char *ph_basename(const char *path);
/* path for a message about it: a relative one prefixed with the working
 * directory ("x.snap" -> "/srv/app/x.snap", leading "./" dropped), so an
 * error names the directory it was about; newly allocated.  A copy of
 * path if it is absolute or the working directory is unknown. */
char *ph_abspath(const char *path);
/* From now on ph_abspath() uses the working directory of this moment (for
 * a process about to chroot: sandbox/). */
void ph_pin_cwd(void);
/* Grow *p (of *alloc elements of `size` bytes) to hold at least `need`. */
void ph_grow(void **p, size_t *alloc, size_t need, size_t size);
#define PH_GROW(p, alloc, need) \
	ph_grow((void **)&(p), &(alloc), (need), sizeof(*(p)))

/* Checked arithmetic: return false on overflow and leave *r unspecified. */
static inline bool ph_add(uint64_t a, uint64_t b, uint64_t *r)
{
	return !__builtin_add_overflow(a, b, r);
}
static inline bool ph_mul(uint64_t a, uint64_t b, uint64_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}

/* Threads (base/par.c).  ph_jobs_default: the CPUs this process may run
 * on, 1 to 8.  ph_parallel: fn on each of n items (n <= 8) of size bytes
 * at once, one on the calling thread and the rest on threads with every
 * signal blocked (so signals, and the handler that detaches a stopped
 * target, stay on the calling thread); returns when all are done.  fn must
 * not report errors (ph_error has one slot) or die: it records them. */
int ph_jobs_default(void);
void ph_parallel(size_t n, void (*fn)(void *), void *items, size_t size);

/* Monotonic clock in nanoseconds, and wall clock in seconds. */
uint64_t ph_now_ns(void);
double ph_wall_time(void);

#define PH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PH_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PH_MAX(a, b) ((a) > (b) ? (a) : (b))

#include "strbuf.h"

#endif
