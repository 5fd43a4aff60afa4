/*
 * output/ — renderers.  They format data they are given and never touch a
 * process or a snapshot file.
 *
 * JSON writer: a struct json appends to a strbuf and tracks nesting so
 * callers never place commas by hand.  Keys and strings are escaped (and
 * invalid UTF-8 replaced) by strbuf_add_json_str, so output always parses.
 * Nesting deeper than JSON_MAX_DEPTH is a programming error (ph_die).
 * Output is compact with a newline after the top-level value.
 *
 *         struct json j; json_init(&j, &sb);
 *         json_obj_begin(&j);
 *         json_key(&j, "pid"); json_int(&j, 42);
 *         json_obj_end(&j);
 *
 * Human units: fmt_bytes() gives "1.5 KiB" style text, fmt_ms() "0.42 ms".
 */
#ifndef PYHEAP_OUTPUT_H
#define PYHEAP_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/base.h"

#define JSON_MAX_DEPTH 32

struct json {
	struct strbuf *sb;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* no element written yet at this depth */
	bool after_key;
};

void json_init(struct json *j, struct strbuf *sb);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t len);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
/* Finite doubles with up to 3 decimals; non-finite become null. */
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* "0x7f..." string: JSON numbers cannot hold every 64-bit address. */
void json_addr(struct json *j, uint64_t addr);

void fmt_bytes(struct strbuf *sb, uint64_t n);
void fmt_ms(struct strbuf *sb, double ms);
/* 1234567 -> "1,234,567" */
void fmt_count(struct strbuf *sb, uint64_t n);
/* Unix time -> "2026-11-21T10:15:00Z" */
void fmt_iso8601(struct strbuf *sb, double t);
/* Append s as one CSV field (RFC 4180: quoted if it holds , " CR LF). */
void csv_field(struct strbuf *sb, const char *s);

/* Reports (output/report.c).  `file` is the snapshot's path as given. */
struct snapshot;
struct report;
/* The "snapshot" object of the JSON contract (DESIGN.md). */
void json_snapshot_summary(struct json *j, const char *file,
			   const struct snapshot *s);
void render_show_text(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top);
void render_show_json(struct strbuf *out, const char *file,
		      const struct snapshot *s, const struct report *r,
		      size_t top);
void render_show_csv(struct strbuf *out, const struct report *r, size_t top);

#endif
