/*
 * Edge labels (snapshot.h edge_label): what names a reference in Python
 * terms -- a dict entry by its str key, a field by its member name -- for
 * the referents of referents.c, and the edges they label.
 */
#include <string.h>

#include "internal.h"

/* ---- labels ------------------------------------------------------------- */

/* Longest key taken for a label: identifiers, module names; with
 * --labels all, longer keys are left unlabelled rather than cut. */
#define LABEL_MAX 128

bool identifier_like(const char *s, size_t n)
{
	size_t i;

	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/*
 * A dict key's text, when it is a compact ASCII str (PyASCIIObject:
 * state bits 0-1 interned, 5 compact, 6 ascii; Include/cpython/
 * unicodeobject.h 3.7-3.15, the data right after the struct) that
 * c->labels lets through: by default an interned identifier-like one --
 * or, for the value of a module (sys.modules' keys: a module's name,
 * never data, and not always interned), any identifier-like one; any
 * printable one with --labels all.  Keys repeat (every instance of a
 * class has the same attribute names), so each key's text is kept, with
 * bit 32 set when the key is interned.
 */
uint32_t census_key_label(struct census *c, uint64_t key, uint64_t value)
{
	const struct py_layout *L = c->L;
	uint64_t v, state, len;
	char buf[LABEL_MAX];
	struct py_str_bits sb;
	uint32_t label = 0;
	bool interned = false;
	int64_t idx;
	size_t i;

	if (c->labels == LABELS_NONE || !key)
		return 0;
	if (!u64map_get(&c->key_labels, key, &v)) {
		idx = census_ref(c, key);
		if (idx < 0)
			goto out;
		if (c->p->major == 2) {
			/* 2.7's str (stringobject.h): ob_size bytes at
			 * ob_sval, ob_sstate 1 or 2 when interned. */
			if (c->tinfos[c->objs[idx].tinfo].kind != K_BYTES ||
			    py_read_field(c->t, L, key, PY_F_OB_SIZE, &len) ||
			    py_read_field(c->t, L, key, PY_F_BYTES_SSTATE,
					  &state) ||
			    !len || len > LABEL_MAX ||
			    target_read(c->t, key +
					(uint64_t)L->off[PY_F_BYTES_SVAL],
					buf, (size_t)len))
				goto out;
			interned = (uint32_t)state != 0;
		} else {
			if (c->tinfos[c->objs[idx].tinfo].kind != K_STR ||
			    py_read_field(c->t, L, key, PY_F_STR_STATE,
					  &state) ||
			    py_read_field(c->t, L, key, PY_F_STR_LENGTH, &len))
				goto out;
			sb = py_str_bits(L, state);
			interned = sb.interned;
			if (!sb.compact || !sb.ascii || !len || len > LABEL_MAX)
				goto out;
			if (target_read(c->t, key +
					(uint64_t)L->size[PY_S_ASCII], buf,
					(size_t)len))
				goto out;
		}
		if (c->labels == LABELS_IDENTIFIERS) {
			if (!identifier_like(buf, (size_t)len))
				goto out;
		} else {
			for (i = 0; i < len; i++)
				if (buf[i] < 0x20 || buf[i] > 0x7e)
					goto out;
		}
		label = snapshot_string(c->s, buf, (size_t)len);
		if (label > EDGE_LABEL_MAX)
			label = 0;
out:
		v = label | (uint64_t)interned << 32;
		u64map_put(&c->key_labels, key, v);
	}
	if (c->labels == LABELS_IDENTIFIERS && !(v >> 32)) {
		int64_t vi = value ? census_ref(c, value) : -1;

		if (vi < 0 || c->tinfos[c->objs[vi].tinfo].kind != K_MODULE)
			return 0;
	}
	return (uint32_t)v;
}

/* A dict entry's value edge: labelled with its key. */
uint32_t key_label(struct census *c, uint64_t key, uint64_t value)
{
	uint32_t l = census_key_label(c, key, value);

	return l ? EDGE_LABEL_KEY | l : 0;
}

/* The Python name of a field that holds a reference, for its edge's
 * label ("__dict__", "__closure__", "f_back"), or NULL. */
static const char *field_name(enum py_field f)
{
	switch (f) {
	case PY_F_FUNC_CODE: return "__code__";
	case PY_F_FUNC_GLOBALS: return "__globals__";
	case PY_F_FUNC_BUILTINS: return "__builtins__";
	case PY_F_FUNC_NAME: case PY_F_HT_NAME: case PY_F_MOD_NAME:
	case PY_F_GEN_NAME: return "__name__";
	case PY_F_FUNC_QUALNAME: case PY_F_HT_QUALNAME:
	case PY_F_GEN_QUALNAME: return "__qualname__";
	case PY_F_FUNC_DEFAULTS: return "__defaults__";
	case PY_F_FUNC_KWDEFAULTS: return "__kwdefaults__";
	case PY_F_FUNC_CLOSURE: return "__closure__";
	case PY_F_FUNC_DOC: return "__doc__";
	case PY_F_FUNC_DICT: case PY_F_MOD_DICT: case PY_F_TP_DICT:
		return "__dict__";
	case PY_F_FUNC_MODULE: case PY_F_CF_MODULE: return "__module__";
	case PY_F_FUNC_ANNOTATIONS: return "__annotations__";
	case PY_F_FUNC_TYPEPARAMS: return "__type_params__";
	case PY_F_CO_CONSTS: return "co_consts";
	case PY_F_CO_NAMES: return "co_names";
	case PY_F_CO_FILENAME: return "co_filename";
	case PY_F_CO_NAME: return "co_name";
	case PY_F_CO_QUALNAME: return "co_qualname";
	case PY_F_TP_MRO: return "__mro__";
	case PY_F_TP_BASES: return "__bases__";
	case PY_F_TP_BASE: return "__base__";
	case PY_F_HT_SLOTS: return "__slots__";
	case PY_F_METH_FUNC: return "__func__";
	case PY_F_METH_SELF: case PY_F_CF_SELF: return "__self__";
	case PY_F_FO_BACK: return "f_back";
	case PY_F_FO_CODE: return "f_code";
	case PY_F_FO_GLOBALS: return "f_globals";
	case PY_F_FO_BUILTINS: return "f_builtins";
	case PY_F_FO_LOCALS: return "f_locals";
	case PY_F_FO_TRACE: return "f_trace";
	case PY_F_GEN_FRAME: return "gi_frame";
	case PY_F_GEN_CODE: return "gi_code";
	case PY_F_CELL_REF: return "cell_contents";
	case PY_F_WR_CALLBACK: return "__callback__";
	case PY_F_TP_SUBCLASSES: return "__subclasses__";
	default: return NULL;
	}
}

uint32_t field_label(struct census *c, enum py_field f)
{
	const char *name;

	if (c->labels == LABELS_NONE)
		return 0;
	if (!c->field_labels[f]) {
		name = field_name(f);
		c->field_labels[f] = 1 + (name ? snapshot_cstring(c->s, name) :
					  0);
	}
	return c->field_labels[f] - 1;
}

/* Edges to the n pointers at addr, the fields names[0..n) of a struct
 * the layout tables do not cover (a traceback, an exception). */
void edge_named(struct census *c, uint32_t src, uint64_t addr,
		       const char *const *names, size_t n)
{
	uint64_t buf[8];
	size_t i, k;

	if (n > PH_ARRAY_SIZE(buf) || target_read(c->t, addr, buf, n * 8))
		return;
	for (i = 0; i < n; i++) {
		uint32_t label = 0;

		/* The names are static: their ids are kept by address (a
		 * few dozen), not hashed again for every descriptor. */
		for (k = 0; c->labels != LABELS_NONE && k < c->nnamed; k++)
			if (c->named[k].name == names[i]) {
				label = c->named[k].id;
				break;
			}
		if (c->labels != LABELS_NONE && k == c->nnamed) {
			label = snapshot_cstring(c->s, names[i]);
			if (c->nnamed < PH_ARRAY_SIZE(c->named)) {
				c->named[c->nnamed].name = names[i];
				c->named[c->nnamed++].id = label;
			}
		}
		census_edge_l(c, src, buf[i], label);
	}
}
