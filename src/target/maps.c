#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target.h"

/*
 * The kernel pads the fixed fields to a column and then prints the path, so
 * a line is at most a few dozen bytes plus the path.  d_path() can in
 * principle produce paths longer than PATH_MAX (deep trees), so allow some
 * slack before calling a line malformed.
 */
#define MAPS_LINE_MAX (4 * PATH_MAX)

static const char deleted_suffix[] = " (deleted)";

static int is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static unsigned hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return (unsigned)(c - 'A' + 10);
}

/*
 * Hand-rolled rather than sscanf(): strtoul and %lx accept leading blanks,
 * signs and "0x", which the kernel never writes, and silently wrap on
 * overflow.  A digit limit (16 for 64 bits) rules overflow out.
 */
static int parse_hex(const char **p, const char *end, unsigned max_digits,
		     uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned n = 0;

	while (s < end && is_hex(*s)) {
		if (++n > max_digits)
			return -1;
		v = (v << 4) | hex_val(*s++);
	}
	if (!n)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

static int parse_dec(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		if (!ph_mul(v, 10, &v) || !ph_add(v, (uint64_t)(*s - '0'), &v))
			return -1;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

static int parse_perms(const char **p, const char *end, unsigned *perms)
{
	const char *s = *p;

	if (end - s < 4)
		return -1;
	*perms = 0;
	if (s[0] == 'r')
		*perms |= MAP_R;
	else if (s[0] != '-')
		return -1;
	if (s[1] == 'w')
		*perms |= MAP_W;
	else if (s[1] != '-')
		return -1;
	if (s[2] == 'x')
		*perms |= MAP_X;
	else if (s[2] != '-')
		return -1;
	if (s[3] == 'p')
		*perms |= MAP_P;
	else if (s[3] != 's')
		return -1;
	*p = s + 4;
	return 0;
}

/* One line without its newline.  m->path is allocated on success only. */
static int parse_line(const char *s, const char *end, struct map *m)
{
	uint64_t major, minor;
	size_t plen;

	memset(m, 0, sizeof(*m));
	if (parse_hex(&s, end, 16, &m->start) || expect(&s, end, '-') ||
	    parse_hex(&s, end, 16, &m->end) || expect(&s, end, ' ') ||
	    parse_perms(&s, end, &m->perms) || expect(&s, end, ' ') ||
	    parse_hex(&s, end, 16, &m->offset) || expect(&s, end, ' ') ||
	    parse_hex(&s, end, 8, &major) || expect(&s, end, ':') ||
	    parse_hex(&s, end, 8, &minor) || expect(&s, end, ' ') ||
	    parse_dec(&s, end, &m->inode))
		return -1;
	if (m->start >= m->end)
		return -1;
	m->dev_major = (unsigned)major;
	m->dev_minor = (unsigned)minor;

	/* Anonymous mappings end in a blank after the inode (or nothing);
	 * named ones are padded to a column.  The path itself may contain
	 * blanks, so everything after the padding belongs to it. */
	if (s < end && *s != ' ')
		return -1;
	while (s < end && *s == ' ')
		s++;
	plen = (size_t)(end - s);
	if (!plen)
		return 0;
	if (plen >= sizeof(deleted_suffix) &&
	    !memcmp(end - (sizeof(deleted_suffix) - 1), deleted_suffix,
		    sizeof(deleted_suffix) - 1)) {
		m->deleted = true;
		plen -= sizeof(deleted_suffix) - 1;
	}
	m->path = xstrndup(s, plen);
	return 0;
}

/* Two lines broke the order.  In repair mode, keep the later one: see
 * maps_read() for why that is the fresher information. */
static int order_error(struct maps *m, struct map *e, size_t lineno,
		       bool repair, bool *unordered)
{
	if (!repair) {
		free(e->path);
		*unordered = true;
		return ph_error(PH_E_FORMAT,
				"maps line %zu overlaps or precedes line %zu",
				lineno, lineno - 1);
	}
	while (m->n && m->v[m->n - 1].end > e->start) {
		struct map *last = &m->v[m->n - 1];

		if (last->start < e->start) {
			last->end = e->start;
			break;
		}
		free(last->path);
		m->n--;
	}
	return 0;
}

static int parse_maps(const char *text, size_t len, struct maps *out,
		      bool repair, bool *unordered)
{
	struct maps m = MAPS_INIT;
	const char *p = text, *end = text + len;
	size_t lineno = 0;
	int rc = 0;

	*unordered = false;
	if (len && memchr(text, '\0', len)) {
		rc = ph_error(PH_E_FORMAT, "maps text contains a NUL byte");
		goto cleanup;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		struct map e;

		lineno++;
		if (eol - p > MAPS_LINE_MAX) {
			rc = ph_error(PH_E_FORMAT, "maps line %zu too long",
				      lineno);
			goto cleanup;
		}
		if (parse_line(p, eol, &e)) {
			rc = ph_error(PH_E_FORMAT,
				      "malformed maps line %zu: %.*s", lineno,
				      (int)PH_MIN(eol - p, 80), p);
			goto cleanup;
		}
		/* maps_find() relies on this order. */
		if (m.n && e.start < m.v[m.n - 1].end) {
			rc = order_error(&m, &e, lineno, repair, unordered);
			if (rc)
				goto cleanup;
		}
		PH_GROW(m.v, m.alloc, m.n + 1);
		m.v[m.n++] = e;
		p = nl ? nl + 1 : end;
	}
	maps_release(out);
	*out = m;
	return 0;

cleanup:
	maps_release(&m);
	return rc;
}

int maps_parse(const char *text, size_t len, struct maps *out)
{
	bool unordered;

	return parse_maps(text, len, out, false, &unordered);
}

int maps_parse_repair(const char *text, size_t len, struct maps *out)
{
	bool unordered;

	return parse_maps(text, len, out, true, &unordered);
}

int target_proc_error(pid_t pid, const char *what, int err)
{
	if (err == ENOENT || err == ESRCH)
		return ph_error(PH_E_NOPROC, "no such process: %d", (int)pid);
	if (err == EACCES || err == EPERM)
		return ph_error(PH_E_PERM, "cannot read process %d: "
				"permission denied (%s)", (int)pid,
				TARGET_PERM_HINT);
	return ph_error(PH_E_IO, "cannot read %s: %s", what, strerror(err));
}

static int read_all(pid_t pid, const char *path, struct strbuf *sb)
{
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return target_proc_error(pid, path, errno);
	/* The kernel hands maps out a page or so per read(), and a large
	 * process has tens of thousands of lines: read until EOF. */
	for (;;) {
		ssize_t n;

		strbuf_grow(sb, 65536);
		n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = target_proc_error(pid, path, errno);
			break;
		}
		if (!n)
			break;
		strbuf_setlen(sb, sb->len + (size_t)n);
	}
	close(fd);
	return rc;
}

/*
 * Each read() of /proc/PID/maps takes the target's mmap lock afresh and
 * resumes at the address where the previous one stopped, so a running
 * process that maps or merges memory meanwhile can produce a line that
 * overlaps or precedes the one before (a VMA printed again after it grew).
 * Try for a consistent snapshot a few times; then keep the later lines,
 * which were read after the change.  A stopped process cannot change its
 * maps, so under target_stop() the first attempt is exact.
 */
#define MAPS_READ_TRIES 4

int maps_read(pid_t pid, struct maps *out)
{
	struct strbuf sb = STRBUF_INIT;
	char path[64];
	int attempt, rc;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	for (attempt = 1;; attempt++) {
		bool unordered;

		strbuf_reset(&sb);
		rc = read_all(pid, path, &sb);
		if (rc)
			break;
		rc = parse_maps(sb.buf, sb.len, out,
				attempt == MAPS_READ_TRIES, &unordered);
		if (!rc || !unordered)
			break;
		ph_debug(2, "%s changed while being read; reading again",
			 path);
	}
	if (rc == -PH_E_FORMAT)
		ph_error_context(rc, "%s", path);
	strbuf_release(&sb);
	return rc;
}

const struct map *maps_find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct map *e = &m->v[mid];

		if (addr < e->start)
			hi = mid;
		else if (addr >= e->end)
			lo = mid + 1;
		else
			return e;
	}
	return NULL;
}

void maps_release(struct maps *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].path);
		free(m->v[i].open_path);
	}
	free(m->v);
	m->v = NULL;
	m->n = m->alloc = 0;
}
