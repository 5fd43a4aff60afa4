/*
 * strbuf — a growable, always NUL-terminated byte string (after git's).
 *
 * Ownership: the strbuf owns buf; strbuf_release() frees it and resets the
 * strbuf to STRBUF_INIT; strbuf_detach() hands buf to the caller (who frees
 * it) and resets the strbuf.  buf is never NULL after any strbuf_ call, and
 * buf[len] == '\0' always holds, so buf can be passed to C string APIs.
 * Embedded NULs are allowed (len is the truth).
 */
#ifndef PYHEAP_STRBUF_H
#define PYHEAP_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};

extern char strbuf_empty[];
#define STRBUF_INIT { strbuf_empty, 0, 0 }

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_reset(struct strbuf *sb);
void strbuf_setlen(struct strbuf *sb, size_t len);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* The length (1 to 4) of the valid UTF-8 sequence at s, of at most n
 * bytes; 0 if it is not one (overlong forms, surrogates and values past
 * U+10FFFF included). */
size_t utf8_seq(const unsigned char *s, size_t n);
/* Append s as a JSON string literal, quotes included.  Bytes that are not
 * valid UTF-8 are written as \ufffd so the output always parses. */
void strbuf_add_json_str(struct strbuf *sb, const char *s, size_t len);

#endif
