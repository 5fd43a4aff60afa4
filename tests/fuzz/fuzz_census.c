/*
 * libFuzzer target for everything that reads target memory after a
 * capture: pyproc_open() (version, layout, _PyRuntime), census_build()
 * (the pymalloc walk or pool scan, thread stacks and line tables, GC
 * lists, roots, every object kind's size and referents, dict layouts,
 * the glibc malloc walk and chunk ownership, the native-leak scan and its
 * signatures) and the snapshot made of it.  The scan's one thread takes
 * its registers (and so its stack and thread pointers) from the input's
 * first bytes after the variant byte.
 *
 * Each input starts from the fake CPython process of fakepy.h and
 * patches its memory (fakepy_patch() says how); the first byte chooses
 * the variant (fakepy_build() flags): bit 0 no `arenas` symbol (pools
 * found by scanning), bit 1 no libc, bit 2 every allocation wrapped by
 * CPython's allocator debug hooks, bit 3 CPython 3.12 instead of 3.11,
 * bit 4 glibc 2.43's malloc layout and tcache instead of 2.36's.
 * Whatever the census makes of it must be a valid snapshot
 * (snapshot_check) that survives encoding and reading back; an input of
 * the variant byte alone must give exactly the census fakepy_check()
 * expects, so the fuzzer is known to start deep.
 *
 * Build with clang (tests/CMakeLists.txt, target fuzz_census), run:
 *   build-clang/tests/fuzz_census -max_total_time=60 -close_fd_mask=2 \
 *       CORPUS tests/fuzz/corpus/census
 * The same entry point is linked by gcc into fuzz_replay_census, which
 * ctest runs over the committed corpus and regression inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakepy.h"
#include "objects/objects.h"
#include "snapshot/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One skeleton and one target per variant, patched and restored for each
 * input. */
static struct fakepy proto[32];
static struct target *targets[32];

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_census: %s: %s\n", what, why);
	abort();
}

static void check_snapshot(struct snapshot *s)
{
	struct strbuf out = STRBUF_INIT;
	struct snapshot back;

	if (snapshot_check(s, "census"))
		fail("census made an invalid snapshot", ph_errmsg());
	if (snapshot_encode(s, &out, "census", 0))
		fail("cannot encode the census", ph_errmsg());
	if (snapshot_read_mem(out.buf, out.len, "census", &back))
		fail("cannot read the census back", ph_errmsg());
	if (back.nobjects != s->nobjects || back.nedges != s->nedges)
		fail("census read back", "differs");
	snapshot_release(&back);
	strbuf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct census_opts co = { false };
	struct target_thread th;
	struct snapshot s;
	struct pyproc p;
	struct target *t;
	unsigned variant;
	const char *why;

	if (!size)
		return 0;
	variant = data[0] & 31;
	if (!targets[variant]) {
		if (fakepy_build(&proto[variant], variant))
			fail("fakepy_build", "no built-in 3.11/3.12 layout");
		targets[variant] = fakepy_target(&proto[variant]);
	}
	t = targets[variant];
	memset(&th, 0, sizeof(th));
	th.tid = 1;
	th.has_regs = true;
	memcpy(th.regs, data + 1, PH_MIN(size - 1, sizeof(th.regs)));
	th.sp = th.regs[19];      /* user_regs_struct: rsp */
	th.fs_base = th.regs[21];
	co.leaks = true;
	co.threads = &th;
	co.nthreads = 1;
	fakepy_patch(&proto[variant], t, data + 1, size - 1);
	if (!pyproc_open(&p, t)) {
		snapshot_init(&s);
		if (!census_build(&p, &co, &s)) {
			check_snapshot(&s);
			if (size == 1 && fakepy_check(&proto[variant], &s, &why))
				fail("the untouched skeleton", why);
		} else if (size == 1) {
			fail("census of the untouched skeleton", ph_errmsg());
		}
		snapshot_release(&s);
		pyproc_release(&p);
	} else if (size == 1) {
		fail("pyproc_open of the untouched skeleton", ph_errmsg());
	}
	fakepy_unpatch(&proto[variant], t, data + 1, size - 1);
	return 0;
}
