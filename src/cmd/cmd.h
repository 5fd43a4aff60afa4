/*
 * cmd/ — one file per subcommand: options in, library calls, output out.
 *
 * Each command is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * command name; it returns 0 or a negative -PH_E_xxx (main.c prints the
 * recorded message and maps it to the exit status), or a positive exit
 * status it chose itself (1 for a crossed threshold).
 *
 * Options are declared in a table (struct option_spec) that both the parser
 * and --help use, so help text cannot drift from what is accepted.  The man
 * page repeats the same text (man/pyheap.1); keep them in step.
 * -h/--help and -v/--verbose are added to every command by the parser.
 */
#ifndef PYHEAP_CMD_H
#define PYHEAP_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../analysis/analysis.h"
#include "../base/base.h"

struct option_spec {
	int id;              /* > 0; a zero id ends the table */
	char short_name;     /* 0 for none */
	const char *long_name;
	const char *arg;     /* argument name ("FMT"), NULL for a flag */
	const char *help;
};

struct command_help {
	const char *name;     /* "info" */
	const char *usage;    /* "[options] PID" */
	const char *summary;  /* one short line for `pyheap --help` */
	const char *description; /* paragraph for `pyheap CMD --help` */
	const struct option_spec *options;
};

/* Parse argv[1..] against h->options, calling on_opt(ctx, id, arg) for each
 * option in order.  Returns the index of the first operand (>= 1); 0 after
 * printing --help to stdout (the command then exits 0); -PH_E_USAGE after a
 * bad option (message recorded, usage printed to stderr); or on_opt's
 * negative return. */
int options_parse(int argc, char **argv, const struct command_help *h,
		  int (*on_opt)(void *ctx, int id, const char *arg), void *ctx);
void options_help(FILE *f, const struct command_help *h);
/* Record a usage error for command h and print its usage line. */
int usage_error(const struct command_help *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Shared operand/option parsers: 0 or -PH_E_USAGE. */
int parse_pid(const struct command_help *h, const char *s, int *pid);
int parse_uint(const struct command_help *h, const char *opt, const char *s,
	       unsigned long long max, unsigned long long *out);

enum output_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV };
int parse_format(const struct command_help *h, const char *s, bool csv_ok,
		 enum output_format *out);

/* "8G", "512M", "100k", "4096": bytes (K/M/G/T are powers of 1024). */
int parse_size(const struct command_help *h, const char *opt, const char *s,
	       uint64_t *out);

int cmd_info(int argc, char **argv);
extern const struct command_help info_help;
int cmd_snap(int argc, char **argv);
extern const struct command_help snap_help;
int cmd_show(int argc, char **argv);
int cmd_garbage(int argc, char **argv);
extern const struct command_help garbage_help;
int cmd_leaks(int argc, char **argv);
extern const struct command_help leaks_help;
int cmd_why(int argc, char **argv);
extern const struct command_help why_help;
int cmd_retained(int argc, char **argv);
extern const struct command_help retained_help;
extern const struct command_help show_help;
int cmd_diff(int argc, char **argv);
extern const struct command_help diff_help;
int cmd_trend(int argc, char **argv);
extern const struct command_help trend_help;
int cmd_watch(int argc, char **argv);
extern const struct command_help watch_help;
int cmd_report(int argc, char **argv);
extern const struct command_help report_help;
/* A snapshot loaded for its HTML page (cmd/htmlreport.c): its
 * html_report, valid until snap_page_free().  0, or the reading's error
 * (naming the file). */
struct snap_page;
struct html_report;
int snap_page_load(const char *file, size_t top, bool retainers,
		   struct snap_page **out);
const struct html_report *snap_page_report(const struct snap_page *p);
void snap_page_free(struct snap_page *p);
/* The series page of a directory (pyheap report DIR; cmd/trend.c): the
 * series of program (NULL: the directory's only one) as trend reads it,
 * into out. */
int trend_report_dir(const char *dir, const char *program, size_t top,
		     struct strbuf *out);

/*
 * Options show and diff share (cmd/report.c).  Their option tables use
 * these ids (above 255, so no id can be mistaken for a short option's
 * character); report_option() parses them into a struct report_opts.
 */
enum {
	ROPT_BY = 0x100, ROPT_TOP, ROPT_SORT, ROPT_MIN_BYTES, ROPT_MATCH,
	ROPT_FORMAT, ROPT_DEPTH, ROPT_GC,
};

struct report_opts {
	enum group_by by;
	enum output_format format;
	long long top;            /* -1 until --top: the format's default */
	struct row_filter filter; /* filter.match points into match */
	const char **match;       /* --match patterns (argv strings) */
	size_t nmatch, match_alloc;
	unsigned depth;           /* --depth K, 0 if not given */
	bool gc;                  /* show --gc: the GC-TRACKED column */
	bool diff;                /* set by diff: --sort drop is allowed */
};
#define REPORT_OPTS_INIT { BY_TYPE, FORMAT_TEXT, -1, ROW_FILTER_INIT, \
			   NULL, 0, 0, 0, false, false }

/* 0 or -PH_E_USAGE for a ROPT_* option; 1 if id is not one. */
int report_option(const struct command_help *h, struct report_opts *o,
		  int id, const char *arg);
/* After parsing: options that only make sense together.  0 or
 * -PH_E_USAGE. */
int report_options_check(const struct command_help *h,
			 const struct report_opts *o);
/* --top, or its default: 20 rows in text, all (0) in json and csv. */
size_t report_top(const struct report_opts *o);
void report_opts_release(struct report_opts *o);
/* Read a snapshot for show, diff and trend (types, sites and the
 * summary: no objects, no graph; snapshot.h SNAP_READ_REPORT) and
 * check that it holds what o->by groups: a file older than format 1.2
 * has no sites (-PH_E_NOTFOUND, naming the file). */
int report_read(const char *path, const struct report_opts *o,
		struct snapshot *s);
/* The same at another level (diff --why needs A's objects). */
int report_read_level(const char *path, const struct report_opts *o,
		      enum snap_read_level level, struct snapshot *s);
/*
 * An earlier snapshot for --since (garbage, leaks): its metadata, stats
 * and groups read (SNAP_READ_META) and given to from_groups(), which takes what it needs from the groups snap
 * stored (GRPS, 1.8); when that says -PH_E_NOTFOUND (an older file), read
 * whole and given to analyse(), whose errors name the file.  out is what
 * both fill.
 */
int since_read(const char *path,
	       int (*from_groups)(const struct snapshot *, void *),
	       int (*analyse)(const struct snapshot *, void *), void *out);
/* Write out to stdout, flush it: 0 or -PH_E_IO.  A reader that closed
 * its end (EPIPE) is no error: the rest of the output is dropped and 0
 * returned, as git does (pyheap(1) "EXIT STATUS").  Commands print only
 * after a target they stopped is running again. */
int write_stdout(const struct strbuf *out);

#endif
