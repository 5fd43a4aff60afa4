/*
 * pyheap — the command table, global options and exit status.
 *
 * Exit status (contract, DESIGN.md and man/pyheap.1): 0 success; 1 a growth
 * threshold was crossed; 2 error; 3 the target is not a supported Python
 * process; 64 usage error.  Errors are one line on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cmd/cmd.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const struct command_help *help;
};

static const struct command commands[] = {
	{ "snap", cmd_snap, &snap_help },
	{ "show", cmd_show, &show_help },
	{ "diff", cmd_diff, &diff_help },
	{ "trend", cmd_trend, &trend_help },
	{ "garbage", cmd_garbage, &garbage_help },
	{ "leaks", cmd_leaks, &leaks_help },
	{ "why", cmd_why, &why_help },
	{ "retained", cmd_retained, &retained_help },
	{ "report", cmd_report, &report_help },
	{ "watch", cmd_watch, &watch_help },
	{ "info", cmd_info, &info_help },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: pyheap [--version] [--help] [-v] COMMAND [ARGS]\n\n"
		"Find memory leaks in a running CPython process from outside.\n"
		"CPython 3.7 to 3.15 (GIL builds) on Linux x86_64; glibc's "
		"malloc 2.27 to 2.43.\n"
		"\ncommands:\n");
	for (i = 0; i < PH_ARRAY_SIZE(commands); i++) {
		fprintf(f, "  %-10s%s\n", commands[i].name,
			commands[i].help->summary);
	}
	fprintf(f, "  %-8s%s\n", "help", "show this help, or a command's "
		"(pyheap help COMMAND)");
	fprintf(f, "\nRun 'pyheap help COMMAND' or 'pyheap COMMAND --help' for "
		"a command's\noptions; see pyheap(1).\n");
}

static const struct command *find_command(const char *name)
{
	size_t k;

	for (k = 0; k < PH_ARRAY_SIZE(commands); k++)
		if (!strcmp(name, commands[k].name))
			return &commands[k];
	return NULL;
}

static int not_a_command(const char *name)
{
	fprintf(stderr, "pyheap: '%s' is not a pyheap command; see 'pyheap "
		"--help'\n", name);
	return PH_EXIT_USAGE;
}

/* pyheap help [COMMAND]: what --help prints, on stdout, exit 0. */
static int help(int argc, char **argv)
{
	const struct command *c;

	if (argc > 2) {
		fprintf(stderr, "pyheap: help: expected one command at most\n"
			"usage: pyheap help [COMMAND]\n");
		return PH_EXIT_USAGE;
	}
	if (argc < 2 || !strcmp(argv[1], "help") ||
	    !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return PH_EXIT_OK;
	}
	c = find_command(argv[1]);
	if (!c)
		return not_a_command(argv[1]);
	options_help(stdout, c->help);
	return PH_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct command *c;
	int i = 1, rc;

	/* Output to a closed pipe (pyheap info | head) must not be a signal
	 * that kills us mid-way, maybe with a target stopped: the write
	 * fails with EPIPE instead, which write_stdout() takes as the
	 * reader's wish to see no more (exit 0, as git). */
	signal(SIGPIPE, SIG_IGN);

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("pyheap %s\n", PYHEAP_VERSION);
			return PH_EXIT_OK;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return PH_EXIT_OK;
		} else if (!strcmp(argv[i], "--verbose")) {
			ph_verbosity++;
		} else if (argv[i][1] == 'v' &&
			   strspn(argv[i] + 1, "v") == strlen(argv[i] + 1)) {
			ph_verbosity += (int)strlen(argv[i] + 1); /* -vv */
		} else {
			fprintf(stderr, "pyheap: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return PH_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return PH_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help"))
		return help(argc - i, argv + i);
	c = find_command(argv[i]);
	if (!c)
		return not_a_command(argv[i]);
	rc = c->run(argc - i, argv + i);
	if (rc < 0) {
		fprintf(stderr, "pyheap: %s\n", ph_errmsg());
		return ph_exit_status(rc);
	}
	return rc;
}
