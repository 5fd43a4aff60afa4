/*
 * Driver for leaklib.so under valgrind (tests/live/valgrind_truth.py):
 *
 *   leakdrive LIB N [hold]
 *
 * dlopen()s LIB (so its TLS is dynamic, as under ctypes), calls
 * leaklib_setup(N), then asks memcheck for a full leak check through the
 * client request VALGRIND_DO_LEAK_CHECK (<valgrind/memcheck.h>, shipped
 * in Debian's valgrind package) while leaklib's two threads are still
 * blocked in read(): the leak check at exit would come after the threads
 * are gone.  VALGRIND_PRINTF markers (in valgrind's log only) delimit that
 * check's output.  Outside valgrind the client requests do nothing.
 *
 * With "hold", it then prints "ready PID" and waits for EOF on stdin, so
 * gdb or pyheap can look at the same process.
 *
 *   cc -O2 -g leakdrive.c -o leakdrive -ldl
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

int main(int argc, char **argv)
{
	int (*setup)(int);
	void *lib;
	char c;
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: leakdrive LIB N [hold]\n");
		return 2;
	}
	lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "leakdrive: %s\n", dlerror());
		return 1;
	}
	*(void **)&setup = dlsym(lib, "leaklib_setup");
	if (!setup) {
		fprintf(stderr, "leakdrive: %s\n", dlerror());
		return 1;
	}
	r = setup(atoi(argv[2]));
	if (r != 0) {
		fprintf(stderr, "leakdrive: leaklib_setup: %s\n", strerror(-r));
		return 1;
	}
	VALGRIND_PRINTF("leakdrive: leak check begins\n");
	VALGRIND_DO_LEAK_CHECK;
	VALGRIND_PRINTF("leakdrive: leak check ends\n");
	if (argc > 3 && strcmp(argv[3], "hold") == 0) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
	}
	/* exit_group ends the blocked threads. */
	_exit(0);
}
