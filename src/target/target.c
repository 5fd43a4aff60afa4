#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

/* Strings are read a page at a time at most, never across a page boundary
 * or the end of a known mapping: the byte after a string's NUL may be the
 * first of an unmapped page (or, in a fake target, past a region). */
#define CSTR_CHUNK 4096u

int target_read_u64(struct target *t, uint64_t addr, uint64_t *out)
{
	return target_read(t, addr, out, sizeof(*out));
}

int target_read_u32(struct target *t, uint64_t addr, uint32_t *out)
{
	return target_read(t, addr, out, sizeof(*out));
}

uint64_t target_read_u64_or(struct target *t, uint64_t addr, uint64_t dflt)
{
	uint64_t v;

	if (target_read(t, addr, &v, sizeof(v))) {
		t->stats.misses++;
		return dflt;
	}
	return v;
}

int target_read_cstr(struct target *t, uint64_t addr, char *buf, size_t max)
{
	size_t off = 0;

	if (!max)
		return ph_error(PH_E_LIMIT, "no room for a string at %#" PRIx64,
				addr);
	buf[0] = '\0';
	while (off < max) {
		const struct map *m;
		uint64_t a;
		size_t n;
		char *nul;
		int rc;

		if (!ph_add(addr, off, &a))
			return ph_error(PH_E_READ, "string at %#" PRIx64
					" runs past the address space", addr);
		n = CSTR_CHUNK - (size_t)(a % CSTR_CHUNK);
		n = PH_MIN(n, max - off);
		m = maps_find(&t->maps, a);
		if (m && m->end - a < n)
			n = (size_t)(m->end - a);
		rc = target_read(t, a, buf + off, n);
		if (rc) {
			buf[0] = '\0';
			return rc;
		}
		nul = memchr(buf + off, '\0', n);
		if (nul)
			return 0;
		off += n;
	}
	buf[max - 1] = '\0';
	return ph_error(PH_E_LIMIT, "string at %#" PRIx64
			" longer than %zu bytes", addr, max - 1);
}

bool target_mapped(const struct target *t, uint64_t addr, size_t len)
{
	const struct map *m = maps_find(&t->maps, addr);
	uint64_t end;

	if (!ph_add(addr, len ? len : 1, &end))
		return false;
	/* Walk forward through mappings that touch: the kernel splits one
	 * object into several VMAs (mprotect, partial mlock). */
	while (m && (m->perms & MAP_R)) {
		if (m->end >= end)
			return true;
		if (++m == t->maps.v + t->maps.n || m->start != m[-1].end)
			return false;
	}
	return false;
}

void target_close(struct target *t)
{
	if (!t)
		return;
	/* Nobody checks a close: say so if the target could not be let go. */
	if (target_resume(t))
		ph_warn("%s", ph_errmsg());
	if (t->ops && t->ops->close)
		t->ops->close(t);
	maps_release(&t->maps);
	free(t->threads);
	free(t->root);
	free(t->exe);
	free(t->cmdline);
	free(t);
}
