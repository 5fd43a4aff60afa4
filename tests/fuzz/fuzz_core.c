/*
 * libFuzzer target for the core backend (target/core.c, core_mem.c): the
 * input is a core file.  Opening it must end in a target or an error,
 * and every read of every mapping must end (in bytes or an error), never
 * a crash, a hang or an unbounded allocation.  Files the core names are
 * looked for under a sysroot that does not exist, so the run does not
 * depend on the machine's files.
 *
 * Build with clang (tests/CMakeLists.txt, target fuzz_core), run:
 *   build-clang/tests/fuzz_core -max_total_time=60 -close_fd_mask=2 \
 *       CORPUS tests/fuzz/corpus/core
 * Seeds: tests/fuzz/mkcore.py.  The same entry point is linked by gcc
 * into fuzz_replay_core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "target/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct core_opts o = { "/nonexistent-pyheap-fuzz-sysroot", NULL };
	struct target *t;
	size_t i;

	if (fd < 0) {
		fd = memfd_create("pyheap-fuzz-core", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (target_core_open(path, &o, &t))
		return 0;
	for (i = 0; i < t->maps.n && i < 64; i++) {
		const struct map *m = &t->maps.v[i];
		unsigned char buf[64];
		char s[32];

		target_read(t, m->start, buf, sizeof(buf));
		if (m->end - m->start >= sizeof(buf))
			target_read(t, m->end - sizeof(buf), buf, sizeof(buf));
		/* Across the end of the mapping, into the next. */
		target_read(t, m->end - 8, buf, 16);
		target_read_cstr(t, m->start, s, sizeof(s));
	}
	for (i = 0; i < t->nthreads && i < 64; i++) {
		uint64_t v;

		target_read_u64(t, t->threads[i].sp, &v);
	}
	target_close(t);
	return 0;
}
