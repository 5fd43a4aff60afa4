/*
 * Line-number decoding against the interpreters themselves: each real
 * interpreter compiles a large stdlib module and prints, for every code
 * object, its line table and the line it assigns to every instruction
 * offset (co_lines() on 3.10+, dis.findlinestarts() before).  Our decoders
 * must give the same line for every offset.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "interp.h"
#include "python/python.h"

static const char script[] =
	"import dis, sys, types\n"
	"def codes(co):\n"
	"    yield co\n"
	"    for c in co.co_consts:\n"
	"        if isinstance(c, types.CodeType):\n"
	"            for x in codes(c): yield x\n"
	"for mod in ('dis', 'argparse', 'threading'):\n"
	"    path = __import__(mod).__file__\n"
	"    top = compile(open(path).read(), path, 'exec')\n"
	"    for co in codes(top):\n"
	"        new = sys.version_info >= (3, 10)\n"
	"        tab = co.co_linetable if new else co.co_lnotab\n"
	"        print('CODE', co.co_firstlineno, tab.hex() or '-')\n"
	"        if new:\n"
	"            for s, e, l in co.co_lines():\n"
	"                for off in range(s, e, 2):\n"
	"                    print('AT', off, -1 if l is None else l)\n"
	"        else:\n"
	"            starts = list(dis.findlinestarts(co))\n"
	"            for off in range(0, len(co.co_code), 2):\n"
	"                l = co.co_firstlineno\n"
	"                for a, ln in starts:\n"
	"                    if a <= off: l = ln\n"
	"                print('AT', off, l)\n";

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	if (!strcmp(s, "-"))
		return 0;
	while (s[0] && s[1] && n < max && sscanf(s, "%2x", &v) == 1) {
		out[n++] = (unsigned char)v;
		s += 2;
	}
	return n;
}

static void check_interp(const char *python, int minor)
{
	static unsigned char tab[1 << 20];
	static char line[1 << 22];
	/* Static, not on the stack in the loop: ASan poisons and unpoisons a
	 * 4 MiB stack array on every line (unit_lines took 243 s under ASan
	 * for 6 s without). */
	static char hex[sizeof(line)];
	char cmd[1024];
	FILE *f;
	size_t tablen = 0;
	int first = 0, codes = 0, offsets = 0, bad = 0;

	snprintf(cmd, sizeof(cmd), "'%s' -c \"$PYHEAP_LINES_SCRIPT\"", python);
	setenv("PYHEAP_LINES_SCRIPT", script, 1);
	f = popen(cmd, "r");
	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		int off, want, got;

		if (sscanf(line, "CODE %d %s", &first, hex) == 2) {
			tablen = unhex(hex, tab, sizeof(tab));
			codes++;
			continue;
		}
		if (sscanf(line, "AT %d %d", &off, &want) != 2)
			continue;
		if (minor <= 9)
			got = py_lnotab_line(tab, tablen, first, off);
		else if (minor == 10)
			got = py_linetable310_line(tab, tablen, first, off);
		else
			got = py_locations_line(tab, tablen, first, off);
		offsets++;
		if (got != want && bad++ < 5)
			fprintf(stderr, "%s: firstlineno %d offset %d: got %d, "
				"want %d\n", python, first, off, got, want);
	}
	ck_assert_int_eq(pclose(f), 0);
	fprintf(stderr, "%s: %d code objects, %d offsets, %d wrong\n", python,
		codes, offsets, bad);
	ck_assert_int_gt(codes, 100);
	ck_assert_int_eq(bad, 0);
}

START_TEST(decoders_match_interpreter)
{
	struct interp it;

	if (find_pyenv(_i, &it))
		check_interp(it.python, _i);
}
END_TEST

START_TEST(decoders_match_debian_python)
{
	if (access("/usr/bin/python3.11", X_OK)) {
		fprintf(stderr, "SKIP: no /usr/bin/python3.11\n");
		return;
	}
	check_interp("/usr/bin/python3.11", 11);
}
END_TEST

START_TEST(garbage_tables_do_not_crash)
{
	unsigned char junk[4096];
	unsigned i, seed = 12345;
	int a;

	for (i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245 + 12345;
		junk[i] = (unsigned char)(seed >> 16);
	}
	for (a = -1; a < 5000; a += 7) {
		py_lnotab_line(junk, sizeof(junk), 1, a);
		py_linetable310_line(junk, sizeof(junk), 1, a);
		py_locations_line(junk, sizeof(junk), 1, a);
		/* every entry a long-form with endless varint continuation */
		memset(junk, 0xf0 | 0x40, 64);
		py_locations_line(junk, 64, 1, a);
	}
	ck_assert_int_eq(py_lnotab_line(NULL, 0, 7, 100), 7);
	ck_assert_int_eq(py_locations_line(NULL, 0, 7, 100), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lines");
	TCase *tc = tcase_create("lines");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, decoders_match_interpreter, 7, 14);
	tcase_add_test(tc, decoders_match_debian_python);
	tcase_add_test(tc, garbage_tables_do_not_crash);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
