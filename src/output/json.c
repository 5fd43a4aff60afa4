#include <math.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

void json_init(struct json *j, struct strbuf *sb)
{
	j->sb = sb;
	j->depth = 0;
	j->first[0] = true;
	j->after_key = false;
}

/* Called before every value or key: the comma between siblings. */
static void sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		strbuf_addch(j->sb, ',');
	j->first[j->depth] = false;
}

static void json_open(struct json *j, int c)
{
	sep(j);
	if (j->depth + 1 >= JSON_MAX_DEPTH)
		ph_die("json nesting too deep");
	strbuf_addch(j->sb, c);
	j->first[++j->depth] = true;
}

static void json_close(struct json *j, int c)
{
	if (j->depth <= 0)
		ph_die("json close without open");
	strbuf_addch(j->sb, c);
	if (--j->depth == 0)
		strbuf_addch(j->sb, '\n');
}

void json_obj_begin(struct json *j) { json_open(j, '{'); }
void json_obj_end(struct json *j) { json_close(j, '}'); }
void json_arr_begin(struct json *j) { json_open(j, '['); }
void json_arr_end(struct json *j) { json_close(j, ']'); }

void json_key(struct json *j, const char *key)
{
	sep(j);
	strbuf_add_json_str(j->sb, key, strlen(key));
	strbuf_addch(j->sb, ':');
	j->after_key = true;
}

void json_strn(struct json *j, const char *s, size_t len)
{
	sep(j);
	strbuf_add_json_str(j->sb, s, len);
}

void json_str(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_strn(j, s, strlen(s));
}

void json_int(struct json *j, int64_t v)
{
	sep(j);
	strbuf_addf(j->sb, "%lld", (long long)v);
}

void json_uint(struct json *j, uint64_t v)
{
	sep(j);
	strbuf_addf(j->sb, "%llu", (unsigned long long)v);
}

void json_double(struct json *j, double v)
{
	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	sep(j);
	strbuf_addf(j->sb, "%.3f", v);
}

void json_bool(struct json *j, bool v)
{
	sep(j);
	strbuf_addstr(j->sb, v ? "true" : "false");
}

void json_int_or_null(struct json *j, int64_t v)
{
	if (v)
		json_int(j, v);
	else
		json_null(j);
}

void json_time_or_null(struct json *j, double t)
{
	struct strbuf sb = STRBUF_INIT;

	if (!t) {
		json_null(j);
		return;
	}
	fmt_iso8601(&sb, t);
	json_str(j, sb.buf);
	strbuf_release(&sb);
}

void json_null(struct json *j)
{
	sep(j);
	strbuf_addstr(j->sb, "null");
}

void json_addr(struct json *j, uint64_t addr)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)addr);
	json_str(j, buf);
}
