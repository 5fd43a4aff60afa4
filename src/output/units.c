#include <stdio.h>
#include <string.h>
#include <time.h>

#include "output.h"

void fmt_bytes(struct strbuf *sb, uint64_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		strbuf_addf(sb, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	strbuf_addf(sb, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s",
		    v, unit[u]);
}

void fmt_ms(struct strbuf *sb, double ms)
{
	if (ms < 10)
		strbuf_addf(sb, "%.2f ms", ms);
	else if (ms < 1000)
		strbuf_addf(sb, "%.0f ms", ms);
	else
		strbuf_addf(sb, "%.2f s", ms / 1000);
}

void fmt_count(struct strbuf *sb, uint64_t n)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%llu",
			   (unsigned long long)n), i;

	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, digits[i]);
	}
}

void fmt_iso8601(struct strbuf *sb, double t)
{
	time_t secs = (time_t)t;
	struct tm tm;

	gmtime_r(&secs, &tm);
	strbuf_addf(sb, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
}

void csv_field(struct strbuf *sb, const char *s)
{
	const char *p;

	if (!strpbrk(s, ",\"\r\n")) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (p = s; *p; p++) {
		if (*p == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *p);
	}
	strbuf_addch(sb, '"');
}

void fmt_signed_bytes(struct strbuf *sb, int64_t n)
{
	if (n > 0)
		strbuf_addch(sb, '+');
	else if (n < 0)
		strbuf_addch(sb, '-');
	fmt_bytes(sb, n < 0 ? 0 - (uint64_t)n : (uint64_t)n);
}

void fmt_signed_count(struct strbuf *sb, int64_t n)
{
	if (n > 0)
		strbuf_addch(sb, '+');
	else if (n < 0)
		strbuf_addch(sb, '-');
	fmt_count(sb, n < 0 ? 0 - (uint64_t)n : (uint64_t)n);
}

void fmt_duration(struct strbuf *sb, double seconds)
{
	unsigned long long t;

	if (seconds < 0)
		seconds = -seconds;
	if (!(seconds < 1e12)) { /* NaN or absurd times from a bad file */
		strbuf_addstr(sb, "? s");
		return;
	}
	if (seconds < 9.995) {
		strbuf_addf(sb, "%.2f s", seconds);
		return;
	}
	/* Whole seconds from here: round once, then split. */
	t = (unsigned long long)(seconds + 0.5);
	if (t < 60)
		strbuf_addf(sb, "%llu s", t);
	else if (t < 3600)
		strbuf_addf(sb, "%llu min %llu s", t / 60, t % 60);
	else if (t < 86400)
		strbuf_addf(sb, "%llu h %llu min", t / 3600, t % 3600 / 60);
	else
		strbuf_addf(sb, "%llu d %llu h", t / 86400, t % 86400 / 3600);
}

void fmt_printable(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' :
			     *s);
}
