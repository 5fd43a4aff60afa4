/*
 * Test library for pyheap's native leak classifier: a plain C shared
 * library (no Python.h) that leaves malloc chunks in each of valgrind
 * memcheck's leak kinds, so valgrind (ext/leakdrive.c, valgrind_truth.py)
 * and pyheap (targets/leaks.py) can be compared on the same program.
 * x86-64 Linux with glibc only (inline assembly and raw syscalls).
 *
 *   cc -O2 -g -shared -fPIC -pthread leaklib.c -o leaklib.so
 *
 * One entry, int leaklib_setup(int n), returns 0 or a negative errno.
 * Every category has a request size of its own, and the chunk sizes
 * (glibc: max(32, (req + 8 + 15) & ~15)) differ too, so that counts can be
 * compared by size.  valgrind_truth.py reads the SZ_ lines below.
 *
 *   n  definitely lost  SZ_LEADER   3000 (chunk 3008): clique leaders,
 *                       pointer dropped; word 0 and word 1 hold the start
 *                       of two children
 *  2n  indirectly lost  SZ_CHILD    3104 (chunk 3120): the children; the
 *                       second one's word 0 points back at its leader, so
 *                       every clique holds a cycle
 *   n  possibly lost    SZ_POSSIBLE 3208 (chunk 3216): held only through
 *                       start + 16, kept in a static (.bss) array
 *   n  reachable        SZ_BSS      3312 (chunk 3328): start pointers in a
 *                       static (.bss) array
 *   1  reachable        SZ_TLS      3416 (chunk 3424): held by a static
 *                       __thread variable of this library
 *   1  reachable        SZ_STACK    3520 (chunk 3536): held only by a stack
 *                       local of a thread blocked in read()
 *   1  reachable        SZ_REG      3624 (chunk 3632): held only in r12 of a
 *                       thread blocked in read()
 *
 * Details that keep the classification exact:
 *
 * - The n-sized cases are allocated by a short-lived thread
 *   ("leaklib-alloc"), so natively they sit in an arena of their own at
 *   0x7f... addresses (see alloc_thread); the TLS chunk comes from the
 *   calling thread's arena, the stack and register chunks from their
 *   threads' arenas.  Natively each arena's malloc_state.top points at
 *   the chunk after the last one allocated, i.e. 16 bytes before the end
 *   of that chunk, inside its usable bytes (measured: reg chunk + 3616,
 *   stack chunk + 3520): a scanner that reads arena headers as roots sees
 *   an interior pointer there.  valgrind has no such headers.
 * - valgrind forms cliques in address order (mc_leakcheck.c: each still
 *   unreached block, lowest first, starts a DFS that marks what it reaches
 *   indirect).  If a child that points back at its leader lay below the
 *   leader, that child would become the "definitely lost" block and the
 *   leader indirect.  So each child is placed above its leader
 *   (alloc_above: chunks served below are held aside and freed after).
 * - All chunks are zeroed: a recycled glibc chunk keeps old data, which a
 *   scanner without valgrind's V-bits would read as pointers.  Zero words
 *   also keep valgrind's interior-pointer heuristics (stdstring, length64,
 *   newarray, multipleinheritance, all on by default) away from the
 *   start + 16 pointers.
 * - TLS: this library is dlopen()ed (by ctypes or leakdrive), so its
 *   __thread block is dynamic TLS, malloc()ed by __tls_get_addr on the
 *   first access in a thread and found only through that thread's DTV.
 *   The variable is set in the CALLING thread (the main thread in both
 *   drivers).  The main thread's DTV was allocated by ld.so before
 *   malloc existed (its minimal malloc, in ld.so's data or an anonymous
 *   map), so valgrind scans it as root memory and reaches the 8-byte TLS
 *   block by its start, then the SZ_TLS chunk: still reachable.  A DTV
 *   that glibc allocates later -- every new thread's, or the main
 *   thread's once dlopen outgrows it (_dl_resize_dtv) -- is a malloc
 *   block the TCB points at +16 (INSTALL_DTV stores &dtv[1]), which
 *   valgrind only counts as "possibly" reached, and everything behind it
 *   with it; that is why the variable is not set in a worker thread.
 *   The TLS block itself (8 bytes, chunk 32) is allocated by ld.so, not by
 *   this file: valgrind_truth.py does not count it.
 * - Both threads block in a raw read() syscall on a pipe nobody writes
 *   (leaklib_block below).  Before blocking it wipes the stack below the
 *   stack pointer (where malloc's and explicit_bzero's frames left
 *   copies) and zeroes every general and vector register except r12 and
 *   the two descriptors, so the register thread holds its chunk in r12
 *   alone and the stack thread in its frame's volatile local alone.  The
 *   kernel keeps r12 across the syscall; ptrace and valgrind
 *   (VG_(apply_to_GP_regs)) both see it.  All signals are blocked in both
 *   threads: a handler would push the registers onto the stack.
 * - leaklib_setup returns only when both threads sit in read() on their
 *   own pipe (/proc/self/task/TID/syscall), after wiping 64 KiB of stack
 *   below it and the caller-saved registers (as alloc_thread does before
 *   it exits), so no copy of a lost chunk's address is left in the
 *   calling thread either.
 */
#if !defined(__x86_64__) || !defined(__linux__)
#error "leaklib.c is x86-64 Linux only (inline assembly, raw syscalls)"
#endif
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SZ_LEADER 3000
#define SZ_CHILD 3104
#define SZ_POSSIBLE 3208
#define SZ_BSS 3312
#define SZ_TLS 3416
#define SZ_STACK 3520
#define SZ_REG 3624

#define MAXN 65536		/* the static arrays' length */
#define STASH 16384		/* chunks alloc_above may hold aside */
#define SCRUB (64 * 1024)	/* stack wiped below leaklib_setup */

#define EXPORT __attribute__((visibility("default")))
#define HIDDEN __attribute__((visibility("hidden"), used))

/* volatile: stores into arrays nobody reads would otherwise be dropped. */
static void *volatile possible_refs[MAXN];	/* start + 16 only */
static void *volatile bss_refs[MAXN];		/* start pointers */
static void *volatile stash[STASH];		/* alloc_above's, cleared */
static __thread void *volatile tls_keep;

static int reg_pipe[2] = { -1, -1 }, stack_pipe[2] = { -1, -1 };
static int ready_pipe[2] = { -1, -1 };
static volatile pid_t reg_tid, stack_tid;
static pthread_t reg_thr, stack_thr;
static int done;

/* The bytes leaklib_block writes and reads (static, not on a stack). */
HIDDEN const char leaklib_byte[1] = { 'r' };
HIDDEN char leaklib_sink[1];

/* leaklib_block(fd, ready_fd, keep): never returns.  keep goes to r12 and
 * stays there; the 16 KiB below the stack pointer and every other
 * register are zeroed; one byte is written to ready_fd; then read(fd)
 * forever.  The stack pointer is moved down before the wipe so that
 * valgrind sees legal stack writes. */
__attribute__((visibility("hidden"), noreturn))
void leaklib_block(int fd, int ready_fd, void *keep);
__asm__(
	"	.text\n"
	"	.p2align 4\n"
	"	.globl leaklib_block\n"
	"	.hidden leaklib_block\n"
	"	.type leaklib_block, @function\n"
	"leaklib_block:\n"
	"	.cfi_startproc\n"
	"	mov %rdx, %r12\n"
	"	mov %edi, %r13d\n"
	"	mov %esi, %r14d\n"
	"	sub $16384, %rsp\n"
	"	.cfi_adjust_cfa_offset 16384\n"
	"	mov %rsp, %rdi\n"
	"	mov $2048, %ecx\n"
	"	xor %eax, %eax\n"
	"	cld\n"
	"	rep stosq\n"
	"	add $16384, %rsp\n"
	"	.cfi_adjust_cfa_offset -16384\n"
	"	xor %ebx, %ebx\n"
	"	xor %ecx, %ecx\n"
	"	xor %edx, %edx\n"
	"	xor %esi, %esi\n"
	"	xor %edi, %edi\n"
	"	xor %ebp, %ebp\n"
	"	xor %r8d, %r8d\n"
	"	xor %r9d, %r9d\n"
	"	xor %r10d, %r10d\n"
	"	xor %r11d, %r11d\n"
	"	xor %r15d, %r15d\n"
	"	pxor %xmm0, %xmm0\n	pxor %xmm1, %xmm1\n"
	"	pxor %xmm2, %xmm2\n	pxor %xmm3, %xmm3\n"
	"	pxor %xmm4, %xmm4\n	pxor %xmm5, %xmm5\n"
	"	pxor %xmm6, %xmm6\n	pxor %xmm7, %xmm7\n"
	"	pxor %xmm8, %xmm8\n	pxor %xmm9, %xmm9\n"
	"	pxor %xmm10, %xmm10\n	pxor %xmm11, %xmm11\n"
	"	pxor %xmm12, %xmm12\n	pxor %xmm13, %xmm13\n"
	"	pxor %xmm14, %xmm14\n	pxor %xmm15, %xmm15\n"
	"	mov $1, %eax\n"			/* SYS_write */
	"	mov %r14d, %edi\n"
	"	lea leaklib_byte(%rip), %rsi\n"
	"	mov $1, %edx\n"
	"	syscall\n"
	"1:	xor %eax, %eax\n"		/* SYS_read, again on EINTR */
	"	mov %r13d, %edi\n"
	"	lea leaklib_sink(%rip), %rsi\n"
	"	mov $1, %edx\n"
	"	syscall\n"
	"	jmp 1b\n"
	"	.cfi_endproc\n"
	"	.size leaklib_block, .-leaklib_block\n");

/* explicit_bzero, not memset: GCC drops a memset of a chunk nobody reads
 * (the stack thread's) and turns the others into calloc. */
static void *zalloc(size_t size)
{
	void *p = malloc(size);

	if (p)
		explicit_bzero(p, size);
	return p;
}

/* A zeroed chunk of size whose address is above floor.  Chunks served
 * below it (from free chunks of a fragmented heap) are held aside until
 * one comes from above, then freed: only the returned one stays in use. */
static void *alloc_above(size_t size, void *floor)
{
	void *p;
	int k = 0, i;

	while ((p = malloc(size)) != NULL && (uintptr_t)p < (uintptr_t)floor) {
		if (k == STASH) {
			free(p);
			p = NULL;
			break;
		}
		stash[k++] = p;
	}
	for (i = 0; i < k; i++) {
		free(stash[i]);
		stash[i] = NULL;
	}
	if (p)
		explicit_bzero(p, size);
	return p;
}

/* One definitely lost leader and its two indirectly lost children. */
static int make_clique(void)
{
	void **leader = zalloc(SZ_LEADER), **c1, **c2;

	if (!leader)
		return -ENOMEM;
	c1 = alloc_above(SZ_CHILD, leader);
	c2 = alloc_above(SZ_CHILD, leader);
	if (!c1 || !c2)
		return -ENOMEM;
	leader[0] = c1;
	leader[1] = c2;
	c2[0] = leader;		/* the cycle */
	return 0;
}

static void *stack_thread(void *arg)
{
	/* In the frame, and the only copy of the address. */
	void *volatile keep __attribute__((unused));

	(void)arg;
	prctl(PR_SET_NAME, "leaklib-stack");
	stack_tid = (pid_t)syscall(SYS_gettid);
	keep = zalloc(SZ_STACK);
	leaklib_block(stack_pipe[0], ready_pipe[1], NULL);
}

static void *reg_thread(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "leaklib-reg");
	reg_tid = (pid_t)syscall(SYS_gettid);
	/* The pointer goes straight from the return register to r12. */
	leaklib_block(reg_pipe[0], ready_pipe[1], zalloc(SZ_REG));
}

/* Until thread tid sits in read(fd): /proc/PID/task/TID/syscall starts
 * with the syscall number (0) and the first argument in hex.  Without
 * that file (no /proc), a fixed 200 ms pause after the handshake. */
static int wait_blocked(pid_t tid, int fd)
{
	struct timespec ms = { 0, 1000000 };
	char path[64], buf[256];
	long nr;
	unsigned long a0;
	int i, f;
	ssize_t r;

	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	for (i = 0; i < 60000; i++) {	/* a minute: valgrind is slow */
		f = open(path, O_RDONLY | O_CLOEXEC);
		if (f < 0) {
			struct timespec pause = { 0, 200000000 };

			nanosleep(&pause, NULL);
			return 0;
		}
		r = read(f, buf, sizeof buf - 1);
		close(f);
		if (r > 0) {
			buf[r] = 0;
			if (sscanf(buf, "%ld 0x%lx", &nr, &a0) == 2 &&
			    nr == SYS_read && a0 == (unsigned long)fd)
				return 0;
		}
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

static int spawn(pthread_t *t, void *(*fn)(void *))
{
	sigset_t all, old;
	int e;

	/* The new thread inherits this mask: no signal handler ever runs on
	 * it (a handler's frame would hold a copy of r12). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(t, NULL, fn, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -e;
}

/* The frames a function and its callees (malloc, pthread_create...) left
 * below the stack pointer hold copies of the chunks' addresses: overwrite
 * them. */
static __attribute__((noinline)) void scrub_stack(void)
{
	unsigned char buf[SCRUB];

	explicit_bzero(buf, sizeof buf);
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/* Caller-saved registers may still hold a chunk address from the last
 * call; callee-saved ones are restored to the caller's on return. */
#define CLEAR_SCRATCH_REGISTERS() __asm__ volatile(			\
	"xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"			\
	"xor %%esi, %%esi\n\txor %%edi, %%edi\n\t"			\
	"xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\t"			\
	"xor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t"			\
	"pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"		\
	"pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"		\
	"pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"		\
	"pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"		\
	"pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"		\
	"pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"		\
	"pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"		\
	"pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"		\
	: : : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",	\
	  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",	\
	  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",	\
	  "xmm14", "xmm15", "memory")

/* The n-sized cases: cliques, then the possibly lost chunks, then the
 * .bss-held ones last (the arena's top pointer ends up just past the last
 * chunk, i.e. inside its usable bytes: let that be a reachable one). */
static __attribute__((noinline)) int make_n(int n)
{
	int i, e;

	for (i = 0; i < n; i++)
		if ((e = make_clique()) != 0)
			return e;
	for (i = 0; i < n; i++) {
		char *p = zalloc(SZ_POSSIBLE);

		if (!p)
			return -ENOMEM;
		possible_refs[i] = p + 16;
	}
	for (i = 0; i < n; i++)
		if (!(bss_refs[i] = zalloc(SZ_BSS)))
			return -ENOMEM;
	return 0;
}

static int alloc_n, alloc_rc;

/* Runs make_n in a thread of its own, so that the chunks come from a
 * fresh malloc arena (an mmap()ed heap at 0x7f... addresses) rather than
 * the main arena.  Python 3.11 on Debian is not PIE: its brk heap sits at
 * low addresses, where 32-bit data in the interpreter's blocks (bytecode,
 * caches) read as 64-bit words can equal an address inside a leaked
 * chunk -- seen under valgrind, where a code object's bytes made one
 * clique of five "possibly lost".  glibc gives a new thread a new arena
 * until 8 x cores arenas exist (or MALLOC_ARENA_MAX); past that it shares
 * one, possibly the main arena, and only that protection is lost.  The
 * thread wipes its stack and registers before it exits: its stack stays
 * mapped (glibc caches it), and valgrind scans it like any memory. */
static void *alloc_thread(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "leaklib-alloc");
	alloc_rc = make_n(alloc_n);
	scrub_stack();
	CLEAR_SCRATCH_REGISTERS();
	return NULL;
}

static __attribute__((noinline)) int setup_impl(int n)
{
	pthread_t t;
	char c;
	int i, e;

	if (n < 0 || n > MAXN)
		return -EINVAL;
	if (done)
		return -EALREADY;
	done = 1;
	if (pipe2(reg_pipe, O_CLOEXEC) || pipe2(stack_pipe, O_CLOEXEC) ||
	    pipe2(ready_pipe, O_CLOEXEC))
		return -errno;
	alloc_n = n;
	if ((e = spawn(&t, alloc_thread)) != 0 ||
	    (e = -pthread_join(t, NULL)) != 0 || (e = alloc_rc) != 0)
		return e;
	if (!(tls_keep = zalloc(SZ_TLS)))
		return -ENOMEM;
	if ((e = spawn(&stack_thr, stack_thread)) != 0 ||
	    (e = spawn(&reg_thr, reg_thread)) != 0)
		return e;
	/* Handshake: each thread writes one byte once its registers and the
	 * stack below it are clean, just before its read(). */
	for (i = 0; i < 2; i++)
		if (read(ready_pipe[0], &c, 1) != 1)
			return -EIO;
	if ((e = wait_blocked(stack_tid, stack_pipe[0])) != 0 ||
	    (e = wait_blocked(reg_tid, reg_pipe[0])) != 0)
		return e;
	return 0;
}

EXPORT int leaklib_setup(int n)
{
	int r = setup_impl(n);

	scrub_stack();
	CLEAR_SCRATCH_REGISTERS();
	return r;
}
