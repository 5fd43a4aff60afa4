/*
 * Rendering reports: text for people, JSON and CSV for scripts (formats
 * are contracts: DESIGN.md "JSON", man/pyheap.1).
 */
#include <string.h>

#include "analysis/analysis.h"
#include "output.h"
#include "snapshot/snapshot.h"

static uint64_t total_bytes(const struct snapshot *s)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		n += s->objects[i].size;
	return n;
}

void json_snapshot_summary(struct json *j, const char *file,
			   const struct snapshot *s)
{
	struct strbuf when = STRBUF_INIT;

	fmt_iso8601(&when, s->meta.taken_at);
	json_obj_begin(j);
	json_key(j, "file"); json_str(j, file);
	json_key(j, "pid"); json_int(j, s->meta.pid);
	json_key(j, "python"); json_str(j, snapshot_str(s, s->meta.python));
	json_key(j, "taken_at"); json_str(j, when.buf);
	json_key(j, "pause_ms"); json_double(j, s->meta.pause_ms);
	json_key(j, "objects"); json_uint(j, s->nobjects);
	json_key(j, "bytes"); json_uint(j, total_bytes(s));
	/* The malloc walk that measures native memory is not in this
	 * version: no native bytes are counted yet. */
	json_key(j, "native_bytes"); json_uint(j, 0);
	json_obj_end(j);
	strbuf_release(&when);
}

static size_t shown(const struct report *r, size_t top)
{
	return top && top < r->nrows ? top : r->nrows;
}

void render_show_json(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top)
{
	struct json j;
	size_t i, n = shown(r, top);

	json_init(&j, out);
	json_obj_begin(&j);
	json_key(&j, "snapshot");
	json_snapshot_summary(&j, file, s);
	json_key(&j, "by"); json_str(&j, group_by_name(r->by));
	json_key(&j, "rows");
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_key(&j, "key"); json_str(&j, r->rows[i].key);
		json_key(&j, "count"); json_uint(&j, r->rows[i].count);
		json_key(&j, "bytes"); json_uint(&j, r->rows[i].bytes);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
}

void render_show_csv(struct strbuf *out, const struct report *r, size_t top)
{
	size_t i, n = shown(r, top);

	strbuf_addstr(out, "key,count,bytes\n");
	for (i = 0; i < n; i++) {
		csv_field(out, r->rows[i].key);
		strbuf_addf(out, ",%llu,%llu\n",
			    (unsigned long long)r->rows[i].count,
			    (unsigned long long)r->rows[i].bytes);
	}
}

/* Keys come from the target: never let them steer the terminal. */
static void add_key(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' :
			     *s);
}

void render_show_text(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top)
{
	struct strbuf a = STRBUF_INIT;
	size_t i, n = shown(r, top);

	strbuf_addf(out, "Snapshot %s\n", file);
	strbuf_addf(out, "Process %lld", (long long)s->meta.pid);
	if (*snapshot_str(s, s->meta.cmdline)) {
		strbuf_addstr(out, " (");
		add_key(out, snapshot_str(s, s->meta.cmdline));
		strbuf_addch(out, ')');
	}
	strbuf_addf(out, ", Python %s, taken ", snapshot_str(s, s->meta.python));
	fmt_iso8601(out, s->meta.taken_at);
	if (s->meta.flags & SNAP_INCONSISTENT) {
		strbuf_addstr(out, " without stopping (inconsistent)");
	} else {
		strbuf_addstr(out, ", paused ");
		fmt_ms(out, s->meta.pause_ms);
	}
	strbuf_addch(out, '\n');
	if (s->meta.flags & SNAP_PARTIAL)
		strbuf_addstr(out, "Partial: some heap structures could not be "
			      "walked; counts are a floor\n");
	strbuf_addf(out, "\n%12s %12s  %s\n", "BYTES", "COUNT",
		    r->by == BY_MODULE ? "MODULE" : "TYPE");
	for (i = 0; i < n; i++) {
		strbuf_reset(&a);
		fmt_bytes(&a, r->rows[i].bytes);
		strbuf_addf(out, "%12s ", a.buf);
		strbuf_reset(&a);
		fmt_count(&a, r->rows[i].count);
		strbuf_addf(out, "%12s  ", a.buf);
		add_key(out, r->rows[i].key);
		strbuf_addch(out, '\n');
	}
	if (n < r->nrows)
		strbuf_addf(out, "%12s %12s  (%zu more rows; --top 0 shows all)\n",
			    "...", "...", r->nrows - n);
	strbuf_reset(&a);
	fmt_bytes(&a, r->total_bytes);
	strbuf_addf(out, "%12s ", a.buf);
	strbuf_reset(&a);
	fmt_count(&a, r->total_count);
	strbuf_addf(out, "%12s  total\n", a.buf);
	strbuf_release(&a);
}
