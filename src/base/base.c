#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base.h"

int ph_verbosity;

static const struct {
	const char *name;
	int exit_status;
	bool skippable;
	const char *msg;
} errors[] = {
#define PH_E_ROW(name, st, skip, msg) { #name, st, skip, msg },
	PH_ERRORS(PH_E_ROW)
#undef PH_E_ROW
};

/* The one "last error" slot (see base.h). */
static char errmsg[1024] = "success";

static enum ph_err code_of(int rc)
{
	if (rc >= 0)
		return PH_E_NONE;
	if (-rc >= PH_E__COUNT)
		return PH_E_CORRUPT;
	return (enum ph_err)-rc;
}

int ph_verror(enum ph_err code, const char *fmt, va_list ap)
{
	if (code <= PH_E_NONE || code >= PH_E__COUNT)
		code = PH_E_CORRUPT;
	if (fmt)
		vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	else
		snprintf(errmsg, sizeof(errmsg), "%s", errors[code].msg);
	ph_debug(3, "error %s: %s", errors[code].name, errmsg);
	return -(int)code;
}

int ph_error(enum ph_err code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ph_verror(code, fmt, ap);
	va_end(ap);
	return rc;
}

int ph_error_context(int rc, const char *fmt, ...)
{
	char prefix[512], old[sizeof(errmsg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, errmsg, sizeof(old));
	/* Truncation is acceptable here: the message is for people. */
	{
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s: %s", prefix, old);
		memcpy(errmsg, sb.buf, PH_MIN(sb.len + 1, sizeof(errmsg)));
		errmsg[sizeof(errmsg) - 1] = '\0';
		strbuf_release(&sb);
	}
	return rc;
}

const char *ph_errmsg(void)
{
	return errmsg;
}

int ph_exit_status(int rc)
{
	return errors[code_of(rc)].exit_status;
}

const char *ph_errname(int rc)
{
	return errors[code_of(rc)].name;
}

bool ph_err_skippable(int rc)
{
	return errors[code_of(rc)].skippable;
}

void ph_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("pyheap: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ph_debug(int level, const char *fmt, ...)
{
	va_list ap;

	if (ph_verbosity < level)
		return;
	fputs("pyheap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void (*emergency_hook)(void);

void ph_set_emergency_hook(void (*fn)(void))
{
	emergency_hook = fn;
}

void ph_die(const char *fmt, ...)
{
	va_list ap;
	void (*hook)(void) = emergency_hook;

	/* Run the hook first: a stopped target must be released even if
	 * printing fails. */
	emergency_hook = NULL;
	if (hook)
		hook();
	fputs("pyheap: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(PH_EXIT_ERROR);
}

/*
 * Large arrays (a 5M-object snapshot's objects, edges, the analyses'
 * per-object tables) are fresh mmap'd memory from glibc, and their first
 * touch is a page fault per 4 KiB page: 41% of `pyheap why` on 5M objects
 * went to faults on this VM.  Asking for transparent huge pages before
 * the first touch (THP "madvise", Debian's default) makes that one fault
 * per 2 MiB.  Only the whole pages inside the block; failure (THP off, an
 * allocator that is not glibc's) changes nothing.
 */
#define HUGE_ADVISE_MIN (4u << 20)

static void advise_huge(void *p, size_t n)
{
	uintptr_t lo, hi, huge = 2u << 20;

	if (n < HUGE_ADVISE_MIN)
		return;
	lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	hi = ((uintptr_t)p + n) & ~(huge - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		ph_die("out of memory allocating %zu bytes", n);
	advise_huge(p, n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		ph_die("out of memory allocating %zu x %zu bytes", n, size);
	/* calloc() of a fresh mapping writes nothing: the pages are still
	 * untouched here. */
	if (n && size && n <= SIZE_MAX / size)
		advise_huge(p, n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		ph_die("out of memory reallocating %zu bytes", n);
	advise_huge(q, n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ph_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

const char *ph_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int (*ph_open_ro_hook)(const char *path);

int ph_open_ro(const char *path)
{
	if (ph_open_ro_hook)
		return ph_open_ro_hook(path);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static char *pinned_cwd;

void ph_pin_cwd(void)
{
	free(pinned_cwd);
	pinned_cwd = getcwd(NULL, 0);
}

char *ph_abspath(const char *path)
{
	char *cwd, *out;

	if (path[0] == '/')
		return xstrdup(path);
	cwd = pinned_cwd ? xstrdup(pinned_cwd) : getcwd(NULL, 0);
	if (!cwd)
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/') {
		for (path += 2; *path == '/'; path++)
			;
	}
	if (!*path || !strcmp(path, "."))
		out = xstrdup(cwd);
	else
		out = xasprintf("%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
				path);
	free(cwd);
	return out;
}

char *xasprintf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

void ph_grow(void **p, size_t *alloc, size_t need, size_t size)
{
	size_t n = *alloc, bytes;

	if (need <= n)
		return;
	/* Grow by half again, like git's alloc_nr(), so appends are
	 * amortised O(1). */
	if (n > SIZE_MAX / 2)
		ph_die("allocation size overflow");
	n = n + n / 2 + 16;
	if (n < need)
		n = need;
	if (__builtin_mul_overflow(n, size, &bytes))
		ph_die("allocation size overflow (%zu x %zu)", n, size);
	*p = xrealloc(*p, bytes);
	*alloc = n;
}

uint64_t ph_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double ph_wall_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
