/*
 * Reading tracemalloc's tables from outside (tracemalloc.h).
 *
 * Why Brent and not a visited set: a chain is a singly linked list whose
 * links we cannot trust; Brent's check finds a cycle in O(length) steps
 * with two words of state, and the entries it saw twice before noticing are
 * the duplicate keys tm_finish() drops.  The global bound (four times the
 * table's own entry count, capped by mapped memory) keeps a walk finite
 * however the links are laid; a consistent table never comes near it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracemalloc.h"

/* Reads of the bucket array, in slices. */
#define BUCKET_BATCH 4096
/* A table with more buckets than this is not tracemalloc's (it would need
 * 2^32 * 8 bytes of heads). */
#define MAX_BUCKETS (1ull << 32)
/* tracemalloc sizes are size_t; no single allocation is larger. */
#define MAX_TRACE_SIZE (1ull << 48)
/* A domains table with more entries than this is garbage. */
#define MAX_DOMAINS 4096
/* Entries a table may have beyond its own count: a target stopped in
 * the middle of an insert has linked the entry before counting it. */
#define ENTRY_SLACK 64

void tm_state_init(struct tm_state *tm)
{
	memset(tm, 0, sizeof(*tm));
}

void tm_state_release(struct tm_state *tm)
{
	free(tm->traces);
	free(tm->tbs);
	free(tm->frames);
	free(tm->own);
	u64map_release(&tm->tb_index);
	memset(tm, 0, sizeof(*tm));
}

/* _Py_HashPointer / _Py_HashPointerRaw (Python/pyhash.c): rotate right by
 * 4; 3.7/3.8 turn -1 into -2, which no real pointer produces. */
static uint64_t hash_pointer(uint64_t p)
{
	uint64_t y = (p >> 4) | (p << 60);

	return y == UINT64_MAX ? UINT64_MAX - 1 : y;
}

static bool pow2(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* An upper bound on entries of any size in the mapped memory: no walk of
 * target lists may take more steps. */
static uint64_t memory_bound(const struct target *t, uint64_t entry_size)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < t->maps.n; i++)
		total += t->maps.v[i].end - t->maps.v[i].start;
	return total / (entry_size ? entry_size : 1) + 1;
}

/* Copy len bytes at addr into o as a struct st, for py_get_u64(). */
static int read_obj(struct target *t, enum py_struct st, uint64_t addr,
		    size_t len, struct py_obj *o)
{
	o->addr = addr;
	o->st = st;
	o->len = 0;
	if (len > PY_OBJ_MAX || target_read(t, addr, o->buf, len))
		return -PH_E_READ;
	o->len = len;
	return 0;
}

static uint64_t get(const struct py_layout *L, const struct py_obj *o,
		    enum py_field f, bool *ok)
{
	uint64_t v;

	if (py_get_u64(L, o, f, &v)) {
		*ok = false;
		return 0;
	}
	return v;
}

/* A block of tracemalloc's own (read successfully). */
static void own(struct tm_state *tm, uint64_t addr)
{
	PH_GROW(tm->own, tm->own_alloc, tm->nown + 1);
	tm->own[tm->nown++] = addr;
}

/* ---- tracebacks ---------------------------------------------------------- */

/*
 * The traceback at addr, read once: its index in tm->tbs, or
 * TM_NO_TRACEBACK if it cannot be read or claims more frames than the
 * config allows (remembered too, so a bad one costs one read).
 */
static uint32_t traceback_at(struct target *t, const struct py_layout *L,
			     uint64_t addr, uint32_t max_nframe,
			     struct tm_state *tm)
{
	int64_t fsize = L->size[PY_S_TMFRAME], fbase = L->off[PY_F_TMTB_FRAMES];
	struct tm_traceback *tb;
	struct py_obj o;
	unsigned char *raw = NULL;
	uint64_t v, nframe, total;
	uint32_t idx = TM_NO_TRACEBACK;
	size_t i, len;
	bool ok = true;

	if (u64map_get(&tm->tb_index, addr, &v))
		return (uint32_t)v;
	if (!addr || (addr & 7) || fsize <= 0 || fbase <= 0 ||
	    read_obj(t, PY_S_TMTRACEBACK, addr, (size_t)fbase, &o))
		goto done;
	nframe = get(L, &o, PY_F_TMTB_NFRAME, &ok);
	total = py_has(L, PY_F_TMTB_TOTAL_NFRAME) ?
		get(L, &o, PY_F_TMTB_TOTAL_NFRAME, &ok) : nframe;
	if (!ok || nframe > max_nframe || nframe > TM_MAX_NFRAME ||
	    total < nframe)
		goto done;
	len = (size_t)nframe * (size_t)fsize;
	raw = xmalloc(len ? len : 1);
	if (len && target_read(t, addr + (uint64_t)fbase, raw, len))
		goto done;
	PH_GROW(tm->tbs, tm->tbs_alloc, tm->ntbs + 1);
	PH_GROW(tm->frames, tm->frames_alloc, tm->nframes + nframe);
	tb = &tm->tbs[tm->ntbs];
	tb->addr = addr;
	tb->first_frame = (uint32_t)tm->nframes;
	tb->nframe = (uint32_t)nframe;
	tb->total_nframe = (uint32_t)total;
	for (i = 0; i < nframe; i++) {
		const unsigned char *f = raw + i * (size_t)fsize;
		struct tm_frame *fr = &tm->frames[tm->nframes++];
		uint32_t line;

		memcpy(&fr->filename, f + L->off[PY_F_TMF_FILENAME], 8);
		memcpy(&line, f + L->off[PY_F_TMF_LINENO], 4);
		fr->lineno = line;
	}
	idx = (uint32_t)tm->ntbs++;
	own(tm, addr);
done:
	free(raw);
	if (idx == TM_NO_TRACEBACK)
		tm->bad_tracebacks++;
	u64map_put(&tm->tb_index, addr, idx);
	return idx;
}

static void add_trace(struct tm_state *tm, uint64_t ptr, uint64_t size,
		      uint32_t domain, uint32_t tb)
{
	struct tm_trace *tr;

	PH_GROW(tm->traces, tm->traces_alloc, tm->ntraces + 1);
	tr = &tm->traces[tm->ntraces++];
	tr->ptr = ptr;
	tr->size = size;
	tr->domain = domain;
	tr->traceback = tb;
}

/* ---- hash tables ---------------------------------------------------------- */

/* What one table walk needs to know about its entries. */
struct table {
	uint64_t addr, nbuckets, buckets, nentries;
	bool generic;           /* 3.7/3.8: key and data inline */
	uint64_t key_size, data_size;
	size_t entry_len;       /* bytes of an entry to read */
};

static int table_open(struct target *t, const struct py_layout *L,
		      uint64_t addr, struct table *tb)
{
	struct py_obj o;
	bool ok = true;

	memset(tb, 0, sizeof(*tb));
	tb->addr = addr;
	if (!addr || (addr & 7) || L->size[PY_S_HTENTRY] <= 0 ||
	    py_read_struct(t, L, PY_S_HASHTABLE, addr, &o))
		return -PH_E_READ;
	tb->nbuckets = get(L, &o, PY_F_HT_NBUCKETS, &ok);
	tb->buckets = get(L, &o, PY_F_HT_BUCKETS, &ok);
	tb->nentries = get(L, &o, PY_F_HT_NENTRIES, &ok);
	tb->generic = !py_has(L, PY_F_HTE_KEY);
	if (tb->generic) {
		tb->key_size = get(L, &o, PY_F_HT_KEY_SIZE, &ok);
		tb->data_size = get(L, &o, PY_F_HT_DATA_SIZE, &ok);
		if ((tb->key_size != 8 && tb->key_size != 12) ||
		    tb->data_size != (uint64_t)L->size[PY_S_TMTRACE])
			ok = false;
		tb->entry_len = (size_t)(L->size[PY_S_HTENTRY] +
					 (int64_t)tb->key_size +
					 (int64_t)tb->data_size);
	} else {
		tb->entry_len = (size_t)L->size[PY_S_HTENTRY];
	}
	/* The head array must be there in full: a huge count is not walked
	 * slice by failing slice. */
	if (!ok || !pow2(tb->nbuckets) || tb->nbuckets > MAX_BUCKETS ||
	    !tb->buckets || (tb->buckets & 7) ||
	    !target_mapped(t, tb->buckets, (size_t)tb->nbuckets * 8))
		return -PH_E_CORRUPT;
	return 0;
}

/* One entry as the walk sees it. */
struct entry {
	uint64_t next, key_hash, key, value;
	uint32_t domain;
	struct py_obj trace;    /* 3.7/3.8: the inline trace_t */
};

static int entry_read(struct target *t, const struct py_layout *L,
		      const struct table *tb, uint64_t addr, struct entry *e)
{
	struct py_obj o;
	bool ok = true;

	if ((addr & 7) || read_obj(t, PY_S_HTENTRY, addr, tb->entry_len, &o))
		return -PH_E_READ;
	e->next = get(L, &o, PY_F_HTE_NEXT, &ok);
	e->key_hash = get(L, &o, PY_F_HTE_KEY_HASH, &ok);
	e->domain = 0;
	if (!tb->generic) {
		e->key = get(L, &o, PY_F_HTE_KEY, &ok);
		e->value = get(L, &o, PY_F_HTE_VALUE, &ok);
		return ok ? 0 : -PH_E_CORRUPT;
	}
	/* 3.7/3.8: key (uintptr_t, or packed pointer_t {ptr, u32 domain})
	 * then the trace_t, right after the 16-byte header. */
	{
		const unsigned char *k = o.buf + L->size[PY_S_HTENTRY];

		memcpy(&e->key, k, 8);
		if (tb->key_size == 12)
			memcpy(&e->domain, k + 8, 4);
		e->trace.addr = addr + (uint64_t)L->size[PY_S_HTENTRY] +
				tb->key_size;
		e->trace.st = PY_S_TMTRACE;
		e->trace.len = (size_t)tb->data_size;
		memcpy(e->trace.buf, k + tb->key_size, (size_t)tb->data_size);
		e->value = e->trace.addr;
	}
	return ok ? 0 : -PH_E_CORRUPT;
}

/*
 * Call visit(ctx, entry) for each entry of the table, bucket by bucket.
 * Entries in the wrong bucket are skipped (and end their chain: the links
 * after them belong to nobody we can vouch for).  Returns the number
 * visited.
 */
static uint64_t table_walk(struct target *t, const struct py_layout *L,
			   const struct table *tb, struct tm_state *tm,
			   bool (*visit)(void *ctx, const struct entry *e),
			   void *ctx)
{
	uint64_t heads[BUCKET_BATCH], budget, seen = 0, b, k, n;

	/* A cycle is walked up to three times over before Brent's check
	 * sees it: room for that, and no more. */
	budget = PH_MIN(tb->nentries, memory_bound(t, tb->entry_len)) * 4 +
		 ENTRY_SLACK;
	for (b = 0; b < tb->nbuckets; b += n) {
		n = PH_MIN(tb->nbuckets - b, (uint64_t)BUCKET_BATCH);
		if (target_read(t, tb->buckets + b * 8, heads, (size_t)n * 8)) {
			tm->bad_chains++;
			continue;
		}
		for (k = 0; k < n; k++) {
			uint64_t p = heads[k], tortoise = p;
			uint64_t power = 1, lam = 0;

			while (p) {
				struct entry e;

				if (seen >= budget) {
					tm->truncated = true;
					return seen;
				}
				if (entry_read(t, L, tb, p, &e)) {
					tm->bad_chains++;
					break;
				}
				seen++;
				if ((e.key_hash & (tb->nbuckets - 1)) != b + k) {
					tm->bad_entries++;
					tm->bad_chains++;
					break;
				}
				own(tm, p);
				if (!visit(ctx, &e))
					tm->bad_entries++;
				p = e.next;
				if (p && p == tortoise) {
					tm->bad_chains++; /* a cycle */
					break;
				}
				if (++lam == power) {
					tortoise = p;
					power *= 2;
					lam = 0;
				}
			}
		}
	}
	return seen;
}

struct traces_ctx {
	struct target *t;
	const struct py_layout *L;
	const struct table *tb;
	uint32_t domain, max_nframe;
	bool check_hash;
	struct tm_state *tm;
};

static bool visit_trace(void *arg, const struct entry *e)
{
	struct traces_ctx *x = arg;
	const struct py_layout *L = x->L;
	const struct py_obj *trp = &e->trace;
	struct py_obj tr;
	uint64_t size, tbp, want;
	uint32_t domain = x->tb->generic ? e->domain : x->domain;
	bool ok = true;

	want = hash_pointer(e->key);
	if (x->tb->generic && x->tb->key_size == 12)
		want ^= e->domain;
	if (x->check_hash && e->key_hash != want)
		return false;
	if (!x->tb->generic) {
		if ((e->value & 7) ||
		    py_read_struct(x->t, L, PY_S_TMTRACE, e->value, &tr)) {
			x->tm->bad_traces++;
			return true;
		}
		trp = &tr;
		own(x->tm, e->value);
	}
	size = get(L, trp, PY_F_TMT_SIZE, &ok);
	tbp = get(L, trp, PY_F_TMT_TRACEBACK, &ok);
	if (!ok || size > MAX_TRACE_SIZE) {
		x->tm->bad_traces++;
		return true;
	}
	add_trace(x->tm, e->key, size, domain,
		  traceback_at(x->t, L, tbp, x->max_nframe, x->tm));
	return true;
}

void tm_walk_traces(struct target *t, const struct py_layout *L,
		    uint64_t table, uint32_t domain, uint32_t max_nframe,
		    struct tm_state *tm)
{
	struct traces_ctx x;
	struct table tb;

	if (table_open(t, L, table, &tb)) {
		tm->bad_chains++;
		return;
	}
	tm->table_entries += tb.nentries;
	own(tm, table);
	own(tm, tb.buckets);
	x.t = t;
	x.L = L;
	x.tb = &tb;
	x.domain = domain;
	x.max_nframe = max_nframe;
	/* Domain 0 and the 3.7/3.8 table hash the pointer (with the domain
	 * mixed in for 12-byte keys); other domains' tables do too (3.9+
	 * tracemalloc_create_traces_table()). */
	x.check_hash = true;
	x.tm = tm;
	table_walk(t, L, &tb, tm, visit_trace, &x);
}

struct domains_ctx {
	struct target *t;
	const struct py_layout *L;
	uint32_t max_nframe;
	uint64_t ndomains;
	struct tm_state *tm;
};

static bool visit_domain(void *arg, const struct entry *e)
{
	struct domains_ctx *x = arg;

	/* The key is the domain, an unsigned int stored as a pointer. */
	if (e->key > UINT32_MAX || ++x->ndomains > MAX_DOMAINS)
		return false;
	tm_walk_traces(x->t, x->L, e->value, (uint32_t)e->key, x->max_nframe,
		       x->tm);
	return true;
}

void tm_walk_domains(struct target *t, const struct py_layout *L,
		     uint64_t table, uint32_t max_nframe, struct tm_state *tm)
{
	struct domains_ctx x = { t, L, max_nframe, 0, tm };
	struct table tb;

	if (!table)
		return;
	if (table_open(t, L, table, &tb) || tb.generic) {
		tm->bad_chains++;
		return;
	}
	own(tm, table);
	own(tm, tb.buckets);
	table_walk(t, L, &tb, tm, visit_domain, &x);
}

static int cmp_trace(const void *a, const void *b)
{
	const struct tm_trace *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

void tm_finish(struct tm_state *tm)
{
	size_t i, k;

	if (!tm->ntraces)
		return;
	qsort(tm->traces, tm->ntraces, sizeof(*tm->traces), cmp_trace);
	for (i = 1, k = 1; i < tm->ntraces; i++) {
		if (tm->traces[i].ptr == tm->traces[k - 1].ptr &&
		    tm->traces[i].domain == tm->traces[k - 1].domain) {
			tm->bad_entries++;
			continue;
		}
		tm->traces[k++] = tm->traces[i];
	}
	tm->ntraces = k;
}

/* Domain-0 traces are first; the last one whose ptr <= addr. */
static const struct tm_trace *last_at_or_below(const struct tm_state *tm,
					       uint64_t addr)
{
	size_t lo = 0, hi = tm->ntraces;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tm_trace *m = &tm->traces[mid];

		if (m->domain == 0 && m->ptr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &tm->traces[lo - 1] : NULL;
}

const struct tm_trace *tm_trace_at(const struct tm_state *tm, uint64_t ptr)
{
	const struct tm_trace *tr = last_at_or_below(tm, ptr);

	return tr && tr->ptr == ptr ? tr : NULL;
}

const struct tm_trace *tm_trace_holding(const struct tm_state *tm,
					uint64_t addr)
{
	const struct tm_trace *tr = last_at_or_below(tm, addr);

	return tr && addr - tr->ptr < PH_MAX(tr->size, (uint64_t)1) ? tr :
	       NULL;
}

/* ---- finding the tables on a stripped build ---------------------------- */

/* Is the hash table at addr one of tracemalloc's pointer-keyed tables?
 * 1 traces, 2 domains, 0 neither. */
static int classify_table(struct target *t, const struct py_layout *L,
			  uint64_t addr, const struct tm_funcs *fn)
{
	struct py_obj o;
	bool ok = true;
	uint64_t nb, buckets, head, vd;

	if (!addr || (addr & 7) ||
	    py_read_struct(t, L, PY_S_HASHTABLE, addr, &o) ||
	    get(L, &o, PY_F_HT_HASH_FUNC, &ok) != fn->hash_ptr ||
	    get(L, &o, PY_F_HT_COMPARE_FUNC, &ok) != fn->compare_direct || !ok)
		return 0;
	nb = get(L, &o, PY_F_HT_NBUCKETS, &ok);
	buckets = get(L, &o, PY_F_HT_BUCKETS, &ok);
	if (!ok || !pow2(nb) || nb > MAX_BUCKETS || !buckets ||
	    (buckets & 7) || target_read_u64(t, buckets, &head))
		return 0;
	if (!py_has(L, PY_F_HT_VALUE_DESTROY_FUNC)) {
		/* 3.7/3.8: the traces table keys 8-byte pointers and holds
		 * trace_t data (a table keyed {ptr, domain} hashes with a
		 * static function and is not found this way). */
		return get(L, &o, PY_F_HT_KEY_SIZE, &ok) == 8 &&
		       get(L, &o, PY_F_HT_DATA_SIZE, &ok) ==
		       (uint64_t)L->size[PY_S_TMTRACE] && ok;
	}
	vd = get(L, &o, PY_F_HT_VALUE_DESTROY_FUNC, &ok);
	if (!ok || get(L, &o, PY_F_HT_KEY_DESTROY_FUNC, &ok) != 0 || !ok || !vd)
		return 0;
	return vd == fn->destroy ? 2 : 1;
}

int tm_find_tables(struct target *t, const struct py_layout *L,
		   const uint64_t (*ranges)[2], size_t nranges,
		   const struct tm_funcs *fn, uint64_t *traces,
		   uint64_t *domains)
{
	uint64_t buf[1024];
	size_t r;

	*traces = *domains = 0;
	if (!fn->hash_ptr || !fn->compare_direct)
		return -PH_E_NOTFOUND;
	for (r = 0; r < nranges; r++) {
		uint64_t a = (ranges[r][0] + 7) & ~7ull, end = ranges[r][1];

		while (a + 8 <= end) {
			size_t n = (size_t)PH_MIN((end - a) / 8,
						  (uint64_t)PH_ARRAY_SIZE(buf)), i;

			if (target_read(t, a, buf, n * 8)) {
				a += n * 8;
				continue;
			}
			for (i = 0; i < n; i++) {
				int kind;

				if (!buf[i] || (buf[i] & 7))
					continue;
				kind = classify_table(t, L, buf[i], fn);
				if (kind == 1) {
					if (*traces && *traces != buf[i])
						return -PH_E_CORRUPT;
					*traces = buf[i];
				} else if (kind == 2 && !*domains) {
					*domains = buf[i];
				}
			}
			a += n * 8;
		}
	}
	return *traces ? 0 : -PH_E_NOTFOUND;
}

/* ---- the target's state -------------------------------------------------- */

static uint64_t sym(const struct pyproc *p, const char *name)
{
	uint64_t a;

	return objfile_sym(&p->elf, name, &a, NULL) ? 0 : a;
}

/* Read an int member of the config struct at cfg. */
static bool config_int(struct target *t, const struct py_layout *L,
		       uint64_t cfg, enum py_field f, uint64_t *v)
{
	return !py_read_field(t, L, cfg, f, v);
}

/* The stripped-build search, over the interpreter ELF's .data and .bss
 * (whose end continues in the anonymous mapping after the file's last
 * writable mapping: the section header covers it). */
static int find_by_heuristic(struct pyproc *p, uint64_t *traces,
			     uint64_t *domains)
{
	static const char *const secs[] = { ".data", ".bss" };
	uint64_t ranges[2][2];
	struct tm_funcs fn;
	size_t n = 0, i;

	for (i = 0; i < PH_ARRAY_SIZE(secs); i++) {
		uint64_t a, size;

		if (!objfile_section(&p->elf, secs[i], &a, &size)) {
			ranges[n][0] = a;
			ranges[n][1] = a + size;
			n++;
		}
	}
	fn.hash_ptr = sym(p, "_Py_hashtable_hash_ptr");
	fn.compare_direct = sym(p, "_Py_hashtable_compare_direct");
	fn.destroy = sym(p, "_Py_hashtable_destroy");
	return tm_find_tables(p->t, &p->L, (const uint64_t (*)[2])ranges, n,
			      &fn, traces, domains);
}

/* Bytes of every trace read (all domains). */
static uint64_t traced_sum(const struct tm_state *tm)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < tm->ntraces; i++)
		sum += tm->traces[i].size;
	return sum;
}

enum tm_try { TRY_BAD, TRY_IDLE, TRY_TRACING };

/*
 * One candidate address for _PyRuntime.tracemalloc (3.12+,
 * Include/internal/pycore_tracemalloc.h).  TRY_TRACING: the config says it
 * traces and the traces it points to add up exactly to its traced-memory
 * counter (tm holds them).  TRY_IDLE: a config that does not trace (tracing
 * 0, 1 <= max_nframe <= 65535, nothing traced) beside an empty traces
 * table (stopping empties it), or a tracemalloc never initialised: no
 * tables at all and the config's initial max_nframe of 1
 * (_PyTraceMalloc_Init runs when tracemalloc is first imported or
 * started).  TRY_BAD otherwise.
 */
static enum tm_try tm_try_state(struct pyproc *p, uint64_t state,
				bool quick, struct tm_state *tm)
{
	struct target *t = p->t;
	const struct py_layout *L = &p->L;
	uint64_t cfg = state + (uint64_t)L->off[PY_F_TM_CONFIG], tracing,
		 nframe, traces = 0, domains = 0, mem;

	if (!config_int(t, L, cfg, PY_F_TMC_TRACING, &tracing) ||
	    !config_int(t, L, cfg, PY_F_TMC_MAX_NFRAME, &nframe) ||
	    py_read_field(t, L, state, PY_F_TM_TRACED_MEMORY, &mem))
		return TRY_BAD;
	tracing &= 0xffffffffu;
	nframe &= 0xffffffffu;
	if (tracing > 1 || nframe < 1 || nframe > TM_MAX_NFRAME)
		return TRY_BAD;
	/* tracemalloc_clear_traces() zeroes the counter when tracing stops,
	 * and it starts at 0. */
	if (py_read_field(t, L, state, PY_F_TM_TRACES, &traces) ||
	    (traces & 7) ||
	    py_read_field(t, L, state, PY_F_TM_DOMAINS, &domains))
		return TRY_BAD;
	if (!tracing) {
		struct table tb;
		uint64_t names = 1, tbs = 1;

		if (mem)
			return TRY_BAD;
		if (!traces) {
			/* Never initialised: every table pointer NULL. */
			if (nframe != 1 || domains ||
			    py_read_field(t, L, state, PY_F_TM_FILENAMES,
					  &names) || names ||
			    py_read_field(t, L, state, PY_F_TM_TRACEBACKS,
					  &tbs) || tbs)
				return TRY_BAD;
		} else if (table_open(t, L, traces, &tb) || tb.nentries) {
			return TRY_BAD;
		}
		tm->max_nframe = (uint32_t)nframe;
		return TRY_IDLE;
	}
	if (!traces)
		return TRY_BAD;
	if (quick) {
		/* pyheap info, on a stopped live target: the traces table's
		 * header only; snap adds the traces up. */
		struct table tb;

		return table_open(t, L, traces, &tb) ? TRY_BAD : TRY_TRACING;
	}
	tm_state_release(tm);
	tm_state_init(tm);
	tm_walk_traces(t, L, traces, 0, (uint32_t)nframe, tm);
	if (domains)
		tm_walk_domains(t, L, domains, (uint32_t)nframe, tm);
	tm_finish(tm);
	if (traced_sum(tm) != mem) {
		tm_state_release(tm);
		tm_state_init(tm);
		return TRY_BAD;
	}
	tm->found = true;
	tm->tracing = true;
	tm->max_nframe = (uint32_t)nframe;
	tm->traces_table = traces;
	tm->domains_table = domains;
	tm->traced_memory = mem;
	tm->traced_memory_known = true;
	tm->source = TM_SRC_RUNTIME;
	return TRY_TRACING;
}

/* How far from the layout's offset _PyRuntime.tracemalloc is looked for:
 * 3.13.0 -> 3.13.18 moved it 24 bytes. */
#define TM_WINDOW 256

/*
 * 3.12+: the state at the layout's offset if it passes tm_try_state(), else
 * the one tracing state within TM_WINDOW bytes of it.  A state that does not
 * trace is taken only where the layout puts it, and only when no tracing
 * state is near: that is the one answer a wrong offset could fake (zeros
 * look idle), so the window is searched for a tracing state first.
 */
static int tm_read_runtime(struct pyproc *p, bool quick,
			   struct tm_state *tm)
{
	struct py_check *ck = &p->checks[PY_CHECK_TRACEMALLOC];
	const struct py_layout *L = &p->L;
	int64_t want = L->off[PY_F_RT_TRACEMALLOC], d, found = -1, idle = -1;
	enum layout_source src = L->off_src[PY_F_RT_TRACEMALLOC];
	unsigned nidle = 0;
	enum tm_try at = tm_try_state(p, p->runtime + (uint64_t)want, quick,
				      tm);
	const char *how = quick ? "tracing; its traces table is sound (not "
				  "summed)" :
				  "tracing; traces add up to its traced memory";
	unsigned nfound = 0;

	if (at == TRY_TRACING) {
		py_check_set(ck, CHECK_VERIFIED, src, want, want, "%s", how);
		return 0;
	}
	/* Candidates get the quick check (a header each, however hostile the
	 * memory); the one tracing candidate, the full one (its traces
	 * summed). */
	for (d = -TM_WINDOW; d <= TM_WINDOW; d += 8) {
		struct tm_state cand;
		enum tm_try r;

		if (!d || want + d < 0)
			continue;
		tm_state_init(&cand);
		r = tm_try_state(p, p->runtime + (uint64_t)(want + d), true,
				 &cand);
		tm_state_release(&cand);
		if (r == TRY_IDLE && !nidle++)
			idle = want + d;
		if (r == TRY_TRACING && !nfound++)
			found = want + d;
	}
	if (nfound == 1 && (quick || tm_try_state(p, p->runtime +
						  (uint64_t)found, false, tm) ==
			    TRY_TRACING)) {
		py_check_set(ck, CHECK_SEARCHED, src, want, found, "%s", how);
		return 0;
	}
	if (nfound == 1)
		nfound = 0; /* its traces did not add up */
	tm_state_release(tm);
	tm_state_init(tm);
	if (nfound > 1) {
		py_check_set(ck, CHECK_FAILED, src, want, -1,
			     "%u tracing states within %d bytes of +%lld",
			     nfound, TM_WINDOW, (long long)want);
	} else if (at == TRY_IDLE || nidle == 1) {
		/* Not tracing: where the layout says, else at the one place
		 * near it that looks like an idle state. */
		int64_t at_off = at == TRY_IDLE ? want : idle;

		tm_try_state(p, p->runtime + (uint64_t)at_off, quick, tm);
		tm->found = true;
		tm->source = TM_SRC_RUNTIME;
		py_check_set(ck, at == TRY_IDLE ? CHECK_VERIFIED :
			     CHECK_SEARCHED, src, want, at_off,
			     "not tracing; no tracing state within %d bytes",
			     TM_WINDOW);
		return 0;
	} else {
		py_check_set(ck, CHECK_FAILED, src, want, -1,
			     "no tracemalloc state at _PyRuntime+%lld or "
			     "within %d bytes of it", (long long)want,
			     TM_WINDOW);
	}
	/* (%.120s: the note is at most 200 bytes, the check's too) */
	snprintf(tm->note, sizeof(tm->note), "the target's tracemalloc state "
		 "could not be verified (%.100s), so whether it traces is "
		 "unknown", ck->note);
	return 0;
}

int tm_check(struct pyproc *p)
{
	const struct py_layout *L = &p->L;
	struct tm_state tm;

	if (!py_has(L, PY_F_RT_TRACEMALLOC) || !py_has(L, PY_F_TM_CONFIG) ||
	    !py_has(L, PY_F_TM_TRACES) || !py_has(L, PY_F_TM_TRACED_MEMORY))
		return 0;
	tm_state_init(&tm);
	tm_read_runtime(p, true, &tm);
	tm_state_release(&tm);
	return 0;
}

int tm_read(struct pyproc *p, struct tm_state *tm)
{
	struct target *t = p->t;
	const struct py_layout *L = &p->L, *CL = L;
	struct py_layout L38;
	uint64_t cfg = 0, state = 0, v, a;

	/* tracemalloc came with 3.4: a 2.7 process has no traces to read,
	 * and the note says so instead of advising PYTHONTRACEMALLOC. */
	if (p->major == 2) {
		snprintf(tm->note, sizeof(tm->note), "Python 2 has no "
			 "tracemalloc: every site is inferred");
		return 0;
	}
	/* 3.7's config is an anonymous struct with the members 3.8 named
	 * struct _PyTraceMalloc_Config: the same layout. */
	if (!py_has(L, PY_F_TMC_TRACING) && p->major == 3 && p->minor == 7 &&
	    !py_layout_from_table(&L38, 3, 8, -1))
		CL = &L38;
	if (!py_has(CL, PY_F_TMC_TRACING) || !py_has(CL, PY_F_TMC_MAX_NFRAME))
		return ph_error(PH_E_UNSUPPORTED, "no tracemalloc layout for "
				"Python %d.%d", p->major, p->minor);
	if (py_has(L, PY_F_RT_TRACEMALLOC)) {
		if (!py_has(L, PY_F_TM_CONFIG) || !py_has(L, PY_F_TM_TRACES) ||
		    !py_has(L, PY_F_TM_TRACED_MEMORY))
			return ph_error(PH_E_UNSUPPORTED, "no tracemalloc "
					"layout for Python %d.%d", p->major,
					p->minor);
		return tm_read_runtime(p, false, tm);
	} else {
		cfg = sym(p, "_Py_tracemalloc_config");
		if (!cfg)
			cfg = sym(p, "tracemalloc_config");
	}
	if (!cfg || !config_int(t, CL, cfg, PY_F_TMC_TRACING, &v)) {
		snprintf(tm->note, sizeof(tm->note), "tracemalloc's "
			 "configuration not found");
		return 0;
	}
	tm->found = true;
	tm->tracing = (uint32_t)v != 0;
	if (config_int(t, CL, cfg, PY_F_TMC_MAX_NFRAME, &v))
		tm->max_nframe = (uint32_t)v;
	if (!tm->tracing)
		return 0;

	if (state) {
		if (!py_read_field(t, L, state, PY_F_TM_TRACES, &v))
			tm->traces_table = v;
		if (!py_read_field(t, L, state, PY_F_TM_DOMAINS, &v))
			tm->domains_table = v;
		if (!py_read_field(t, L, state, PY_F_TM_TRACED_MEMORY, &v)) {
			tm->traced_memory = v;
			tm->traced_memory_known = true;
		}
		tm->source = TM_SRC_RUNTIME;
	} else if ((a = sym(p, "tracemalloc_traces"))) {
		if (!target_read_u64(t, a, &v))
			tm->traces_table = v;
		if ((a = sym(p, "tracemalloc_domains")) &&
		    !target_read_u64(t, a, &v))
			tm->domains_table = v;
		if ((a = sym(p, "tracemalloc_traced_memory")) &&
		    !target_read_u64(t, a, &v)) {
			tm->traced_memory = v;
			tm->traced_memory_known = true;
		}
		tm->source = TM_SRC_SYMBOL;
	} else {
		int rc = find_by_heuristic(p, &tm->traces_table,
					   &tm->domains_table);

		if (rc) {
			snprintf(tm->note, sizeof(tm->note), "tracemalloc "
				 "traces: %s in the stripped interpreter's "
				 "data", rc == -PH_E_CORRUPT ?
				 "more than one candidate table" :
				 "no table found");
			return 0;
		}
		tm->source = TM_SRC_HEURISTIC;
	}
	if (!tm->traces_table) {
		snprintf(tm->note, sizeof(tm->note), "tracemalloc traces: "
			 "no table");
		return 0;
	}
	tm_walk_traces(t, L, tm->traces_table, 0, tm->max_nframe, tm);
	if (tm->domains_table)
		tm_walk_domains(t, L, tm->domains_table, tm->max_nframe, tm);
	tm_finish(tm);
	return 0;
}
