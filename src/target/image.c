#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "target.h"

/* Regions per PAGEMAP_SCAN call and entries per pagemap read(): a few
 * calls cover any real process. */
#define SCAN_REGIONS 1024
#define PAGEMAP_ENTRIES 65536
/*
 * Without PAGEMAP_SCAN, finding the resident pages of a mapping reads 8
 * bytes of pagemap per page, about 0.2 s per 256 GiB of address space.
 * Past this size a mapping (in practice an ASan shadow of 15 TiB) is left
 * out rather than hold the target for seconds, or, with no pagemap at all,
 * copied whole and faulted in page by page in the target.
 */
#define PAGEMAP_READ_MAX ((uint64_t)64 << 30)

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

/* PAGEMAP_SCAN (Linux 6.7, include/uapi/linux/fs.h).  Debian 12's headers
 * predate it, hence our own names for the same layout. */
#define SCAN_IS_PRESENT (1u << 3)
#define SCAN_IS_SWAPPED (1u << 4)

struct scan_region {
	uint64_t start, end, categories;
};

struct scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};

#define SCAN_IOCTL _IOWR('f', 16, struct scan_arg)

static const struct target_ops image_ops;

/* ---- reads ------------------------------------------------------------- */

static int read_error(uint64_t addr, size_t len)
{
	return ph_error(PH_E_READ, "cannot read %zu bytes at %#" PRIx64
			" in the image", len, addr);
}

/* Index of the first extent ending after addr (next if none). */
static size_t ext_lower(const struct image *im, uint64_t addr)
{
	size_t lo = 0, hi = im->next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->ext[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct range *range_find(const struct image *im, uint64_t addr)
{
	size_t lo = 0, hi = im->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct range *r = &im->ranges[mid];

		if (addr < r->start)
			hi = mid;
		else if (addr >= r->end)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static int image_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	const struct image *im = t->priv;
	const struct extent *e;
	const struct range *r;
	unsigned char *out = buf;
	uint64_t end, a;
	size_t i;

	if (!ph_add(addr, len, &end))
		return read_error(addr, len);
	if (!len)
		return 0;
	/* Most reads are of a few bytes in resident memory: one search. */
	i = ext_lower(im, addr);
	e = i < im->next ? &im->ext[i] : NULL;
	if (e && e->start <= addr && end <= e->end) {
		memcpy(out, e->data + (addr - e->start), len);
		t->hot = e->data;
		t->hot_start = e->start;
		t->hot_end = e->end;
		return 0;
	}
	r = range_find(im, addr);
	if (!r || end > r->end)
		return read_error(addr, len);
	for (a = addr; a < end;) {
		size_t n;

		e = i < im->next ? &im->ext[i] : NULL;
		if (e && e->start <= a) {
			n = (size_t)(PH_MIN(end, e->end) - a);
			memcpy(out + (a - addr), e->data + (a - e->start), n);
			i++;
		} else {
			n = (size_t)((e ? PH_MIN(end, e->start) : end) - a);
			memset(out + (a - addr), 0, n);
		}
		a += n;
	}
	return 0;
}

static void image_free(struct image *im)
{
	if (!im)
		return;
	if (im->buf)
		munmap(im->buf, im->buf_len);
	free(im->ranges);
	free(im->ext);
	free(im);
}

static void image_close(struct target *t)
{
	image_free(t->priv);
	t->priv = NULL;
	t->hot = NULL;
	t->hot_start = t->hot_end = 0;
}

static const struct target_ops image_ops = {
	.read = image_read,
	.close = image_close,
};

void target_image_log_extents(const struct target *t)
{
	const struct image *im = t->ops == &image_ops ? t->priv : NULL;
	size_t i;

	if (!im || ph_verbosity < 3)
		return;
	for (i = 0; i < im->next; i++)
		ph_debug(3, "copied extent %#" PRIx64 "-%#" PRIx64,
			 im->ext[i].start, im->ext[i].end);
}

const struct image_stats *target_image_stats(const struct target *t)
{
	if (!t || t->ops != &image_ops)
		return NULL;
	return &((const struct image *)t->priv)->stats;
}

/* ---- what to copy ------------------------------------------------------ */

static bool kernel_special(const char *path)
{
	static const char *const names[] = {
		"[vvar]", "[vvar_vclock]", "[vsyscall]", "[vdso]",
	};
	size_t i;

	if (!path)
		return false;
	for (i = 0; i < PH_ARRAY_SIZE(names); i++)
		if (!strcmp(path, names[i]))
			return true;
	return false;
}

/*
 * Memory whose pages that are neither present nor swapped read as zero, so
 * skipping them loses nothing.  Not true of a private file mapping: such a
 * page comes from the file, so it is copied (reading it pulls it from the
 * page cache, which changes nothing the target sees).  Private mappings of
 * /dev/zero and of hugetlbfs are anonymous memory with an inode; reading
 * an absent hugetlb page would even allocate one in the target.
 */
static bool anonymous(const struct map *m)
{
	if (!m->inode)
		return true;
	return m->path && (!strcmp(m->path, "/dev/zero") ||
			   !strcmp(m->path, "/anon_hugepage"));
}

/* A file, as maps names it. */
struct file_id {
	uint64_t inode;
	unsigned dev_major, dev_minor;
};

static int file_id_cmp(const void *a, const void *b)
{
	const struct file_id *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	if (x->dev_major != y->dev_major)
		return x->dev_major < y->dev_major ? -1 : 1;
	if (x->dev_minor != y->dev_minor)
		return x->dev_minor < y->dev_minor ? -1 : 1;
	return 0;
}

/* The files mapped executable somewhere: ELF objects.  Sorted; a process
 * has thousands of mappings, so no quadratic search. */
struct code_files {
	struct file_id *v;
	size_t n, alloc;
};

static void code_files_init(struct code_files *cf, const struct maps *maps)
{
	size_t i;

	memset(cf, 0, sizeof(*cf));
	for (i = 0; i < maps->n; i++) {
		const struct map *m = &maps->v[i];

		if (!(m->perms & MAP_X) || anonymous(m))
			continue;
		PH_GROW(cf->v, cf->alloc, cf->n + 1);
		cf->v[cf->n].inode = m->inode;
		cf->v[cf->n].dev_major = m->dev_major;
		cf->v[cf->n].dev_minor = m->dev_minor;
		cf->n++;
	}
	if (cf->n)
		qsort(cf->v, cf->n, sizeof(*cf->v), file_id_cmp);
}

static bool has_code(const struct code_files *cf, const struct map *m)
{
	struct file_id key = { m->inode, m->dev_major, m->dev_minor };

	return cf->n && bsearch(&key, cf->v, cf->n, sizeof(*cf->v),
				file_id_cmp);
}

/*
 * The policy: which mappings hold something the parser needs that exists
 * nowhere else.
 *   - Not readable (PROT_NONE guards, reserved address space): nothing to
 *     read, and process_vm_readv() refuses it anyway.
 *   - Shared: shared memory and files mapped MAP_SHARED (data files,
 *     multiprocessing buffers, GPU memory).  CPython keeps its objects in
 *     private memory; shared mappings can be huge and are not ours to copy.
 *   - Executable: code.  It is in the ELF files, which symbols/ reads.
 *   - The kernel's own mappings: [vvar] refuses reads, [vdso] and
 *     [vsyscall] are code.
 *   - Private mappings of files that are mapped executable nowhere: data
 *     files (the locale archive, fonts, weights loaded with mmap), which
 *     can be gigabytes, hold no Python objects, and are mostly not even
 *     resident: copying would read them all in.
 * That leaves [heap], [stack], anonymous memory (pymalloc arenas, malloc
 * arenas and mmapped chunks, thread stacks, CPython's data stacks) and the
 * writable and read-only data of ELF files (.data, .bss, .rodata, relro):
 * static type objects, interned strings, tp_name strings.
 */
static bool worth_copying(const struct code_files *cf, const struct map *m)
{
	if (!(m->perms & MAP_R))
		return false;
	if (!(m->perms & MAP_P))
		return false;
	if (m->perms & MAP_X)
		return false;
	if (kernel_special(m->path))
		return false;
	return anonymous(m) || has_code(cf, m);
}

static void add_range(struct image *im, uint64_t start, uint64_t end)
{
	if (im->nranges && im->ranges[im->nranges - 1].end == start) {
		im->ranges[im->nranges - 1].end = end;
		return;
	}
	PH_GROW(im->ranges, im->ranges_alloc, im->nranges + 1);
	im->ranges[im->nranges].start = start;
	im->ranges[im->nranges].end = end;
	im->nranges++;
}

/* Extents are added in address order; touching ones are joined, so a
 * dense heap is one iovec. */
static void add_extent(struct image *im, uint64_t start, uint64_t end)
{
	im->planned += end - start;
	if (im->next && im->ext[im->next - 1].end == start) {
		im->ext[im->next - 1].end = end;
		return;
	}
	PH_GROW(im->ext, im->ext_alloc, im->next + 1);
	im->ext[im->next].start = start;
	im->ext[im->next].end = end;
	im->ext[im->next].data = NULL;
	im->next++;
}

/* Finding resident pages: one /proc/PID/pagemap for the whole plan. */
struct scanner {
	pid_t pid;
	int fd;          /* -1: no pagemap, anonymous mappings copied whole */
	bool scan;       /* PAGEMAP_SCAN works (else read entries) */
	uint64_t page;
	void *buf;       /* SCAN_REGIONS regions or PAGEMAP_ENTRIES entries */
};

static void scanner_open(struct scanner *sc, pid_t pid, bool want_scan)
{
	struct scan_arg arg;
	char path[64];

	memset(sc, 0, sizeof(*sc));
	sc->pid = pid;
	sc->page = (uint64_t)sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	sc->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sc->fd < 0) {
		ph_debug(1, "cannot open %s: %s; copying anonymous memory "
			 "whole", path, strerror(errno));
		return;
	}
	/* An empty range tells whether the kernel knows the ioctl (ENOTTY
	 * before 6.7) without walking anything. */
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	sc->scan = want_scan && ioctl(sc->fd, SCAN_IOCTL, &arg) == 0;
	if (want_scan && !sc->scan)
		ph_debug(1, "PAGEMAP_SCAN: %s; reading %s instead",
			 strerror(errno), path);
	sc->buf = xmalloc(sc->scan ?
			  SCAN_REGIONS * sizeof(struct scan_region) :
			  PAGEMAP_ENTRIES * sizeof(uint64_t));
}

static void scanner_close(struct scanner *sc)
{
	if (sc->fd >= 0)
		close(sc->fd);
	free(sc->buf);
}

static int scan_error(const struct scanner *sc, int err)
{
	if (err == ESRCH)
		return ph_error(PH_E_NOPROC, "no such process: %d",
				(int)sc->pid);
	return ph_error(PH_E_IO, "cannot scan /proc/%d/pagemap: %s",
			(int)sc->pid, strerror(err));
}

/* PAGEMAP_SCAN skips unpopulated page tables whole: microseconds for an
 * ASan shadow of 15 TiB. */
static int scan_ioctl(struct scanner *sc, const struct map *m,
		      struct image *im)
{
	struct scan_region *v = sc->buf;
	uint64_t cur = m->start;

	while (cur < m->end) {
		struct scan_arg arg;
		long n, i;

		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.start = cur;
		arg.end = m->end;
		arg.vec = (uintptr_t)v;
		arg.vec_len = SCAN_REGIONS;
		arg.category_anyof_mask = SCAN_IS_PRESENT | SCAN_IS_SWAPPED;
		arg.return_mask = SCAN_IS_PRESENT | SCAN_IS_SWAPPED;
		n = ioctl(sc->fd, SCAN_IOCTL, &arg);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return scan_error(sc, errno);
		for (i = 0; i < n; i++) {
			uint64_t s = PH_MAX(v[i].start, cur);
			uint64_t e = PH_MIN(v[i].end, m->end);

			if (s < e)
				add_extent(im, s, e);
		}
		/* walk_end is where a full vec stopped the walk. */
		if (arg.walk_end <= cur)
			return scan_error(sc, EIO);
		cur = arg.walk_end;
	}
	return 0;
}

/* The way of kernels before 6.7: 8 bytes per page.  A failed read leaves
 * the rest of the mapping to be copied whole. */
static void scan_read(struct scanner *sc, const struct map *m,
		      struct image *im)
{
	uint64_t *ent = sc->buf;
	uint64_t cur = m->start, run = 0;
	bool in_run = false;

	while (cur < m->end) {
		uint64_t want = PH_MIN((m->end - cur) / sc->page,
				       (uint64_t)PAGEMAP_ENTRIES);
		ssize_t n = pread(sc->fd, ent, want * sizeof(*ent),
				  (off_t)(cur / sc->page * sizeof(*ent)));
		size_t i, got;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(*ent)) {
			ph_debug(1, "cannot read /proc/%d/pagemap at %#" PRIx64
				 "; copying the rest of the mapping",
				 (int)sc->pid, cur);
			if (!in_run)
				run = cur;
			add_extent(im, run, m->end);
			return;
		}
		got = (size_t)n / sizeof(*ent);
		for (i = 0; i < got; i++, cur += sc->page) {
			bool resident = ent[i] & (PM_PRESENT | PM_SWAPPED);

			if (resident && !in_run) {
				run = cur;
				in_run = true;
			} else if (!resident && in_run) {
				add_extent(im, run, cur);
				in_run = false;
			}
		}
	}
	if (in_run)
		add_extent(im, run, m->end);
}

/* Add the extents of anonymous mapping m; *keep = false if it is left
 * out (see PAGEMAP_READ_MAX). */
static int plan_anonymous(struct scanner *sc, const struct map *m,
			  struct image *im, bool *keep)
{
	uint64_t size = m->end - m->start;

	*keep = true;
	if (sc->scan)
		return scan_ioctl(sc, m, im);
	if (size > PAGEMAP_READ_MAX) {
		ph_warn("not copying the %.1f GiB mapping at %#" PRIx64
			" of process %d: finding its resident pages needs "
			"Linux 6.7 (PAGEMAP_SCAN)", (double)size / (1 << 30),
			m->start, (int)sc->pid);
		*keep = false;
		return 0;
	}
	if (sc->fd >= 0)
		scan_read(sc, m, im);
	else
		add_extent(im, m->start, m->end);
	return 0;
}

/* Decide what to copy from maps (marking map.copied) and size it. */
static int plan(pid_t pid, struct maps *maps, const struct image_opts *o,
		struct image *im)
{
	uint64_t t0 = ph_now_ns();
	struct code_files cf;
	struct scanner sc;
	size_t i;
	int rc = 0;

	code_files_init(&cf, maps);
	scanner_open(&sc, pid, !o->pagemap_read);
	for (i = 0; i < maps->n; i++) {
		struct map *m = &maps->v[i];
		uint64_t before = im->planned;
		bool keep = true;

		m->copied = false;
		if (!worth_copying(&cf, m))
			continue;
		if (anonymous(m)) {
			rc = plan_anonymous(&sc, m, im, &keep);
			if (rc)
				break;
			if (keep)
				im->stats.hole_pages +=
					(m->end - m->start -
					 (im->planned - before)) / sc.page;
		} else {
			add_extent(im, m->start, m->end);
		}
		if (!keep) {
			im->stats.maps_left_out++;
			continue;
		}
		m->copied = true;
		im->stats.maps++;
		add_range(im, m->start, m->end);
	}
	scanner_close(&sc);
	free(cf.v);
	im->stats.scan_ns = ph_now_ns() - t0;
	return rc;
}

/* ---- capture ----------------------------------------------------------- */

static int limit_error(uint64_t bytes, uint64_t max)
{
	return ph_error(PH_E_LIMIT, "target memory to copy (%.1f MiB) exceeds "
			"the limit (%.1f MiB)", (double)bytes / (1 << 20),
			(double)max / (1 << 20));
}

static void maps_copy(const struct maps *src, struct maps *dst)
{
	size_t i;

	dst->v = xmalloc((src->n ? src->n : 1) * sizeof(*dst->v));
	dst->n = dst->alloc = src->n;
	for (i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		if (src->v[i].path)
			dst->v[i].path = xstrdup(src->v[i].path);
		if (src->v[i].open_path)
			dst->v[i].open_path = xstrdup(src->v[i].open_path);
	}
}

/* Maps of t as a capture sees them now: stopped, the exact ones read by
 * target_stop(); running, fresh ones (t's are from open). */
static int current_maps(struct target *t, struct maps *out)
{
	if (target_is_stopped(t)) {
		maps_copy(&t->maps, out);
		return 0;
	}
	return maps_read(t->pid, out);
}

static int not_live_error(void)
{
	return ph_error(PH_E_USAGE, "cannot copy the memory of a target that "
			"is not a live process");
}

int target_image_estimate(struct target *t, uint64_t *bytes)
{
	static const struct image_opts none;
	struct maps maps = MAPS_INIT;
	struct image *im;
	int rc;

	*bytes = 0;
	if (!target_is_live(t))
		return not_live_error();
	rc = current_maps(t, &maps);
	if (rc)
		return rc;
	im = xcalloc(1, sizeof(*im));
	rc = plan(t->pid, &maps, &none, im);
	if (!rc)
		*bytes = im->planned;
	image_free(im);
	maps_release(&maps);
	return rc;
}

int target_image_capture(struct target *t, const struct image_opts *o,
			 struct target **image, uint64_t *out_bytes)
{
	static const struct image_opts none;
	uint64_t t0 = ph_now_ns();
	struct target *it;
	struct image *im;
	size_t i;
	int rc;

	*image = NULL;
	if (out_bytes)
		*out_bytes = 0;
	if (!o)
		o = &none;
	if (!target_is_live(t))
		return not_live_error();

	it = xcalloc(1, sizeof(*it));
	im = xcalloc(1, sizeof(*im));
	it->ops = &image_ops;
	it->priv = im;
	it->pid = t->pid;
	rc = current_maps(t, &it->maps);
	if (!rc)
		rc = plan(t->pid, &it->maps, o, im);
	/* Before allocating anything for the copy. */
	if (!rc && o->max_bytes && im->planned > o->max_bytes)
		rc = limit_error(im->planned, o->max_bytes);
	if (!rc)
		rc = image_copy_all(t, im, o);
	if (rc) {
		target_close(it);
		return rc;
	}

	if (t->nthreads) {
		it->threads = xmalloc(t->nthreads * sizeof(*it->threads));
		it->nthreads = it->threads_alloc = t->nthreads;
		for (i = 0; i < t->nthreads; i++) {
			it->threads[i] = t->threads[i];
			/* Nobody controls an image's threads. */
			it->threads[i].stopped = false;
			it->threads[i].pending_sig = 0;
		}
	}
	it->root = xstrdup(t->root ? t->root : "");
	it->exe = t->exe ? xstrdup(t->exe) : NULL;
	it->cmdline = t->cmdline ? xstrdup(t->cmdline) : NULL;
	im->stats.copy_ns = ph_now_ns() - t0;
	ph_debug(1, "copied %.1f MiB of process %d in %.1f ms (%" PRIu64
		 " maps, %" PRIu64 " pages not resident, %" PRIu64
		 " unreadable)", (double)im->stats.bytes / (1 << 20),
		 (int)t->pid, (double)im->stats.copy_ns / 1e6, im->stats.maps,
		 im->stats.hole_pages, im->stats.unreadable_pages);
	if (out_bytes)
		*out_bytes = im->stats.bytes;
	*image = it;
	return 0;
}
