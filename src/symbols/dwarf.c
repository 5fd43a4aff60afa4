#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols.h"

/*
 * The type index: one hash map from (kind, name) to the DIE of the first
 * complete definition.  Only the top-level DIEs of each unit are looked at:
 * every type a C program can name by tag or typedef lives there, and not
 * descending into functions is what keeps indexing a libpython with 15 MB
 * of .debug_info fast.  Names are not copied; they point into libdw's
 * string data, which lives as long as the Dwarf handle.
 */

enum kind {
	KIND_TYPEDEF = 1,
	KIND_STRUCT,
	KIND_UNION,
};

struct dw_entry {
	const char *name; /* NULL for an empty slot */
	Dwarf_Off off;
	uint32_t hash;
	uint8_t kind;
	uint8_t alt;      /* DIE is in the .gnu_debugaltlink (dwz) file */
};

struct dwarf_index {
	struct dw_entry *v;
	size_t n, mask;   /* open addressing; mask + 1 slots, a power of 2 */
	Dwarf *alt;       /* the dwz file's: alt_own, or libdw's (which frees
			   * it with the main) */
	Dwarf *alt_own;   /* opened here, freed after the main */
	int alt_fd;
	int rc;           /* < 0: DWARF could not be read; errmsg says why */
	char *errmsg;
};

/* Bounds against corrupt DWARF: anonymous members nest a few levels in real
 * code, and C arrays have few dimensions. */
#define MAX_DEPTH 32
#define MAX_DIMS 16

static uint32_t name_hash(const char *s, size_t len, int kind)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static bool entry_is(const struct dw_entry *e, const char *name, size_t len,
		     int kind, uint32_t h)
{
	return e->hash == h && e->kind == kind &&
	       !strncmp(e->name, name, len) && e->name[len] == '\0';
}

static void index_grow(struct dwarf_index *idx)
{
	size_t old = idx->mask + 1, i;
	struct dw_entry *v = idx->v;

	idx->mask = old * 2 - 1;
	idx->v = xcalloc(old * 2, sizeof(*idx->v));
	for (i = 0; i < old; i++) {
		size_t j;

		if (!v[i].name)
			continue;
		for (j = v[i].hash & idx->mask; idx->v[j].name;
		     j = (j + 1) & idx->mask)
			;
		idx->v[j] = v[i];
	}
	free(v);
}

/* Insert unless present: the first definition met wins. */
static void index_put(struct dwarf_index *idx, const char *name, int kind,
		      Dwarf_Off off, uint8_t alt)
{
	size_t len = strlen(name), i;
	uint32_t h = name_hash(name, len, kind);

	if ((idx->n + 1) * 2 > idx->mask + 1)
		index_grow(idx);
	for (i = h & idx->mask; idx->v[i].name; i = (i + 1) & idx->mask)
		if (entry_is(&idx->v[i], name, len, kind, h))
			return;
	idx->v[i].name = name;
	idx->v[i].off = off;
	idx->v[i].hash = h;
	idx->v[i].kind = (uint8_t)kind;
	idx->v[i].alt = alt;
	idx->n++;
}

static const struct dw_entry *index_get(const struct dwarf_index *idx,
					const char *name, size_t len, int kind)
{
	uint32_t h = name_hash(name, len, kind);
	size_t i;

	for (i = h & idx->mask; idx->v[i].name; i = (i + 1) & idx->mask)
		if (entry_is(&idx->v[i], name, len, kind, h))
			return &idx->v[i];
	return NULL;
}

static void index_die(struct dwarf_index *idx, Dwarf_Die *die, uint8_t alt)
{
	const char *name;
	int kind;

	switch (dwarf_tag(die)) {
	case DW_TAG_structure_type:
		kind = KIND_STRUCT;
		break;
	case DW_TAG_union_type:
		kind = KIND_UNION;
		break;
	case DW_TAG_typedef:
		kind = KIND_TYPEDEF;
		break;
	default:
		return;
	}
	/* A typedef of a declared-only struct is still worth keeping: the
	 * struct is completed through its tag at query time. */
	if (kind != KIND_TYPEDEF && dwarf_hasattr(die, DW_AT_declaration))
		return;
	name = dwarf_diename(die);
	if (name && *name)
		index_put(idx, name, kind, dwarf_dieoffset(die), alt);
}

static void index_units(struct dwarf_index *idx, Dwarf *dw, uint8_t alt,
			const char *path)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, die;
	int r;

	while ((r = dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie,
				    NULL)) == 0) {
		/* Type units would need dwarf_offdie_types(); GCC does not
		 * emit them for C unless asked, so they are not indexed. */
		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		if (dwarf_child(&cudie, &die) != 0)
			continue;
		do
			index_die(idx, &die, alt);
		while (dwarf_siblingof(&die, &die) == 0);
	}
	if (r < 0)
		ph_debug(1, "%s: stopped reading DWARF units: %s", path,
			 dwarf_errmsg(-1));
}

static const char *dwarf_file(const struct objfile *of)
{
	return of->dwarf_elf == of->debug_elf && of->debug_path ?
	       of->debug_path : of->path;
}

/*
 * dwz moves types shared by several files into one "alt" file, named by
 * .gnu_debugaltlink with its build-id.  Opened here, through ph_open_ro()
 * (in the sandbox: by the parent, confined to the target's root), where
 * the target's debuggers would find it: by build-id under the target's
 * /usr/lib/debug, then at the link's path (absolute: under the root;
 * relative: next to the debug file), then the same on the host; and used
 * only if its build-id is the one the link names.
 */
static Dwarf *open_alt(struct objfile *of, struct dwarf_index *idx,
		       const char *name, const unsigned char *id,
		       size_t idlen)
{
	const char *root = of->root ? of->root : "";
	const char *prefixes[2] = { root, "" };
	char hex[2 * 64 + 1];
	size_t i, k, np = *root ? 2 : 1;

	if (!idlen || idlen > 64 || !*name)
		return NULL;
	for (i = 0; i < idlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	for (k = 0; k < np; k++) {
		const char *p = prefixes[k];
		char *cand[2] = { NULL, NULL };

		if (idlen > 1)
			cand[0] = xasprintf("%s/usr/lib/debug/.build-id/%.2s/%s"
					    ".debug", p, hex, hex + 2);
		if (*name == '/') {
			cand[1] = xasprintf("%s%s", p, name);
		} else if (!k) {
			const char *file = of->dwarf_elf == of->debug_elf &&
					   of->debug_path ? of->debug_path :
					   of->open_path;
			char *dir = ph_dirname(file ? file : ".");

			cand[1] = xasprintf("%s/%s", dir, name);
			free(dir);
		}
		for (i = 0; i < 2 && !idx->alt_own; i++) {
			const void *bid;
			Dwarf *d;
			int fd;

			if (!cand[i] || (fd = ph_open_ro(cand[i])) < 0)
				continue;
			d = dwarf_begin(fd, DWARF_C_READ);
			if (d && dwelf_elf_gnu_build_id(dwarf_getelf(d), &bid) ==
				 (ssize_t)idlen && !memcmp(bid, id, idlen)) {
				idx->alt_own = d;
				idx->alt_fd = fd;
				ph_debug(2, "%s: alternate debug file %s",
					 dwarf_file(of), cand[i]);
				continue;
			}
			ph_debug(2, "%s: %s is not its alternate debug file",
				 dwarf_file(of), cand[i]);
			if (d)
				dwarf_end(d);
			close(fd);
		}
		free(cand[0]);
		free(cand[1]);
		if (idx->alt_own) {
			dwarf_setalt(of->dwarf, idx->alt_own);
			return idx->alt_own;
		}
	}
	return NULL;
}

static int dwarf_ready(struct objfile *of)
{
	struct dwarf_index *idx = of->dwidx;
	const char *altname;
	const void *altid;
	ssize_t idlen;
	uint64_t t0;

	if (idx) {
		if (idx->rc < 0)
			return ph_error((enum ph_err)-idx->rc, "%s",
					idx->errmsg);
		return 0;
	}
	if (!of->has_dwarf)
		return ph_error(PH_E_NOTFOUND, "no DWARF for %s", of->path);
	idx = of->dwidx = xcalloc(1, sizeof(*idx));
	idx->alt_fd = -1;
	of->dwarf = dwarf_begin_elf(of->dwarf_elf, DWARF_C_READ, NULL);
	if (!of->dwarf) {
		idx->errmsg = xasprintf("cannot read DWARF of %s: %s",
					dwarf_file(of), dwarf_errmsg(-1));
		idx->rc = -PH_E_ELF;
		return ph_error(PH_E_ELF, "%s", idx->errmsg);
	}
	t0 = ph_now_ns();
	idx->mask = 4095;
	idx->v = xcalloc(idx->mask + 1, sizeof(*idx->v));
	index_units(idx, of->dwarf, 0, dwarf_file(of));
	/* dwz's "alt" file (open_alt()); else libdw's own search. */
	idlen = dwelf_dwarf_gnu_debugaltlink(of->dwarf, &altname, &altid);
	if (idlen > 0) {
		idx->alt = open_alt(of, idx, altname, altid, (size_t)idlen);
		if (!idx->alt)
			idx->alt = dwarf_getalt(of->dwarf);
		if (idx->alt)
			index_units(idx, idx->alt, 1, altname);
		else
			ph_debug(1, "%s: alternate debug file %s not found",
				 dwarf_file(of), altname);
	}
	ph_debug(2, "DWARF index of %s: %zu types in %.1f ms", dwarf_file(of),
		 idx->n, (double)(ph_now_ns() - t0) / 1e6);
	return 0;
}

void objfile_dwarf_release(struct objfile *of)
{
	Dwarf *alt = NULL;
	int alt_fd = -1;

	if (of->dwidx) {
		alt = of->dwidx->alt_own;
		alt_fd = of->dwidx->alt_fd;
		free(of->dwidx->v);
		free(of->dwidx->errmsg);
		free(of->dwidx);
		of->dwidx = NULL;
	}
	if (of->dwarf) {
		dwarf_end(of->dwarf);
		of->dwarf = NULL;
	}
	/* After the main, which refers to it. */
	if (alt)
		dwarf_end(alt);
	if (alt_fd >= 0)
		close(alt_fd);
}

static bool entry_die(const struct objfile *of, const struct dw_entry *e,
		      Dwarf_Die *out)
{
	return dwarf_offdie(e->alt ? of->dwidx->alt : of->dwarf, e->off,
			    out) != NULL;
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	return dwarf_attr_integrate(die, DW_AT_type, &a) &&
	       dwarf_formref_die(&a, out);
}

/* Strip typedefs and qualifiers, and replace a declared-only struct or
 * union by its definition from another unit. */
static int complete_type(struct objfile *of, Dwarf_Die *die)
{
	const struct dw_entry *e;
	const char *name;
	Dwarf_Die peeled;
	int tag, kind;

	if (dwarf_peel_type(die, &peeled) < 0)
		return ph_error(PH_E_ELF, "bad type in DWARF of %s: %s",
				dwarf_file(of), dwarf_errmsg(-1));
	*die = peeled;
	tag = dwarf_tag(die);
	if ((tag != DW_TAG_structure_type && tag != DW_TAG_union_type) ||
	    !dwarf_hasattr(die, DW_AT_declaration))
		return 0;
	kind = tag == DW_TAG_structure_type ? KIND_STRUCT : KIND_UNION;
	name = dwarf_diename(die);
	if (!name)
		return ph_error(PH_E_NOTFOUND, "anonymous incomplete type in "
				"DWARF of %s", dwarf_file(of));
	e = index_get(of->dwidx, name, strlen(name), kind);
	if (!e || !entry_die(of, e, die))
		return ph_error(PH_E_NOTFOUND, "%s %s has no definition in "
				"DWARF of %s", kind == KIND_STRUCT ? "struct" :
				"union", name, dwarf_file(of));
	return 0;
}

/* "PyInterpreterState", "_is", "struct _is", "union _gc_head". */
static int find_type(struct objfile *of, const char *type, Dwarf_Die *out)
{
	static const int any[] = { KIND_TYPEDEF, KIND_STRUCT, KIND_UNION };
	static const int st[] = { KIND_STRUCT }, un[] = { KIND_UNION };
	const int *kinds = any;
	size_t nkinds = PH_ARRAY_SIZE(any), len, i;
	const char *name = type;

	while (*name == ' ')
		name++;
	if (!strncmp(name, "struct ", 7)) {
		kinds = st, nkinds = 1, name += 7;
	} else if (!strncmp(name, "union ", 6)) {
		kinds = un, nkinds = 1, name += 6;
	}
	while (*name == ' ')
		name++;
	len = strlen(name);
	while (len && name[len - 1] == ' ')
		len--;
	for (i = 0; len && i < nkinds; i++) {
		const struct dw_entry *e = index_get(of->dwidx, name, len,
						     kinds[i]);

		if (e && entry_die(of, e, out))
			return complete_type(of, out);
	}
	return ph_error(PH_E_NOTFOUND, "no type %s in DWARF of %s", type,
			dwarf_file(of));
}

int objfile_dwarf_sizeof(struct objfile *of, const char *type, int64_t *size)
{
	Dwarf_Die die;
	Dwarf_Word w;
	int rc = dwarf_ready(of);

	if (rc < 0)
		return rc;
	rc = find_type(of, type, &die);
	if (rc < 0)
		return rc;
	if (dwarf_aggregate_size(&die, &w) != 0 || w > INT64_MAX)
		return ph_error(PH_E_NOTFOUND, "type %s has no size in DWARF "
				"of %s", type, dwarf_file(of));
	*size = (int64_t)w;
	return 0;
}

/* One segment of a member path: "name", "name[3]", "name[1][2]". */
struct segment {
	const char *name;
	size_t len;
	uint64_t idx[MAX_DIMS];
	size_t nidx;
};

static bool parse_segment(const char **pp, struct segment *s)
{
	const char *p = *pp;

	s->name = p;
	while (*p == '_' || (*p >= 'a' && *p <= 'z') ||
	       (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
		p++;
	s->len = (size_t)(p - s->name);
	s->nidx = 0;
	if (!s->len)
		return false;
	while (*p == '[') {
		char *end;

		if (s->nidx == MAX_DIMS || p[1] < '0' || p[1] > '9')
			return false;
		errno = 0;
		s->idx[s->nidx++] = strtoull(p + 1, &end, 0);
		if (errno || *end != ']')
			return false;
		p = end + 1;
	}
	if (*p == '.' && p[1])
		p++;
	else if (*p)
		return false;
	*pp = p;
	return true;
}

/* Byte offset of a member within its struct.  Returns 0, 1 for a bit-field
 * (which has no byte offset of its own), or -1 for unreadable DWARF. */
static int member_offset(Dwarf_Die *m, uint64_t *off)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	Dwarf_Op *ops;
	size_t nops;
	int bitfield = dwarf_hasattr(m, DW_AT_bit_size);

	*off = 0;
	/* Union members may have no location at all: they sit at 0. */
	if (!dwarf_attr(m, DW_AT_data_member_location, &a))
		return bitfield;
	switch (dwarf_whatform(&a)) {
	case DW_FORM_block1:
	case DW_FORM_block2:
	case DW_FORM_block4:
	case DW_FORM_block:
	case DW_FORM_exprloc:
		/* DWARF 2/3 producers wrote the offset as an expression. */
		if (dwarf_getlocation(&a, &ops, &nops) != 0 || nops != 1 ||
		    ops[0].atom != DW_OP_plus_uconst)
			return -1;
		*off = ops[0].number;
		break;
	default:
		if (dwarf_formudata(&a, &w) != 0)
			return -1;
		*off = w;
		break;
	}
	return bitfield;
}

/* Find member `name` of struct/union agg, looking inside anonymous
 * struct/union members too.  *member gets its DIE and *off the offset of
 * the anonymous members it sits in (not its own).  0 found, 1 not found,
 * negative error. */
static int find_member(struct objfile *of, Dwarf_Die *agg, const char *name,
		       size_t len, Dwarf_Die *member, uint64_t *off,
		       int depth)
{
	Dwarf_Die c;
	int r;

	if (depth > MAX_DEPTH)
		return ph_error(PH_E_FORMAT, "anonymous members nest too deep "
				"in DWARF of %s", dwarf_file(of));
	r = dwarf_child(agg, &c);
	if (r != 0)
		return r < 0 ? ph_error(PH_E_ELF, "bad DWARF in %s: %s",
					dwarf_file(of), dwarf_errmsg(-1)) : 1;
	do {
		const char *n;
		Dwarf_Die t;
		uint64_t inner = 0, moff;
		int tag;

		if (dwarf_tag(&c) != DW_TAG_member)
			continue;
		n = dwarf_diename(&c);
		if (n) {
			if (strlen(n) == len && !memcmp(n, name, len)) {
				*member = c;
				*off = 0;
				return 0;
			}
			continue;
		}
		if (!type_of(&c, &t) || complete_type(of, &t) < 0)
			continue;
		tag = dwarf_tag(&t);
		if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
			continue;
		r = find_member(of, &t, name, len, member, &inner, depth + 1);
		if (r < 0)
			return r;
		if (r == 0) {
			if (member_offset(&c, &moff) != 0)
				return ph_error(PH_E_ELF, "bad member offset "
						"in DWARF of %s",
						dwarf_file(of));
			*off = moff + inner;
			return 0;
		}
	} while ((r = dwarf_siblingof(&c, &c)) == 0);
	if (r < 0)
		return ph_error(PH_E_ELF, "bad DWARF in %s: %s", dwarf_file(of),
				dwarf_errmsg(-1));
	return 1;
}

/* Element count of one array dimension, or 0 if unknown (flexible "[]",
 * and the GNU "[0]" idiom for the same). */
static uint64_t subrange_count(Dwarf_Die *sub)
{
	Dwarf_Attribute a;
	Dwarf_Word w, lo = 0;

	if (dwarf_attr(sub, DW_AT_count, &a))
		return dwarf_formudata(&a, &w) == 0 ? w : 0;
	if (!dwarf_attr(sub, DW_AT_upper_bound, &a) ||
	    dwarf_whatform(&a) == DW_FORM_exprloc ||
	    dwarf_formudata(&a, &w) != 0)
		return 0;
	if (dwarf_attr(sub, DW_AT_lower_bound, &a) &&
	    dwarf_formudata(&a, &lo) != 0)
		return 0;
	/* An upper bound of -1 (some producers' "[]") wraps to 0. */
	return w >= lo ? w - lo + 1 : 0;
}

/* Apply the indices of s to the array type *cur (already completed),
 * adding to *total; *cur becomes the element type.  When the indices stop
 * inside a multi-dimensional array, *partial is set and *partial_size is
 * the size of the sub-array they select (0 if unknown). */
static int index_array(struct objfile *of, Dwarf_Die *cur,
		       const struct segment *s, const char *type,
		       uint64_t *total, bool *partial, uint64_t *partial_size)
{
	size_t k = 0;

	*partial = false;
	while (k < s->nidx) {
		uint64_t count[MAX_DIMS], esize;
		Dwarf_Die c, elem;
		Dwarf_Word w;
		size_t nd = 0, d;
		int r;

		if (dwarf_tag(cur) != DW_TAG_array_type)
			return ph_error(PH_E_NOTFOUND, "%.*s in %s is not an "
					"array", (int)s->len, s->name, type);
		for (r = dwarf_child(cur, &c); r == 0;
		     r = dwarf_siblingof(&c, &c)) {
			if (dwarf_tag(&c) != DW_TAG_subrange_type)
				continue;
			if (nd == MAX_DIMS)
				return ph_error(PH_E_FORMAT, "array with too "
						"many dimensions in %s", type);
			count[nd++] = subrange_count(&c);
		}
		if (!nd)
			count[nd++] = 0;
		if (!type_of(cur, &elem))
			return ph_error(PH_E_ELF, "array without element type "
					"in DWARF of %s", dwarf_file(of));
		r = complete_type(of, &elem);
		if (r < 0)
			return r;
		if (dwarf_aggregate_size(&elem, &w) != 0)
			return ph_error(PH_E_NOTFOUND, "element of %.*s in %s "
					"has no size", (int)s->len, s->name,
					type);
		esize = w;
		for (d = 0; d < nd && k < s->nidx; d++, k++) {
			uint64_t stride = esize, i = s->idx[k], e;

			if (count[d] && i >= count[d])
				return ph_error(PH_E_NOTFOUND, "index %" PRIu64
						" of %.*s in %s is out of "
						"bounds (%" PRIu64 ")", i,
						(int)s->len, s->name, type,
						count[d]);
			for (e = d + 1; e < nd; e++)
				if (!count[e] || !ph_mul(stride, count[e],
							 &stride))
					return ph_error(PH_E_NOTFOUND, "%.*s "
							"in %s has an unknown "
							"dimension",
							(int)s->len, s->name,
							type);
			if (!ph_mul(i, stride, &stride) ||
			    !ph_add(*total, stride, total))
				return ph_error(PH_E_NOTFOUND, "index of %.*s "
						"in %s overflows",
						(int)s->len, s->name, type);
		}
		if (d < nd) {
			*partial = true;
			*partial_size = esize;
			for (; d < nd; d++)
				if (!count[d] || !ph_mul(*partial_size,
							 count[d],
							 partial_size))
					*partial_size = 0;
			return 0;
		}
		*cur = elem;
	}
	return 0;
}

int objfile_dwarf_member(struct objfile *of, const char *type,
			 const char *path, int64_t *off, int64_t *size)
{
	const char *p = path;
	uint64_t total = 0, psize = 0;
	bool partial = false;
	Dwarf_Die cur;
	int rc = dwarf_ready(of);

	if (rc < 0)
		return rc;
	rc = find_type(of, type, &cur);
	if (rc < 0)
		return rc;
	while (*p) {
		struct segment s;
		Dwarf_Die member;
		uint64_t anon, moff;
		int tag;

		if (!parse_segment(&p, &s))
			return ph_error(PH_E_NOTFOUND, "bad member path \"%s\"",
					path);
		/* The type of the previous segment is only needed now: a last
		 * member may well be a pointer to an incomplete struct. */
		rc = complete_type(of, &cur);
		if (rc < 0)
			return rc;
		tag = dwarf_tag(&cur);
		if (partial || (tag != DW_TAG_structure_type &&
				tag != DW_TAG_union_type))
			return ph_error(PH_E_NOTFOUND, "cannot look up %.*s in "
					"%s: not inside a struct or union",
					(int)s.len, s.name, type);
		rc = find_member(of, &cur, s.name, s.len, &member, &anon, 0);
		if (rc < 0)
			return rc;
		if (rc > 0)
			return ph_error(PH_E_NOTFOUND, "no member %.*s in %s "
					"(path %s) in DWARF of %s", (int)s.len,
					s.name, type, path, dwarf_file(of));
		rc = member_offset(&member, &moff);
		if (rc < 0)
			return ph_error(PH_E_ELF, "bad offset of %.*s in DWARF "
					"of %s", (int)s.len, s.name,
					dwarf_file(of));
		if (rc > 0)
			return ph_error(PH_E_NOTFOUND, "member %.*s of %s is a "
					"bit-field", (int)s.len, s.name, type);
		if (!ph_add(total, anon, &total) ||
		    !ph_add(total, moff, &total))
			return ph_error(PH_E_FORMAT, "offset of %s in %s "
					"overflows", path, type);
		if (!type_of(&member, &cur))
			return ph_error(PH_E_ELF, "member %.*s without type in "
					"DWARF of %s", (int)s.len, s.name,
					dwarf_file(of));
		if (s.nidx) {
			rc = complete_type(of, &cur);
			if (rc < 0)
				return rc;
			rc = index_array(of, &cur, &s, type, &total, &partial,
					 &psize);
			if (rc < 0)
				return rc;
		}
	}
	if (total > INT64_MAX)
		return ph_error(PH_E_FORMAT, "offset of %s in %s overflows",
				path, type);
	*off = (int64_t)total;
	if (size) {
		Dwarf_Word w;

		/* Flexible arrays and incomplete types have no size: 0. */
		if (partial)
			w = psize;
		else if (complete_type(of, &cur) < 0 ||
			 dwarf_aggregate_size(&cur, &w) != 0 || w > INT64_MAX)
			w = 0;
		*size = (int64_t)w;
	}
	return 0;
}

int objfile_dwarf_offsetof(struct objfile *of, const char *type,
			   const char *path, int64_t *off)
{
	return objfile_dwarf_member(of, type, path, off, NULL);
}
