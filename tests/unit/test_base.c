#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/hashmap.h"
#include "check_util.h"

START_TEST(strbuf_grows_and_terminates)
{
	struct strbuf sb = STRBUF_INIT;
	int i;

	ck_assert_str_eq(sb.buf, "");
	for (i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%d,", i);
	ck_assert_uint_eq(sb.len, strlen(sb.buf));
	ck_assert(strncmp(sb.buf, "0,1,2,", 6) == 0);
	ck_assert(strcmp(sb.buf + sb.len - 4, "999,") == 0);
	strbuf_setlen(&sb, 2);
	ck_assert_str_eq(sb.buf, "0,");
	strbuf_release(&sb);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_str_eq(sb.buf, "");
}
END_TEST

START_TEST(strbuf_detach_empty_is_freeable)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = 99;
	char *s = strbuf_detach(&sb, &len);

	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(json_string_escapes_and_replaces_bad_utf8)
{
	struct strbuf sb = STRBUF_INIT;
	const char in[] = "a\"b\\c\n\x01" "\xc3\xa9" "\xff" "\xe2\x82";

	strbuf_add_json_str(&sb, in, sizeof(in) - 1);
	ck_assert_str_eq(sb.buf,
		"\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\\ufffd\\ufffd\\ufffd\"");
	strbuf_release(&sb);
}
END_TEST

START_TEST(errors_carry_code_message_and_exit_status)
{
	int rc = ph_error(PH_E_PERM, "cannot attach to %d", 42);

	ck_assert_int_eq(rc, -PH_E_PERM);
	ck_assert_str_eq(ph_errmsg(), "cannot attach to 42");
	ck_assert_int_eq(ph_exit_status(rc), PH_EXIT_ERROR);
	ck_assert_int_eq(ph_exit_status(-PH_E_NOTPYTHON), PH_EXIT_NOTPYTHON);
	ck_assert_int_eq(ph_exit_status(-PH_E_UNSUPPORTED), PH_EXIT_NOTPYTHON);
	ck_assert_int_eq(ph_exit_status(-PH_E_USAGE), PH_EXIT_USAGE);
	ck_assert_int_eq(ph_exit_status(0), PH_EXIT_OK);
	ck_assert_str_eq(ph_errname(-PH_E_READ), "READ");
	ck_assert(ph_err_skippable(-PH_E_READ));
	ck_assert(!ph_err_skippable(-PH_E_PERM));
	rc = ph_error_context(rc, "pid %d", 42);
	ck_assert_int_eq(rc, -PH_E_PERM);
	ck_assert_str_eq(ph_errmsg(), "pid 42: cannot attach to 42");
	/* NULL format: the table's text. */
	ph_error(PH_E_NOPROC, NULL);
	ck_assert_str_eq(ph_errmsg(), "no such process");
}
END_TEST

START_TEST(checked_arithmetic_reports_overflow)
{
	uint64_t r;

	ck_assert(ph_add(1, 2, &r) && r == 3);
	ck_assert(!ph_add(UINT64_MAX, 1, &r));
	ck_assert(ph_mul(1u << 20, 1u << 20, &r) && r == 1ull << 40);
	ck_assert(!ph_mul(1ull << 33, 1ull << 33, &r));
}
END_TEST

START_TEST(grow_amortises)
{
	int *v = NULL;
	size_t alloc = 0, i;

	for (i = 0; i < 100000; i++) {
		PH_GROW(v, alloc, i + 1);
		v[i] = (int)i;
	}
	ck_assert_uint_ge(alloc, 100000);
	ck_assert_int_eq(v[99999], 99999);
	free(v);
}
END_TEST

/* Keys come from target memory: every 64-bit value is a key, including
 * the one that marks empty slots, and the map stays right as it grows. */
static void check_dirname(const char *path, const char *want)
{
	char *d = ph_dirname(path);

	ck_assert_str_eq(d, want);
	free(d);
}

START_TEST(dirname_of_paths)
{
	check_dirname("a.snap", ".");
	check_dirname("/a.snap", "/");
	check_dirname("/var/lib/pyheap/a.snap", "/var/lib/pyheap");
	check_dirname("./x", ".");
	check_dirname("dir/", "dir");
	ck_assert_str_eq(ph_basename("/usr/lib/libpython3.12.so"),
			 "libpython3.12.so");
	ck_assert_str_eq(ph_basename("worker.py"), "worker.py");
	ck_assert_str_eq(ph_basename("dir/"), "");
}
END_TEST

static void check_abspath(const char *path, const char *want)
{
	char *got = ph_abspath(path);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(abspath_names_the_directory)
{
	char *cwd;

	check_abspath("/var/lib/x.snap", "/var/lib/x.snap");
	ck_assert_int_eq(chdir("/"), 0);
	check_abspath("x.snap", "/x.snap");
	check_abspath("./x.snap", "/x.snap");
	ck_assert_int_eq(chdir("/proc/self"), 0);
	cwd = getcwd(NULL, 0);
	ck_assert_ptr_nonnull(cwd);
	{
		char *want = xasprintf("%s/pyheap-1.snap", cwd);

		check_abspath("pyheap-1.snap", want);
		check_abspath(".//./pyheap-1.snap", want);
		free(want);
	}
	check_abspath("./", cwd);
	check_abspath(".", cwd);
	free(cwd);
}
END_TEST

START_TEST(u64map_takes_every_key)
{
	static const uint64_t odd[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1,
					0x8000000000000000ull };
	struct u64map m = U64MAP_INIT;
	uint64_t v, i;
	size_t k;

	ck_assert(!u64map_get(&m, UINT64_MAX, &v));
	for (k = 0; k < PH_ARRAY_SIZE(odd); k++)
		u64map_put(&m, odd[k], k);
	for (i = 2; i < 10000; i++)
		u64map_put(&m, i * 4096, i);
	u64map_put(&m, UINT64_MAX, 77); /* replaces */
	ck_assert_uint_eq(m.n, PH_ARRAY_SIZE(odd) + 9998);
	for (k = 0; k < PH_ARRAY_SIZE(odd); k++) {
		ck_assert(u64map_get(&m, odd[k], &v));
		ck_assert_uint_eq(v, odd[k] == UINT64_MAX ? 77 : k);
	}
	for (i = 2; i < 10000; i++) {
		ck_assert(u64map_get(&m, i * 4096, &v));
		ck_assert_uint_eq(v, i);
	}
	ck_assert(!u64map_get(&m, 3, NULL));
	u64map_release(&m);
	ck_assert(!u64map_get(&m, UINT64_MAX, NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("base");
	TCase *tc = tcase_create("base");

	tcase_add_test(tc, strbuf_grows_and_terminates);
	tcase_add_test(tc, dirname_of_paths);
	tcase_add_test(tc, abspath_names_the_directory);
	tcase_add_test(tc, strbuf_detach_empty_is_freeable);
	tcase_add_test(tc, json_string_escapes_and_replaces_bad_utf8);
	tcase_add_test(tc, errors_carry_code_message_and_exit_status);
	tcase_add_test(tc, checked_arithmetic_reports_overflow);
	tcase_add_test(tc, grow_amortises);
	tcase_add_test(tc, u64map_takes_every_key);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
