/*
 * The physical limit of a snapshot's pause: the time process_vm_readv alone
 * needs to copy the bytes pyheap copies.
 *
 *     pyheap snap -vvv -o X.snap PID 2>&1 | bench/pyheap-copy PID RUNS [THREADS]
 *
 * Reads pyheap's "copied extent 0xSTART-0xEND" lines (any other line is
 * ignored) and copies those extents from PID, RUNS times, in batches of
 * IOV_MAX iovecs, each run twice: first into fresh memory (mmapped and
 * advised MADV_HUGEPAGE as pyheap's image is, src/target/copy.c), so the
 * copy also pays the page faults, then again into the same, now faulted-in
 * memory: the floor, the kernel's copy alone.  The target is not stopped:
 * stopping is part of what the benchmark compares against.  Prints one
 * line per run: "BYTES FLOOR_NS FRESH_NS".  THREADS (default 1, at most 8)
 * copy at once, each a run of equal size as pyheap snap --jobs cuts them
 * (src/target/copy.c): the limit for a pause taken with as many.  Exit status 0, or 1 with a
 * message (no extents, a read failed, bad usage).
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct range {
	uint64_t start, end;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One thread's run: bytes [lo, hi) of the concatenated extents. */
struct run {
	pid_t pid;
	const struct range *r;
	size_t n;
	unsigned char *buf;
	uint64_t lo, hi;
	int failed;
};

static void *copy_run(void *arg)
{
	struct run *u = arg;
	struct iovec local[IOV_MAX], remote[IOV_MAX];
	uint64_t off = 0;
	size_t i = 0;

	while (i < u->n) {
		size_t k = 0;
		uint64_t want = 0;
		ssize_t got;

		for (; i < u->n && k < IOV_MAX; i++) {
			uint64_t s = off, e = off + (u->r[i].end -
						     u->r[i].start);
			uint64_t lo = s > u->lo ? s : u->lo;
			uint64_t hi = e < u->hi ? e : u->hi;

			off = e;
			if (lo >= hi)
				continue;
			local[k].iov_base = u->buf + lo;
			local[k].iov_len = (size_t)(hi - lo);
			remote[k].iov_base =
				(void *)(uintptr_t)(u->r[i].start + (lo - s));
			remote[k].iov_len = (size_t)(hi - lo);
			want += hi - lo;
			k++;
		}
		if (!k)
			break;
		got = process_vm_readv(u->pid, local, k, remote, k, 0);
		if (got < 0 || (uint64_t)got != want) {
			/* pyheap reads page by page past a hole; the limit is
			 * measured on memory that reads whole. */
			fprintf(stderr, "pyheap-copy: process_vm_readv: %s\n",
				got < 0 ? strerror(errno) : "short read");
			u->failed = 1;
			return NULL;
		}
	}
	return NULL;
}

static int copy_into(pid_t pid, const struct range *r, size_t n,
		     uint64_t total, int threads, unsigned char *buf,
		     uint64_t *ns)
{
	pthread_t th[8];
	struct run u[8];
	uint64_t t0 = now_ns();
	int i, failed = 0;

	for (i = 0; i < threads; i++) {
		u[i].pid = pid;
		u[i].r = r;
		u[i].n = n;
		u[i].buf = buf;
		u[i].lo = total / threads * i / 4096 * 4096;
		u[i].hi = i + 1 == threads ? total :
			  total / threads * (i + 1) / 4096 * 4096;
		u[i].failed = 0;
		if (i && pthread_create(&th[i], NULL, copy_run, &u[i])) {
			perror("pyheap-copy: pthread_create");
			return -1;
		}
	}
	copy_run(&u[0]);
	for (i = 1; i < threads; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < threads; i++)
		failed |= u[i].failed;
	*ns = now_ns() - t0;
	return failed ? -1 : 0;
}

static int copy_once(pid_t pid, const struct range *r, size_t n,
		     uint64_t total, int threads, uint64_t *floor_ns,
		     uint64_t *fresh_ns)
{
	uint64_t t0 = now_ns();
	unsigned char *buf;
	int rc;

	buf = mmap(NULL, total, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("pyheap-copy: mmap");
		return -1;
	}
	madvise(buf, total, MADV_HUGEPAGE);
	rc = copy_into(pid, r, n, total, threads, buf, fresh_ns);
	*fresh_ns = now_ns() - t0; /* the mmap and the faults too */
	if (!rc)
		rc = copy_into(pid, r, n, total, threads, buf, floor_ns);
	munmap(buf, total);
	return rc;
}

int main(int argc, char **argv)
{
	struct range *r = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	char line[512];
	pid_t pid;
	int runs, i, threads = 1;

	if (argc == 4)
		threads = atoi(argv[3]);
	if ((argc != 3 && argc != 4) || (pid = (pid_t)atoi(argv[1])) <= 0 ||
	    (runs = atoi(argv[2])) <= 0 || threads < 1 || threads > 8) {
		fprintf(stderr, "usage: pyheap snap -vvv -o X PID 2>&1 | "
			"pyheap-copy PID RUNS [THREADS]\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		const char *p = strstr(line, "copied extent ");
		uint64_t a, b;

		if (!p || sscanf(p, "copied extent %" SCNx64 "-%" SCNx64,
				 &a, &b) != 2 || b <= a)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			r = realloc(r, cap * sizeof(*r));
			if (!r) {
				perror("pyheap-copy");
				return 1;
			}
		}
		r[n].start = a;
		r[n].end = b;
		n++;
		total += b - a;
	}
	if (!n) {
		fprintf(stderr, "pyheap-copy: no \"copied extent\" lines on "
			"stdin (pyheap snap -vvv)\n");
		return 1;
	}
	for (i = 0; i < runs; i++) {
		uint64_t floor_ns, fresh_ns;

		if (copy_once(pid, r, n, total, threads, &floor_ns,
			      &fresh_ns))
			return 1;
		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", total,
		       floor_ns, fresh_ns);
	}
	free(r);
	return 0;
}
