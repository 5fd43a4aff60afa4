#include <stdlib.h>
#include <string.h>

#include "python.h"

/* Walk bounds (python.h): enough for any real process, small enough that
 * a cycle planted in target memory ends quickly. */
#define MAX_INTERPS 64
#define MAX_THREADS 4096
#define MAX_FRAMES 4096
#define MAX_NAME 1024
#define MAX_LINETABLE (1u << 20)
/* Live slots of one interpreter frame: co_nlocalsplus + co_stacksize,
 * both small ints in practice. */
#define MAX_SLOTS (1u << 16)
/* The bounds above are per list; these bound the whole walk, so that a
 * target whose threads all loop through one frame with a megabyte line
 * table and 65536 live slots costs seconds and megabytes, not hours and
 * gigabytes: frames and threads in all, line table bytes read (frames
 * past it get no line number), and references kept as roots. */
#define MAX_TOTAL_FRAMES (1u << 17)
#define MAX_TOTAL_THREADS (1u << 14)
#define MAX_TOTAL_LINETABLE (64u << 20)
#define MAX_TOTAL_REFS (1u << 22)

/* One py_read_stacks(): the process and what is left of the budget. */
struct walk {
	struct pyproc *p;
	uint64_t frames_left, threads_left, table_bytes_left, refs_left;
};

/* Spend one of *left: false if none is left. */
static bool take(uint64_t *left)
{
	if (!*left)
		return false;
	(*left)--;
	return true;
}

/*
 * Line numbers.  A frame records where it is as an instruction offset; the
 * code object maps offsets to lines with a table whose format changed
 * twice.  Each decoder below follows CPython's own PyCode_Addr2Line for
 * that version and returns the line of the range containing `addr` (a byte
 * offset into co_code), or -1 (no line / not found).
 */

/* <= 3.9: co_lnotab, (addr_incr, line_incr) byte pairs; line_incr is
 * signed since 3.6 (Objects/lnotab_notes.txt), unsigned in 2.7 (a jump
 * of 300 lines is 255 then 45). */
static int lnotab_line(const unsigned char *tab, size_t len, int firstlineno,
		       int addr, bool signed_incr)
{
	int line = firstlineno, a = 0;
	size_t i;

	if (addr < 0)
		return firstlineno;
	for (i = 0; i + 1 < len; i += 2) {
		a += tab[i];
		if (a > addr)
			break;
		line += signed_incr ? (signed char)tab[i + 1] : tab[i + 1];
	}
	return line;
}

int py_lnotab_line(const unsigned char *tab, size_t len, int firstlineno,
		   int addr)
{
	return lnotab_line(tab, len, firstlineno, addr, true);
}

/* 3.10: co_linetable, (start_delta, line_delta) pairs; line_delta -128
 * means "no line" (3.10 Objects/lnotab_notes.txt, codeobject.c advance()). */
int py_linetable310_line(const unsigned char *tab, size_t len,
			 int firstlineno, int addr)
{
	int line = firstlineno, start, end = 0;
	size_t i;

	if (addr < 0)
		return firstlineno;
	for (i = 0; i + 1 < len; i += 2) {
		int ldelta = (signed char)tab[i + 1];

		start = end;
		end += tab[i];
		if (ldelta != -128)
			line += ldelta;
		if (addr >= start && addr < end)
			return ldelta == -128 ? -1 : line;
	}
	return -1;
}

static int read_varint(const unsigned char *tab, size_t len, size_t *i,
		       unsigned *out)
{
	unsigned val, shift = 0, b;

	if (*i >= len)
		return -1;
	b = tab[(*i)++];
	val = b & 63;
	while (b & 64) {
		if (*i >= len || shift > 24)
			return -1;
		b = tab[(*i)++];
		shift += 6;
		val |= (b & 63) << shift;
	}
	*out = val;
	return 0;
}

/*
 * 3.11+: the location table (Objects/locations.md).  Each entry starts
 * with a byte whose top bit is set: bits 3-6 the code, bits 0-2 the length
 * in code units minus one.  Codes 0-9 (short forms) and 10-12 (one-line
 * forms, delta = code - 10) carry the line delta implicitly; 13 (no
 * columns) and 14 (long form) start with a signed varint delta; 15 means
 * "no location".  Columns follow but do not matter here.
 */
int py_locations_line(const unsigned char *tab, size_t len, int firstlineno,
		      int addr)
{
	int line = firstlineno, start = 0;
	size_t i = 0;

	if (addr < 0)
		return firstlineno;
	while (i < len) {
		unsigned b = tab[i], code = (b >> 3) & 15, u;
		int delta = 0, end = start + (int)((b & 7) + 1) * 2;
		size_t j = i + 1;

		if (!(b & 0x80))
			return -1; /* lost sync: not an entry start */
		if (code == 13 || code == 14) {
			if (read_varint(tab, len, &j, &u))
				return -1;
			delta = (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
		} else if (code >= 10 && code <= 12) {
			delta = (int)code - 10;
		}
		line += delta;
		if (addr >= start && addr < end)
			return code == 15 ? -1 : line;
		start = end;
		/* Skip the rest of the entry: up to the next start byte. */
		i++;
		while (i < len && !(tab[i] & 0x80))
			i++;
	}
	return -1;
}

/* ---- reading frames ---------------------------------------------------- */

static char *read_name(struct pyproc *p, uint64_t addr)
{
	struct strbuf sb = STRBUF_INIT;

	if (!addr || py_read_str(p, addr, &sb, MAX_NAME)) {
		strbuf_release(&sb);
		return xstrdup("?");
	}
	return strbuf_detach(&sb, NULL);
}

/* Line of byte offset addr in the code object described by co. */
static int code_line(struct walk *w, const struct py_obj *co, int64_t addr)
{
	struct pyproc *p = w->p;
	const struct py_layout *L = &p->L;
	enum py_field tabf = py_has(L, PY_F_CO_LINETABLE) ? PY_F_CO_LINETABLE :
			     PY_F_CO_LNOTAB;
	struct strbuf tab = STRBUF_INIT;
	int64_t first;
	int line = -1;

	if (py_get_i64(L, co, PY_F_CO_FIRSTLINENO, &first) ||
	    first < 0 || first > (1 << 30))
		return -1;
	if (addr < 0 || addr > (1 << 30))
		return (int)first;
	if (!w->table_bytes_left ||
	    py_read_bytes(p, py_get_ptr(L, co, tabf), &tab,
			  PH_MIN(MAX_LINETABLE, w->table_bytes_left)))
		goto out;
	w->table_bytes_left -= tab.len;
	if (p->minor <= 9)
		line = lnotab_line((unsigned char *)tab.buf, tab.len,
				   (int)first, (int)addr, p->major >= 3);
	else if (p->minor == 10)
		line = py_linetable310_line((unsigned char *)tab.buf, tab.len,
					    (int)first, (int)addr);
	else
		line = py_locations_line((unsigned char *)tab.buf, tab.len,
					 (int)first, (int)addr);
out:
	strbuf_release(&tab);
	return line;
}

static void add_frame(struct walk *w, struct py_thread *th,
		      const struct py_obj *co, int64_t addr)
{
	struct pyproc *p = w->p;
	const struct py_layout *L = &p->L;
	struct py_frame *f;

	PH_GROW(th->frames, th->frames_alloc, th->nframes + 1);
	f = &th->frames[th->nframes++];
	memset(f, 0, sizeof(*f));
	f->code = co->addr;
	f->function = read_name(p, py_get_ptr(L, co, PY_F_CO_NAME));
	f->file = read_name(p, py_get_ptr(L, co, PY_F_CO_FILENAME));
	if (py_has(L, PY_F_CO_QUALNAME))
		f->qualname = read_name(p, py_get_ptr(L, co, PY_F_CO_QUALNAME));
	f->line = code_line(w, co, addr);
}

/* addr, 8-aligned, with PY_REF_BORROWED when the thread holds it without
 * owning a reference (python.h). */
static void add_named_ref(struct walk *w, struct py_thread *th,
			  uint64_t addr, bool borrowed, const char *name)
{
	if (!addr || (addr & 7) || !take(&w->refs_left))
		return;
	PH_GROW(th->refs, th->refs_alloc, th->nrefs + 1);
	PH_GROW(th->ref_names, th->ref_names_alloc, th->nrefs + 1);
	th->ref_names[th->nrefs] = name ? xstrdup(name) : NULL;
	th->refs[th->nrefs++] = addr | (borrowed ? PY_REF_BORROWED : 0);
}

static void add_ref(struct walk *w, struct py_thread *th, uint64_t addr,
		    bool borrowed)
{
	add_named_ref(w, th, addr, borrowed, NULL);
}

/*
 * "FUNC() local NAME" for localsplus slot i into sb, or false: the name
 * is item i of co_localsplusnames (names, a tuple of str,
 * Include/cpython/code.h 3.11+; locals, then cells, then free variables,
 * in slot order); fn the function's co_qualname, read once per frame.
 * Names are identifiers the code was compiled with, no user data.  Read
 * from the copied image: no cost to the target.
 */
static bool local_name(struct pyproc *p, uint64_t names, int64_t i,
		       const char *fn, struct strbuf *sb)
{
	struct strbuf var = STRBUF_INIT;
	uint64_t item;
	bool ok;

	ok = names && !target_read_u64(p->t, names +
				       (uint64_t)p->L.off[PY_F_TUPLE_ITEM] +
				       8 * (uint64_t)i, &item) &&
	     !py_read_str(p, item, &var, 64);
	strbuf_reset(sb);
	if (ok)
		strbuf_addf(sb, "%s() local %s", fn, var.buf);
	strbuf_release(&var);
	return ok;
}

/* co_localsplusnames of co when it is a tuple of at least n items,
 * else 0. */
static uint64_t localsplus_names(struct pyproc *p, const struct py_obj *co,
				 int64_t n)
{
	const struct py_layout *L = &p->L;
	struct py_obj tu;
	uint64_t names;
	int64_t size;

	if (!co || !py_has(L, PY_F_CO_LOCALSPLUSNAMES))
		return 0;
	names = py_get_ptr(L, co, PY_F_CO_LOCALSPLUSNAMES);
	if (!names || !py_is_type(p, names, PY_T_TUPLE) ||
	    py_read_struct(p->t, L, PY_S_TUPLE, names, &tu) ||
	    py_get_i64(L, &tu, PY_F_OB_SIZE, &size) || size < n)
		return 0;
	return names;
}

/*
 * The object a _PyStackRef names (3.14+, Include/internal/pycore_stackref.h):
 * the low two bits are tags (Py_TAG_REFCNT 1: a borrowed or immortal
 * reference; the free-threaded Py_TAG_DEFERRED 1), both set mark a tagged
 * small int that is no object (Py_INT_TAG 3), and values up to 3 are NULL
 * or invalid (PyStackRef_NULL_BITS 1, 3.15 Py_TAG_INVALID 2).  The plain,
 * 8-aligned PyObject pointers of 3.11-3.13 pass through unchanged.
 */
static uint64_t stackref_obj(uint64_t bits)
{
	if (bits <= 3 || (bits & 3) == 3)
		return 0;
	return bits & ~3ull;
}

/* The number of live localsplus slots of a 3.11+ frame: stacktop (3.11-
 * 3.13, a count) or stackpointer (3.14+, a pointer past the last live
 * slot; NULL while a collection runs inside PyStackRef_CLOSE, gh-129236,
 * when only the locals are known: co_nlocalsplus of code). */
static int64_t live_slots(struct walk *w, const struct py_obj *fr,
			  const struct py_obj *co)
{
	const struct py_layout *L = &w->p->L;
	uint64_t sp, base;
	int64_t top;

	if (py_has(L, PY_F_IF_STACKPOINTER)) {
		base = fr->addr + (uint64_t)L->off[PY_F_IF_LOCALSPLUS];
		sp = py_get_ptr(L, fr, PY_F_IF_STACKPOINTER);
		if (sp && (sp < base || (sp - base) % 8))
			return -1;
		if (sp)
			return (int64_t)((sp - base) / 8);
		if (co && !py_get_i64(L, co, PY_F_CO_NLOCALSPLUS, &top))
			return top;
		return -1;
	}
	if (py_get_i64(L, fr, PY_F_IF_STACKTOP, &top))
		return -1;
	return top;
}

/* The objects a 3.11+ interpreter frame holds
 * (Include/internal/pycore_frame.h; 3.14+ pycore_interpframe_structs.h):
 * its function, code, globals, builtins, locals, frame object, and its
 * live localsplus slots.  co is its code object, or NULL; owner its
 * enum _frameowner. */
static void add_iframe_refs(struct walk *w, struct py_thread *th,
			    const struct py_obj *fr, const struct py_obj *co,
			    uint64_t owner)
{
	struct pyproc *p = w->p;
	static const enum py_field ptrs[] = {
		PY_F_IF_CODE, PY_F_IF_FUNC, PY_F_IF_GLOBALS, PY_F_IF_BUILTINS,
		PY_F_IF_LOCALS, PY_F_IF_FRAME_OBJ,
	};
	const struct py_layout *L = &p->L;
	struct strbuf name = STRBUF_INIT, fn = STRBUF_INIT;
	uint64_t *slots, names;
	int64_t top, nlocals;
	size_t i;

	/* f_globals and f_builtins are borrowed (pycore_frame.h 3.11+);
	 * a 3.14+ _PyStackRef tagged Py_TAG_REFCNT (bit 0) is borrowed or
	 * immortal. */
	for (i = 0; i < PH_ARRAY_SIZE(ptrs); i++) {
		uint64_t v = py_get_ptr(L, fr, ptrs[i]);

		add_ref(w, th, stackref_obj(v), ptrs[i] == PY_F_IF_GLOBALS ||
			ptrs[i] == PY_F_IF_BUILTINS ||
			(L->minor >= 14 && (v & 1)));
	}
	top = live_slots(w, fr, co);
	if (!co || py_get_i64(L, co, PY_F_CO_NLOCALSPLUS, &nlocals) ||
	    nlocals < 0 || nlocals > MAX_SLOTS)
		nlocals = 0;
	/* A frame that is running keeps its stack pointer in a register:
	 * 3.11-3.13 leave stacktop at -1 until it calls out or yields.  Its
	 * locals, cells and free variables (the first co_nlocalsplus slots)
	 * are always live -- NULL or owned -- so they are read whatever the
	 * stack pointer says; the value stack above them only when it is
	 * known.  Not for a frame a generator or frame object owns
	 * (FRAME_OWNED_BY_GENERATOR 1, _FRAME_OBJECT 2): its owner's
	 * referents hold those (objects/referents.c). */
	if (top < nlocals && owner == 0)
		top = nlocals;
	if (top <= 0 || top > MAX_SLOTS || !py_has(L, PY_F_IF_LOCALSPLUS))
		return;
	if ((uint64_t)top > w->refs_left)
		top = (int64_t)w->refs_left;
	if (!top)
		return;
	/* The value stack above the locals is written back to the frame
	 * only when the interpreter calls out: a thread stopped while it
	 * runs leaves stale slots there, holding objects it no longer owns.
	 * They stay roots (an object they name is kept alive) but are not
	 * counted as owned references (refcount.c). */
	slots = xmalloc((size_t)top * 8);
	names = localsplus_names(p, co, PH_MIN(nlocals, top));
	if (names && py_read_str(p, py_get_ptr(L, co,
					       py_has(L, PY_F_CO_QUALNAME) ?
					       PY_F_CO_QUALNAME : PY_F_CO_NAME),
				 &fn, 96))
		names = 0;
	if (!target_read(p->t, fr->addr + (uint64_t)L->off[PY_F_IF_LOCALSPLUS],
			 slots, (size_t)top * 8))
		for (i = 0; i < (size_t)top; i++) {
			uint64_t obj = stackref_obj(slots[i]);
			bool named = obj && (int64_t)i < nlocals &&
				     local_name(p, names, (int64_t)i, fn.buf,
						&name);

			add_named_ref(w, th, obj, (int64_t)i >= nlocals ||
				      (L->minor >= 14 && (slots[i] & 1)),
				      named ? name.buf : NULL);
		}
	free(slots);
	strbuf_release(&name);
	strbuf_release(&fn);
}

/* Read the code object at addr into co; false if it is not a code object. */
static bool read_code(struct pyproc *p, uint64_t addr, struct py_obj *co)
{
	return addr && py_is_type(p, addr, PY_T_CODE) &&
	       !py_read_struct(p->t, &p->L, PY_S_CODE, addr, co);
}

/* <= 3.10: a chain of PyFrameObjects from tstate->frame through f_back. */
static void walk_frame_objects(struct walk *w, struct py_thread *th,
			       uint64_t f)
{
	struct pyproc *p = w->p;
	const struct py_layout *L = &p->L;
	struct py_obj fo, co;

	while (f) {
		int64_t lasti;

		if (th->nframes >= MAX_FRAMES || !take(&w->frames_left) ||
		    py_read_struct(p->t, L, PY_S_FRAMEOBJ, f, &fo) ||
		    !read_code(p, py_get_ptr(L, &fo, PY_F_FO_CODE), &co) ||
		    py_get_i64(L, &fo, PY_F_FO_LASTI, &lasti)) {
			th->truncated = true;
			return;
		}
		/* 3.10 counts f_lasti in code units, earlier versions in bytes
		 * (3.10 frameobject.c PyFrame_GetLineNumber). */
		if (p->minor == 10 && lasti >= 0)
			lasti *= 2;
		add_frame(w, th, &co, lasti);
		/* The frame object holds its locals; the reference to it
		 * is the C stack's (the eval loop's), not counted. */
		add_ref(w, th, f, true);
		f = py_get_ptr(L, &fo, PY_F_FO_BACK);
	}
}

/* 3.11+: _PyInterpreterFrames linked through `previous`. */
static void walk_interpreter_frames(struct walk *w, struct py_thread *th,
				    uint64_t f)
{
	struct pyproc *p = w->p;
	const struct py_layout *L = &p->L;
	struct py_obj fr, co;
	size_t steps = 0;

	while (f) {
		uint64_t instr, owner, code_start;
		int64_t first_traceable = 0;
		bool has_code;

		if (++steps > MAX_FRAMES || !take(&w->frames_left) ||
		    py_read_struct(p->t, L, PY_S_IFRAME, f, &fr) ||
		    py_get_u64(L, &fr, PY_F_IF_OWNER, &owner)) {
			th->truncated = true;
			return;
		}
		has_code = read_code(p, stackref_obj(py_get_ptr(L, &fr,
							       PY_F_IF_CODE)),
				     &co);
		/* Owners from 3 on are not Python code: FRAME_OWNED_BY_CSTACK
		 * (3, 3.12-3.13), FRAME_OWNED_BY_INTERPRETER (3) and _CSTACK
		 * (4) in 3.14, the interpreter's (3) in 3.15: shims pushed
		 * where C code enters the interpreter (enum _frameowner;
		 * CPython's own GC skips owner >= 3 too).  They hold no
		 * reference: _PyEval_EvalFrameDefault's entry_frame is a C
		 * local that sets only its code (the trampoline, borrowed, or
		 * None), owner and stack; f_funcobj, f_locals, frame_obj,
		 * f_globals and f_builtins are written only #ifdef Py_DEBUG
		 * (Python/ceval.c), so a release build leaves whatever the C
		 * stack held there -- a stale pointer to the module's dict
		 * counted as its reference, live_garbage on 3.13.  Incomplete
		 * frames (below) do hold theirs. */
		if (p->minor >= 12 && owner >= 3)
			goto next;
		add_iframe_refs(w, th, &fr, has_code ? &co : NULL, owner);
		/* 3.13's f_executable may be something other than code
		 * (Include/internal/pycore_frame.h); skip those frames. */
		if (!has_code) {
			if (p->minor >= 13)
				goto next;
			th->truncated = true;
			return;
		}
		instr = py_get_ptr(L, &fr, PY_F_IF_INSTR);
		code_start = co.addr + (uint64_t)L->off[PY_F_CO_CODE_ADAPTIVE];
		/* An "incomplete" frame has not run its first traceable
		 * instruction yet; CPython hides it from tracebacks too
		 * (_PyFrame_IsIncomplete).  Generators' frames never are. */
		if (py_has(L, PY_F_CO_FIRSTTRACEABLE))
			py_get_i64(L, &co, PY_F_CO_FIRSTTRACEABLE,
				   &first_traceable);
		if (owner != 1 && instr < code_start + 2 * (uint64_t)first_traceable)
			goto next;
		add_frame(w, th, &co,
			  instr >= code_start ? (int64_t)(instr - code_start) : -1);
next:
		f = py_get_ptr(L, &fr, PY_F_IF_PREVIOUS);
	}
}

static pid_t tid_of_pthread(const struct target *t, uint64_t pthread)
{
	size_t i;

	/* On x86_64 glibc, pthread_t is the thread's TCB address, which is
	 * also its fs base register (nptl/descr.h: header.self). */
	for (i = 0; i < t->nthreads; i++)
		if (t->threads[i].fs_base == pthread)
			return t->threads[i].tid;
	return 0;
}

static int read_thread(struct walk *w, uint64_t interp, uint64_t ts,
		       uint64_t gil_holder, struct py_thread *th)
{
	struct pyproc *p = w->p;
	const struct py_layout *L = &p->L;
	struct py_obj o;
	uint64_t v;

	memset(th, 0, sizeof(*th));
	th->tstate = ts;
	if (py_read_struct(p->t, L, PY_S_TSTATE, ts, &o))
		return -PH_E_READ;
	if (py_get_ptr(L, &o, PY_F_TS_INTERP) != interp)
		return ph_error(PH_E_CORRUPT,
				"thread state %#llx does not point back to its "
				"interpreter", (unsigned long long)ts);
	th->thread_id = py_get_ptr(L, &o, PY_F_TS_THREAD_ID);
	if (!py_get_u64(L, &o, PY_F_TS_NATIVE_THREAD_ID, &v) && v &&
	    v < (1u << 30))
		th->tid = (pid_t)v;
	else
		th->tid = tid_of_pthread(p->t, th->thread_id);
	th->holds_gil = gil_holder && gil_holder == ts;
	{
		static const enum py_field held[] = {
			PY_F_TS_DICT, PY_F_TS_CUREXC_TYPE, PY_F_TS_CUREXC_VALUE,
			PY_F_TS_CUREXC_TRACEBACK, PY_F_TS_CURRENT_EXCEPTION,
			PY_F_TS_ASYNC_EXC, PY_F_TS_CONTEXT,
		};
		size_t i;

		for (i = 0; i < PH_ARRAY_SIZE(held); i++)
			if (py_has(L, held[i]))
				add_ref(w, th, py_get_ptr(L, &o, held[i]),
					false);
	}

	if (py_has(L, PY_F_TS_FRAME)) {
		walk_frame_objects(w, th, py_get_ptr(L, &o, PY_F_TS_FRAME));
	} else if (py_has(L, PY_F_TS_CURRENT_FRAME)) {
		walk_interpreter_frames(w, th,
			py_get_ptr(L, &o, PY_F_TS_CURRENT_FRAME));
	} else if (py_has(L, PY_F_TS_CFRAME)) {
		uint64_t cf = py_get_ptr(L, &o, PY_F_TS_CFRAME);

		if (cf && !py_read_field(p->t, L, cf, PY_F_CF_CURRENT_FRAME, &v))
			walk_interpreter_frames(w, th, v);
	}
	return 0;
}

/* The thread state holding the GIL, or 0: <= 3.11 the runtime's
 * gilstate.tstate_current (cleared on release); 3.12+ the GIL struct the
 * interpreter points to, if it is locked. */
static uint64_t gil_holder(struct pyproc *p, uint64_t interp)
{
	const struct py_layout *L = &p->L;
	uint64_t v, gil, locked;

	/* 2.7: _PyThreadState_Current (pystate.c), NULL while released. */
	if (p->major == 2)
		return p->tstate_current &&
		       !target_read_u64(p->t, p->tstate_current, &v) ? v : 0;
	if (py_has(L, PY_F_RT_TSTATE_CURRENT))
		return py_read_field(p->t, L, p->runtime,
				     PY_F_RT_TSTATE_CURRENT, &v) ? 0 : v;
	if (py_has(L, PY_F_IS_CEVAL_GIL) &&
	    !py_read_field(p->t, L, interp, PY_F_IS_CEVAL_GIL, &gil) && gil &&
	    !py_read_field(p->t, L, gil, PY_F_GIL_LOCKED, &locked) && locked &&
	    !py_read_field(p->t, L, gil, PY_F_GIL_LAST_HOLDER, &v))
		return v;
	return 0;
}

int py_read_stacks(struct pyproc *p, struct py_stacks *out)
{
	/* The first one and the str members are 3.x's: 2.7 has no
	 * _PyRuntime (interp_head instead) and its str is a bytes object. */
	static const enum py_field need[] = {
		PY_F_RT_INTERP_HEAD, PY_F_STR_STATE, PY_F_STR_LENGTH,
		PY_F_IS_NEXT, PY_F_IS_THREADS_HEAD,
		PY_F_TS_NEXT, PY_F_TS_INTERP, PY_F_CO_NAME, PY_F_CO_FILENAME,
		PY_F_CO_FIRSTLINENO, PY_F_OB_TYPE, PY_F_OB_SIZE,
		PY_F_BYTES_SVAL,
	};
	size_t skip = p->major == 2 ? 3 : 0;
	const struct py_layout *L = &p->L;
	struct walk w = { p, MAX_TOTAL_FRAMES, MAX_TOTAL_THREADS,
			  MAX_TOTAL_LINETABLE, MAX_TOTAL_REFS };
	uint64_t interp;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = py_require(L, need + skip, PH_ARRAY_SIZE(need) - skip, "stacks");
	if (rc)
		return rc;
	if (p->major == 2) {
		if (target_read_u64(p->t, p->interp_head, &interp))
			return ph_error(PH_E_READ, "cannot read interp_head at "
					"%#llx",
					(unsigned long long)p->interp_head);
	} else if (py_read_field(p->t, L, p->runtime, PY_F_RT_INTERP_HEAD,
				 &interp)) {
		return ph_error_context(-PH_E_READ, "_PyRuntime at %#llx",
					(unsigned long long)p->runtime);
	}
	if (!interp)
		return ph_error(PH_E_NOTPYTHON,
				"process %d has no Python interpreter (not "
				"initialised yet, or finalised)", (int)p->t->pid);

	while (interp) {
		struct py_interp *pi;
		uint64_t ts, v, holder;
		size_t i;

		for (i = 0; i < out->ninterps; i++)
			if (out->interps[i].addr == interp)
				return 0; /* cycle */
		if (out->ninterps >= MAX_INTERPS)
			break;
		PH_GROW(out->interps, out->interps_alloc, out->ninterps + 1);
		pi = &out->interps[out->ninterps++];
		memset(pi, 0, sizeof(*pi));
		pi->addr = interp;
		if (!py_read_field(p->t, L, interp, PY_F_IS_ID, &v))
			pi->id = (int64_t)v;
		holder = gil_holder(p, interp);
		if (py_read_field(p->t, L, interp, PY_F_IS_THREADS_HEAD, &ts)) {
			/* The interpreters already read stay; an unreadable
			 * first one is an error, and leaves nothing. */
			if (out->ninterps > 1) {
				out->ninterps--;
				break;
			}
			py_stacks_release(out);
			return ph_error_context(-PH_E_READ, "interpreter %#llx",
						(unsigned long long)interp);
		}
		while (ts && pi->nthreads < MAX_THREADS &&
		       take(&w.threads_left)) {
			struct py_thread th;

			for (i = 0; i < pi->nthreads; i++)
				if (pi->threads[i].tstate == ts)
					break;
			if (i < pi->nthreads)
				break; /* cycle */
			if (read_thread(&w, interp, ts, holder, &th)) {
				ph_debug(1, "stopping thread walk: %s",
					 ph_errmsg());
				break;
			}
			PH_GROW(pi->threads, pi->threads_alloc,
				pi->nthreads + 1);
			pi->threads[pi->nthreads++] = th;
			if (py_read_field(p->t, L, ts, PY_F_TS_NEXT, &ts))
				break;
		}
		if (py_read_field(p->t, L, interp, PY_F_IS_NEXT, &interp))
			break;
	}
	return 0;
}

void py_stacks_release(struct py_stacks *s)
{
	size_t i, j, k;

	for (i = 0; i < s->ninterps; i++) {
		struct py_interp *pi = &s->interps[i];

		for (j = 0; j < pi->nthreads; j++) {
			struct py_thread *th = &pi->threads[j];

			for (k = 0; k < th->nframes; k++) {
				free(th->frames[k].function);
				free(th->frames[k].qualname);
				free(th->frames[k].file);
			}
			free(th->frames);
			for (k = 0; k < th->nrefs; k++)
				free(th->ref_names[k]);
			free(th->ref_names);
			free(th->refs);
		}
		free(pi->threads);
	}
	free(s->interps);
	memset(s, 0, sizeof(*s));
}
