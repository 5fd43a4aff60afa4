#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python.h"

static const char *const type_symbol[PY_T__COUNT] = {
#define PY_T_NAME(id, sym) [PY_T_##id] = sym,
	PY_TYPE_SYMBOLS(PY_T_NAME)
#undef PY_T_NAME
};

/* "<prefix>M.m...": true if base starts with prefix and a version; *rest
 * points after the minor digits. */
static bool name_version(const char *base, const char *prefix, int *major,
			 int *minor, const char **rest)
{
	size_t n = strlen(prefix);
	char *end;
	long ma, mi;

	if (strncmp(base, prefix, n) || !isdigit((unsigned char)base[n]))
		return false;
	ma = strtol(base + n, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return false;
	mi = strtol(end + 1, &end, 10);
	if (ma > 9 || mi > 99)
		return false;
	*major = (int)ma;
	*minor = (int)mi;
	*rest = end;
	return true;
}

/* "libpython3.9.so.1.0", "libpython3.7m.so", "libpython2.7.so.1.0". */
static bool libpython_name(const char *path, int *major, int *minor)
{
	const char *rest;

	if (!name_version(ph_basename(path), "libpython", major, minor, &rest))
		return false;
	while (isalpha((unsigned char)*rest))
		rest++;
	return !strncmp(rest, ".so", 3);
}

/* "python3.11", "python3.9d": the version an executable's name promises. */
static bool python_exe_name(const char *path, int *major, int *minor)
{
	const char *rest;

	return name_version(ph_basename(path), "python", major, minor, &rest);
}

int py_parse_version(const char *s, int *major, int *minor, int *micro)
{
	char *end;
	long a, b, c;

	if (!isdigit((unsigned char)*s))
		return -PH_E_FORMAT;
	a = strtol(s, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return -PH_E_FORMAT;
	b = strtol(end + 1, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return -PH_E_FORMAT;
	c = strtol(end + 1, &end, 10);
	if (a > 9 || b > 99 || c > 99)
		return -PH_E_FORMAT;
	*major = (int)a;
	*minor = (int)b;
	*micro = (int)c;
	return 0;
}

/*
 * Py_GetVersion() formats "%.80s (%.80s) %.80s" — PY_VERSION, build info,
 * compiler — into a static buffer at start-up (sys.version is made from it),
 * so it sits in .bss of a <= 3.10 interpreter: "3.9.18 (main, May  9 2026,
 * 07:35:25) \n[GCC 12.2.0]".  Accept "M.m.p", an optional a/b/rc suffix and
 * "+", then " (": the parenthesis keeps random digits from matching.
 */
const char *py_find_version_string(const char *buf, size_t len, char *out,
				   size_t outlen)
{
	size_t i;

	for (i = 0; i + 8 < len; i++) {
		const char *p = buf + i, *end = buf + len, *q;

		if ((*p != '2' && *p != '3') || p[1] != '.')
			continue;
		if (i > 0 && (isdigit((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		/* minor: 1-2 digits, '.', micro: 1-2 digits */
		q = p + 2;
		if (q >= end || !isdigit((unsigned char)*q))
			continue;
		while (q < end && isdigit((unsigned char)*q) && q - p < 4)
			q++;
		if (q + 1 >= end || *q != '.' ||
		    !isdigit((unsigned char)q[1]))
			continue;
		q++;
		while (q < end && isdigit((unsigned char)*q))
			q++;
		if (q < end && (*q == 'a' || *q == 'b' || *q == 'r')) {
			if (*q == 'r' && (q + 1 >= end || q[1] != 'c'))
				continue;
			q += *q == 'r' ? 2 : 1;
			while (q < end && isdigit((unsigned char)*q))
				q++;
		}
		if (q < end && *q == '+')
			q++;
		if (q + 2 > end || q[0] != ' ' || q[1] != '(')
			continue;
		if ((size_t)(q - p) >= outlen || q - p > 24)
			continue;
		memcpy(out, p, (size_t)(q - p));
		out[q - p] = '\0';
		return p;
	}
	return NULL;
}

/* Find the version string in the interpreter's writable data (see above).
 * .bss is read from the target because the buffer is filled at run time. */
static int version_from_memory(struct pyproc *p)
{
	static const char *const secs[] = { ".bss", ".data" };
	size_t k;

	for (k = 0; k < PH_ARRAY_SIZE(secs); k++) {
		uint64_t addr, size;
		char *buf, found[32];
		int ok = 0;

		if (objfile_section(&p->elf, secs[k], &addr, &size))
			continue;
		/* CPython's .bss is well under a MiB; a larger section is
		 * some other program, and we read only its start. */
		if (size > (8u << 20))
			size = 8u << 20;
		buf = xmalloc(size);
		if (!target_read(p->t, addr, buf, size) &&
		    py_find_version_string(buf, size, found, sizeof(found)) &&
		    !py_parse_version(found, &p->major, &p->minor, &p->micro)) {
			snprintf(p->version, sizeof(p->version), "%s", found);
			ok = 1;
		}
		free(buf);
		if (ok)
			return 0;
	}
	return -PH_E_NOTFOUND;
}

static void version_from_hex(struct pyproc *p, uint64_t v)
{
	static const char *const level[16] = {
		[0xa] = "a", [0xb] = "b", [0xc] = "rc" };
	unsigned lv = (v >> 4) & 0xf, serial = v & 0xf;

	p->major = (int)((v >> 24) & 0xff);
	p->minor = (int)((v >> 16) & 0xff);
	p->micro = (int)((v >> 8) & 0xff);
	p->version_hex = v;
	if (lv != 0xf && level[lv])
		snprintf(p->version, sizeof(p->version), "%d.%d.%d%s%u",
			 p->major, p->minor, p->micro, level[lv], serial);
	else
		snprintf(p->version, sizeof(p->version), "%d.%d.%d", p->major,
			 p->minor, p->micro);
}

static int detect_version(struct pyproc *p)
{
	uint64_t addr;
	uint32_t v;
	int ma, mi;

	/* 3.11+: Py_Version is PY_VERSION_HEX as a const (Include/pylifecycle.h). */
	if (!objfile_sym(&p->elf, "Py_Version", &addr, NULL) &&
	    !target_read_u32(p->t, addr, &v) && (v >> 24) == 3) {
		version_from_hex(p, v);
		p->version_source = "Py_Version";
		return 0;
	}
	if (!version_from_memory(p)) {
		p->version_source = "version string";
		return 0;
	}
	if ((p->elf_is_lib && libpython_name(p->elf.path, &ma, &mi)) ||
	    python_exe_name(p->elf.path, &ma, &mi)) {
		p->major = ma;
		p->minor = mi;
		p->micro = -1;
		snprintf(p->version, sizeof(p->version), "%d.%d", ma, mi);
		p->version_source = "file name";
		return 0;
	}
	return ph_error(PH_E_NOTPYTHON,
			"process %d: cannot tell the Python version of %s",
			(int)p->t->pid, p->elf.path);
}

/* The mapping of the ELF that holds the interpreter: libpython if the
 * process maps one (pyenv, --enable-shared builds), else the executable
 * (static builds such as Debian's /usr/bin/python3.11). */
static const struct map *interpreter_map(const struct target *t, bool *is_lib)
{
	const struct map *exe = NULL;
	size_t i;
	int ma, mi;

	for (i = 0; i < t->maps.n; i++) {
		const struct map *m = &t->maps.v[i];

		if (!m->path || m->path[0] != '/')
			continue;
		if (libpython_name(m->path, &ma, &mi)) {
			*is_lib = true;
			return m;
		}
		if (!exe && t->exe && !strcmp(m->path, t->exe))
			exe = m;
	}
	*is_lib = false;
	return exe;
}

/*
 * The patch release whose table to start from: the target's own, or for
 * tests PYHEAP_DEBUG_TABLE=3.13.0 (man page, ENVIRONMENT), which makes a
 * target of the same minor start from another build's table, so that the
 * checks of python/verify.c meet real data at wrong offsets.
 */
static int table_micro(const struct pyproc *p)
{
	const char *s = getenv("PYHEAP_DEBUG_TABLE");
	int ma, mi, mc;

	if (s && !py_parse_version(s, &ma, &mi, &mc) && ma == p->major &&
	    mi == p->minor) {
		ph_debug(1, "layout: starting from the %d.%d.%d table "
			 "(PYHEAP_DEBUG_TABLE)", ma, mi, mc);
		return mc;
	}
	return p->micro;
}

/*
 * A free-threaded build (Include/object.h, Py_GIL_DISABLED).  With DWARF,
 * the GIL build's table under it is dropped (its object header is 16
 * bytes, not 32): what remains comes from _Py_DebugOffsets and the
 * build's own DWARF.  Without, the layout came from a free-threaded
 * table (pyproc_open).  Either way the header must be the one pyheap
 * knows.
 */
static int free_threaded_layout(struct pyproc *p)
{
	struct py_layout *L = &p->L;
	size_t i;

	/* 3.14t and 3.15t (mimalloc 2.5): their tables are compiled from
	 * the release's headers and checked on fake heaps only; no build of
	 * them could be made here to test on.  Said, never quietly. */
	if (p->minor >= 14)
		ph_warn("process %d runs a free-threaded Python %s: pyheap's "
			"support for it is not yet tested on a live "
			"interpreter (layouts compiled from its headers)",
			(int)p->t->pid, p->version);
	for (i = 0; p->elf.has_dwarf && i < PY_F__COUNT; i++)
		if (L->off_src[i] == LAYOUT_TABLE) {
			L->off[i] = -1;
			L->off_src[i] = LAYOUT_NONE;
		}
	for (i = 0; p->elf.has_dwarf && i < PY_S__COUNT; i++)
		if (L->size_src[i] == LAYOUT_TABLE) {
			L->size[i] = -1;
			L->size_src[i] = LAYOUT_NONE;
		}
	/* struct _object of Py_GIL_DISABLED: ob_type at 24 of 32 bytes. */
	if (L->size[PY_S_OBJECT] != 32 || L->off[PY_F_OB_TYPE] != 24)
		return ph_error(PH_E_UNSUPPORTED,
				"process %d: a free-threaded Python %s whose "
				"PyObject is not the 32-byte header pyheap "
				"knows (sizeof %lld, ob_type at %lld)",
				(int)p->t->pid, p->version,
				(long long)L->size[PY_S_OBJECT],
				(long long)L->off[PY_F_OB_TYPE]);
	return 0;
}

/*
 * 2.7's PyInterpreterState_Head() (Python/pystate.c: `return interp_head;`)
 * compiled for x86_64: `mov interp_head(%rip), %rax; ret`, 48 8b 05
 * <disp32> c3.  The static it reads is where a stripped 2.7 keeps its
 * interpreters.  0 if the function is not that.
 */
static uint64_t interp_head_from_code(struct pyproc *p)
{
	unsigned char code[8];
	uint64_t fn;
	int32_t disp;

	if (objfile_sym(&p->elf, "PyInterpreterState_Head", &fn, NULL) ||
	    target_read(p->t, fn, code, sizeof(code)) ||
	    code[0] != 0x48 || code[1] != 0x8b || code[2] != 0x05 ||
	    code[7] != 0xc3)
		return 0;
	memcpy(&disp, code + 3, 4);
	return fn + 7 + (uint64_t)(int64_t)disp;
}

/*
 * CPython 2.7 (INTERNALS §10): no _PyRuntime.  The interpreters hang from
 * pystate.c's static interp_head (a .symtab symbol, or read out of
 * PyInterpreterState_Head() when stripped), the thread holding the GIL
 * is the exported _PyThreadState_Current, and names are str
 * (PyStringObject), whose type the census' "str" slots take.  No
 * _Py_DebugOffsets: the layout is the 2.7 table under the DWARF, if any.
 */
static int open_27(struct pyproc *p)
{
	uint64_t interp = 0, ts = 0, back = 0;
	bool by_code = false;
	size_t i;

	if (objfile_sym(&p->elf, "interp_head", &p->interp_head, NULL)) {
		p->interp_head = interp_head_from_code(p);
		by_code = true;
	}
	if (!p->interp_head)
		return ph_error(PH_E_NOTPYTHON,
				"process %d: cannot find the interpreters of "
				"Python %s in %s (no interp_head symbol, and "
				"PyInterpreterState_Head is not the code "
				"expected)", (int)p->t->pid, p->version,
				p->elf.path);
	/* What the code gave is checked on the data: the first thread
	 * state of the first interpreter points back at it. */
	if (by_code &&
	    (target_read_u64(p->t, p->interp_head, &interp) || !interp ||
	     py_read_field(p->t, &p->L, interp, PY_F_IS_THREADS_HEAD, &ts) ||
	     (ts && (py_read_field(p->t, &p->L, ts, PY_F_TS_INTERP, &back) ||
		     back != interp))))
		return ph_error(PH_E_NOTPYTHON,
				"process %d: Python %s: the interpreter "
				"PyInterpreterState_Head() reads (%#llx) does "
				"not hold together", (int)p->t->pid,
				p->version, (unsigned long long)interp);
	if (objfile_sym(&p->elf, "_PyThreadState_Current",
			&p->tstate_current, NULL))
		p->tstate_current = 0;
	/* gcmodule.c: static struct gc_generation generations[3], and the
	 * exported PyGC_Head *_PyGC_generation0 = GEN_HEAD(0) that points at
	 * it.  Its place in L: a "GC state" that is that array. */
	if (objfile_sym(&p->elf, "_PyGC_generation0", &p->gc_generation0,
			NULL))
		p->gc_generation0 = 0;
	if (p->L.size[PY_S_GCGEN] > 0) {
		p->L.off[PY_F_GCS_GENERATIONS] = 0;
		p->L.width[PY_F_GCS_GENERATIONS] = 8;
		p->L.size[PY_S_GCSTATE] = 3 * p->L.size[PY_S_GCGEN];
	}
	for (i = 0; i < PY_T__COUNT; i++) {
		const char *sym = i == PY_T_STR || i == PY_T_BYTES ?
				  "PyString_Type" : i == PY_T_INT ?
				  "PyInt_Type" : type_symbol[i];

		if (objfile_sym(&p->elf, sym, &p->types[i], NULL))
			p->types[i] = 0;
	}
	if (!p->types[PY_T_TYPE] || !p->types[PY_T_CODE] ||
	    !p->types[PY_T_STR])
		return ph_error(PH_E_NOTPYTHON,
				"process %d: %s lacks PyType_Type, PyCode_Type "
				"or PyString_Type", (int)p->t->pid,
				p->elf.path);
	return 0;
}

int pyproc_open(struct pyproc *p, struct target *t)
{
	const struct map *m;
	uint64_t size;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	p->t = t;
	p->micro = -1;
	m = interpreter_map(t, &p->elf_is_lib);
	if (!m)
		return ph_error(PH_E_NOTPYTHON,
				"process %d (%s) is not a Python process: no "
				"libpython mapped and no executable mapping",
				(int)t->pid, t->exe ? t->exe : "?");
	rc = objfile_open(&p->elf, t, m);
	if (rc)
		return ph_error_context(rc, "process %d", (int)t->pid);
	/* A CPython ELF exports its type objects even when stripped. */
	if (objfile_sym(&p->elf, "PyType_Type", NULL, NULL) &&
	    objfile_sym(&p->elf, "_PyRuntime", NULL, NULL)) {
		rc = ph_error(PH_E_NOTPYTHON,
			      "process %d (%s) is not a Python process: %s has "
			      "no CPython symbols", (int)t->pid,
			      t->exe ? t->exe : "?", p->elf.path);
		goto fail;
	}
	rc = detect_version(p);
	if (rc)
		goto fail;
	if ((p->major != 3 || p->minor < 7 || p->minor > 15) &&
	    !(p->major == 2 && p->minor == 7)) {
		rc = ph_error(PH_E_UNSUPPORTED,
			      "process %d runs Python %s, which pyheap does not "
			      "support (CPython 2.7, 3.7 to 3.15)", (int)t->pid,
			      p->version);
		goto fail;
	}
	rc = py_layout_from_table(&p->L, p->major, p->minor, table_micro(p));
	if (rc)
		goto fail;
	if (p->elf.has_dwarf)
		py_layout_apply_dwarf(&p->L, &p->elf);
	if (p->major == 2) {
		rc = open_27(p);
		if (rc)
			goto fail;
		return 0;
	}

	/* _PyRuntime is exported by every 3.7+ build; 3.11+ also keep it in
	 * its own .PyRuntime section, which survives even a .dynsym strip. */
	if (objfile_sym(&p->elf, "_PyRuntime", &p->runtime, NULL) &&
	    objfile_section(&p->elf, ".PyRuntime", &p->runtime, &size)) {
		rc = ph_error(PH_E_NOTPYTHON,
			      "process %d: %s has no _PyRuntime", (int)t->pid,
			      p->elf.path);
		goto fail;
	}
	if (p->major == 3 && p->minor >= 13) {
		uint64_t sec_addr, sec_size = 0;

		if (objfile_section(&p->elf, ".PyRuntime", &sec_addr,
				    &sec_size) || sec_addr != p->runtime)
			sec_size = 0;
		rc = py_layout_apply_debug_offsets(&p->L, t, p->runtime,
						   p->version_hex, sec_size);
		if (rc == -PH_E_UNSUPPORTED)
			goto fail;
		if (rc < 0)
			ph_warn("%s; using %s offsets", ph_errmsg(),
				p->elf.has_dwarf ? "DWARF" : "built-in");
		/* A free-threaded build without DWARF: start again from the
		 * free-threaded table, under the same _Py_DebugOffsets (whose
		 * own layout is the same in both builds). */
		if (p->L.free_threaded && !p->elf.has_dwarf) {
			rc = py_layout_from_table_ft(&p->L, p->major, p->minor,
						     table_micro(p), true);
			if (rc) {
				rc = ph_error(PH_E_UNSUPPORTED,
					      "process %d runs a free-threaded "
					      "build of Python %s without debug "
					      "info, and pyheap has no built-in "
					      "layout for free-threaded %d.%d",
					      (int)t->pid, p->version, p->major,
					      p->minor);
				goto fail;
			}
			rc = py_layout_apply_debug_offsets(&p->L, t, p->runtime,
							   p->version_hex,
							   sec_size);
			if (rc < 0)
				goto fail;
		}
		if (p->L.free_threaded && (rc = free_threaded_layout(p)))
			goto fail;
	}
	for (i = 0; i < PY_T__COUNT; i++)
		if (objfile_sym(&p->elf, type_symbol[i], &p->types[i], NULL))
			p->types[i] = 0;
	if (!p->types[PY_T_TYPE] || !p->types[PY_T_CODE] ||
	    !p->types[PY_T_STR]) {
		rc = ph_error(PH_E_NOTPYTHON,
			      "process %d: %s lacks PyType_Type, PyCode_Type or "
			      "PyUnicode_Type", (int)t->pid, p->elf.path);
		goto fail;
	}
	return 0;
fail:
	objfile_release(&p->elf);
	return rc;
}

void pyproc_release(struct pyproc *p)
{
	objfile_release(&p->elf);
	memset(p, 0, sizeof(*p));
}

bool py_is_type(struct pyproc *p, uint64_t addr, enum py_type_sym type)
{
	uint64_t tp;

	if (!addr || !p->types[type] ||
	    py_read_field(p->t, &p->L, addr, PY_F_OB_TYPE, &tp))
		return false;
	return tp == p->types[type];
}

/* Append code point cp as UTF-8 (lone surrogates become U+FFFD). */
static void add_utf8(struct strbuf *sb, uint32_t cp)
{
	char b[4];

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
		return;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 4);
	}
}

/*
 * PyASCIIObject.state (Include/cpython/unicodeobject.h, all of 3.7-3.13):
 * interned:2, kind:3, compact:1, ascii:1, then ready:1 (<= 3.11) or
 * statically_allocated:1 (3.12+).  Data follows the PyASCIIObject header
 * for compact ASCII strings, the PyCompactUnicodeObject header for other
 * compact strings, and is a separate buffer (PyUnicodeObject.data.any)
 * otherwise.
 */
/* A 2.7 str (Include/stringobject.h PyStringObject: ob_size bytes at
 * ob_sval): bytes, shown as Latin-1 so that what comes out is UTF-8
 * whatever they hold (the names pyheap reads are ASCII identifiers and
 * file names). */
static int read_str27(struct pyproc *p, uint64_t addr, struct strbuf *out,
		      size_t max)
{
	unsigned char buf[1024];
	uint64_t len, done = 0;
	size_t n, i;

	if (py_read_field(p->t, &p->L, addr, PY_F_OB_SIZE, &len) ||
	    !py_has(&p->L, PY_F_BYTES_SVAL))
		return -PH_E_READ;
	if (len > (1ull << 40))
		return -PH_E_CORRUPT;
	n = len > max ? max : (size_t)len;
	while (done < n) {
		size_t chunk = PH_MIN(n - done, sizeof(buf));

		if (target_read(p->t, addr + (uint64_t)p->L.off[PY_F_BYTES_SVAL] +
				done, buf, chunk))
			return -PH_E_READ;
		for (i = 0; i < chunk; i++)
			add_utf8(out, buf[i]);
		done += chunk;
	}
	if (len > max)
		strbuf_addstr(out, "...");
	return 0;
}

int py_read_str(struct pyproc *p, uint64_t addr, struct strbuf *out,
		size_t max)
{
	const struct py_layout *L = &p->L;
	uint64_t length, state, data, kind;
	unsigned char buf[1024];
	size_t n, i, done;
	bool cut;

	if (!py_is_type(p, addr, PY_T_STR))
		return ph_error(PH_E_CORRUPT, "object at %#llx is not a str",
				(unsigned long long)addr);
	if (p->major == 2)
		return read_str27(p, addr, out, max);
	if (py_read_field(p->t, L, addr, PY_F_STR_LENGTH, &length) ||
	    py_read_field(p->t, L, addr, PY_F_STR_STATE, &state))
		return -PH_E_READ;
	kind = py_str_bits(L, state).kind;
	if (kind != 1 && kind != 2 && kind != 4)
		return ph_error(PH_E_CORRUPT, "str at %#llx has kind %llu",
				(unsigned long long)addr,
				(unsigned long long)kind);
	if (py_str_bits(L, state).compact)
		data = addr + (uint64_t)(py_str_bits(L, state).ascii ?
			L->size[PY_S_ASCII] : L->size[PY_S_COMPACTUNI]);
	else if (py_read_field(p->t, L, addr, PY_F_USTR_DATA, &data) || !data)
		return -PH_E_READ;
	/* A str longer than a process could hold is garbage. */
	if (length > (1ull << 40))
		return -PH_E_CORRUPT;
	cut = length > max;
	n = cut ? max : (size_t)length;
	for (done = 0; done < n;) {
		size_t chunk = PH_MIN(n - done, sizeof(buf) / kind);

		if (target_read(p->t, data + done * kind, buf, chunk * kind))
			return -PH_E_READ;
		for (i = 0; i < chunk; i++) {
			uint32_t cp;

			if (kind == 1)
				cp = buf[i];
			else if (kind == 2)
				cp = (uint32_t)buf[2 * i] |
				     (uint32_t)buf[2 * i + 1] << 8;
			else
				memcpy(&cp, buf + 4 * i, 4);
			add_utf8(out, cp);
		}
		done += chunk;
	}
	if (cut)
		strbuf_addstr(out, "...");
	return 0;
}

int py_read_bytes(struct pyproc *p, uint64_t addr, struct strbuf *out,
		  size_t max)
{
	uint64_t size;
	size_t n;

	if (!py_is_type(p, addr, PY_T_BYTES))
		return ph_error(PH_E_CORRUPT, "object at %#llx is not bytes",
				(unsigned long long)addr);
	if (py_read_field(p->t, &p->L, addr, PY_F_OB_SIZE, &size))
		return -PH_E_READ;
	if ((int64_t)size < 0 || size > max)
		return ph_error(PH_E_LIMIT, "bytes at %#llx: size %lld",
				(unsigned long long)addr, (long long)size);
	n = (size_t)size;
	strbuf_grow(out, n);
	if (target_read(p->t, addr + (uint64_t)p->L.off[PY_F_BYTES_SVAL],
			out->buf + out->len, n))
		return -PH_E_READ;
	strbuf_setlen(out, out->len + n);
	return 0;
}
