/* Finding the real interpreters on this machine, for unit suites that
 * compare pyheap's readings with them. */
#ifndef PYHEAP_TEST_INTERP_H
#define PYHEAP_TEST_INTERP_H

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct interp {
	int minor;          /* 3.minor */
	char prefix[512];   /* .../versions/3.11.7, or "" for Debian's */
	char python[600];   /* bin/python3.X */
	char lib[600];      /* libpython .so, "" for a static build */
};

static inline const char *pyenv_root(void)
{
	static char buf[512];
	const char *r = getenv("PYENV_ROOT"), *home = getenv("HOME");

	if (r && *r)
		return r;
	snprintf(buf, sizeof(buf), "%s/.pyenv", home ? home : "/root");
	return buf;
}

/* The newest pyenv 3.minor.*, or 0 if none (with a SKIP line on stderr). */
static inline int find_pyenv(int minor, struct interp *it)
{
	char pat[600];
	glob_t g;
	size_t i, best = 0;
	int best_micro = -1;

	memset(it, 0, sizeof(*it));
	snprintf(pat, sizeof(pat), "%s/versions/3.%d.*", pyenv_root(), minor);
	if (glob(pat, 0, NULL, &g)) {
		fprintf(stderr, "SKIP: no pyenv Python 3.%d\n", minor);
		return 0;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		const char *b = strrchr(g.gl_pathv[i], '/') + 1;
		int ma, mi, mc;
		char tail;

		if (sscanf(b, "%d.%d.%d%c", &ma, &mi, &mc, &tail) == 3 &&
		    mc > best_micro) {
			best_micro = mc;
			best = i;
		}
	}
	if (best_micro < 0) {
		globfree(&g);
		fprintf(stderr, "SKIP: no pyenv Python 3.%d\n", minor);
		return 0;
	}
	it->minor = minor;
	snprintf(it->prefix, sizeof(it->prefix), "%s", g.gl_pathv[best]);
	globfree(&g);
	snprintf(it->python, sizeof(it->python), "%s/bin/python3.%d",
		 it->prefix, minor);
	snprintf(pat, sizeof(pat), "%s/lib/libpython3.%d*.so.1.0", it->prefix,
		 minor);
	if (!glob(pat, 0, NULL, &g)) {
		snprintf(it->lib, sizeof(it->lib), "%s", g.gl_pathv[0]);
		globfree(&g);
	}
	return 1;
}

#endif
