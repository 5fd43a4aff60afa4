/*
 * show's memory breakdown (analysis.h memory_breakdown()) as text and as
 * JSON (pyheap-show(1), "Memory breakdown").
 */
#include "analysis/analysis.h"
#include "internal.h"
#include "output.h"
#include "snapshot/snapshot.h"

/* The memory breakdown as a JSON object (show --format json "memory"). */
void json_breakdown(struct json *j, const struct memory_breakdown *m)
{
	size_t i;

	json_obj_begin(j);
	json_key(j, "rss"); json_uint(j, m->rss);
	json_key(j, "object_allocator");
	json_str(j, m->mimalloc ? "mimalloc" : "pymalloc");
	json_key(j, "pymalloc_arenas"); json_uint(j, m->pymalloc_arenas);
	json_key(j, "pymalloc_used"); json_uint(j, m->pymalloc_used);
	json_key(j, "objects_in_malloc"); json_uint(j, m->objects_in_malloc);
	json_key(j, "buffers"); json_uint(j, m->buffers);
	json_key(j, "native_owned"); json_uint(j, m->native_owned);
	json_key(j, "native_unowned"); json_uint(j, m->native_unowned);
	json_key(j, "allocator"); json_uint(j, m->allocator);
	json_key(j, "malloc_free"); json_uint(j, m->malloc_free);
	json_key(j, "malloc_top"); json_uint(j, m->top);
	json_key(j, "malloc_overhead"); json_uint(j, m->malloc_overhead);
	json_key(j, "unaccounted"); json_int(j, m->unaccounted);
	json_key(j, "native_owners");
	json_arr_begin(j);
	for (i = 0; i < m->nowners; i++) {
		json_obj_begin(j);
		json_key(j, "type"); json_str(j, m->owners[i].type);
		json_key(j, "chunks"); json_uint(j, m->owners[i].chunks);
		json_key(j, "bytes"); json_uint(j, m->owners[i].bytes);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void breakdown_line(struct strbuf *out, const char *what,
			   uint64_t bytes, const char *detail)
{
	struct strbuf b = STRBUF_INIT;

	fmt_bytes(&b, bytes);
	strbuf_addf(out, "  %-28s %12s%s%s\n", what, b.buf, detail ? "  " : "",
		    detail ? detail : "");
	strbuf_release(&b);
}

/* Where the process's memory is: the breakdown of pyheap show, before the
 * table (only for snapshots where malloc was walked). */
void render_breakdown(struct strbuf *out, const struct snapshot *s)
{
	struct memory_breakdown m;
	struct strbuf d = STRBUF_INIT;
	size_t i;

	memory_breakdown(s, &m);
	strbuf_addstr(out, "Memory\n");
	if (m.rss)
		breakdown_line(out, "RSS", m.rss, NULL);
	strbuf_addstr(&d, "(");
	fmt_bytes(&d, m.pymalloc_used);
	strbuf_addstr(&d, " in used blocks)");
	breakdown_line(out, m.mimalloc ? "mimalloc pages" : "pymalloc arenas",
		       m.pymalloc_arenas, d.buf);
	breakdown_line(out, "Python objects in malloc", m.objects_in_malloc,
		       NULL);
	breakdown_line(out, "buffers owned by objects", m.buffers, NULL);
	breakdown_line(out, "native, owned by objects", m.native_owned, NULL);
	for (i = 0; i < m.nowners && i < 5; i++) {
		strbuf_reset(&d);
		strbuf_addstr(&d, "    ");
		fmt_printable(&d, m.owners[i].type);
		breakdown_line(out, d.buf, m.owners[i].bytes, NULL);
	}
	breakdown_line(out, "native, unowned", m.native_unowned, NULL);
	breakdown_line(out, "allocator metadata", m.allocator, NULL);
	breakdown_line(out, "malloc free", m.malloc_free, NULL);
	breakdown_line(out, "malloc top pad", m.top, NULL);
	if (m.rss) {
		strbuf_reset(&d);
		if (m.unaccounted < 0)
			strbuf_addch(&d, '-');
		fmt_bytes(&d, (uint64_t)(m.unaccounted < 0 ? -m.unaccounted :
					 m.unaccounted));
		strbuf_addf(out, "  %-28s %12s  (code, stacks, other "
			    "mappings)\n", "unaccounted", d.buf);
	}
	strbuf_addch(out, '\n');
	strbuf_release(&d);
	memory_breakdown_release(&m);
}
