#include <string.h>

#include "python.h"

const struct py_struct_info py_struct_info[PY_S__COUNT] = {
#define PY_S_INFO(id, name, src) [PY_S_##id] = { name, src, #id },
	PY_STRUCTS(PY_S_INFO)
#undef PY_S_INFO
};

const struct py_field_info py_field_info[PY_F__COUNT] = {
#define PY_F_INFO(id, st, path) [PY_F_##id] = { PY_S_##st, path, #id },
	PY_FIELDS(PY_F_INFO)
#undef PY_F_INFO
};

const char *layout_source_name(enum layout_source s)
{
	switch (s) {
	case LAYOUT_TABLE: return "table";
	case LAYOUT_DWARF: return "DWARF";
	case LAYOUT_DEBUG_OFFSETS: return "_Py_DebugOffsets";
	case LAYOUT_NONE: break;
	}
	return "none";
}

const struct py_table *py_table_find(int major, int minor, int micro)
{
	return py_table_find_ft(major, minor, micro, false);
}

const struct py_table *py_table_find_ft(int major, int minor, int micro,
					bool ft)
{
	const struct py_table *best = NULL, *lowest = NULL;
	size_t i;

	for (i = 0; i < py_ntables; i++) {
		const struct py_table *tb = py_tables[i];

		if (tb->major != major || tb->minor != minor ||
		    tb->free_threaded != ft)
			continue;
		if (!lowest || tb->micro < lowest->micro)
			lowest = tb;
		if (micro >= 0 && tb->micro <= micro &&
		    (!best || tb->micro > best->micro))
			best = tb;
	}
	return best ? best : lowest;
}

static void layout_clear(struct py_layout *L, int major, int minor)
{
	size_t i;

	memset(L, 0, sizeof(*L));
	L->major = major;
	L->minor = minor;
	for (i = 0; i < PY_S__COUNT; i++)
		L->size[i] = -1;
	for (i = 0; i < PY_F__COUNT; i++)
		L->off[i] = -1;
}

int py_layout_from_table(struct py_layout *L, int major, int minor,
			 int micro)
{
	return py_layout_from_table_ft(L, major, minor, micro, false);
}

int py_layout_from_table_ft(struct py_layout *L, int major, int minor,
			    int micro, bool ft)
{
	const struct py_table *tb = py_table_find_ft(major, minor, micro, ft);
	size_t i;

	layout_clear(L, major, minor);
	L->free_threaded = ft;
	if (!tb)
		return ph_error(PH_E_UNSUPPORTED,
				"no built-in layout for %sPython %d.%d",
				ft ? "free-threaded " : "", major, minor);
	if (tb->nfields != PY_F__COUNT || tb->nstructs != PY_S__COUNT)
		ph_die("built-in layout for %d.%d is stale: regenerate "
		       "src/python/tables.c (tools/gen-tables.sh)", major, minor);
	for (i = 0; i < PY_S__COUNT; i++) {
		L->size[i] = tb->size[i];
		if (tb->size[i] >= 0)
			L->size_src[i] = LAYOUT_TABLE;
	}
	for (i = 0; i < PY_F__COUNT; i++) {
		L->off[i] = tb->field[i].off;
		L->width[i] = tb->field[i].width;
		if (tb->field[i].off >= 0)
			L->off_src[i] = LAYOUT_TABLE;
	}
	return 0;
}

/* Step through "a|b|c" alternatives: copies the next one into buf and
 * advances *p; false when there are no more.  Over-long ones are skipped. */
static bool next_alt(const char **p, char *buf, size_t size)
{
	while (**p) {
		const char *bar = strchr(*p, '|');
		size_t n = bar ? (size_t)(bar - *p) : strlen(*p);
		bool fits = n < size;

		if (fits) {
			memcpy(buf, *p, n);
			buf[n] = '\0';
		}
		*p += n + (bar ? 1 : 0);
		if (fits)
			return true;
	}
	return false;
}

int py_layout_from_dwarf(struct py_layout *L, struct objfile *of)
{
	char names[PY_S__COUNT][96];
	bool found[PY_S__COUNT];
	int taken = 0;
	size_t i;

	layout_clear(L, L->major, L->minor);
	for (i = 0; i < PY_S__COUNT; i++) {
		int64_t size;

		const char *alts = py_struct_info[i].dwarf_names;

		found[i] = false;
		while (!found[i] && next_alt(&alts, names[i], sizeof(names[i])))
			found[i] = !objfile_dwarf_sizeof(of, names[i], &size);
		if (found[i]) {
			L->size[i] = size;
			L->size_src[i] = LAYOUT_DWARF;
			taken++;
		}
	}
	for (i = 0; i < PY_F__COUNT; i++) {
		enum py_struct st = py_field_info[i].st;
		const char *alts = py_field_info[i].paths;
		char path[128];
		int64_t off, width;
		bool ok = false;

		if (!found[st])
			continue;
		while (!ok && next_alt(&alts, path, sizeof(path)))
			ok = !objfile_dwarf_member(of, names[st], path, &off,
						   &width);
		if (!ok)
			continue;
		L->off[i] = off;
		/* Flexible arrays ("dk_indices[]") report no size: width 0. */
		L->width[i] = width > 0 && width < 65536 ? (uint16_t)width : 0;
		L->off_src[i] = LAYOUT_DWARF;
		taken++;
	}
	return taken;
}

int py_layout_apply_dwarf(struct py_layout *L, struct objfile *of)
{
	struct py_layout D;
	int taken = 0;
	size_t i;

	D.major = L->major;
	D.minor = L->minor;
	if (py_layout_from_dwarf(&D, of) <= 0)
		return 0;
	for (i = 0; i < PY_S__COUNT; i++) {
		if (D.size[i] < 0)
			continue;
		if (L->size[i] >= 0 && L->size[i] != D.size[i])
			ph_debug(1, "layout: sizeof %s: table %lld, DWARF %lld",
				 py_struct_info[i].id, (long long)L->size[i],
				 (long long)D.size[i]);
		L->size[i] = D.size[i];
		L->size_src[i] = LAYOUT_DWARF;
		taken++;
	}
	for (i = 0; i < PY_F__COUNT; i++) {
		if (D.off[i] < 0)
			continue;
		if (L->off[i] >= 0 && L->off[i] != D.off[i])
			ph_debug(1, "layout: %s: table %lld, DWARF %lld",
				 py_field_info[i].id, (long long)L->off[i],
				 (long long)D.off[i]);
		L->off[i] = D.off[i];
		L->width[i] = D.width[i];
		L->off_src[i] = LAYOUT_DWARF;
		taken++;
	}
	return taken;
}

/* The u64 at field f of a copied _Py_DebugOffsets. */
static int do_u64(const struct py_layout *L, const unsigned char *buf,
		  int64_t dsize, enum py_field f, uint64_t *out)
{
	int64_t off = L->off[f];

	if (off < 0 || off + 8 > dsize)
		return ph_error(PH_E_CORRUPT, "_Py_DebugOffsets: no %s",
				py_field_info[f].id);
	memcpy(out, buf + off, 8);
	return 0;
}

/*
 * _Py_DebugOffsets is the target telling us its own layout, which makes it
 * the best source — and also target memory, so hostile.  Accept it only if
 * the cookie and version match what we already know and every offset it
 * gives lies inside the size it gives for that struct (pystack does the
 * same checks in validateDebugOffsets).  Its free_threaded flag sets
 * L->free_threaded: the table under it was a GIL build's (process.c).
 */
int py_layout_apply_debug_offsets(struct py_layout *L, struct target *t,
				  uint64_t addr, uint64_t version_hex,
				  uint64_t runtime_section)
{
	/* Where the values sit inside _Py_DebugOffsets comes from the layout
	 * itself (the table for this minor version, or DWARF). */
	static const struct { enum py_field f, d; } fmap[] = {
#define PY_D_ROW(f, d) { PY_F_##f, PY_F_##d },
		PY_DEBUG_OFFSETS(PY_D_ROW)
#undef PY_D_ROW
	};
	static const struct { enum py_struct s; enum py_field d; } smap[] = {
#define PY_Z_ROW(s, d) { PY_S_##s, PY_F_##d },
		PY_DEBUG_SIZES(PY_Z_ROW)
#undef PY_Z_ROW
	};
	int64_t dsize = L->size[PY_S_DEBUGOFF];
	unsigned char buf[2048];
	uint64_t v = 0, sizes[PY_S__COUNT];
	int64_t offs[PY_F__COUNT];
	size_t i;
	bool ft = false;
	int rc;

	if (dsize <= 0 || (size_t)dsize > sizeof(buf) ||
	    !py_has(L, PY_F_DO_COOKIE) || !py_has(L, PY_F_DO_VERSION))
		return ph_error(PH_E_NOTFOUND,
				"no _Py_DebugOffsets layout for %d.%d",
				L->major, L->minor);
	if (target_read(t, addr, buf, (size_t)dsize))
		return ph_error(PH_E_READ,
				"cannot read _Py_DebugOffsets at %#llx",
				(unsigned long long)addr);
	if (L->off[PY_F_DO_COOKIE] + 8 > dsize ||
	    memcmp(buf + L->off[PY_F_DO_COOKIE], "xdebugpy", 8))
		return ph_error(PH_E_CORRUPT,
				"_Py_DebugOffsets cookie missing at %#llx",
				(unsigned long long)addr);
	if ((rc = do_u64(L, buf, dsize, PY_F_DO_VERSION, &v)))
		return rc;
	if (version_hex && (v >> 16) != (version_hex >> 16))
		return ph_error(PH_E_CORRUPT,
				"_Py_DebugOffsets version %#llx does not match "
				"Py_Version %#llx", (unsigned long long)v,
				(unsigned long long)version_hex);
	if (py_has(L, PY_F_DO_FREE_THREADED)) {
		if ((rc = do_u64(L, buf, dsize, PY_F_DO_FREE_THREADED, &v)))
			return rc;
		ft = v != 0;
	}
	for (i = 0; i < PY_S__COUNT; i++)
		sizes[i] = (uint64_t)-1;
	for (i = 0; i < PH_ARRAY_SIZE(smap); i++) {
		/* A member this minor's _Py_DebugOffsets does not have (the
		 * struct grows each minor: 584, 760, 888 bytes for 3.13-3.15)
		 * leaves the value to DWARF or the table. */
		if (!py_has(L, smap[i].d))
			continue;
		if ((rc = do_u64(L, buf, dsize, smap[i].d, &v)))
			return rc;
		/* No CPython struct described here is near 16 MiB; a bigger
		 * value is garbage. */
		if (v == 0 || v > (16u << 20))
			return ph_error(PH_E_CORRUPT,
					"_Py_DebugOffsets: implausible size %llu "
					"for %s", (unsigned long long)v,
					py_struct_info[smap[i].s].id);
		sizes[smap[i].s] = v;
	}
	/* The .PyRuntime section holds exactly _PyRuntime (3.11+,
	 * pycore_runtime.h's GENERATE_DEBUG_SECTION): a _Py_DebugOffsets
	 * read with another minor's member positions gives another size. */
	if (runtime_section && sizes[PY_S_RUNTIME] != (uint64_t)-1 &&
	    sizes[PY_S_RUNTIME] != runtime_section)
		return ph_error(PH_E_CORRUPT,
				"_Py_DebugOffsets: runtime_state.size %llu is "
				"not the .PyRuntime section's %llu",
				(unsigned long long)sizes[PY_S_RUNTIME],
				(unsigned long long)runtime_section);
	for (i = 0; i < PH_ARRAY_SIZE(fmap); i++) {
		enum py_struct st = py_field_info[fmap[i].f].st;
		uint64_t limit = sizes[st] != (uint64_t)-1 ? sizes[st] :
				 (uint64_t)L->size[st];
		unsigned w = L->width[fmap[i].f];

		offs[fmap[i].f] = -1;
		if (!py_has(L, fmap[i].d))
			continue;
		if ((rc = do_u64(L, buf, dsize, fmap[i].d, &v)))
			return rc;
		if (v + (w ? w : 1) > limit)
			return ph_error(PH_E_CORRUPT,
					"_Py_DebugOffsets: %s offset %llu outside "
					"its struct (%llu bytes)",
					py_field_info[fmap[i].f].id,
					(unsigned long long)v,
					(unsigned long long)limit);
		offs[fmap[i].f] = (int64_t)v;
	}
	/* Validated as a whole: now overlay. */
	L->free_threaded = ft;
	for (i = 0; i < PH_ARRAY_SIZE(smap); i++) {
		enum py_struct s = smap[i].s;

		if (sizes[s] == (uint64_t)-1)
			continue;
		if (L->size[s] >= 0 && L->size[s] != (int64_t)sizes[s])
			ph_debug(1, "layout: sizeof %s: %s %lld, "
				 "_Py_DebugOffsets %llu", py_struct_info[s].id,
				 layout_source_name(L->size_src[s]),
				 (long long)L->size[s],
				 (unsigned long long)sizes[s]);
		L->size[s] = (int64_t)sizes[s];
		L->size_src[s] = LAYOUT_DEBUG_OFFSETS;
	}
	for (i = 0; i < PH_ARRAY_SIZE(fmap); i++) {
		enum py_field f = fmap[i].f;

		if (offs[f] < 0)
			continue;
		if (L->off[f] >= 0 && L->off[f] != offs[f])
			ph_debug(1, "layout: %s: %s %lld, _Py_DebugOffsets %lld",
				 py_field_info[f].id,
				 layout_source_name(L->off_src[f]),
				 (long long)L->off[f], (long long)offs[f]);
		L->off[f] = offs[f];
		L->off_src[f] = LAYOUT_DEBUG_OFFSETS;
	}
	return (int)(PH_ARRAY_SIZE(fmap) + PH_ARRAY_SIZE(smap));
}

void py_layout_describe(const struct py_layout *L, struct strbuf *out)
{
	static const enum layout_source order[] = {
		LAYOUT_DEBUG_OFFSETS, LAYOUT_DWARF, LAYOUT_TABLE };
	const char *sep = "";
	size_t i, k;

	for (k = 0; k < PH_ARRAY_SIZE(order); k++) {
		unsigned n = 0;

		for (i = 0; i < PY_F__COUNT; i++)
			n += L->off_src[i] == order[k];
		for (i = 0; i < PY_S__COUNT; i++)
			n += L->size_src[i] == order[k];
		if (!n)
			continue;
		strbuf_addf(out, "%s%s (%u values)", sep,
			    layout_source_name(order[k]), n);
		sep = ", ";
	}
	if (!*sep)
		strbuf_addstr(out, "none");
}

int py_require(const struct py_layout *L, const enum py_field *fs, size_t n,
	       const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!py_has(L, fs[i]))
			return ph_error(PH_E_UNSUPPORTED,
					"%s: Python %d.%d layout lacks %s", what,
					L->major, L->minor,
					py_field_info[fs[i]].id);
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

int py_read_struct(struct target *t, const struct py_layout *L,
		   enum py_struct st, uint64_t addr, struct py_obj *o)
{
	int64_t size = L->size[st];

	o->addr = addr;
	o->st = st;
	o->len = 0;
	if (size <= 0)
		return ph_error(PH_E_NOTFOUND, "no layout for %s",
				py_struct_info[st].id);
	/* Huge structs (interpreter, runtime) are not read whole: callers
	 * use py_read_field() for those.  Capping keeps one read bounded. */
	if (size > PY_OBJ_MAX)
		size = PY_OBJ_MAX;
	if (target_read(t, addr, o->buf, (size_t)size))
		return ph_error(PH_E_READ, "cannot read %s at %#llx",
				py_struct_info[st].id,
				(unsigned long long)addr);
	o->len = (size_t)size;
	return 0;
}

static int field_bytes(const struct py_layout *L, const struct py_obj *o,
		       enum py_field f, uint64_t *raw, unsigned *w)
{
	int64_t off = L->off[f];
	unsigned width = L->width[f];

	/* PyObject/PyVarObject members head every object struct, so they
	 * may be read from a copy of any of them. */
	if (off < 0 || (py_field_info[f].st != o->st &&
			py_field_info[f].st != PY_S_OBJECT &&
			py_field_info[f].st != PY_S_VAROBJECT))
		return -PH_E_NOTFOUND;
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return -PH_E_NOTFOUND;
	if ((uint64_t)off + width > o->len)
		return -PH_E_CORRUPT;
	*raw = 0;
	/* Little-endian (x86_64): the low bytes come first. */
	memcpy(raw, o->buf + off, width);
	*w = width;
	return 0;
}

int py_get_u64(const struct py_layout *L, const struct py_obj *o,
	       enum py_field f, uint64_t *out)
{
	unsigned w;

	return field_bytes(L, o, f, out, &w);
}

int py_get_i64(const struct py_layout *L, const struct py_obj *o,
	       enum py_field f, int64_t *out)
{
	uint64_t raw;
	unsigned w;
	int rc = field_bytes(L, o, f, &raw, &w);

	if (rc)
		return rc;
	if (w < 8 && (raw >> (w * 8 - 1)) & 1)
		raw |= ~0ull << (w * 8);
	*out = (int64_t)raw;
	return 0;
}

uint64_t py_get_ptr(const struct py_layout *L, const struct py_obj *o,
		    enum py_field f)
{
	uint64_t v;

	return py_get_u64(L, o, f, &v) ? 0 : v;
}

int py_read_field(struct target *t, const struct py_layout *L, uint64_t base,
		  enum py_field f, uint64_t *out)
{
	int64_t off = L->off[f];
	unsigned w = L->width[f];
	uint64_t addr;

	if (off < 0 || (w != 1 && w != 2 && w != 4 && w != 8))
		return ph_error(PH_E_NOTFOUND, "no layout for %s",
				py_field_info[f].id);
	if (!ph_add(base, (uint64_t)off, &addr))
		return ph_error(PH_E_READ, "address overflow reading %s",
				py_field_info[f].id);
	*out = 0;
	if (target_read(t, addr, out, w))
		return ph_error(PH_E_READ, "cannot read %s at %#llx",
				py_field_info[f].id, (unsigned long long)addr);
	return 0;
}
