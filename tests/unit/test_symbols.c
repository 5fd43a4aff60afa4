#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "symbols/symbols.h"
#include "check_util.h"

/*
 * Real files on the build machine: pyenv interpreters (with DWARF), Debian's
 * stripped /usr/bin/python3.11, libc with libc6-dbg.  A test whose file is
 * missing prints "SKIP: ..." and passes.  A small library compiled at start
 * (when cc and objcopy exist) covers what CPython's types do not: anonymous
 * members at non-zero offsets, multi-dimensional arrays, bit-fields, a
 * typedef completed from another unit, LTO-style names, DWARF 2 member
 * locations, and a debug file found through .gnu_debuglink.
 */

#define PYENV "/root/.pyenv/versions"
#define DEBIAN_PY "/usr/bin/python3.11"
#define LIBPY37 PYENV "/3.7.16/lib/libpython3.7m.so.1.0"
#define LIBPY311 PYENV "/3.11.7/lib/libpython3.11.so.1.0"
#define LIBPY312 PYENV "/3.12.1/lib/libpython3.12.so.1.0"
#define LIBPY313 PYENV "/3.13.0/lib/libpython3.13.so.1.0"
#define PY311 PYENV "/3.11.7/bin/python3.11"
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

#define OK(expr)                                                            \
	do {                                                                \
		int rc_ = (expr);                                           \
		ck_assert_msg(rc_ == 0, "%s: %d %s", #expr, rc_,            \
			      ph_errmsg());                                 \
	} while (0)

/* Set up by main() before the suite forks; NULL if it could not be built. */
static char *fixture_dir;

static bool have(const char *path)
{
	if (access(path, R_OK) == 0)
		return true;
	fprintf(stderr, "SKIP: %s not present\n", path);
	return false;
}

static char *fixture(const char *name)
{
	if (!fixture_dir) {
		fprintf(stderr, "SKIP: fixture library not built (cc or "
			"objcopy missing)\n");
		return NULL;
	}
	return xasprintf("%s/%s", fixture_dir, name);
}

static int64_t dw_off(struct objfile *of, const char *type, const char *path)
{
	int64_t off = -1;

	OK(objfile_dwarf_offsetof(of, type, path, &off));
	return off;
}

static int64_t dw_size(struct objfile *of, const char *type)
{
	int64_t size = -1;

	OK(objfile_dwarf_sizeof(of, type, &size));
	return size;
}

/* ---- symbols and sections ----------------------------------------------- */

/* The first line binutils' readelf prints for `args` on DEBIAN_PY that
 * contains `key`, field `field` (0-based, split on blanks): the expected
 * values come from another ELF reader, not from a Debian build frozen
 * into the test (security updates change every address). */
static char *readelf_field(const char *args, const char *key, int field)
{
	char *cmd = xasprintf("readelf %s %s 2>/dev/null", args, DEBIAN_PY);
	FILE *p = popen(cmd, "r");
	char line[1024], *out = NULL;

	free(cmd);
	ck_assert_ptr_nonnull(p);
	while (!out && fgets(line, sizeof(line), p)) {
		char *tok, *save = NULL;
		int i = 0;

		if (!strstr(line, key))
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save), i++)
			if (i == field)
				out = xstrdup(tok);
	}
	pclose(p);
	ck_assert_msg(out, "readelf %s: no '%s'", args, key);
	return out;
}

static uint64_t readelf_hex(const char *args, const char *key, int field)
{
	char *s = readelf_field(args, key, field);
	uint64_t v = strtoull(s, NULL, 16);

	free(s);
	return v;
}

START_TEST(debian_exec_symbols_sections_build_id)
{
	struct objfile of;
	uint64_t addr, size, rt, rtsize, ro;
	const void *data;
	char *build_id;
	int64_t sz;
	uint32_t v;

	if (!have(DEBIAN_PY))
		return;
	OK(objfile_open_path(&of, DEBIAN_PY));
	ck_assert(of.is_exec);
	ck_assert(!of.has_symtab);
	ck_assert(!of.has_dwarf);
	ck_assert_uint_eq(of.bias, 0);
	build_id = readelf_field("-n", "Build ID:", 2);
	ck_assert_str_eq(of.build_id, build_id);
	free(build_id);
	OK(objfile_sym(&of, "_PyRuntime", &addr, &size));
	ck_assert_uint_eq(addr, readelf_hex("--dyn-syms -W", " _PyRuntime\n", 1));
	ck_assert_uint_gt(size, 0);
	OK(objfile_sym(&of, "Py_Version", &addr, NULL));
	ck_assert_uint_eq(addr, readelf_hex("--dyn-syms -W", " Py_Version\n", 1));
	OK(objfile_sym(&of, "Py_Version", NULL, NULL));
	OK(objfile_section(&of, ".PyRuntime", &rt, &rtsize));
	ck_assert_uint_eq(rt, readelf_hex("--dyn-syms -W", " _PyRuntime\n", 1));
	ck_assert_uint_ge(rtsize, size);

	/* Py_Version is const: its bytes are in .rodata of the file. */
	OK(objfile_section(&of, ".rodata", &ro, NULL));
	OK(objfile_section_data(&of, ".rodata", &data, &size));
	ck_assert_uint_lt(addr - ro + 4, size + 1);
	memcpy(&v, (const char *)data + (addr - ro), 4);
	ck_assert_uint_eq(v, 0x030b02f0);

	ck_assert_int_eq(objfile_section_data(&of, ".bss", &data, &size),
			 -PH_E_NOTFOUND);
	OK(objfile_section(&of, ".bss", &addr, &size));
	ck_assert_int_eq(objfile_section(&of, ".nope", &addr, &size),
			 -PH_E_NOTFOUND);
	/* Not allocated: no runtime address. */
	ck_assert_int_eq(objfile_section(&of, ".gnu_debuglink", &addr, &size),
			 -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_sym(&of, "no_such_symbol_xyz", &addr, NULL),
			 -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_sym(&of, "", &addr, NULL), -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_sizeof(&of, "PyObject", &sz),
			 -PH_E_NOTFOUND);
	objfile_release(&of);
	objfile_release(&of);
}
END_TEST

START_TEST(pyenv_libpython_symtab_locals)
{
	struct objfile of;
	uint64_t a, m, rt;

	if (!have(LIBPY311))
		return;
	OK(objfile_open_path(&of, LIBPY311));
	ck_assert(!of.is_exec);
	ck_assert(of.has_symtab);
	ck_assert(of.has_dwarf);
	ck_assert_ptr_null(of.debug_path);
	OK(objfile_sym(&of, "arenas", &a, NULL));
	OK(objfile_sym(&of, "maxarenas", &m, NULL));
	ck_assert_uint_eq(a, 0x5b7a60);
	ck_assert_uint_eq(m, 0x5b7a58);
	OK(objfile_sym(&of, "_PyRuntime", &rt, NULL));
	ck_assert_uint_eq(rt, 0x54e540);
	OK(objfile_section(&of, ".PyRuntime", &a, NULL));
	ck_assert_uint_eq(a, rt);
	objfile_release(&of);
}
END_TEST

START_TEST(missing_and_invalid_files)
{
	struct objfile of;
	int rc;

	rc = objfile_open_path(&of, "/nonexistent/libfoo.so");
	ck_assert_int_eq(rc, -PH_E_ELF);
	ck_assert(strstr(ph_errmsg(), "/nonexistent/libfoo.so"));
	objfile_release(&of);
	rc = objfile_open_path(&of, "/etc/passwd");
	ck_assert_int_eq(rc, -PH_E_ELF);
	objfile_release(&of);
}
END_TEST

/* ---- DWARF against CPython ---------------------------------------------- */

START_TEST(dwarf_python_3_11)
{
	struct objfile of;
	int64_t v;

	if (!have(LIBPY311))
		return;
	OK(objfile_open_path(&of, LIBPY311));
	ck_assert_int_eq(dw_size(&of, "_PyRuntimeState"), 166688);
	ck_assert_int_eq(dw_off(&of, "_PyRuntimeState", "interpreters.head"),
			 40);
	ck_assert_int_eq(dw_off(&of, "PyInterpreterState", "threads.head"), 16);
	ck_assert_int_eq(dw_off(&of, "PyThreadState", "native_thread_id"), 160);
	ck_assert_int_eq(dw_off(&of, "PyTypeObject", "tp_flags"), 168);
	ck_assert_int_eq(dw_size(&of, "PyTypeObject"), 408);
	/* The tag, with and without the keyword. */
	ck_assert_int_eq(dw_size(&of, "_typeobject"), 408);
	ck_assert_int_eq(dw_size(&of, "struct _typeobject"), 408);
	ck_assert_int_eq(dw_off(&of, "PyTypeObject", ""), 0);
	ck_assert_int_eq(objfile_dwarf_offsetof(&of, "PyTypeObject", "tp_nope",
						&v), -PH_E_NOTFOUND);
	ck_assert(strstr(ph_errmsg(), "tp_nope"));
	ck_assert_int_eq(objfile_dwarf_offsetof(&of, "NoSuchType_xyz", "a",
						&v), -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_sizeof(&of, "union _typeobject", &v),
			 -PH_E_NOTFOUND);
	/* A member of a pointer is not a member. */
	ck_assert_int_eq(objfile_dwarf_offsetof(&of, "PyInterpreterState",
						"threads.head.next", &v),
			 -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_offsetof(&of, "PyTypeObject",
						"tp_flags..x", &v),
			 -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_offsetof(&of, "PyTypeObject",
						"tp_flags[0]", &v),
			 -PH_E_NOTFOUND);
	objfile_release(&of);
}
END_TEST

START_TEST(dwarf_python_3_12)
{
	struct objfile of;
	int64_t off, size;

	if (!have(LIBPY312))
		return;
	OK(objfile_open_path(&of, LIBPY312));
	ck_assert_int_eq(dw_off(&of, "PyInterpreterState",
				"obmalloc.mgmt.arenas"), 4472);
	ck_assert_int_eq(dw_off(&of, "PyInterpreterState", "threads.head"), 72);
	/* ob_refcnt sits in an anonymous union since 3.12. */
	ck_assert_int_eq(dw_off(&of, "PyObject", "ob_refcnt"), 0);
	ck_assert_int_eq(dw_off(&of, "PyObject", "ob_refcnt_split[1]"), 4);
	ck_assert_int_eq(dw_off(&of, "PyObject", "ob_type"), 8);
	OK(objfile_dwarf_member(&of, "PyObject", "ob_refcnt_split", &off,
				&size));
	ck_assert_int_eq(off, 0);
	ck_assert_int_eq(size, 8);
	ck_assert_int_eq(objfile_dwarf_offsetof(&of, "PyObject",
						"ob_refcnt_split[2]", &off),
			 -PH_E_NOTFOUND);
	objfile_release(&of);
}
END_TEST

START_TEST(dwarf_python_3_7)
{
	struct objfile of;
	int64_t off, size;

	if (!have(LIBPY37))
		return;
	OK(objfile_open_path(&of, LIBPY37));
	ck_assert_int_eq(dw_off(&of, "_PyRuntimeState", "gc"), 320);
	ck_assert_int_eq(dw_size(&of, "PyGC_Head"), 32);
	ck_assert_int_eq(dw_size(&of, "union _gc_head"), 32);
	ck_assert_int_eq(dw_off(&of, "PyGC_Head", "gc.gc_next"), 0);
	ck_assert_int_eq(dw_off(&of, "struct gc_generation", "count"), 36);
	ck_assert_int_eq(dw_off(&of, "_PyRuntimeState",
				"gc.generations[1].count"), 0x1b4);
	ck_assert_int_eq(dw_off(&of, "_PyRuntimeState",
				"gc.generations[2].threshold"), 0x1e0);
	OK(objfile_dwarf_member(&of, "_PyRuntimeState", "gc.generations",
				&off, &size));
	ck_assert_int_eq(size, 144);
	OK(objfile_dwarf_member(&of, "_PyRuntimeState", "gc.generations[1]",
				&off, &size));
	ck_assert_int_eq(size, 48);
	ck_assert_int_eq(objfile_dwarf_offsetof(&of, "_PyRuntimeState",
						"gc.generations[3]", &off),
			 -PH_E_NOTFOUND);
	objfile_release(&of);
}
END_TEST

START_TEST(dwarf_python_3_13)
{
	struct objfile of;

	if (!have(LIBPY313))
		return;
	OK(objfile_open_path(&of, LIBPY313));
	ck_assert_int_eq(dw_off(&of, "PyThreadState", "current_frame"), 72);
	ck_assert_int_eq(dw_off(&of, "struct _PyInterpreterFrame", "owner"),
			 70);
	ck_assert_int_eq(dw_off(&of, "struct _Py_DebugOffsets",
				"interpreter_state.threads_head"), 72);
	ck_assert_int_eq(dw_off(&of, "struct _Py_DebugOffsets", "cookie[3]"),
			 3);
	ck_assert_int_eq(dw_size(&of, "struct _Py_DebugOffsets"), 584);
	objfile_release(&of);
}
END_TEST

START_TEST(dwarf_index_timing_3_13)
{
	static const struct {
		const char *type, *path;
	} q[] = {
		{ "PyThreadState", "current_frame" },
		{ "struct _PyInterpreterFrame", "owner" },
		{ "struct _Py_DebugOffsets", "interpreter_state.threads_head" },
		{ "PyInterpreterState", "threads.head" },
		{ "PyTypeObject", "tp_flags" },
		{ "_PyRuntimeState", "interpreters.head" },
		{ "PyObject", "ob_type" },
		{ "PyVarObject", "ob_size" },
		{ "PyCodeObject", "co_filename" },
		{ "PyDictObject", "ma_keys" },
	};
	struct objfile of;
	uint64_t t0, t1, t2;
	int64_t v;
	size_t i;

	if (!have(LIBPY313))
		return;
	t0 = ph_now_ns();
	OK(objfile_open_path(&of, LIBPY313));
	t1 = ph_now_ns();
	OK(objfile_dwarf_sizeof(&of, "PyObject", &v));
	t2 = ph_now_ns();
	for (i = 0; i < 50; i++)
		OK(objfile_dwarf_offsetof(&of, q[i % PH_ARRAY_SIZE(q)].type,
					  q[i % PH_ARRAY_SIZE(q)].path, &v));
	fprintf(stderr, "libpython3.13: open %.1f ms, DWARF index + first "
		"query %.1f ms, 50 more queries %.2f ms\n",
		(double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6,
		(double)(ph_now_ns() - t2) / 1e6);
	objfile_release(&of);
}
END_TEST

/* ---- separate debug files ----------------------------------------------- */

START_TEST(libc_debug_file_by_build_id)
{
	struct objfile of;
	uint64_t a;
	char *want;

	if (!have(LIBC))
		return;
	OK(objfile_open_path(&of, LIBC));
	if (!*of.build_id) {
		fprintf(stderr, "SKIP: %s has no build-id\n", LIBC);
		objfile_release(&of);
		return;
	}
	want = xasprintf("/usr/lib/debug/.build-id/%.2s/%s.debug",
			 of.build_id, of.build_id + 2);
	if (access(want, R_OK) != 0) {
		fprintf(stderr, "SKIP: %s not present (libc6-dbg)\n", want);
		ck_assert(!of.has_dwarf);
		free(want);
		objfile_release(&of);
		return;
	}
	ck_assert(of.has_dwarf);
	ck_assert(of.has_symtab);
	ck_assert_ptr_nonnull(of.debug_path);
	ck_assert_str_eq(of.debug_path, want);
	/* main_arena is static in malloc.c: only the debug .symtab has it. */
	OK(objfile_sym(&of, "main_arena", &a, NULL));
	ck_assert_int_gt(dw_size(&of, "struct malloc_state"), 0);
	ck_assert_int_ge(dw_off(&of, "struct malloc_state", "bins[2]"), 0);
	free(want);
	objfile_release(&of);
}
END_TEST

/* ---- the fixture library ------------------------------------------------ */

static void check_fixture_dwarf(struct objfile *of)
{
	int64_t off, size;

	ck_assert_int_eq(dw_size(of, "struct outer"), 184);
	ck_assert_int_eq(dw_off(of, "outer", "tag"), 0);
	/* Anonymous union at 8, anonymous struct at 16 with a nested one. */
	ck_assert_int_eq(dw_off(of, "outer", "i"), 8);
	ck_assert_int_eq(dw_off(of, "outer", "d"), 8);
	ck_assert_int_eq(dw_off(of, "outer", "x"), 16);
	ck_assert_int_eq(dw_off(of, "outer", "y"), 24);
	ck_assert_int_eq(dw_off(of, "outer", "z"), 26);
	ck_assert_int_eq(dw_off(of, "outer", "in[1].grid[2][3]"), 148);
	ck_assert_int_eq(dw_off(of, "outer", "in[1].grid[2]"), 136);
	ck_assert_int_eq(dw_off(of, "outer", "rows[1][2]"), 176);
	ck_assert_int_eq(dw_off(of, "outer", "tail"), 184);
	ck_assert_int_eq(dw_off(of, "outer", "tail[5]"), 189);
	OK(objfile_dwarf_member(of, "outer", "in[1].grid[2]", &off, &size));
	ck_assert_int_eq(size, 16);
	OK(objfile_dwarf_member(of, "outer", "in", &off, &size));
	ck_assert_int_eq(size, 112);
	OK(objfile_dwarf_member(of, "outer", "rows[1]", &off, &size));
	ck_assert_int_eq(size, 16);
	OK(objfile_dwarf_member(of, "outer", "z", &off, &size));
	ck_assert_int_eq(size, 2);
	OK(objfile_dwarf_member(of, "outer", "tail", &off, &size));
	ck_assert_int_eq(size, 0);
	OK(objfile_dwarf_member(of, "outer", "", &off, &size));
	ck_assert_int_eq(size, 184);
	ck_assert_int_eq(objfile_dwarf_offsetof(of, "outer", "in[2]", &off),
			 -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_offsetof(of, "outer",
						"in[1].grid[3][0]", &off),
			 -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_offsetof(of, "outer",
						"in[1].grid[0][4]", &off),
			 -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_offsetof(of, "outer", "in[1].grid[1].x",
						&off), -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_dwarf_offsetof(of, "outer", "flags", &off),
			 -PH_E_NOTFOUND);
	ck_assert(strstr(ph_errmsg(), "bit-field"));
	/* a.c only declares struct inner; the typedef from a.c is completed
	 * through the tag defined in b.c. */
	ck_assert_int_eq(dw_size(of, "inner_t"), 56);
	ck_assert_int_eq(dw_off(of, "inner_t", "grid[1][1]"), 8 + 20);
}

START_TEST(fixture_dwarf_and_symbols)
{
	char *path = fixture("libfix.so");
	struct objfile of;
	uint64_t a, d, dsize;
	const void *data;
	int v;

	if (!path)
		return;
	OK(objfile_open_path(&of, path));
	ck_assert(of.has_dwarf && of.has_symtab && !of.is_exec);
	check_fixture_dwarf(&of);

	/* The LTO-style name is found by its base name, */
	OK(objfile_sym(&of, "counter", &a, NULL));
	OK(objfile_section(&of, ".data", &d, NULL));
	OK(objfile_section_data(&of, ".data", &data, &dsize));
	ck_assert_uint_lt(a - d, dsize);
	memcpy(&v, (const char *)data + (a - d), sizeof(v));
	ck_assert_int_eq(v, 5);
	/* the exact name still works, */
	OK(objfile_sym(&of, "counter.lto_priv.0", &d, NULL));
	ck_assert_uint_eq(a, d);
	/* and a global beats a local static of the same name. */
	OK(objfile_sym(&of, "exact_dup", &a, NULL));
	OK(objfile_section(&of, ".data", &d, NULL));
	memcpy(&v, (const char *)data + (a - d), sizeof(v));
	ck_assert_int_eq(v, 7);
	/* No prefix match across a different name. */
	ck_assert_int_eq(objfile_sym(&of, "count", &a, NULL), -PH_E_NOTFOUND);
	objfile_release(&of);
	free(path);
}
END_TEST

START_TEST(fixture_dwarf2_member_locations)
{
	char *path = fixture("libfix2.so");
	struct objfile of;

	if (!path)
		return;
	OK(objfile_open_path(&of, path));
	check_fixture_dwarf(&of);
	objfile_release(&of);
	free(path);
}
END_TEST

START_TEST(fixture_debuglink)
{
	char *path = fixture("stripped/libfix.so");
	char *want = fixture("stripped/.debug/libfix.so.debug");
	struct objfile of;
	uint64_t a;

	if (!path)
		return;
	OK(objfile_open_path(&of, path));
	/* A decoy with the right name but the wrong CRC sits next to the
	 * file; the real one is in .debug/. */
	ck_assert_ptr_nonnull(of.debug_path);
	ck_assert_str_eq(of.debug_path, want);
	ck_assert(of.has_dwarf);
	ck_assert(of.has_symtab);
	OK(objfile_sym(&of, "counter", &a, NULL));
	check_fixture_dwarf(&of);
	objfile_release(&of);
	free(path);
	free(want);

	/* Without the good one, the decoy is refused. */
	path = fixture("decoy-only/libfix.so");
	OK(objfile_open_path(&of, path));
	ck_assert_ptr_null(of.debug_path);
	ck_assert(!of.has_dwarf);
	ck_assert(!of.has_symtab);
	ck_assert_int_eq(objfile_sym(&of, "counter", &a, NULL), -PH_E_NOTFOUND);
	OK(objfile_sym(&of, "exact_dup", &a, NULL));
	objfile_release(&of);
	free(path);
}
END_TEST

/* ---- mapped files ------------------------------------------------------- */

static void add_map(struct maps *ms, uint64_t start, uint64_t end,
		    uint64_t offset, const struct stat *st, const char *path)
{
	struct map *m;

	PH_GROW(ms->v, ms->alloc, ms->n + 1);
	m = &ms->v[ms->n++];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->offset = offset;
	m->perms = MAP_R | MAP_P;
	if (st) {
		m->inode = st->st_ino;
		m->dev_major = major(st->st_dev);
		m->dev_minor = minor(st->st_dev);
	}
	m->path = path ? xstrdup(path) : NULL;
}

/* Lay out the PT_LOADs of path at base, as ld.so would. */
static void map_like_ldso(struct maps *ms, const char *path, uint64_t base,
			  const struct stat *st)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	size_t n, i;

	ck_assert_int_ge(fd, 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(elf_getphdrnum(elf, &n), 0);
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		uint64_t lo, hi;

		gelf_getphdr(elf, (int)i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		lo = ph.p_vaddr & ~0xfffull;
		hi = (ph.p_vaddr + ph.p_filesz + 0xfff) & ~0xfffull;
		add_map(ms, base + lo, base + hi, ph.p_offset & ~0xfffull, st,
			path);
	}
	elf_end(elf);
	close(fd);
}

START_TEST(bias_from_synthetic_maps)
{
	char *path = fixture("libfix.so");
	struct target t;
	struct objfile of;
	struct stat st;
	uint64_t a0, a1;
	size_t i, first2;

	if (!path)
		return;
	ck_assert_int_eq(stat(path, &st), 0);
	memset(&t, 0, sizeof(t));
	t.root = "";
	/* The same file loaded twice (dlmopen), with a foreign mapping in
	 * between. */
	map_like_ldso(&t.maps, path, 0x10000000, &st);
	add_map(&t.maps, 0x18000000, 0x18001000, 0, NULL, NULL);
	first2 = t.maps.n;
	map_like_ldso(&t.maps, path, 0x20000000, &st);
	ck_assert_uint_gt(t.maps.n - first2, 1);

	OK(objfile_open(&of, &t, &t.maps.v[1]));
	ck_assert_uint_eq(of.bias, 0x10000000);
	ck_assert_uint_eq(of.map_start, 0x10000000);
	ck_assert_uint_eq(of.map_end, t.maps.v[first2 - 2].end);
	ck_assert_str_eq(of.open_path, path);
	OK(objfile_sym(&of, "the_outer", &a0, NULL));
	objfile_release(&of);

	OK(objfile_open(&of, &t, &t.maps.v[t.maps.n - 1]));
	ck_assert_uint_eq(of.bias, 0x20000000);
	ck_assert_uint_eq(of.map_start, 0x20000000);
	ck_assert_uint_eq(of.map_end, t.maps.v[t.maps.n - 1].end);
	OK(objfile_sym(&of, "the_outer", &a1, NULL));
	ck_assert_uint_eq(a1 - a0, 0x10000000);
	objfile_release(&of);

	/* A different inode is another file: refused. */
	for (i = 0; i < t.maps.n; i++)
		if (t.maps.v[i].path)
			t.maps.v[i].inode++;
	ck_assert_int_eq(objfile_open(&of, &t, &t.maps.v[0]), -PH_E_ELF);
	objfile_release(&of);
	/* An anonymous mapping is no file. */
	ck_assert_int_eq(objfile_open(&of, &t, &t.maps.v[first2 - 1]),
			 -PH_E_ELF);
	maps_release(&t.maps);
	free(path);
}
END_TEST

/* A tiny /proc/PID/maps reader, so these tests do not depend on target/. */
static void read_maps(pid_t pid, struct maps *ms)
{
	char file[64], line[4096];
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/maps", (int)pid);
	f = fopen(file, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, ino;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		struct map *m;
		char *p, *nl;
		size_t len;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start,
			   &end, perms, &off, &maj, &min, &ino, &pos) < 7)
			continue;
		PH_GROW(ms->v, ms->alloc, ms->n + 1);
		m = &ms->v[ms->n++];
		memset(m, 0, sizeof(*m));
		m->start = start;
		m->end = end;
		m->offset = off;
		m->inode = ino;
		m->dev_major = maj;
		m->dev_minor = min;
		p = line + pos;
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!*p)
			continue;
		len = strlen(p);
		if (len > 10 && !strcmp(p + len - 10, " (deleted)")) {
			p[len - 10] = '\0';
			m->deleted = true;
		}
		m->path = xstrdup(p);
	}
	fclose(f);
}

static const struct map *find_map(const struct maps *ms, const char *path)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (ms->v[i].path && !strcmp(ms->v[i].path, path))
			return &ms->v[i];
	return NULL;
}

/* Start argv[0] with argv, dying with us; wait until `path` is mapped (and
 * marked deleted if `deleted`).  Fills *ms with the maps at that point. */
static pid_t spawn_until_mapped(char *const argv[], const char *path,
				bool deleted, struct maps *ms)
{
	pid_t pid = fork();
	int i;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		const struct map *m;
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		read_maps(pid, ms);
		m = find_map(ms, path);
		if (m && m->deleted == deleted)
			return pid;
		maps_release(ms);
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_abort_msg("%s never mapped %s", argv[0], path);
	return -1;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static uint32_t read_u32(pid_t pid, uint64_t addr)
{
	char file[64];
	uint32_t v = 0;
	int fd;

	snprintf(file, sizeof(file), "/proc/%d/mem", (int)pid);
	fd = open(file, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &v, sizeof(v), (off_t)addr), sizeof(v));
	close(fd);
	return v;
}

static void live_py_version(const char *python, const char *lib,
			    uint32_t want, bool is_exec)
{
	char *argv[] = { (char *)python, "-c", "import time; time.sleep(30)",
			 NULL };
	struct target t;
	struct objfile of;
	const struct map *m;
	uint64_t addr, base = UINT64_MAX;
	char *root, *open_path;
	size_t i;
	pid_t pid;

	memset(&t, 0, sizeof(t));
	pid = spawn_until_mapped(argv, lib, false, &t.maps);
	t.pid = pid;
	root = xasprintf("/proc/%d/root", (int)pid);
	t.root = root;
	m = find_map(&t.maps, lib);
	OK(objfile_open(&of, &t, m));
	open_path = xasprintf("%s%s", root, lib);
	ck_assert_str_eq(of.open_path, open_path);
	for (i = 0; i < t.maps.n; i++)
		if (t.maps.v[i].path && !strcmp(t.maps.v[i].path, lib) &&
		    t.maps.v[i].offset == 0)
			base = PH_MIN(base, t.maps.v[i].start);
	ck_assert_uint_eq(of.is_exec, is_exec);
	ck_assert_uint_eq(of.bias, is_exec ? 0 : base);
	ck_assert_uint_eq(of.map_start, base);
	OK(objfile_sym(&of, "Py_Version", &addr, NULL));
	ck_assert_uint_ge(addr, of.map_start);
	ck_assert_uint_lt(addr, of.map_end);
	ck_assert_uint_eq(read_u32(pid, addr), want);
	objfile_release(&of);
	stop_child(pid);
	free(open_path);
	free(root);
	maps_release(&t.maps);
}

START_TEST(live_debian_python)
{
	if (!have(DEBIAN_PY))
		return;
	live_py_version(DEBIAN_PY, DEBIAN_PY, 0x030b02f0, true);
}
END_TEST

START_TEST(live_pyenv_libpython)
{
	if (!have(PY311) || !have(LIBPY311))
		return;
	live_py_version(PY311, LIBPY311, 0x030b07f0, false);
}
END_TEST

START_TEST(live_deleted_library_via_map_files)
{
	char *src = fixture("libfix.so");
	char *copy, *root, *prefix, *cmd;
	struct target t;
	struct objfile of;
	const struct map *m;
	uint64_t addr;
	pid_t pid;

	if (!src || !have(DEBIAN_PY)) {
		free(src);
		return;
	}
	copy = fixture("libfix-deleted.so");
	cmd = xasprintf("cp %s %s", src, copy);
	ck_assert_int_eq(system(cmd), 0);
	{
		char *argv[] = { DEBIAN_PY, "-c",
			"import ctypes, os, sys, time\n"
			"ctypes.CDLL(sys.argv[1])\n"
			"os.unlink(sys.argv[1])\n"
			"time.sleep(30)\n", copy, NULL };

		memset(&t, 0, sizeof(t));
		pid = spawn_until_mapped(argv, copy, true, &t.maps);
	}
	t.pid = pid;
	root = xasprintf("/proc/%d/root", (int)pid);
	t.root = root;
	m = find_map(&t.maps, copy);
	ck_assert(m->deleted);
	OK(objfile_open(&of, &t, m));
	prefix = xasprintf("/proc/%d/map_files/", (int)pid);
	ck_assert(!strncmp(of.open_path, prefix, strlen(prefix)));
	ck_assert(of.has_dwarf);
	ck_assert_uint_eq(of.bias, of.map_start);
	OK(objfile_sym(&of, "exact_dup", &addr, NULL));
	ck_assert_uint_eq(read_u32(pid, addr), 7);
	OK(objfile_sym(&of, "counter", &addr, NULL));
	ck_assert_uint_eq(read_u32(pid, addr), 5);
	objfile_release(&of);
	stop_child(pid);
	maps_release(&t.maps);
	free(prefix);
	free(root);
	free(cmd);
	free(copy);
	free(src);
}
END_TEST

/* ---- fixture setup ------------------------------------------------------ */

static const char fixture_a[] =
	"struct inner;\n"
	"typedef struct inner inner_t;\n"
	"inner_t *use_inner;\n"
	"int exact_dup = 7;\n"
	"static int counter __asm__(\"counter.lto_priv.0\")\n"
	"\t__attribute__((used)) = 5;\n"
	"int get_counter(void) { return counter; }\n";

static const char fixture_b[] =
	"struct inner { long a; int grid[3][4]; };\n"
	"typedef int row_t[4];\n"
	"struct outer {\n"
	"\tchar tag;\n"
	"\tunion { int i; double d; };\n"
	"\tstruct { long x; struct { short y; short z; }; };\n"
	"\tunsigned flags : 3;\n"
	"\tunsigned more : 5;\n"
	"\tstruct inner in[2];\n"
	"\trow_t rows[2];\n"
	"\tchar tail[];\n"
	"};\n"
	"struct outer the_outer;\n"
	"struct inner the_inner;\n"
	"static int exact_dup __attribute__((used)) = 9;\n";

static bool write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0;

	if (f && fclose(f))
		ok = false;
	free(path);
	return ok;
}

static bool run(const char *dir, const char *cmd)
{
	char *full = xasprintf("cd %s && (%s) >/dev/null 2>&1", dir, cmd);
	int rc = system(full);

	free(full);
	return rc == 0;
}

/* libfix.so (DWARF 5), libfix2.so (DWARF 2: member offsets as location
 * expressions), stripped/libfix.so with its debug file in stripped/.debug/
 * and a decoy with the wrong CRC in stripped/, decoy-only/libfix.so with
 * just the decoy.  No build-id, so the debuglink CRC is what decides. */
static void build_fixture(void)
{
	char tmpl[] = "/tmp/pyheap-test-symbols-XXXXXX";
	const char *cc = "cc -g -O0 -shared -fPIC -Wl,--build-id=none";
	char *cmd;
	bool ok;

	if (!mkdtemp(tmpl))
		return;
	fixture_dir = xstrdup(tmpl);
	ok = write_file(tmpl, "a.c", fixture_a) &&
	     write_file(tmpl, "b.c", fixture_b);
	cmd = xasprintf("%s -o libfix.so a.c b.c && "
			"%s -gdwarf-2 -gstrict-dwarf -o libfix2.so a.c b.c && "
			"mkdir -p stripped/.debug decoy-only && "
			"objcopy --only-keep-debug libfix.so "
			"stripped/.debug/libfix.so.debug && "
			"objcopy --strip-all --add-gnu-debuglink="
			"stripped/.debug/libfix.so.debug libfix.so "
			"stripped/libfix.so && "
			"objcopy --only-keep-debug libfix2.so "
			"stripped/libfix.so.debug && "
			"cp stripped/libfix.so stripped/libfix.so.debug "
			"decoy-only/", cc, cc);
	if (!ok || !run(tmpl, cmd)) {
		fprintf(stderr, "could not build the fixture library in %s\n",
			tmpl);
		free(cmd);
		cmd = xasprintf("rm -rf %s", tmpl);
		run("/", cmd);
		free(fixture_dir);
		fixture_dir = NULL;
	}
	free(cmd);
}

/* Fake objfiles (symbols.h): explicit symbols and sections, found by
 * objfile_open() only for the fake target they were provided for. */
START_TEST(fake_objfile_symbols_sections)
{
	static const char rodata[] = "GNU C Library stable release version 2.36.";
	struct target *t = target_fake_new(), *other = target_fake_new();
	struct objfile of, got;
	const void *data;
	uint64_t addr, size;

	target_fake_add(t, 0x7f0000000000ull, NULL, 4096, MAP_R | MAP_P,
			"/fake/libfoo.so");
	target_fake_add(other, 0x7f0000000000ull, NULL, 4096, MAP_R | MAP_P,
			"/fake/libfoo.so");
	ck_assert(target_is_fake(t));
	objfile_fake_init(&of, "/fake/libfoo.so");
	objfile_fake_sym(&of, "zeta", 0x7f0000000100ull, 8, false);
	objfile_fake_sym(&of, "alpha.lto_priv.0", 0x7f0000000200ull, 16, true);
	objfile_fake_sym(&of, "alpha", 0x7f0000000300ull, 24, false);
	objfile_fake_section(&of, ".rodata", 0x7f0000000400ull,
			     sizeof(rodata), rodata);
	objfile_fake_section(&of, ".bss", 0x7f0000000800ull, 64, NULL);
	objfile_fake_provide(t, &of);

	ck_assert_int_eq(objfile_open(&got, t, &t->maps.v[0]), 0);
	ck_assert(got.has_symtab && !got.has_dwarf);
	ck_assert_int_eq(objfile_sym(&got, "zeta", &addr, &size), 0);
	ck_assert_uint_eq(addr, 0x7f0000000100ull);
	ck_assert_uint_eq(size, 8);
	/* An exact name wins over a .lto_priv variant, as in ELF files. */
	ck_assert_int_eq(objfile_sym(&got, "alpha", &addr, NULL), 0);
	ck_assert_uint_eq(addr, 0x7f0000000300ull);
	ck_assert_int_eq(objfile_sym(&got, "nope", NULL, NULL), -PH_E_NOTFOUND);
	ck_assert_int_eq(objfile_section(&got, ".bss", &addr, &size), 0);
	ck_assert_uint_eq(addr, 0x7f0000000800ull);
	ck_assert_uint_eq(size, 64);
	ck_assert_int_eq(objfile_section_data(&got, ".rodata", &data, &size),
			 0);
	ck_assert_uint_eq(size, sizeof(rodata));
	ck_assert_str_eq(data, rodata);
	ck_assert_int_eq(objfile_section_data(&got, ".bss", &data, &size),
			 -PH_E_NOTFOUND);
	objfile_release(&got);

	/* Not provided for this target: a real open, which fails. */
	ck_assert_int_eq(objfile_open(&got, other, &other->maps.v[0]),
			 -PH_E_ELF);
	objfile_fake_forget(t);
	ck_assert_int_eq(objfile_open(&got, t, &t->maps.v[0]), -PH_E_ELF);
	objfile_release(&of);
	target_close(t);
	target_close(other);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("symbols");
	TCase *tc = tcase_create("symbols");
	int rc;

	build_fixture();
	/* Live tests start interpreters and the 3.13 index reads 15 MB of
	 * DWARF, slower under the sanitizers. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, debian_exec_symbols_sections_build_id);
	tcase_add_test(tc, fake_objfile_symbols_sections);
	tcase_add_test(tc, pyenv_libpython_symtab_locals);
	tcase_add_test(tc, missing_and_invalid_files);
	tcase_add_test(tc, dwarf_python_3_11);
	tcase_add_test(tc, dwarf_python_3_12);
	tcase_add_test(tc, dwarf_python_3_7);
	tcase_add_test(tc, dwarf_python_3_13);
	tcase_add_test(tc, dwarf_index_timing_3_13);
	tcase_add_test(tc, libc_debug_file_by_build_id);
	tcase_add_test(tc, fixture_dwarf_and_symbols);
	tcase_add_test(tc, fixture_dwarf2_member_locations);
	tcase_add_test(tc, fixture_debuglink);
	tcase_add_test(tc, bias_from_synthetic_maps);
	tcase_add_test(tc, live_debian_python);
	tcase_add_test(tc, live_pyenv_libpython);
	tcase_add_test(tc, live_deleted_library_via_map_files);
	suite_add_tcase(s, tc);
	rc = run_suite(s);
	if (fixture_dir) {
		char *cmd = xasprintf("rm -rf %s", fixture_dir);

		run("/", cmd);
		free(cmd);
		free(fixture_dir);
	}
	return rc;
}
