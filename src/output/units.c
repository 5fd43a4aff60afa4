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
