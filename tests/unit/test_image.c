#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "check_util.h"
#include "target/target.h"

#define PAGE 4096u
#define MIB (1024u * 1024u)
#define HEAP_BYTES (10 * MIB)
#define BIG_BYTES (64 * MIB)
#define BIG_PAGES (BIG_BYTES / PAGE)
#define HEAVY_BYTES (200 * MIB)
#define NTHREADS 4 /* the main thread and three more */
/* What a capture of the child may copy: its 10 MiB heap buffer, three
 * pages of the 64 MiB mapping and the few MiB any process has.  ASan's
 * runtime (shadow of that heap, allocator metadata) adds about 8 MiB. */
#ifdef __SANITIZE_ADDRESS__
#define CHILD_MAX_BYTES (32 * MIB)
#else
#define CHILD_MAX_BYTES (16 * MIB)
#endif

/* The three pages of the 64 MiB mapping the child touches. */
static const size_t touched[] = { 0, 7777, BIG_PAGES - 1 };

/* In .bss and .rodata of the child (a fork of this program). */
static uint64_t global_array[512];
static const char string_constant[] =
	"pyheap image test: a string constant in .rodata";

/* What is at addr in generation gen of the child's memory. */
static uint64_t pat(uint64_t addr, unsigned gen)
{
	return (addr * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)gen << 56) ^ gen;
}

static void fill(void *p, size_t len, unsigned gen)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pat((uintptr_t)&w[i], gen);
}

/* Whether the len bytes read from addr are generation gen's. */
static bool has_pattern(const void *buf, uint64_t addr, size_t len,
			unsigned gen)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pat(addr + 8 * i, gen))
			return false;
	return true;
}

static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- the child ---------------------------------------------------------- */

struct child_info {
	uint64_t heap;    /* HEAP_BYTES malloc'd, pattern */
	uint64_t big;     /* BIG_BYTES anonymous, only touched[] written */
	uint64_t global;  /* global_array, pattern */
	uint64_t str;     /* string_constant */
	uint64_t pair;    /* two pages, two VMAs (rw, r), pattern */
	uint64_t edge;    /* a page of pattern, then a PROT_NONE page */
	uint64_t file;    /* 3-page private file mapping of a 1-page file */
	uint64_t data;    /* a data file, mapped private */
	uint64_t code;    /* a function: r-x, not copied */
	uint64_t heavy;   /* HEAVY_BYTES malloc'd and written, or 0 */
};

struct child {
	pid_t pid;
	int cmd;  /* to the child: 'm' changes its memory; closing ends it */
	int ack;  /* from the child */
	struct child_info info;
};

static void *idle_thread(void *arg)
{
	struct timespec ts = { 0, 2000000 };

	(void)arg;
	for (;;)
		nanosleep(&ts, NULL);
	return NULL;
}

static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(100);
	return p;
}

static int memfd_of(const char *name, char fill_byte, size_t pages)
{
	unsigned char page[PAGE];
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t i;

	if (fd < 0)
		_exit(104);
	memset(page, fill_byte, sizeof(page));
	for (i = 0; i < pages; i++)
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			_exit(105);
	return fd;
}

/* A private read-only mapping of 3 pages over a 1-page file: the last two
 * are past the end of the file and cannot be read (SIGBUS).  The file is
 * also mapped executable, like an ELF object, so its data is copied. */
static void *map_short_file(void)
{
	int fd = memfd_of("pyheap-short", 'F', 1);
	void *p = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	void *x = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

	close(fd);
	if (p == MAP_FAILED || x == MAP_FAILED)
		_exit(106);
	return p;
}

/* A data file: mapped, resident, but not copied. */
static void *map_data_file(void)
{
	int fd = memfd_of("pyheap-data", 'D', 2);
	char *p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	volatile char c;

	close(fd);
	if (p == MAP_FAILED)
		_exit(106);
	c = p[0];
	c = p[PAGE];
	(void)c;
	return p;
}

static void mutate(const struct child_info *in)
{
	size_t i;

	fill((void *)(uintptr_t)in->heap, HEAP_BYTES, 2);
	for (i = 0; i < PH_ARRAY_SIZE(touched); i++)
		fill((void *)(uintptr_t)(in->big + touched[i] * PAGE), PAGE, 2);
	/* An untouched page becomes resident. */
	fill((void *)(uintptr_t)(in->big + PAGE), PAGE, 2);
	fill(global_array, sizeof(global_array), 2);
}

static _Noreturn void child_main(int cmd, int ack, bool heavy)
{
	struct child_info info;
	unsigned char *p;
	pthread_t th;
	size_t i;
	char c;

	for (i = 1; i < NTHREADS; i++)
		if (pthread_create(&th, NULL, idle_thread, NULL))
			_exit(101);

	memset(&info, 0, sizeof(info));
	p = malloc(HEAP_BYTES);
	if (!p)
		_exit(102);
	fill(p, HEAP_BYTES, 1);
	info.heap = (uintptr_t)p;

	p = map_pages(BIG_PAGES);
	for (i = 0; i < PH_ARRAY_SIZE(touched); i++)
		fill(p + touched[i] * PAGE, PAGE, 1);
	info.big = (uintptr_t)p;

	fill(global_array, sizeof(global_array), 1);
	info.global = (uintptr_t)global_array;
	info.str = (uintptr_t)string_constant;

	p = map_pages(2);
	fill(p, 2 * PAGE, 1);
	if (mprotect(p + PAGE, PAGE, PROT_READ))
		_exit(103);
	info.pair = (uintptr_t)p;

	p = map_pages(2);
	fill(p, PAGE, 1);
	if (mprotect(p + PAGE, PAGE, PROT_NONE))
		_exit(103);
	info.edge = (uintptr_t)p;

	info.file = (uintptr_t)map_short_file();
	info.data = (uintptr_t)map_data_file();
	info.code = (uintptr_t)&child_main;

	if (heavy) {
		p = malloc(HEAVY_BYTES);
		if (!p)
			_exit(102);
		fill(p, HEAVY_BYTES, 1);
		info.heavy = (uintptr_t)p;
	}

	if (write(ack, &info, sizeof(info)) != sizeof(info))
		_exit(107);
	for (;;) {
		ssize_t n = read(cmd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		if (c == 'm')
			mutate(&info);
		if (write(ack, &c, 1) != 1)
			_exit(108);
	}
}

static void spawn(struct child *c, bool heavy)
{
	int cmd[2], ack[2];
	ssize_t n;

	ck_assert_int_eq(pipe2(cmd, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(ack, O_CLOEXEC), 0);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		child_main(cmd[0], ack[1], heavy);
	}
	close(cmd[0]);
	close(ack[1]);
	c->cmd = cmd[1];
	c->ack = ack[0];
	n = read(c->ack, &c->info, sizeof(c->info));
	ck_assert_int_eq(n, sizeof(c->info));
}

static void command(struct child *c, char what)
{
	char got = 0;

	ck_assert_int_eq(write(c->cmd, &what, 1), 1);
	ck_assert_int_eq(read(c->ack, &got, 1), 1);
	ck_assert_int_eq(got, what);
}

static void reap(struct child *c)
{
	close(c->cmd);
	close(c->ack);
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

static char thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Threads of pid in a tracing stop ('t') or job-control stop ('T'). */
static size_t count_traced(pid_t pid)
{
	char path[64];
	struct dirent *de;
	size_t k = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char s;

		if (de->d_name[0] == '.')
			continue;
		s = thread_state(pid, atoi(de->d_name));
		if (s == 't' || s == 'T')
			k++;
	}
	closedir(d);
	return k;
}

static bool runs_again(pid_t pid, unsigned ms)
{
	unsigned i;

	for (i = 0; i < ms; i++) {
		if (!count_traced(pid))
			return true;
		usleep(1000);
	}
	return false;
}

static struct target *open_child(const struct child *c)
{
	struct target *t = NULL;
	int rc = target_live_open(c->pid, &t);

	ck_assert_msg(rc == 0, "target_live_open: %s", ph_errmsg());
	return t;
}

/* Stop, capture, resume: what pyheap snap does. */
static struct target *capture_stopped(struct target *t,
				      const struct image_opts *o)
{
	struct target *im = NULL;
	uint64_t bytes = 0;
	int rc;

	rc = target_stop(t, 0);
	ck_assert_msg(rc == 0, "target_stop: %s", ph_errmsg());
	rc = target_image_capture(t, o, &im, &bytes);
	ck_assert_int_eq(target_resume(t), 0);
	ck_assert_msg(rc == 0, "target_image_capture: %s", ph_errmsg());
	ck_assert_ptr_nonnull(im);
	ck_assert_ptr_nonnull(target_image_stats(im));
	ck_assert_uint_eq(bytes, target_image_stats(im)->bytes);
	ck_assert(runs_again(t->pid, 1000));
	return im;
}

/* ---- checks of an image ------------------------------------------------- */

static void check_heap(struct target *im, const struct child_info *in,
		       unsigned gen)
{
	unsigned char *buf = malloc(HEAP_BYTES);
	int rc;

	ck_assert_ptr_nonnull(buf);
	rc = target_read(im, in->heap, buf, HEAP_BYTES);
	ck_assert_msg(rc == 0, "read heap: %s", ph_errmsg());
	ck_assert(has_pattern(buf, in->heap, HEAP_BYTES, gen));
	free(buf);
}

/* Everything the child wrote at startup is there, nothing else is. */
static void check_image(struct target *im, const struct child *c)
{
	const struct child_info *in = &c->info;
	const struct image_stats *st = target_image_stats(im);
	unsigned char page[2 * PAGE];
	char s[sizeof(string_constant) + 8];
	const struct map *m;
	uint64_t v;
	size_t i;

	ck_assert_int_eq(im->pid, c->pid);
	check_heap(im, in, 1);

	/* The 64 MiB mapping: touched pages copied, the others zero. */
	m = maps_find(&im->maps, in->big);
	ck_assert_ptr_nonnull(m);
	ck_assert(m->copied);
	for (i = 0; i < PH_ARRAY_SIZE(touched); i++) {
		uint64_t a = in->big + touched[i] * PAGE;

		ck_assert_int_eq(target_read(im, a, page, PAGE), 0);
		ck_assert(has_pattern(page, a, PAGE, 1));
	}
	for (i = 1; i < BIG_PAGES - 1; i += 997) {
		uint64_t a = in->big + i * PAGE;

		if (i == touched[1])
			continue;
		memset(page, 0xee, PAGE);
		ck_assert_int_eq(target_read(im, a, page, PAGE), 0);
		ck_assert(all_zero(page, PAGE));
	}
	/* Across a copied page and a hole. */
	ck_assert_int_eq(target_read(im, in->big + PAGE / 2, page, PAGE), 0);
	ck_assert(has_pattern(page, in->big + PAGE / 2, PAGE / 2, 1));
	ck_assert(all_zero(page + PAGE / 2, PAGE / 2));
	ck_assert_uint_ge(st->hole_pages, BIG_PAGES - PH_ARRAY_SIZE(touched));

	/* .bss and .rodata */
	ck_assert_int_eq(target_read(im, in->global, page,
				     sizeof(global_array)), 0);
	ck_assert(has_pattern(page, in->global, sizeof(global_array), 1));
	ck_assert_int_eq(target_read_cstr(im, in->str, s, sizeof(s)), 0);
	ck_assert_str_eq(s, string_constant);

	/* Past the end of a file: unreadable, zero in the image. */
	m = maps_find(&im->maps, in->file);
	ck_assert_ptr_nonnull(m);
	ck_assert(m->copied);
	ck_assert(m->deleted);
	ck_assert_int_eq(target_read(im, in->file + PAGE - 8, page, 16), 0);
	ck_assert_uint_eq(page[0], 'F');
	ck_assert_uint_eq(page[7], 'F');
	ck_assert(all_zero(page + 8, 8));
	ck_assert_int_eq(target_read(im, in->file + PAGE, page, 2 * PAGE), 0);
	ck_assert(all_zero(page, 2 * PAGE));
	ck_assert_uint_ge(st->unreadable_pages, 2);

	/* A data file: listed, not copied. */
	m = maps_find(&im->maps, in->data);
	ck_assert_ptr_nonnull(m);
	ck_assert(!m->copied);
	ck_assert_int_eq(target_read_u64(im, in->data, &v), -PH_E_READ);

	/* Code: listed, not copied. */
	m = maps_find(&im->maps, in->code);
	ck_assert_ptr_nonnull(m);
	ck_assert(m->perms & MAP_X);
	ck_assert(!m->copied);
	ck_assert_int_eq(target_read_u64(im, in->code, &v), -PH_E_READ);

	ck_assert_uint_gt(st->maps, 5);
	ck_assert_uint_gt(st->copy_ns, 0);
	ck_assert_uint_ge(st->copy_ns, st->scan_ns);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(image_copies_what_is_there)
{
	struct child c;
	struct target *t, *im;
	const struct image_stats *st;
	char root[64];

	spawn(&c, false);
	t = open_child(&c);
	im = capture_stopped(t, NULL);
	st = target_image_stats(im);
	fprintf(stderr, "image_copies_what_is_there: %.1f MiB copied in "
		"%.2f ms (%.2f ms finding resident pages), %lu maps, "
		"%lu pages not resident, %lu unreadable\n",
		(double)st->bytes / MIB, (double)st->copy_ns / 1e6,
		(double)st->scan_ns / 1e6, (unsigned long)st->maps,
		(unsigned long)st->hole_pages,
		(unsigned long)st->unreadable_pages);
	ck_assert_uint_lt(st->bytes, CHILD_MAX_BYTES);
	ck_assert_uint_ge(st->bytes, HEAP_BYTES + 3 * PAGE);

	/* Its own copies of everything: the live target can go first. */
	ck_assert_ptr_ne(im->maps.v, t->maps.v);
	ck_assert_ptr_ne(im->exe, t->exe);
	ck_assert_str_eq(im->exe, t->exe);
	ck_assert_ptr_ne(im->cmdline, t->cmdline);
	ck_assert_str_eq(im->cmdline, t->cmdline);
	snprintf(root, sizeof(root), "/proc/%d/root", c.pid);
	ck_assert_str_eq(im->root, root);
	ck_assert_uint_eq(im->maps.n, t->maps.n);
	target_close(t);

	check_image(im, &c);
	/* An image cannot be stopped, and is not copied again. */
	ck_assert_int_eq(target_stop(im, 0), 0);
	ck_assert(!target_is_stopped(im));
	ck_assert_int_eq(target_refresh_maps(im), 0);
	target_close(im);
	reap(&c);
}
END_TEST

START_TEST(image_is_a_copy)
{
	struct child c;
	struct target *t, *im;
	unsigned char page[PAGE];
	uint64_t v;

	spawn(&c, false);
	t = open_child(&c);
	im = capture_stopped(t, NULL);
	command(&c, 'm');

	/* The process has changed... */
	ck_assert_int_eq(target_read_u64(t, c.info.heap, &v), 0);
	ck_assert_uint_eq(v, pat(c.info.heap, 2));
	ck_assert_int_eq(target_read(t, c.info.big + PAGE, page, PAGE), 0);
	ck_assert(has_pattern(page, c.info.big + PAGE, PAGE, 2));
	/* ...the image has not. */
	check_heap(im, &c.info, 1);
	ck_assert_int_eq(target_read(im, c.info.big, page, PAGE), 0);
	ck_assert(has_pattern(page, c.info.big, PAGE, 1));
	ck_assert_int_eq(target_read(im, c.info.big + PAGE, page, PAGE), 0);
	ck_assert(all_zero(page, PAGE));
	ck_assert_int_eq(target_read_u64(im, c.info.global, &v), 0);
	ck_assert_uint_eq(v, pat(c.info.global, 1));
	target_close(im);

	/* A new capture sees the change. */
	im = capture_stopped(t, NULL);
	check_heap(im, &c.info, 2);
	ck_assert_int_eq(target_read(im, c.info.big + PAGE, page, PAGE), 0);
	ck_assert(has_pattern(page, c.info.big + PAGE, PAGE, 2));
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

START_TEST(image_reads_span_and_fail_outside)
{
	struct child c;
	struct target *t, *im;
	const struct map *m1, *m2;
	unsigned char buf[64];
	uint64_t v;

	spawn(&c, false);
	t = open_child(&c);
	im = capture_stopped(t, NULL);

	/* Two copied VMAs next to each other. */
	m1 = maps_find(&im->maps, c.info.pair);
	m2 = maps_find(&im->maps, c.info.pair + PAGE);
	ck_assert_ptr_nonnull(m1);
	ck_assert_ptr_nonnull(m2);
	ck_assert_ptr_ne(m1, m2);
	ck_assert_uint_eq(m1->end, m2->start);
	ck_assert(m1->copied && m2->copied);
	ck_assert_int_eq(target_read(im, c.info.pair + PAGE - 32, buf,
				     sizeof(buf)), 0);
	ck_assert(has_pattern(buf, c.info.pair + PAGE - 32, sizeof(buf), 1));
	ck_assert(target_mapped(im, c.info.pair + PAGE - 32, sizeof(buf)));

	/* A PROT_NONE page, unmapped memory, the end of the address space. */
	ck_assert_int_eq(target_read(im, c.info.edge + PAGE - 8, buf, 8), 0);
	ck_assert_int_eq(target_read(im, c.info.edge + PAGE - 8, buf, 16),
			 -PH_E_READ);
	ck_assert_int_eq(target_read(im, c.info.edge + PAGE, buf, 1),
			 -PH_E_READ);
	ck_assert_int_eq(target_read(im, 8, buf, 8), -PH_E_READ);
	ck_assert_int_eq(target_read(im, UINT64_MAX - 3, buf, 8), -PH_E_READ);
	ck_assert(ph_err_skippable(-PH_E_READ));
	ck_assert_uint_eq(target_read_u64_or(im, 8, 42), 42);
	ck_assert_uint_eq(im->stats.misses, 1);
	ck_assert_int_eq(target_read(im, 8, buf, 0), 0);
	ck_assert_int_eq(target_read_u64(im, c.info.pair, &v), 0);
	ck_assert_uint_eq(v, pat(c.info.pair, 1));
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

START_TEST(image_limit)
{
	struct image_opts o = { .max_bytes = MIB };
	struct child c;
	struct target *t, *im = (struct target *)1;
	uint64_t bytes = 1, need;
	int rc;

	spawn(&c, false);
	t = open_child(&c);
	ck_assert_int_eq(target_stop(t, 0), 0);
	rc = target_image_capture(t, &o, &im, &bytes);
	ck_assert_int_eq(target_resume(t), 0);
	ck_assert_int_eq(rc, -PH_E_LIMIT);
	ck_assert_ptr_null(im);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_msg(strstr(ph_errmsg(), "target memory to copy (") &&
		      strstr(ph_errmsg(), "MiB) exceeds the limit (1.0 MiB)"),
		      "%s", ph_errmsg());
	ck_assert(runs_again(c.pid, 1000));

	/* A limit above what there is does not get in the way. */
	ck_assert_int_eq(target_image_estimate(t, &need), 0);
	o.max_bytes = need + 8 * MIB;
	im = capture_stopped(t, &o);
	ck_assert_uint_le(target_image_stats(im)->bytes, o.max_bytes);
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

/* --no-stop: the target runs while it is copied. */
START_TEST(image_without_stopping)
{
	struct child c;
	struct target *t, *im = NULL;
	int rc;

	spawn(&c, false);
	t = open_child(&c);
	rc = target_image_capture(t, NULL, &im, NULL);
	ck_assert_msg(rc == 0, "target_image_capture: %s", ph_errmsg());
	ck_assert(!target_is_stopped(t));
	ck_assert_uint_eq(count_traced(c.pid), 0);
	ck_assert_uint_eq(im->nthreads, 0);
	check_image(im, &c);
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

START_TEST(image_keeps_threads)
{
	struct child c;
	struct target *t, *im;
	size_t i;

	spawn(&c, false);
	t = open_child(&c);
	im = capture_stopped(t, NULL);
	ck_assert_uint_eq(t->nthreads, NTHREADS);
	ck_assert_uint_eq(im->nthreads, NTHREADS);
	ck_assert_ptr_ne(im->threads, t->threads);
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(im->threads[i].tid, t->threads[i].tid);
		ck_assert_uint_ne(im->threads[i].fs_base, 0);
		ck_assert_uint_eq(im->threads[i].fs_base,
				  t->threads[i].fs_base);
		ck_assert(!im->threads[i].stopped);
	}
	target_close(t);
	ck_assert_uint_eq(im->nthreads, NTHREADS);
	target_close(im);
	reap(&c);
}
END_TEST

START_TEST(image_estimate)
{
	struct child c;
	struct target *t, *im;
	uint64_t est = 0, got;

	spawn(&c, false);
	t = open_child(&c);
	ck_assert_int_eq(target_image_estimate(t, &est), 0);
	ck_assert(!target_is_stopped(t));
	im = capture_stopped(t, NULL);
	got = target_image_stats(im)->bytes;
	fprintf(stderr, "image_estimate: estimated %lu, copied %lu bytes\n",
		(unsigned long)est, (unsigned long)got);
	ck_assert_uint_le(est, 2 * got);
	ck_assert_uint_le(got, 2 * est);
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

/* A buffer reserved before the stop: taken over when the copy fits in it,
 * released and replaced when it does not; the image is the same. */
START_TEST(image_reserved_buffer)
{
	struct child c;
	struct target *t, *im;
	struct image_buf b;
	struct image_opts o = { 0 };
	uint64_t est = 0;

	spawn(&c, false);
	t = open_child(&c);
	ck_assert_int_eq(target_image_estimate(t, &est), 0);

	ck_assert_int_eq(target_image_reserve(est + (1u << 20), 1, &b), 0);
	ck_assert_ptr_nonnull(b.p);
	ck_assert_uint_eq(b.len, est + (1u << 20));
	o.buf = &b;
	im = capture_stopped(t, &o);
	ck_assert_ptr_null(b.p); /* taken over */
	ck_assert_uint_eq(b.len, 0);
	check_image(im, &c);
	target_close(im);

	ck_assert_int_eq(target_image_reserve(4096, 1, &b), 0); /* too small */
	o.buf = &b;
	im = capture_stopped(t, &o);
	ck_assert_ptr_null(b.p); /* released */
	check_image(im, &c);
	target_close(im);
	target_image_buf_release(&b); /* harmless twice */

	ck_assert_int_eq(target_image_reserve(0, 1, &b), 0);
	ck_assert_ptr_null(b.p);

	/* Faulted in by three threads: every page resident, and taken
	 * over by a copy on three threads. */
	ck_assert_int_eq(target_image_reserve(40 * MIB + 3 * PAGE, 3, &b), 0);
	{
		size_t n = (b.len + PAGE - 1) / PAGE, i;
		unsigned char *v = malloc(n);

		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(mincore(b.p, b.len, v), 0);
		for (i = 0; i < n; i++)
			ck_assert_msg(v[i] & 1, "page %zu not resident", i);
		free(v);
	}
	o.buf = &b;
	o.jobs = 3;
	im = capture_stopped(t, &o);
	ck_assert_ptr_null(b.p);
	check_image(im, &c);
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

/* The path of kernels before 6.7, which have no PAGEMAP_SCAN. */
START_TEST(image_pagemap_read)
{
	struct image_opts o = { .pagemap_read = true };
	struct child c;
	struct target *t, *im;
	const struct image_stats *st;

	spawn(&c, false);
	t = open_child(&c);
	im = capture_stopped(t, &o);
	st = target_image_stats(im);
	fprintf(stderr, "image_pagemap_read: %.1f MiB copied in %.2f ms "
		"(%.2f ms finding resident pages), %lu maps left out\n",
		(double)st->bytes / MIB, (double)st->copy_ns / 1e6,
		(double)st->scan_ns / 1e6, (unsigned long)st->maps_left_out);
	ck_assert_uint_lt(st->bytes, CHILD_MAX_BYTES);
	check_image(im, &c);
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

static int deny_process_vm_readv(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv,
			 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { PH_ARRAY_SIZE(f), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Docker's default seccomp profile: copies go through /proc/PID/mem. */
START_TEST(image_without_process_vm_readv)
{
	struct child c;
	struct target *t, *im;

	spawn(&c, false);
	ck_assert_int_eq(deny_process_vm_readv(), 0);
	t = open_child(&c);
	im = capture_stopped(t, NULL);
	ck_assert_uint_lt(target_image_stats(im)->bytes, CHILD_MAX_BYTES);
	check_image(im, &c);
	target_close(im);
	target_close(t);
	reap(&c);
}
END_TEST

/* Copied by several threads, each a run of the image: the same image,
 * holes, unreadable pages and all; with process_vm_readv refused too
 * (every run then goes on through /proc/PID/mem). */
static void check_threads(bool deny)
{
	static const int jobs[] = { 2, 3, 8 };
	struct child c;
	struct target *t, *im;
	uint64_t one;
	size_t i;

	spawn(&c, false);
	if (deny)
		ck_assert_int_eq(deny_process_vm_readv(), 0);
	t = open_child(&c);
	im = capture_stopped(t, NULL);
	one = target_image_stats(im)->bytes;
	ck_assert_uint_eq(target_image_stats(im)->copy_threads, 1);
	target_close(im);
	for (i = 0; i < PH_ARRAY_SIZE(jobs); i++) {
		struct image_opts o = { .jobs = jobs[i], .run_min = PAGE };
		int tries;

		/* The child is idle: the same pages, copied once each.  But
		 * the kernel may map or drop a page between two captures
		 * (fault-around, reclaim under load: one page, seen once in
		 * a few hundred runs beside a compiler), so a difference is
		 * taken again against a fresh one-thread capture; copying a
		 * run twice or leaving one out differs every time. */
		for (tries = 0;; tries++) {
			im = capture_stopped(t, &o);
			ck_assert_uint_eq(target_image_stats(im)->copy_threads,
					  (uint64_t)jobs[i]);
			if (target_image_stats(im)->bytes == one || tries == 3)
				break;
			target_close(im);
			im = capture_stopped(t, NULL);
			one = target_image_stats(im)->bytes;
			target_close(im);
		}
		ck_assert_uint_eq(target_image_stats(im)->bytes, one);
		check_image(im, &c);
		target_close(im);
	}
	/* The default smallest run: a copy this small takes one thread. */
	{
		struct image_opts o = { .jobs = 8 };

		im = capture_stopped(t, &o);
		ck_assert_uint_le(target_image_stats(im)->copy_threads,
				  CHILD_MAX_BYTES / (8 * MIB));
		check_image(im, &c);
		target_close(im);
	}
	target_close(t);
	reap(&c);
}

START_TEST(image_copied_by_threads)
{
	check_threads(false);
}
END_TEST

START_TEST(image_copied_by_threads_without_process_vm_readv)
{
	check_threads(true);
}
END_TEST

START_TEST(image_of_other_targets)
{
	struct target *f = target_fake_new(), *im = (struct target *)1;
	struct target *t = NULL;
	uint64_t bytes = 1;
	pid_t pid;

	target_fake_add(f, 0x1000, NULL, 16, MAP_R | MAP_P, NULL);
	ck_assert_ptr_null(target_image_stats(f));
	ck_assert_int_eq(target_image_capture(f, NULL, &im, &bytes),
			 -PH_E_USAGE);
	ck_assert_ptr_null(im);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_int_eq(target_image_estimate(f, &bytes), -PH_E_USAGE);
	target_close(f);

	/* A process that is gone. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(target_live_open(pid, &t), 0);
	ck_assert_ptr_null(target_image_stats(t));
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(target_image_capture(t, NULL, &im, NULL),
			 -PH_E_NOPROC);
	ck_assert_ptr_null(im);
	target_close(t);
}
END_TEST

/* Not a check: how fast a capture copies, for the record. */
START_TEST(image_throughput)
{
	static const char *const how[] = { "PAGEMAP_SCAN", "pagemap read" };
	struct child c;
	struct target *t;
	int pass;

	spawn(&c, true);
	t = open_child(&c);
	for (pass = 0; pass < 4; pass++) {
		struct image_opts o = { .pagemap_read = pass % 2 };
		const struct image_stats *st;
		struct target *im = capture_stopped(t, &o);
		uint64_t v;

		st = target_image_stats(im);
		fprintf(stderr, "image_throughput (%s): %.1f MiB in %.1f ms "
			"(%.2f ms finding resident pages): %.0f MB/s; "
			"pause %.1f ms\n", how[pass % 2],
			(double)st->bytes / MIB, (double)st->copy_ns / 1e6,
			(double)st->scan_ns / 1e6,
			(double)st->bytes * 1e3 / (double)st->copy_ns,
			(double)t->pause_ns / 1e6);
		ck_assert_uint_ge(st->bytes, HEAVY_BYTES);
		ck_assert_int_eq(target_read_u64(im, c.info.heavy +
						 HEAVY_BYTES - 8, &v), 0);
		ck_assert_uint_eq(v, pat(c.info.heavy + HEAVY_BYTES - 8, 1));
		target_close(im);
		t->pause_ns = 0;
	}
	target_close(t);
	reap(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("capture");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, image_copies_what_is_there);
	tcase_add_test(tc, image_is_a_copy);
	tcase_add_test(tc, image_reads_span_and_fail_outside);
	tcase_add_test(tc, image_limit);
	tcase_add_test(tc, image_without_stopping);
	tcase_add_test(tc, image_keeps_threads);
	tcase_add_test(tc, image_estimate);
	tcase_add_test(tc, image_reserved_buffer);
	tcase_add_test(tc, image_pagemap_read);
	tcase_add_test(tc, image_without_process_vm_readv);
	tcase_add_test(tc, image_copied_by_threads);
	tcase_add_test(tc, image_copied_by_threads_without_process_vm_readv);
	tcase_add_test(tc, image_of_other_targets);
	tcase_add_test(tc, image_throughput);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
