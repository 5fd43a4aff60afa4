/*
 * Copying a planned image (image.c) out of a live process: the copiers,
 * on --jobs threads, and the buffer they copy into, reserved and faulted
 * in before the target is stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
/* ---- copying ----------------------------------------------------------- */

/*
 * A copier copies one run of the image, [its cursor, cursor + left), into
 * the buffer.  With --jobs the image is cut into as many runs of equal
 * size as there are threads, at page boundaries (extents are whole pages),
 * and each thread copies its own: process_vm_readv() copies on the calling
 * CPU, so two threads halve the pause where memory bandwidth allows
 * (measured on this project's 2-CPU VM: 122 MiB in 19 ms with one, 10-11 ms
 * with two).  A copier running on a worker reports nothing itself
 * (base/par.c): it records how it failed, and image_copy_all() reports that.
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

int image_copy_all(struct target *live, struct image *im,
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
