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

/* The kernel takes at most UIO_MAXIOV (1024) iovecs per side. */
#define IOV_BATCH 1024
/* process_vm_readv() rejects a total above SSIZE_MAX; stay far below, as
 * live.c does. */
#define READ_CHUNK ((uint64_t)1 << 30)
/* Copies (and buffers to fault in) smaller than this are not worth a
 * thread: creating one costs tens of microseconds, copying 8 MiB about
 * 1.5 ms. */
#define PARALLEL_MIN ((uint64_t)8 << 20)
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

/* ---- copying ----------------------------------------------------------- */

/*
 * A copier copies one run of the image, [its cursor, cursor + left), into
 * the buffer.  With --jobs the image is cut into as many runs of equal
 * size as there are threads, at page boundaries (extents are whole pages),
 * and each thread copies its own: process_vm_readv() copies on the calling
 * CPU, so two threads halve the pause where memory bandwidth allows
 * (measured on this project's 2-CPU VM: 122 MiB in 19 ms with one, 10-11 ms
 * with two).  A copier running on a worker reports nothing itself
 * (base/par.c): it records how it failed, and copy_all() reports that.
 */
struct copier {
	struct target *live; /* reads through /proc/PID/mem go through it */
	struct image *im;
	uint64_t page;
	size_t i;            /* cursor: extent, and offset in it */
	uint64_t off;
	uint64_t left;       /* bytes from the cursor on that are this run's */
	uint64_t bytes;      /* copied */
	uint64_t unreadable_pages;
	bool use_mem;        /* process_vm_readv() was refused */
	enum { COPY_OK, COPY_GONE, COPY_FAILED } fail;
	int err;             /* errno, for COPY_FAILED */
};

static int gone_error(pid_t pid)
{
	return ph_error(PH_E_NOPROC, "no such process: %d", (int)pid);
}

static int limit_error(uint64_t bytes, uint64_t max)
{
	return ph_error(PH_E_LIMIT, "target memory to copy (%.1f MiB) exceeds "
			"the limit (%.1f MiB)", (double)bytes / (1 << 20),
			(double)max / (1 << 20));
}

/* Move the cursor n bytes on. */
static void advance(struct copier *c, uint64_t n)
{
	c->left -= n;
	while (n) {
		const struct extent *e = &c->im->ext[c->i];
		uint64_t step = PH_MIN(n, e->end - e->start - c->off);

		c->off += step;
		n -= step;
		if (c->off == e->end - e->start) {
			c->i++;
			c->off = 0;
		}
	}
}

/* Put the cursor at byte pos of the image. */
static void seek(struct copier *c, uint64_t pos)
{
	c->i = 0;
	c->off = 0;
	while (c->i < c->im->next) {
		const struct extent *e = &c->im->ext[c->i];

		if (pos < e->end - e->start) {
			c->off = pos;
			return;
		}
		pos -= e->end - e->start;
		c->i++;
	}
}

/* The page (or less, at an extent's end) at the cursor reads as zero. */
static void skip_page(struct copier *c)
{
	const struct extent *e = &c->im->ext[c->i];
	uint64_t a = e->start + c->off;
	uint64_t n = PH_MIN(c->page - a % c->page, e->end - a);

	c->unreadable_pages++;
	advance(c, PH_MIN(n, c->left));
}

/*
 * process_vm_readv() with up to IOV_BATCH runs per call.  It stops at the
 * first page it cannot read and returns what it read before, or fails if
 * that was nothing; so after a short read the cursor is at the bad page,
 * which is tried alone (single) and skipped if it fails, and batching goes
 * on after the first page that reads again.  Returns with c->use_mem set
 * if the call is refused, with c->fail set if it failed otherwise.  No
 * allocation, no message: it may run on a worker thread.
 */
static void copy_vm(struct copier *c, struct iovec *local,
		    struct iovec *remote)
{
	const struct image *im = c->im;
	pid_t pid = c->live->pid;
	bool single = false;

	while (c->left && c->i < im->next) {
		uint64_t total = 0, o = c->off;
		size_t n = 0, j = c->i;
		ssize_t got;

		while (j < im->next && n < IOV_BATCH && total < READ_CHUNK &&
		       total < c->left) {
			const struct extent *e = &im->ext[j];
			uint64_t a = e->start + o;
			uint64_t len = PH_MIN(e->end - a, READ_CHUNK - total);

			len = PH_MIN(len, c->left - total);
			if (single)
				len = PH_MIN(len, c->page - a % c->page);
			local[n].iov_base = e->data + o;
			local[n].iov_len = (size_t)len;
			remote[n].iov_base = (void *)(uintptr_t)a;
			remote[n].iov_len = (size_t)len;
			n++;
			total += len;
			if (single)
				break;
			j++;
			o = 0;
		}
		got = process_vm_readv(pid, local, n, remote, n, 0);
		if (got < 0) {
			switch (errno) {
			case EINTR:
				continue;
			case EPERM:
			case ENOSYS:
				/* Seccomp (Docker's default profile) refuses
				 * it while /proc/PID/mem still works; see
				 * live_read(). */
				c->use_mem = true;
				return;
			case ESRCH:
				c->fail = COPY_GONE;
				return;
			case EFAULT:
			case EIO:
			case ENOMEM: /* a page that cannot be faulted in */
				got = 0;
				break;
			default:
				c->fail = COPY_FAILED;
				c->err = errno;
				return;
			}
		}
		c->bytes += (uint64_t)got;
		advance(c, (uint64_t)got);
		if ((uint64_t)got == total) {
			single = false;
			continue;
		}
		/* Alone, the page at the cursor failed: it stays zero.  In a
		 * batch it only may have (the kernel promises no more than
		 * iovec granularity): try it alone next. */
		if (single)
			skip_page(c);
		single = true;
	}
}

static void copy_vm_piece(void *arg)
{
	struct copier *c = arg;
	/* On the worker's stack: 32 KiB, well inside a thread's default. */
	struct iovec iov[2 * IOV_BATCH];

	copy_vm(c, iov, iov + IOV_BATCH);
}

/* Through live.c, which reads /proc/PID/mem when process_vm_readv() is
 * refused: a run at a time, as far as it can be read, then past the page
 * that cannot.  On the main thread only (live.c reports errors). */
static int copy_mem(struct copier *c)
{
	const struct image *im = c->im;

	while (c->left && c->i < im->next) {
		const struct extent *e = &im->ext[c->i];
		uint64_t a = e->start + c->off;
		size_t got;
		int rc;

		rc = live_read_prefix(c->live, a, e->data + c->off,
				      (size_t)PH_MIN(PH_MIN(e->end - a,
							    READ_CHUNK),
						     c->left),
				      &got);
		if (rc)
			return rc;
		if (!got) {
			skip_page(c);
			continue;
		}
		c->bytes += got;
		advance(c, got);
	}
	return 0;
}

/* An anonymous mapping of len bytes for an image.  Every byte of it is
 * about to be written, so huge pages waste nothing and save 511 of 512
 * page faults: copying is about 1.4 times faster (2.4 to 3.4 GB/s).  The
 * price, where THP is "madvise" (Debian's default), is that a fault may
 * compact memory first when no huge page is free; the kernel backs off
 * after failures.  Failure (THP disabled) changes nothing. */
static unsigned char *map_image(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

struct populate {
	unsigned char *p;
	size_t len;
};

/* Fault a run in now, while the target runs: page faults (and any
 * compaction for huge pages) are the largest cost of a copy into fresh
 * memory, and here they are outside the pause.  The kernel zeroes each
 * page on the faulting CPU, so runs on several threads go as many times
 * faster.  Older kernels: a write to each page does the same. */
static void populate_piece(void *arg)
{
	const struct populate *r = arg;
	size_t i, page = (size_t)sysconf(_SC_PAGESIZE);

	if (r->len && madvise(r->p, r->len, MADV_POPULATE_WRITE))
		for (i = 0; i < r->len; i += page)
			r->p[i] = 0;
}

int target_image_reserve(uint64_t bytes, int jobs, struct image_buf *b)
{
	const size_t huge = (size_t)2 << 20;
	struct populate r[8];
	size_t i, n = jobs > 1 ? (size_t)PH_MIN(jobs, 8) : 1;

	b->p = NULL;
	b->len = 0;
	if (!bytes || bytes > SIZE_MAX / 2)
		return 0;
	b->p = map_image((size_t)bytes);
	if (!b->p)
		return ph_error(PH_E_NOMEM, "cannot allocate %.1f MiB to copy "
				"into: %s", (double)bytes / (1 << 20),
				strerror(errno));
	b->len = (size_t)bytes;
	if (b->len < PARALLEL_MIN * n)
		n = PH_MAX(b->len / PARALLEL_MIN, 1);
	for (i = 0; i < n; i++) {
		/* Cut at huge-page boundaries (the mapping is aligned to
		 * none, but a huge page is faulted whole by one thread). */
		size_t from = b->len / n * i / huge * huge;
		size_t to = i + 1 == n ? b->len : b->len / n * (i + 1) / huge *
							  huge;

		r[i].p = b->p + from;
		r[i].len = to - from;
	}
	ph_parallel(n, populate_piece, r, sizeof(r[0]));
	return 0;
}

void target_image_buf_release(struct image_buf *b)
{
	if (b->p)
		munmap(b->p, b->len);
	b->p = NULL;
	b->len = 0;
}

static int copy_all(struct target *live, struct image *im,
		    const struct image_opts *o)
{
	struct copier c[8];
	size_t n = o->jobs > 1 ? (size_t)PH_MIN(o->jobs, 8) : 1;
	uint64_t off = 0, page = (uint64_t)sysconf(_SC_PAGESIZE), min;
	size_t i;
	int rc = 0;

	if (o->buf && o->buf->p && o->buf->len >= im->planned) {
		/* Reserved before the stop, faulted in already. */
		im->buf = o->buf->p;
		im->buf_len = o->buf->len;
		o->buf->p = NULL;
		o->buf->len = 0;
	} else {
		/* The process grew past the reservation since (or there is
		 * none): a fresh mapping, faulted in during the copy. */
		if (o->buf)
			target_image_buf_release(o->buf);
		if (!im->planned)
			return 0;
		im->buf = map_image((size_t)im->planned);
		if (!im->buf)
			return ph_error(PH_E_NOMEM, "cannot allocate %.1f MiB "
					"to copy process %d into: %s",
					(double)im->planned / (1 << 20),
					(int)live->pid, strerror(errno));
		im->buf_len = (size_t)im->planned;
	}
	for (i = 0; i < im->next; i++) {
		im->ext[i].data = im->buf + off;
		off += im->ext[i].end - im->ext[i].start;
	}

	min = o->run_min ? o->run_min : PARALLEL_MIN;
	if (im->planned < min * n)
		n = (size_t)PH_MAX(im->planned / min, 1);
	memset(c, 0, sizeof(c));
	for (i = 0; i < n; i++) {
		/* Run i: [planned * i / n, planned * (i + 1) / n), both ends
		 * on a page boundary. */
		uint64_t from = im->planned / n * i / page * page;
		uint64_t to = i + 1 == n ? im->planned :
			      im->planned / n * (i + 1) / page * page;

		c[i].live = live;
		c[i].im = im;
		c[i].page = page;
		c[i].left = to - from;
		seek(&c[i], from);
	}
	im->stats.copy_threads = n;
	ph_parallel(n, copy_vm_piece, c, sizeof(c[0]));
	for (i = 0; i < n; i++) {
		if (!rc && c[i].fail == COPY_GONE)
			rc = gone_error(live->pid);
		else if (!rc && c[i].fail == COPY_FAILED)
			rc = ph_error(PH_E_IO, "cannot copy the memory of "
				      "process %d: %s", (int)live->pid,
				      strerror(c[i].err));
	}
	for (i = 0; !rc && i < n; i++) {
		if (!c[i].use_mem)
			continue;
		ph_debug(1, "process_vm_readv refused; copying through "
			 "/proc/%d/mem", (int)live->pid);
		rc = copy_mem(&c[i]);
	}
	for (i = 0; i < n; i++) {
		im->stats.bytes += c[i].bytes;
		im->stats.unreadable_pages += c[i].unreadable_pages;
	}
	return rc;
}

/* ---- capture ----------------------------------------------------------- */

static void maps_copy(const struct maps *src, struct maps *dst)
{
	size_t i;

	dst->v = xmalloc((src->n ? src->n : 1) * sizeof(*dst->v));
	dst->n = dst->alloc = src->n;
	for (i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		if (src->v[i].path)
			dst->v[i].path = xstrdup(src->v[i].path);
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
		rc = copy_all(t, im, o);
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
