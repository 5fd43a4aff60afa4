#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

struct fake_region {
	uint64_t addr, end;
	unsigned perms;
	unsigned char *data;
};

/* Sorted by addr, like the maps, so a read can walk to the next region. */
struct fake {
	struct fake_region *v;
	size_t n, alloc;
};

/* Index of the first region ending after addr (n if none). */
static size_t fake_lower(const struct fake *f, uint64_t addr)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int fake_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	const struct fake *f = t->priv;
	unsigned char *out = buf;
	uint64_t a = addr, end;
	size_t i;

	if (!ph_add(addr, len, &end))
		return ph_error(PH_E_READ, "cannot read %zu bytes at %#" PRIx64,
				len, addr);
	i = fake_lower(f, a);
	while (a < end) {
		const struct fake_region *r;
		size_t n;

		/* Like process_vm_readv(): a gap or an unreadable region
		 * anywhere in the range fails the whole read. */
		if (i == f->n || f->v[i].addr > a || !(f->v[i].perms & MAP_R))
			return ph_error(PH_E_READ,
					"cannot read %zu bytes at %#" PRIx64,
					len, addr);
		r = &f->v[i];
		n = (size_t)(PH_MIN(end, r->end) - a);
		memcpy(out, r->data + (a - r->addr), n);
		out += n;
		a += n;
		i++;
	}
	return 0;
}

static void fake_close(struct target *t)
{
	struct fake *f = t->priv;
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		free(f->v[i].data);
	free(f->v);
	free(f);
	t->priv = NULL;
}

static const struct target_ops fake_ops = {
	.read = fake_read,
	.close = fake_close,
};

struct target *target_fake_new(void)
{
	struct target *t = xcalloc(1, sizeof(*t));

	t->ops = &fake_ops;
	t->priv = xcalloc(1, sizeof(struct fake));
	t->root = xstrdup("");
	return t;
}

bool target_is_fake(const struct target *t)
{
	return t->ops == &fake_ops;
}

void target_fake_add(struct target *t, uint64_t addr, const void *data,
		     size_t len, unsigned perms, const char *path)
{
	struct fake *f = t->priv;
	struct fake_region r;
	struct map m;
	size_t i, j;

	if (t->ops != &fake_ops)
		ph_die("target_fake_add on a target that is not fake");
	if (!len || !ph_add(addr, len, &r.end))
		ph_die("bad fake region of %zu bytes at %#" PRIx64, len, addr);
	i = fake_lower(f, addr);
	if (i < f->n && f->v[i].addr < r.end)
		ph_die("fake region %#" PRIx64 "-%#" PRIx64 " overlaps another",
		       addr, r.end);
	r.addr = addr;
	r.perms = perms;
	r.data = data ? xmalloc(len) : xcalloc(1, len);
	if (data)
		memcpy(r.data, data, len);
	PH_GROW(f->v, f->alloc, f->n + 1);
	memmove(f->v + i + 1, f->v + i, (f->n - i) * sizeof(*f->v));
	f->v[i] = r;
	f->n++;

	memset(&m, 0, sizeof(m));
	m.start = addr;
	m.end = r.end;
	m.perms = perms;
	m.path = path ? xstrdup(path) : NULL;
	for (j = 0; j < t->maps.n && t->maps.v[j].start < addr; j++)
		;
	PH_GROW(t->maps.v, t->maps.alloc, t->maps.n + 1);
	memmove(t->maps.v + j + 1, t->maps.v + j,
		(t->maps.n - j) * sizeof(*t->maps.v));
	t->maps.v[j] = m;
	t->maps.n++;
}

void *target_fake_bytes(struct target *t, uint64_t addr, size_t len)
{
	struct fake *f;
	size_t i;

	if (t->ops != &fake_ops)
		return NULL;
	f = t->priv;
	i = fake_lower(f, addr);
	if (i == f->n || f->v[i].addr > addr || len > f->v[i].end - addr)
		return NULL;
	return f->v[i].data + (addr - f->v[i].addr);
}
