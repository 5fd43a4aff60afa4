/*
 * The mimalloc heaps of a free-threaded CPython 3.13t, built in local
 * buffers for a fake target, so that mimalloc_walk_at() (heap/mimalloc.c)
 * runs without a process: fuzz_mimalloc.c starts from it and lets its
 * input overwrite its bytes; unit_mimalloc checks what the walk makes of
 * it untouched and of hand-made damage.
 *
 * Everything is written at the offsets of a built-in free-threaded table
 * (python/tables.c): "3.13.15t" (mimalloc 2.1.2) by fakemi_build(),
 * "3.14.10t" (mimalloc 2.5.2: block_size, page_start and heap_tag in the
 * page, abandoned segments known by their sub-process) with
 * fakemi_build_minor(f, 14):
 *
 *   TS      a thread state: heaps[0..3] tagged 0..3, with its pthread id,
 *           heap 2's thread_delayed_free list holding block 0 of page A
 *   INTERP  an interpreter whose abandoned pool heads (tagged) segment 2
 *           (2.5: whose sub-process FM_SUBPROC both segments name; segment
 *           1 is owned by the thread, segment 2 by none)
 *   SEG1    a segment (32 MiB aligned): its slices hold
 *             A  tag 2 (GC), 64-byte blocks, 10 carved, 7 used: free 2, 5;
 *                local_free 7; xthread_free 9 (delayed-free bit set);
 *                delayed 0 -> in use 1, 3, 4, 6, 8
 *             B  tag 3 (GC_PRE), 80-byte blocks, 4 carved, full (bin 74)
 *             C  tag 1 (object), 1024-byte blocks, 3 carved, full
 *             D  tag 0 (PyMem), 16-byte blocks, 5 carved, 2 used: free
 *                0, 1, 2
 *   SEG2    an abandoned segment: one page, tag 2, 32-byte blocks, 4
 *           carved, 2 used (free 1, 3)
 *   BLOCKS  the pages' memory: each page's first 64 KiB slice
 *
 * fakemi_target() makes the fake target; fakemi_patch() overwrites its
 * bytes with an input: records of [region u8][offset u16 LE][len u8]
 * [bytes], each clipped to its region.
 */
#ifndef PYHEAP_TEST_FAKEMI_H
#define PYHEAP_TEST_FAKEMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap/heap.h"
#include "python/python.h"
#include "target/target.h"

#define FM_THREAD_ID 0x7f0000001000ull
#define FM_TS 0x10000000ull
#define FM_INTERP 0x20000000ull
#define FM_SEG1 0x40000000ull
#define FM_SEG2 0x42000000ull
#define FM_SLICE 0x10000ull
#define FM_SUBPROC 0x7f0000200000ull

enum fakemi_region {
	FM_R_TS, FM_R_INTERP, FM_R_SEG1, FM_R_SEG2,
	FM_R_A, FM_R_B, FM_R_C, FM_R_D, FM_R_E,
	FM_NREGIONS
};

struct fakemi {
	struct py_layout L;
	uint64_t addr[FM_NREGIONS];
	uint8_t *buf[FM_NREGIONS];
	size_t len[FM_NREGIONS];
};

/* Build the skeleton; -1 without the built-in 3.13t table. */
int fakemi_build(struct fakemi *f);
/* The same for free-threaded 3.minor (13 or 14); -1 without its table. */
int fakemi_build_minor(struct fakemi *f, int minor);
void fakemi_release(struct fakemi *f);
struct target *fakemi_target(const struct fakemi *f);
/* The walk's starting points for the skeleton. */
void fakemi_threads(struct mi_threads *th);
/* Apply (or, with undo, restore from f's buffers) an input's records. */
void fakemi_patch(const struct fakemi *f, struct target *t,
		  const uint8_t *data, size_t size, bool undo);
/* The first block of page A..E (region FM_R_A..FM_R_E) and its size. */
uint64_t fakemi_block(int page, unsigned i);
/* 0 if h is what the untouched skeleton must give, else -1 and *why. */
int fakemi_check(const struct mimalloc_heap *h, const char **why);

#endif
