#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

enum { OPT_HELP_ID = -1000, OPT_VERBOSE_ID = -1001 };

int usage_error(const struct command_help *h, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ph_verror(PH_E_USAGE, fmt, ap);
	va_end(ap);
	/* main prints the message; the usage line helps right after it. */
	ph_error_context(rc, "%s", h->name);
	fprintf(stderr, "usage: pyheap %s %s\n", h->name, h->usage);
	fprintf(stderr, "Try 'pyheap %s --help' for more information.\n",
		h->name);
	return rc;
}

int options_parse(int argc, char **argv, const struct command_help *h,
		  int (*on_opt)(void *ctx, int id, const char *arg), void *ctx)
{
	struct option *longs;
	struct strbuf shorts = STRBUF_INIT;
	size_t n = 0, i;
	int rc = 0, c, idx;

	for (n = 0; h->options && h->options[n].id; n++)
		;
	longs = xcalloc(n + 3, sizeof(*longs));
	/* Options may follow operands (`pyheap show a.snap --by site`), as
	 * with GNU tools: getopt permutes them to the front; "--" ends them.
	 * ':': report missing arguments. */
	strbuf_addstr(&shorts, ":hv");
	for (i = 0; i < n; i++) {
		const struct option_spec *o = &h->options[i];

		longs[i].name = o->long_name;
		longs[i].has_arg = o->arg ? required_argument : no_argument;
		longs[i].val = o->id;
		if (o->short_name) {
			strbuf_addch(&shorts, o->short_name);
			if (o->arg)
				strbuf_addch(&shorts, ':');
		}
	}
	longs[n].name = "help";
	longs[n].val = OPT_HELP_ID;
	longs[n + 1].name = "verbose";
	longs[n + 1].val = OPT_VERBOSE_ID;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts.buf, longs, &idx)) != -1) {
		int id = c;

		if (c == 'h')
			id = OPT_HELP_ID;
		else if (c == 'v')
			id = OPT_VERBOSE_ID;
		for (i = 0; i < n && c < 256 && c > 0; i++)
			if (h->options[i].short_name == c)
				id = h->options[i].id;
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			rc = usage_error(h, c == ':' ? "option '%s' needs an argument" :
					 "unknown option '%s'", bad);
			goto out;
		}
		if (id == OPT_HELP_ID) {
			options_help(stdout, h);
			rc = 0;
			goto out;
		}
		if (id == OPT_VERBOSE_ID) {
			ph_verbosity++;
			continue;
		}
		rc = on_opt(ctx, id, optarg);
		if (rc < 0)
			goto out;
	}
	rc = optind;
out:
	free(longs);
	strbuf_release(&shorts);
	return rc;
}

/* "  --opt ARG" then the help text wrapped to 80 columns at column 28. */
static void print_wrapped(FILE *f, const char *left, const char *text)
{
	const int col = 28, width = 80;
	int used;

	if ((int)strlen(left) < col) {
		fprintf(f, "%-*s", col, left);
	} else {
		fprintf(f, "%s\n%*s", left, col, "");
	}
	used = col;
	while (*text) {
		const char *sp = strchr(text, ' ');
		int n = sp ? (int)(sp - text) : (int)strlen(text);

		if (used > col && used + 1 + n > width) {
			fprintf(f, "\n%*s", col, "");
			used = col;
		} else if (used > col) {
			fputc(' ', f);
			used++;
		}
		fprintf(f, "%.*s", n, text);
		used += n;
		text += n;
		while (*text == ' ')
			text++;
	}
	fputc('\n', f);
}

void options_help(FILE *f, const struct command_help *h)
{
	const struct option_spec *o;

	fprintf(f, "usage: pyheap %s %s\n\n%s\n\noptions:\n", h->name, h->usage,
		h->description);
	for (o = h->options; o && o->id; o++) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, "  ");
		if (o->short_name)
			strbuf_addf(&sb, "-%c, ", o->short_name);
		else
			strbuf_addstr(&sb, "    ");
		strbuf_addf(&sb, "--%s", o->long_name);
		if (o->arg)
			strbuf_addf(&sb, " %s", o->arg);
		print_wrapped(f, sb.buf, o->help);
		strbuf_release(&sb);
	}
	fprintf(f, "  %-26s%s\n", "-v, --verbose",
		"say more on stderr (repeat for more)");
	fprintf(f, "  %-26s%s\n", "-h, --help", "show this help");
}

int parse_uint(const struct command_help *h, const char *opt, const char *s,
	       unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return usage_error(h, "%s: '%s' is not a number", opt,
				   s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return usage_error(h, "%s: '%s' is not a number up to %llu",
				   opt, s, max);
	*out = v;
	return 0;
}

int parse_pid(const struct command_help *h, const char *s, int *pid)
{
	unsigned long long v = 0; /* gcc -O3 cannot see parse_uint sets it */
	int rc = parse_uint(h, "PID", s, 0x3fffffff, &v);

	if (rc)
		return rc;
	if (v == 0)
		return usage_error(h, "PID must be positive");
	*pid = (int)v;
	return 0;
}

int parse_format(const struct command_help *h, const char *s, bool csv_ok,
		 enum output_format *out)
{
	if (!strcmp(s, "text"))
		*out = FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = FORMAT_JSON;
	else if (csv_ok && !strcmp(s, "csv"))
		*out = FORMAT_CSV;
	else
		return usage_error(h, "--format: '%s' is not %s", s,
				   csv_ok ? "text, json or csv" :
					    "text or json");
	return 0;
}

int parse_size(const struct command_help *h, const char *opt, const char *s,
	       uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift;

	if (!s || !*s || *s == '-' || *s == '+')
		return usage_error(h, "%s: '%s' is not a size", opt, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return usage_error(h, "%s: '%s' is not a size", opt, s);
	if (*end) {
		u = strchr(units, *end & ~0x20);
		if (!u || !*u || (end[1] && strcmp(end + 1, "iB") &&
				  strcmp(end + 1, "B")))
			return usage_error(h, "%s: '%s' is not a size (use a "
					   "number with K, M, G or T)", opt, s);
		shift = 10 * (int)(u - units + 1);
		if (v > (UINT64_MAX >> shift))
			return usage_error(h, "%s: '%s' is too large", opt, s);
		v <<= shift;
	}
	*out = v;
	return 0;
}
