/*
 * A small but complete CPython 3.11 (or 3.12) process, built in local
 * buffers for a fake target, so that pyproc_open() and census_build() run
 * end to end without a process: the fuzzers (fuzz_census.c) start from it
 * and let the input overwrite its bytes; the replay test runs their committed inputs
 * with gcc and ASan in ctest.
 *
 * What it holds (every field written at the offsets of the built-in 3.11
 * or 3.12 layout, python/tables.c, so it reads as the real thing):
 *
 *   LIB    "/fuzz/lib/libpython3.1x.so.1.0", rw: _PyRuntime, every static
 *          type the census knows by symbol (with tp_name strings),
 *          _Py_NoneStruct, Py_Version, and (3.11) pymalloc's `arenas`,
 *          `maxarenas` and `raw_allocated_blocks` statics
 *   HEAP   "[heap]": the interpreter state with its GC generations (and
 *          3.12's obmalloc state and GIL), one thread state, its _PyCFrame and two _PyInterpreterFrames, the
 *          arena_object array, a heap type `__main__.Foo` (in a malloc
 *          chunk, as CPython allocates it) and its split keys
 *   ARENA  one pymalloc arena of four pools (16 KiB each) holding ints,
 *          strs, bytes, tuples, lists and their item arrays, dicts and
 *          their keys, a module, a function, a code object, Foo
 *          instances with managed dicts, one freed block on a free list
 *   LIBC   "/fuzz/lib/libc.so.6", rw: glibc's main_arena, whose top chunk
 *          ends [heap] (found by the heuristic, no symbol), in 2.36's
 *          layout or (FP_GLIBC243) 2.43's, with [heap] then starting with
 *          two chunks and a 2.43 tcache holding the second; the version
 *          banner in the objfile's .rodata
 *
 * Roots: sys.modules {"__main__": module}, whose dict holds a list, an
 * int, the function and a Foo; the thread runs the function (frame
 * locals hold an int and a str).  GC lists hold every GC object.
 * fakepy_expect() gives the census the skeleton must produce untouched.
 *
 * Regions are kept as local buffers; fakepy_target() makes a fake target
 * from them and provides the objfiles; fakepy_target_close() forgets those
 * and closes it.
 */
#ifndef PYHEAP_TEST_FAKEPY_H
#define PYHEAP_TEST_FAKEPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/python.h"
#include "snapshot/snapshot.h"
#include "symbols/symbols.h"
#include "target/target.h"

enum fakepy_region {
	FP_LIB, FP_HEAP, FP_ARENA, FP_LIBC,
	FP_EXTRA, /* fakepy_share(), fakepy_frame_loop(); fuzz inputs
		   * cannot patch it */
	FP_NREGIONS
};

/* fakepy_build() flags */
#define FP_NO_ARENA_SYMS 1u /* no `arenas` symbol: pymalloc found by scan */
#define FP_NO_LIBC 2u       /* no libc mapped: malloc not walked */
#define FP_DEBUG_HOOKS 4u   /* every allocation wrapped as CPython's
			     * allocator debug hooks do (PYTHONMALLOC=debug) */
#define FP_PY312 8u         /* CPython 3.12: pymalloc's state in the
			     * interpreter, the GIL's holder in its state,
			     * immortal statics, lv_tag ints, tagged split
			     * values */
#define FP_GLIBC243 16u     /* glibc 2.43: malloc_state without fastbins,
			     * a 0x300 tcache after two chunks of [heap] */

#define FP_NPOOLS 16

struct fakepy_region_buf {
	uint64_t base;
	size_t len;
	unsigned char *buf;
	unsigned perms;
	const char *path;
};

struct fakepy {
	struct py_layout L;
	unsigned flags;
	struct fakepy_region_buf r[FP_NREGIONS];
	struct objfile lib, libc;
	/* builder state */
	uint64_t heap_brk;          /* next free byte of HEAP */
	uint64_t pool_next[FP_NPOOLS]; /* per pool: next block to carve */
	uint32_t pool_bs[FP_NPOOLS];   /* block size of each pool, 0 unused */
	uint64_t gc_gen0;           /* head of generation 0 */
	uint64_t data_list, item0;  /* globals' "data" list, its first int */
	uint64_t list_type, bytes_type, code, interp;
	/* What the census must find in the untouched skeleton: objects in
	 * pymalloc blocks and malloc chunks (static ones aside), how many of
	 * them are on the GC lists. */
	size_t expect_objects, expect_gc;
};

/* Check a census of the untouched skeleton (fakepy_build(flags)) against
 * what was built: 0, or -1 with a reason in *why. */
int fakepy_check(const struct fakepy *f, const struct snapshot *s,
		 const char **why);

/* Build the skeleton.  0, or -1 if the built-in layout is missing. */
int fakepy_build(struct fakepy *f, unsigned flags);
void fakepy_release(struct fakepy *f);

/* Hostile sharing, which no real process has: nlists lists (outside any
 * allocator), each claiming the same array of nitems pointers to one int,
 * hang from globals' "data" list instead of its items.  Call before
 * fakepy_target(). */
void fakepy_share(struct fakepy *f, size_t nlists, size_t nitems);

/* Hostile frames: nthreads thread states, each running one frame that is
 * its own caller, with slots live slots, in code whose line table is
 * table bytes long.  Uses FP_EXTRA, as fakepy_share() does: one or the
 * other.  Call before fakepy_target(). */
void fakepy_frame_loop(struct fakepy *f, size_t nthreads, size_t table,
		       size_t slots);

/* A fake target holding f's regions, with its objfiles provided; close it
 * with fakepy_target_close() before releasing f. */
struct target *fakepy_target(const struct fakepy *f);
void fakepy_target_close(struct target *t);

/*
 * Apply a fuzz input to the memory of t, a target made by
 * fakepy_target(f); fakepy_unpatch() with the same input puts f's bytes
 * back, so one target serves every input.  The input is a list of
 * records, each [op][3 bytes little-endian offset][payload]; the offset is
 * taken modulo the region's length.  op bits 0-1 choose the region (a
 * missing one means HEAP), bits 6-7 the kind:
 *   0  raw: ((op >> 2) & 15) + 1 payload bytes copied in
 *   1  pointer: payload [region][2 bytes offset]; the 8-byte address of
 *      that byte of that region is stored at offset & ~7
 *   2  number: payload one signed byte, stored sign-extended as 8 bytes
 *      at offset & ~7
 *   3  fill: payload one byte, written over (((op >> 2) & 15) + 1) * 16
 *      bytes
 * A record cut short by the end of the input ends it.
 */
void fakepy_patch(const struct fakepy *f, struct target *t,
		  const uint8_t *data, size_t size);
void fakepy_unpatch(const struct fakepy *f, struct target *t,
		    const uint8_t *data, size_t size);

#endif
