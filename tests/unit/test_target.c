#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "check_util.h"
#include "target/target.h"

#define PAGE 4096u
#define MAGIC 0x5079686561702121ull /* "Pyheap!!" */

/* ---- maps -------------------------------------------------------------- */

static const char maps_text[] =
	"00400000-00401000 r--p 00000000 08:01 1234                       "
	"/usr/bin/python3.11\n"
	"00401000-00700000 r-xp 00001000 08:01 1234                       "
	"/usr/bin/python3.11\n"
	"00900000-00a00000 rw-p 00000000 00:00 0                          "
	"[heap]\n"
	"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
	"7f0000021000-7f0000022000 ---p 00000000 00:00 0 \n"
	"7f1000000000-7f1000001000 r--s 00002000 fd:02 98765              "
	"/tmp/my dir/lib with  spaces.so\n"
	"7f1000001000-7f1000002000 rw-s 00000000 00:05 4242               "
	"/memfd:arena (deleted)\n"
	"7f2000000000-7f2000010000 r-xp 00000000 103:a0 777               "
	"/opt/app/lib.so (deleted)\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                  "
	"[stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          "
	"[vsyscall]\n";

static void parse_ok(const char *text, struct maps *m)
{
	int rc = maps_parse(text, strlen(text), m);

	ck_assert_msg(rc == 0, "maps_parse: %s", ph_errmsg());
}

START_TEST(maps_parse_realistic)
{
	struct maps m = MAPS_INIT;

	parse_ok(maps_text, &m);
	ck_assert_uint_eq(m.n, 10);

	ck_assert_uint_eq(m.v[0].start, 0x400000);
	ck_assert_uint_eq(m.v[0].end, 0x401000);
	ck_assert_uint_eq(m.v[0].perms, MAP_R | MAP_P);
	ck_assert_uint_eq(m.v[0].offset, 0);
	ck_assert_uint_eq(m.v[0].dev_major, 8);
	ck_assert_uint_eq(m.v[0].dev_minor, 1);
	ck_assert_uint_eq(m.v[0].inode, 1234);
	ck_assert(!m.v[0].deleted);
	ck_assert_str_eq(m.v[0].path, "/usr/bin/python3.11");
	ck_assert_uint_eq(m.v[1].perms, MAP_R | MAP_X | MAP_P);
	ck_assert_uint_eq(m.v[1].offset, 0x1000);

	ck_assert_str_eq(m.v[2].path, "[heap]");
	ck_assert_uint_eq(m.v[2].perms, MAP_R | MAP_W | MAP_P);

	/* Anonymous: trailing blank and no path. */
	ck_assert_ptr_null(m.v[3].path);
	ck_assert_uint_eq(m.v[3].end, 0x7f0000021000);
	ck_assert_ptr_null(m.v[4].path);
	ck_assert_uint_eq(m.v[4].perms, MAP_P);

	/* Shared, blanks inside the path kept (even doubled ones). */
	ck_assert_uint_eq(m.v[5].perms, MAP_R);
	ck_assert_uint_eq(m.v[5].offset, 0x2000);
	ck_assert_uint_eq(m.v[5].dev_major, 0xfd);
	ck_assert_uint_eq(m.v[5].dev_minor, 2);
	ck_assert_str_eq(m.v[5].path, "/tmp/my dir/lib with  spaces.so");
	ck_assert(!m.v[5].deleted);

	ck_assert(m.v[6].deleted);
	ck_assert_str_eq(m.v[6].path, "/memfd:arena");
	ck_assert_uint_eq(m.v[6].perms, MAP_R | MAP_W);

	ck_assert(m.v[7].deleted);
	ck_assert_str_eq(m.v[7].path, "/opt/app/lib.so");
	ck_assert_uint_eq(m.v[7].dev_major, 0x103);
	ck_assert_uint_eq(m.v[7].dev_minor, 0xa0);

	ck_assert_str_eq(m.v[8].path, "[stack]");
	ck_assert_str_eq(m.v[9].path, "[vsyscall]");
	ck_assert_uint_eq(m.v[9].start, 0xffffffffff600000ull);
	ck_assert_uint_eq(m.v[9].end, 0xffffffffff601000ull);
	ck_assert_uint_eq(m.v[9].perms, MAP_X | MAP_P);

	/* Replacing releases the old contents (ASan would see a leak). */
	parse_ok("00001000-00002000 r--p 00000000 00:00 0 /x", &m);
	ck_assert_uint_eq(m.n, 1);
	ck_assert_str_eq(m.v[0].path, "/x");
	parse_ok("", &m);
	ck_assert_uint_eq(m.n, 0);
	maps_release(&m);
	ck_assert_ptr_null(m.v);
}
END_TEST

START_TEST(maps_parse_rejects_malformed)
{
	static const char *const bad[] = {
		"00400000 r--p 00000000 08:01 1 /x",
		"00400000-00401000 r--q 00000000 08:01 1 /x",
		"00400000-00401000 r-- 00000000 08:01 1",
		"00400000-00401000 rw-p  00000000 08:01 1",
		"00401000-00400000 r--p 00000000 08:01 1",
		"00400000-00400000 r--p 00000000 08:01 1",
		"0x400000-00401000 r--p 00000000 08:01 1",
		" 00400000-00401000 r--p 00000000 08:01 1",
		"00400000-00401000 r--p 00000000 0801 1",
		"00400000-00401000 r--p 00000000 08:01 x",
		"00400000-00401000 r--p 00000000 08:01 12a /x",
		"00400000-00401000 r--p 00000000 08:01",
		"00400000-00401000 r--p 00000000 08:01 ",
		"00400000-00401000 r--p 00000000 -8:01 1",
		"00400000-00401000 r--p 00000000 08:01 99999999999999999999999",
		"00000000400000000-00401000 r--p 00000000 08:01 1",
		"00400000-00401000 r--p 00000000 08:01 1\n\n"
		"00402000-00403000 r--p 00000000 08:01 1",
		/* out of order, overlapping */
		"00402000-00403000 r--p 00000000 08:01 1\n"
		"00400000-00401000 r--p 00000000 08:01 1\n",
		"00400000-00402000 r--p 00000000 08:01 1\n"
		"00401000-00403000 r--p 00000000 08:01 1\n",
		"garbage",
	};
	struct maps m = MAPS_INIT;
	struct strbuf sb = STRBUF_INIT;
	static const char nul[] =
		"00400000-00401000 r--p 00000000 08:01 1 /a\0b";
	size_t i;

	parse_ok("00001000-00002000 r--p 00000000 00:00 0 /keep", &m);
	for (i = 0; i < PH_ARRAY_SIZE(bad); i++) {
		int rc = maps_parse(bad[i], strlen(bad[i]), &m);

		ck_assert_msg(rc == -PH_E_FORMAT, "accepted: %s", bad[i]);
		/* Left unchanged on error. */
		ck_assert_uint_eq(m.n, 1);
		ck_assert_str_eq(m.v[0].path, "/keep");
	}
	ck_assert_int_eq(maps_parse(nul, sizeof(nul) - 1, &m), -PH_E_FORMAT);

	/* Lines longer than any path the kernel prints. */
	strbuf_addstr(&sb, "00400000-00401000 r--p 00000000 08:01 1 /");
	for (i = 0; i < 5 * PATH_MAX; i++)
		strbuf_addch(&sb, 'a');
	ck_assert_int_eq(maps_parse(sb.buf, sb.len, &m), -PH_E_FORMAT);
	ck_assert_str_eq(m.v[0].path, "/keep");

	/* A long but plausible path is fine. */
	strbuf_setlen(&sb, 60 + PATH_MAX);
	parse_ok(sb.buf, &m);
	ck_assert_uint_eq(strlen(m.v[0].path), 60 + PATH_MAX - 40);
	strbuf_release(&sb);
	maps_release(&m);
}
END_TEST

START_TEST(maps_parse_repair_keeps_later_lines)
{
	static const char text[] =
		"00001000-00002000 r--p 00000000 08:01 1 /a\n"
		"00003000-00004000 r--p 00000000 08:01 2 /b\n"
		"00003800-00005000 rw-p 00000000 00:00 0 \n"
		"00005000-00006000 r--p 00000000 08:01 3 /d\n"
		"00005000-00007000 r--p 00000000 08:01 4 /e\n"
		"00000800-00001800 r--p 00000000 08:01 5 /f\n";
	struct maps m = MAPS_INIT;

	ck_assert_int_eq(maps_parse(text, sizeof(text) - 1, &m), -PH_E_FORMAT);
	ck_assert_int_eq(maps_parse_repair(text, sizeof(text) - 1, &m), 0);
	ck_assert_uint_eq(m.n, 1);
	ck_assert_str_eq(m.v[0].path, "/f");
	/* Without the last line. */
	ck_assert_int_eq(maps_parse_repair(text, sizeof(text) - 1 - 43, &m), 0);
	ck_assert_uint_eq(m.n, 4);
	ck_assert_str_eq(m.v[0].path, "/a");
	ck_assert_uint_eq(m.v[1].start, 0x3000);
	ck_assert_uint_eq(m.v[1].end, 0x3800);
	ck_assert_str_eq(m.v[1].path, "/b");
	ck_assert_ptr_null(m.v[2].path);
	ck_assert_uint_eq(m.v[2].end, 0x5000);
	ck_assert_str_eq(m.v[3].path, "/e");
	ck_assert_int_eq(maps_parse_repair("garbage", 7, &m), -PH_E_FORMAT);
	ck_assert_uint_eq(m.n, 4);
	maps_release(&m);
}
END_TEST

START_TEST(maps_find_edges)
{
	struct maps m = MAPS_INIT;

	ck_assert_ptr_null(maps_find(&m, 0x400000));
	parse_ok(maps_text, &m);
	ck_assert_ptr_eq(maps_find(&m, 0x400000), &m.v[0]);
	ck_assert_ptr_eq(maps_find(&m, 0x400fff), &m.v[0]);
	ck_assert_ptr_eq(maps_find(&m, 0x401000), &m.v[1]);
	ck_assert_ptr_eq(maps_find(&m, 0x6fffff), &m.v[1]);
	ck_assert_ptr_null(maps_find(&m, 0x3fffff));
	ck_assert_ptr_null(maps_find(&m, 0));
	ck_assert_ptr_null(maps_find(&m, 0x700000));
	ck_assert_ptr_null(maps_find(&m, 0x8fffff));
	ck_assert_ptr_eq(maps_find(&m, 0x900000), &m.v[2]);
	ck_assert_ptr_eq(maps_find(&m, 0x9fffff), &m.v[2]);
	ck_assert_ptr_null(maps_find(&m, 0xa00000));
	ck_assert_ptr_eq(maps_find(&m, 0x7f0000021000), &m.v[4]);
	ck_assert_ptr_eq(maps_find(&m, 0xffffffffff600000ull), &m.v[9]);
	ck_assert_ptr_null(maps_find(&m, 0xffffffffff601000ull));
	ck_assert_ptr_null(maps_find(&m, UINT64_MAX));
	maps_release(&m);
}
END_TEST

START_TEST(maps_read_self)
{
	struct maps m = MAPS_INIT;
	size_t i;
	bool stack = false;
	int here;

	ck_assert_int_eq(maps_read(getpid(), &m), 0);
	ck_assert_uint_gt(m.n, 5);
	for (i = 0; i < m.n; i++) {
		if (i)
			ck_assert_uint_ge(m.v[i].start, m.v[i - 1].end);
		if (m.v[i].path && !strcmp(m.v[i].path, "[stack]"))
			stack = true;
	}
	ck_assert(stack);
	ck_assert_ptr_nonnull(maps_find(&m, (uintptr_t)&here));
	ck_assert_ptr_nonnull(maps_find(&m, (uintptr_t)&maps_read_self));
	maps_release(&m);
}
END_TEST

/* ---- fake target ------------------------------------------------------- */

START_TEST(fake_reads_span_adjacent_regions)
{
	struct target *t = target_fake_new();
	unsigned char a[64], b[64], c[32], buf[128];
	char path[16] = "/lib/x.so";
	uint64_t v;
	uint32_t w;
	size_t i;

	for (i = 0; i < sizeof(a); i++) {
		a[i] = (unsigned char)i;
		b[i] = (unsigned char)(64 + i);
	}
	memset(c, 0xcc, sizeof(c));
	/* Out of order on purpose: the backend sorts. */
	target_fake_add(t, 0x2000, c, sizeof(c), MAP_R, path);
	target_fake_add(t, 0x1040, b, sizeof(b), MAP_R, NULL);
	target_fake_add(t, 0x1000, a, sizeof(a), MAP_R | MAP_W, "[heap]");
	path[0] = 'X'; /* copied, not kept */

	ck_assert_int_eq(t->pid, 0);
	ck_assert_str_eq(t->root, "");
	ck_assert_uint_eq(t->maps.n, 3);
	ck_assert_uint_eq(t->maps.v[0].start, 0x1000);
	ck_assert_uint_eq(t->maps.v[0].end, 0x1040);
	ck_assert_str_eq(t->maps.v[0].path, "[heap]");
	ck_assert_ptr_null(t->maps.v[1].path);
	ck_assert_str_eq(t->maps.v[2].path, "/lib/x.so");
	ck_assert_uint_eq(t->maps.v[2].perms, MAP_R);

	ck_assert_int_eq(target_read(t, 0x1008, buf, 8), 0);
	ck_assert_int_eq(memcmp(buf, a + 8, 8), 0);
	ck_assert_int_eq(target_read(t, 0x1000, buf, 128), 0);
	for (i = 0; i < 128; i++)
		ck_assert_uint_eq(buf[i], i);
	ck_assert_int_eq(target_read_u64(t, 0x103c, &v), 0);
	ck_assert_uint_eq(v, 0x434241403f3e3d3cull);
	ck_assert_int_eq(target_read_u32(t, 0x1040, &w), 0);
	ck_assert_uint_eq(w, 0x43424140);

	/* Gap between 0x1080 and 0x2000, before the first, after the last. */
	ck_assert_int_eq(target_read(t, 0x1078, buf, 16), -PH_E_READ);
	ck_assert_int_eq(target_read(t, 0xff8, buf, 16), -PH_E_READ);
	ck_assert_int_eq(target_read(t, 0x201f, buf, 2), -PH_E_READ);
	ck_assert_int_eq(target_read(t, 0x1080, buf, 1), -PH_E_READ);
	ck_assert_int_eq(target_read(t, UINT64_MAX - 3, buf, 8), -PH_E_READ);
	ck_assert_int_eq(target_read(t, 0x201f, buf, 1), 0);

	ck_assert_uint_eq(target_read_u64_or(t, 0x2000, 7),
			  0xccccccccccccccccull);
	ck_assert_uint_eq(t->stats.misses, 0);
	ck_assert_uint_eq(target_read_u64_or(t, 0x3000, 7), 7);
	ck_assert_uint_eq(t->stats.misses, 1);
	ck_assert_uint_eq(t->stats.reads, 12);
	ck_assert_uint_eq(t->stats.bytes, 8 + 128 + 8 + 4 + 1 + 8);

	ck_assert_int_eq(target_stop(t, 100), 0);
	ck_assert(!target_is_stopped(t));
	ck_assert_int_eq(target_refresh_maps(t), 0);
	ck_assert_int_eq(target_resume(t), 0);
	target_close(t);
}
END_TEST

START_TEST(fake_unreadable_region_and_zero_fill)
{
	struct target *t = target_fake_new();
	unsigned char buf[8];

	target_fake_add(t, 0x1000, NULL, 16, MAP_R, NULL);
	target_fake_add(t, 0x1010, NULL, 16, 0, "guard");
	ck_assert_int_eq(target_read(t, 0x1008, buf, 8), 0);
	ck_assert_uint_eq(buf[0] | buf[7], 0);
	ck_assert_int_eq(target_read(t, 0x1010, buf, 1), -PH_E_READ);
	ck_assert_int_eq(target_read(t, 0x100c, buf, 8), -PH_E_READ);
	ck_assert(!target_mapped(t, 0x1010, 1));
	ck_assert(!target_mapped(t, 0x100c, 8));
	target_close(t);
}
END_TEST

/* Reachable from here, so LeakSanitizer does not object when ph_die()
 * exits. */
static struct target *dying;

START_TEST(fake_overlap_after_dies)
{
	dying = target_fake_new();
	target_fake_add(dying, 0x1000, NULL, 16, MAP_R, NULL);
	target_fake_add(dying, 0xff0, NULL, 16, MAP_R, NULL); /* adjacent */
	target_fake_add(dying, 0x100f, NULL, 16, MAP_R, NULL);
}
END_TEST

START_TEST(fake_overlap_before_dies)
{
	dying = target_fake_new();
	target_fake_add(dying, 0x1000, NULL, 16, MAP_R, NULL);
	target_fake_add(dying, 0xff8, NULL, 16, MAP_R, NULL);
}
END_TEST

START_TEST(fake_cstr_at_region_end)
{
	struct target *t = target_fake_new();
	char buf[256], page_end[16], big[32];

	/* A string whose NUL is the last byte before unmapped memory, on a
	 * page boundary: a read of `max` bytes in one go would fail. */
	memcpy(page_end, "xxxxxxxxhello!!", 16);
	target_fake_add(t, 0x7ff0, page_end, 16, MAP_R, NULL);
	ck_assert_int_eq(target_read_cstr(t, 0x7ff8, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "hello!!");
	ck_assert_int_eq(target_read_cstr(t, 0x7fff, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");

	/* The same, not on a page boundary. */
	target_fake_add(t, 0x9000, "abc", 4, MAP_R, NULL);
	ck_assert_int_eq(target_read_cstr(t, 0x9000, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "abc");

	/* No NUL before the end of the region. */
	target_fake_add(t, 0xa000, "defg", 4, MAP_R, NULL);
	ck_assert_int_eq(target_read_cstr(t, 0xa000, buf, sizeof(buf)),
			 -PH_E_READ);
	ck_assert_str_eq(buf, "");

	/* Spanning a page boundary within one region. */
	memcpy(big, "0123456789abcdefghijklmnopqrstu", 32);
	target_fake_add(t, 0xbff0, big, sizeof(big), MAP_R, NULL);
	ck_assert_int_eq(target_read_cstr(t, 0xbff0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, big);

	/* Limits: max bytes hold max-1 characters and the NUL. */
	ck_assert_int_eq(target_read_cstr(t, 0xbff0, buf, 32), 0);
	ck_assert_int_eq(target_read_cstr(t, 0xbff0, buf, 31), -PH_E_LIMIT);
	ck_assert_str_eq(buf, "0123456789abcdefghijklmnopqrst");
	ck_assert_int_eq(target_read_cstr(t, 0xbff0, buf, 1), -PH_E_LIMIT);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(target_read_cstr(t, 0x9003, buf, 1), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(target_read_cstr(t, 0xbff0, buf, 0), -PH_E_LIMIT);
	target_close(t);
}
END_TEST

START_TEST(fake_mapped_ranges)
{
	struct target *t = target_fake_new();

	target_fake_add(t, 0x1000, NULL, 0x1000, MAP_R, NULL);
	target_fake_add(t, 0x2000, NULL, 0x1000, MAP_R | MAP_W, NULL);
	target_fake_add(t, 0x3000, NULL, 0x1000, MAP_R | MAP_X, NULL);
	target_fake_add(t, 0x5000, NULL, 0x1000, MAP_R, NULL);
	ck_assert(target_mapped(t, 0x1000, 0x1000));
	ck_assert(target_mapped(t, 0x1ff8, 16));
	ck_assert(target_mapped(t, 0x1000, 0x3000));
	ck_assert(!target_mapped(t, 0x1000, 0x3001));
	ck_assert(!target_mapped(t, 0x3ff8, 16));
	ck_assert(!target_mapped(t, 0x4ff8, 16));
	ck_assert(!target_mapped(t, 0xfff, 2));
	ck_assert(target_mapped(t, 0x5fff, 1));
	ck_assert(target_mapped(t, 0x5fff, 0));
	ck_assert(!target_mapped(t, 0x6000, 0));
	ck_assert(!target_mapped(t, UINT64_MAX - 4, 16));
	target_close(t);
}
END_TEST

/* ---- live targets ------------------------------------------------------ */

/* Set before fork and cleared after in the parent, so reading MAGIC at
 * &magic proves the bytes came from the child. */
static volatile uint64_t magic;

struct child_info {
	uint64_t pages; /* two pages, different protections: two VMAs */
	uint64_t edge;  /* "...hello\0" ends a page followed by PROT_NONE */
	uint64_t noterm; /* a page of 'y' followed by PROT_NONE */
};

struct child {
	pid_t pid;
	int lifeline; /* the child exits when this is closed */
	struct child_info info;
};

/* Signal-loss probe, shared with the child (MAP_SHARED). */
struct sigprobe {
	volatile long sent, handled, lost;
};
static struct sigprobe *probe;

static void *spin_thread(void *arg)
{
	volatile uint64_t n = 0;
	struct timespec ts = { 0, 500000 };
	int i;

	(void)arg;
	for (;;) {
		for (i = 0; i < 20000; i++)
			n++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	probe->handled++;
}

/* Sends itself SIGUSR1 without pause: a stop often finds it in a
 * signal-delivery-stop, whose signal must survive the detach. */
static void *signal_thread(void *arg)
{
	(void)arg;
	for (;;) {
		long before = probe->handled;

		probe->sent++;
		pthread_kill(pthread_self(), SIGUSR1);
		/* The handler runs before pthread_kill() returns. */
		if (probe->handled != before + 1)
			probe->lost++;
	}
	return NULL;
}

/* Maps, splits and unmaps memory without pause, so its maps change while
 * they are being read. */
static void *churn_thread(void *arg)
{
	(void)arg;
	for (;;) {
		char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			continue;
		mprotect(p + PAGE, PAGE, PROT_READ);
		munmap(p, 3 * PAGE);
	}
	return NULL;
}

/* Set in the child once its first thread is about to vfork(). */
static volatile int in_vfork;

/* A vfork() parent waits in state D, where PTRACE_INTERRUPT cannot reach
 * it, until the child exits 3 s later. */
static void *vfork_thread(void *arg)
{
	struct timespec ts = { 3, 0 };

	in_vfork = 1;
	if (vfork() == 0) {
		nanosleep(&ts, NULL);
		_exit(0);
	}
	return spin_thread(arg);
}

static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(100);
	return p;
}

/* What the first of the child's three extra threads does. */
enum child_kind { SPIN, SIGNALS, CHURN, STUCK };

static _Noreturn void child_main(int info_fd, int lifeline,
				 enum child_kind kind)
{
	void *(*first)(void *) = kind == SIGNALS ? signal_thread :
				 kind == CHURN ? churn_thread :
				 kind == STUCK ? vfork_thread : spin_thread;
	struct child_info info;
	unsigned char *p;
	pthread_t th;
	size_t i;
	char c;

	for (i = 0; i < 3; i++)
		if (pthread_create(&th, NULL, i ? spin_thread : first, NULL))
			_exit(101);

	p = map_pages(2);
	for (i = 0; i < 2 * PAGE; i++)
		p[i] = (unsigned char)(i * 7);
	if (mprotect(p + PAGE, PAGE, PROT_READ))
		_exit(102);
	info.pages = (uintptr_t)p;

	p = map_pages(2);
	memset(p, 'x', PAGE);
	memcpy(p + PAGE - 6, "hello", 6);
	if (mprotect(p + PAGE, PAGE, PROT_NONE))
		_exit(102);
	info.edge = (uintptr_t)p;

	p = map_pages(2);
	memset(p, 'y', PAGE);
	if (mprotect(p + PAGE, PAGE, PROT_NONE))
		_exit(102);
	info.noterm = (uintptr_t)p;

	if (kind == STUCK) {
		while (!in_vfork)
			usleep(1000);
		usleep(100000);
	}
	if (write(info_fd, &info, sizeof(info)) != sizeof(info))
		_exit(103);
	close(info_fd);
	while (read(lifeline, &c, 1) != 0)
		if (errno != EINTR)
			break;
	_exit(0);
}

static void spawn(struct child *c, enum child_kind kind)
{
	int info[2], life[2];
	ssize_t n;

	ck_assert_int_eq(pipe2(info, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(life, O_CLOEXEC), 0);
	if (kind == SIGNALS) {
		struct sigaction sa;

		probe = mmap(NULL, sizeof(*probe), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ck_assert(probe != MAP_FAILED);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	magic = MAGIC;
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		close(info[0]);
		close(life[1]);
		child_main(info[1], life[0], kind);
	}
	magic = 0;
	close(info[1]);
	close(life[0]);
	n = read(info[0], &c->info, sizeof(c->info));
	ck_assert_int_eq(n, sizeof(c->info));
	close(info[0]);
	c->lifeline = life[1];
}

static void reap(struct child *c)
{
	close(c->lifeline);
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

/* Thread ids of pid; returns how many (at most max). */
static size_t list_tids(pid_t pid, pid_t *tids, size_t max)
{
	char path[64];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && n < max)
			tids[n++] = atoi(de->d_name);
	closedir(d);
	return n;
}

static size_t count_in_state(pid_t pid, const char *states)
{
	pid_t tids[64];
	size_t n = list_tids(pid, tids, 64), i, k = 0;

	for (i = 0; i < n; i++) {
		char c = thread_state(pid, tids[i]);

		if (c && strchr(states, c))
			k++;
	}
	return k;
}

/* Threads in a tracing stop ('t') or job-control stop ('T'). */
static size_t count_traced(pid_t pid)
{
	return count_in_state(pid, "tT");
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

static void check_reads(struct target *t, const struct child *c)
{
	const struct child_info *in = &c->info;
	const struct map *m1, *m2;
	unsigned char buf[32];
	char s[256];
	uint64_t v = 0;
	size_t i;
	int rc;

	rc = target_read_u64(t, (uintptr_t)&magic, &v);
	ck_assert_msg(rc == 0, "read: %s", ph_errmsg());
	ck_assert_uint_eq(v, MAGIC);
	ck_assert_uint_eq(magic, 0);

	/* Two VMAs, and a read across them. */
	m1 = maps_find(&t->maps, in->pages);
	m2 = maps_find(&t->maps, in->pages + PAGE);
	ck_assert_ptr_nonnull(m1);
	ck_assert_ptr_nonnull(m2);
	ck_assert_uint_eq(m1->end, in->pages + PAGE);
	ck_assert_uint_eq(m2->start, in->pages + PAGE);
	ck_assert_uint_ne(m1->perms, m2->perms);
	rc = target_read(t, in->pages + PAGE - 16, buf, sizeof(buf));
	ck_assert_msg(rc == 0, "read across maps: %s", ph_errmsg());
	for (i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i],
				  (unsigned char)((PAGE - 16 + i) * 7));
	ck_assert(target_mapped(t, in->pages + PAGE - 16, sizeof(buf)));

	/* Unmapped and unreadable. */
	ck_assert_ptr_null(maps_find(&t->maps, 8));
	ck_assert_int_eq(target_read(t, 8, buf, 8), -PH_E_READ);
	ck_assert_int_eq(target_read(t, in->edge + PAGE - 8, buf, 16),
			 -PH_E_READ);
	ck_assert_int_eq(target_read(t, in->edge + PAGE, buf, 1), -PH_E_READ);
	ck_assert(!target_mapped(t, in->edge + PAGE - 8, 16));
	ck_assert_int_eq(target_read(t, in->edge + PAGE - 8, buf, 8), 0);
	ck_assert_uint_eq(target_read_u64_or(t, 0, 42), 42);
	ck_assert_uint_ge(t->stats.misses, 1);

	/* Strings up to the last byte before an unreadable page. */
	rc = target_read_cstr(t, in->edge + PAGE - 6, s, sizeof(s));
	ck_assert_msg(rc == 0, "cstr: %s", ph_errmsg());
	ck_assert_str_eq(s, "hello");
	ck_assert_int_eq(target_read_cstr(t, in->noterm + PAGE - 100, s,
					  sizeof(s)), -PH_E_READ);
	ck_assert_int_eq(target_read_cstr(t, in->noterm, s, 8), -PH_E_LIMIT);
	ck_assert_str_eq(s, "yyyyyyy");
	ck_assert_uint_gt(t->stats.bytes, 0);
}

START_TEST(live_open_and_read)
{
	struct child c;
	struct target *t;
	char root[64];
	size_t i;
	bool stack = false;

	spawn(&c, SPIN);
	t = open_child(&c);
	ck_assert_int_eq(t->pid, c.pid);
	for (i = 0; i < t->maps.n; i++)
		if (t->maps.v[i].path && !strcmp(t->maps.v[i].path, "[stack]"))
			stack = true;
	ck_assert(stack);
	snprintf(root, sizeof(root), "/proc/%d/root", c.pid);
	ck_assert_str_eq(t->root, root);
	ck_assert_ptr_nonnull(t->exe);
	ck_assert_ptr_nonnull(strstr(t->exe, "unit_target"));
	ck_assert_ptr_nonnull(t->cmdline);
	ck_assert_ptr_nonnull(strstr(t->cmdline, "unit_target"));
	ck_assert_uint_eq(t->nthreads, 0);
	ck_assert(!target_is_stopped(t));
	check_reads(t, &c);
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

/* Docker's default seccomp profile refuses process_vm_readv() with EPERM;
 * reads must go through /proc/PID/mem and behave the same. */
START_TEST(live_reads_without_process_vm_readv)
{
	struct child c;
	struct target *t;
	struct iovec l, r;
	uint64_t v;

	spawn(&c, SPIN);
	ck_assert_int_eq(deny_process_vm_readv(), 0);
	l.iov_base = &v;
	l.iov_len = sizeof(v);
	r.iov_base = (void *)&magic;
	r.iov_len = sizeof(v);
	ck_assert_int_eq(process_vm_readv(c.pid, &l, 1, &r, 1, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	t = open_child(&c);
	check_reads(t, &c);
	target_close(t);
	reap(&c);
}
END_TEST

/* A process changing its maps while they are read still yields ordered
 * maps; stopped, they are exact. */
START_TEST(live_maps_of_busy_process)
{
	struct child c;
	struct target *t;
	int i;
	size_t j;

	spawn(&c, CHURN);
	for (i = 0; i < 300; i++) {
		struct maps m = MAPS_INIT;
		int rc = maps_read(c.pid, &m);

		ck_assert_msg(rc == 0, "maps_read: %s", ph_errmsg());
		for (j = 1; j < m.n; j++)
			ck_assert_uint_ge(m.v[j].start, m.v[j - 1].end);
		maps_release(&m);
	}
	t = open_child(&c);
	ck_assert_int_eq(target_stop(t, 0), 0);
	check_reads(t, &c);
	ck_assert_int_eq(target_resume(t), 0);
	target_close(t);
	reap(&c);
}
END_TEST

START_TEST(live_open_missing_process)
{
	struct target *t = (struct target *)1;
	char want[64];
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(target_live_open(pid, &t), -PH_E_NOPROC);
	ck_assert_ptr_null(t);
	snprintf(want, sizeof(want), "no such process: %d", pid);
	ck_assert_str_eq(ph_errmsg(), want);
	ck_assert_int_eq(target_live_open(-1, &t), -PH_E_NOPROC);
	ck_assert_int_eq(maps_read(pid, &(struct maps)MAPS_INIT),
			 -PH_E_NOPROC);
}
END_TEST

static bool same_action(int sig, const struct sigaction *before)
{
	struct sigaction now;

	sigaction(sig, NULL, &now);
	return now.sa_handler == before->sa_handler;
}

START_TEST(live_stop_and_resume)
{
	struct sigaction before_int, before_alrm;
	sigset_t mask_before, mask_after;
	struct child c;
	struct target *t;
	pid_t tids[64];
	size_t n, i, j, cycle;
	uint64_t pause;

	sigaction(SIGINT, NULL, &before_int);
	sigaction(SIGALRM, NULL, &before_alrm);
	sigprocmask(SIG_SETMASK, NULL, &mask_before);
	spawn(&c, SPIN);
	t = open_child(&c);
	for (cycle = 0; cycle < 3; cycle++) {
		int rc = target_stop(t, cycle == 1 ? 5000 : 0);

		ck_assert_msg(rc == 0, "target_stop: %s", ph_errmsg());
		ck_assert(target_is_stopped(t));
		ck_assert_uint_ne(t->stop_started_ns, 0);
		ck_assert_int_eq(target_stop(t, 0), 0); /* no-op */
		ck_assert_uint_eq(t->nthreads, 4);
		n = list_tids(c.pid, tids, 64);
		ck_assert_uint_eq(n, 4);
		for (i = 0; i < t->nthreads; i++) {
			const struct target_thread *th = &t->threads[i];

			ck_assert(th->stopped);
			ck_assert_int_eq(thread_state(c.pid, th->tid), 't');
			ck_assert_uint_ne(th->fs_base, 0);
			for (j = 0; j < i; j++) {
				ck_assert_int_ne(t->threads[j].tid, th->tid);
				ck_assert_uint_ne(t->threads[j].fs_base,
						  th->fs_base);
			}
		}
		/* Handlers are in place while stopped. */
		ck_assert(!same_action(SIGINT, &before_int));
		check_reads(t, &c);

		pause = t->pause_ns;
		ck_assert_int_eq(target_resume(t), 0);
		ck_assert(!target_is_stopped(t));
		ck_assert_uint_gt(t->pause_ns, pause);
		ck_assert_uint_eq(t->stop_started_ns, 0);
		ck_assert(runs_again(c.pid, 1000));
		ck_assert_int_eq(target_resume(t), 0); /* idempotent */
		ck_assert_uint_eq(t->nthreads, 4);
		ck_assert(!t->threads[0].stopped);

		ck_assert(same_action(SIGINT, &before_int));
		ck_assert(same_action(SIGALRM, &before_alrm));
		sigprocmask(SIG_SETMASK, NULL, &mask_after);
		ck_assert(!sigismember(&mask_after, SIGTSTP) ||
			  sigismember(&mask_before, SIGTSTP));
	}
	/* The watchdog of cycle 1 was disarmed: no SIGALRM kills us now. */
	usleep(100000);
	target_close(t);
	reap(&c);
}
END_TEST

/* Also: an ignored signal stays ignored (nohup pyheap ...). */
START_TEST(live_close_resumes)
{
	struct sigaction ign, now, term;
	struct child c;
	struct target *t;

	sigaction(SIGTERM, NULL, &term);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &ign, NULL);
	spawn(&c, SPIN);
	t = open_child(&c);
	ck_assert_int_eq(target_stop(t, 0), 0);
	ck_assert_uint_eq(count_traced(c.pid), 4);
	sigaction(SIGHUP, NULL, &now);
	ck_assert(now.sa_handler == SIG_IGN);
	ck_assert(!same_action(SIGTERM, &term));
	target_close(t);
	ck_assert(runs_again(c.pid, 1000));
	sigaction(SIGHUP, NULL, &now);
	ck_assert(now.sa_handler == SIG_IGN);
	ck_assert(same_action(SIGTERM, &term));
	reap(&c);
}
END_TEST

/* Signals that arrive while we stop the target reach it afterwards. */
START_TEST(live_stop_keeps_signals)
{
	struct child c;
	struct target *t;
	unsigned cycle, intercepted = 0;
	long sent;

	spawn(&c, SIGNALS);
	t = open_child(&c);
	for (cycle = 0; cycle < 200; cycle++) {
		size_t i;
		int rc = target_stop(t, 0);

		ck_assert_msg(rc == 0, "target_stop: %s", ph_errmsg());
		for (i = 0; i < t->nthreads; i++)
			if (t->threads[i].pending_sig == SIGUSR1)
				intercepted++;
		ck_assert_int_eq(target_resume(t), 0);
	}
	sent = probe->sent;
	usleep(20000);
	ck_assert_int_gt(probe->sent, sent); /* still running */
	ck_assert_int_eq(probe->lost, 0);
	fprintf(stderr, "live_stop_keeps_signals: %u of 200 stops found "
		"a signal-delivery-stop\n", intercepted);
	target_close(t);
	reap(&c);
}
END_TEST

/* A thread that cannot be stopped makes target_stop() give up after 2 s
 * and let the others go; when the thread does stop later, with nobody
 * calling into pyheap, it is detached at once. */
START_TEST(live_stuck_thread_times_out_then_is_released)
{
	struct child c;
	struct target *t;
	uint64_t t0, ms;
	unsigned i;
	int rc;

	spawn(&c, STUCK);
	ck_assert_uint_eq(count_in_state(c.pid, "D"), 1);
	t = open_child(&c);
	t0 = ph_now_ns();
	rc = target_stop(t, 0);
	ms = (ph_now_ns() - t0) / 1000000;
	ck_assert_int_eq(rc, -PH_E_TIMEOUT);
	ck_assert_msg(strstr(ph_errmsg(), "(state D)"), "%s", ph_errmsg());
	ck_assert_uint_ge(ms, 1900);
	ck_assert_uint_lt(ms, 2800);
	ck_assert(!target_is_stopped(t));
	ck_assert(runs_again(c.pid, 1000));
	ck_assert_uint_eq(count_in_state(c.pid, "D"), 1);
	for (i = 0; i < 4000 && count_in_state(c.pid, "DtT"); i++)
		usleep(1000);
	ck_assert_uint_eq(count_in_state(c.pid, "DtT"), 0);
	target_close(t);
	reap(&c);
}
END_TEST

/* A second target_stop() while the stuck thread is still seized from the
 * first takes it over instead of failing to seize it again. */
START_TEST(live_stop_again_after_timeout)
{
	struct child c;
	struct target *t;
	int rc;

	spawn(&c, STUCK);
	t = open_child(&c);
	ck_assert_int_eq(target_stop(t, 0), -PH_E_TIMEOUT);
	rc = target_stop(t, 0);
	ck_assert_msg(rc == 0, "target_stop: %s", ph_errmsg());
	ck_assert_uint_eq(t->nthreads, 4);
	ck_assert_uint_eq(count_traced(c.pid), 4);
	ck_assert_int_eq(target_resume(t), 0);
	ck_assert(runs_again(c.pid, 1000));
	target_close(t);
	reap(&c);
}
END_TEST

enum helper_end { END_SLEEP, END_DIE };

/* Fork a tracer that stops c and then sleeps (or dies); returns its pid
 * once the target is stopped. */
static pid_t spawn_tracer(const struct child *c, unsigned max_pause_ms,
			  enum helper_end end)
{
	static struct target *t; /* reachable: not a leak when we die */
	int ready[2];
	char ok = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		if (target_live_open(c->pid, &t) ||
		    target_stop(t, max_pause_ms))
			_exit(10);
		if (write(ready[1], "s", 1) != 1)
			_exit(11);
		if (end == END_DIE)
			ph_die("test: dying with the target stopped");
		sleep(5);
		_exit(12);
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &ok, 1), 1);
	close(ready[0]);
	return pid;
}

START_TEST(live_watchdog_resumes_and_exits)
{
	struct child c;
	pid_t h;
	int st;
	uint64_t t0;

	spawn(&c, SPIN);
	h = spawn_tracer(&c, 200, END_SLEEP);
	t0 = ph_now_ns();
	ck_assert_int_eq(waitpid(h, &st, 0), h);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == PH_EXIT_ERROR,
		      "tracer status %#x", st);
	ck_assert_uint_lt(ph_now_ns() - t0, 2000000000u);
	ck_assert(runs_again(c.pid, 1000));
	reap(&c);
}
END_TEST

START_TEST(live_sigkilled_tracer_leaves_target_running)
{
	struct child c;
	struct target *t;
	pid_t h;
	int st;

	spawn(&c, SPIN);
	h = spawn_tracer(&c, 0, END_SLEEP);
	ck_assert_uint_eq(count_traced(c.pid), 4);

	/* Meanwhile nobody else can stop it, and says why. */
	t = open_child(&c);
	ck_assert_int_eq(target_stop(t, 0), -PH_E_ATTACH);
	ck_assert_ptr_nonnull(strstr(ph_errmsg(), "already traced"));
	ck_assert(!target_is_stopped(t));
	target_close(t);
	ck_assert_uint_eq(count_traced(c.pid), 4);

	kill(h, SIGKILL);
	ck_assert_int_eq(waitpid(h, &st, 0), h);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert(runs_again(c.pid, 1000));
	reap(&c);
}
END_TEST

START_TEST(live_sigterm_tracer_resumes_target)
{
	struct child c;
	pid_t h;
	int st;

	spawn(&c, SPIN);
	h = spawn_tracer(&c, 0, END_SLEEP);
	ck_assert_uint_eq(count_traced(c.pid), 4);
	kill(h, SIGTERM);
	ck_assert_int_eq(waitpid(h, &st, 0), h);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM,
		      "tracer status %#x", st);
	ck_assert(runs_again(c.pid, 1000));
	reap(&c);
}
END_TEST

START_TEST(live_ph_die_resumes_target)
{
	struct child c;
	pid_t h;
	int st;

	spawn(&c, SPIN);
	h = spawn_tracer(&c, 0, END_DIE);
	ck_assert_int_eq(waitpid(h, &st, 0), h);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == PH_EXIT_ERROR,
		      "tracer status %#x", st);
	ck_assert(runs_again(c.pid, 1000));
	reap(&c);
}
END_TEST

START_TEST(live_stop_self_refused)
{
	struct target *t = NULL;

	ck_assert_int_eq(target_live_open(getpid(), &t), 0);
	ck_assert_int_eq(target_stop(t, 0), -PH_E_ATTACH);
	target_close(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("target");
	TCase *tc = tcase_create("maps");

	tcase_add_test(tc, maps_parse_realistic);
	tcase_add_test(tc, maps_parse_rejects_malformed);
	tcase_add_test(tc, maps_parse_repair_keeps_later_lines);
	tcase_add_test(tc, maps_find_edges);
	tcase_add_test(tc, maps_read_self);
	suite_add_tcase(s, tc);

	tc = tcase_create("fake");
	tcase_add_test(tc, fake_reads_span_adjacent_regions);
	tcase_add_test(tc, fake_unreadable_region_and_zero_fill);
	tcase_add_exit_test(tc, fake_overlap_after_dies, PH_EXIT_ERROR);
	tcase_add_exit_test(tc, fake_overlap_before_dies, PH_EXIT_ERROR);
	tcase_add_test(tc, fake_cstr_at_region_end);
	tcase_add_test(tc, fake_mapped_ranges);
	suite_add_tcase(s, tc);

	tc = tcase_create("live");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, live_open_and_read);
	tcase_add_test(tc, live_reads_without_process_vm_readv);
	tcase_add_test(tc, live_maps_of_busy_process);
	tcase_add_test(tc, live_open_missing_process);
	tcase_add_test(tc, live_stop_and_resume);
	tcase_add_test(tc, live_close_resumes);
	tcase_add_test(tc, live_stop_keeps_signals);
	tcase_add_test(tc, live_watchdog_resumes_and_exits);
	tcase_add_test(tc, live_sigkilled_tracer_leaves_target_running);
	tcase_add_test(tc, live_sigterm_tracer_resumes_target);
	tcase_add_test(tc, live_ph_die_resumes_target);
	tcase_add_test(tc, live_stop_self_refused);
	tcase_add_test(tc, live_stuck_thread_times_out_then_is_released);
	tcase_add_test(tc, live_stop_again_after_timeout);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
