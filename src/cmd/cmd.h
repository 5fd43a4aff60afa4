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
extern const struct command_help show_help;

#endif
