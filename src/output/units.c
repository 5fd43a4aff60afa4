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
