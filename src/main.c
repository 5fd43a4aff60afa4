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
	{ "watch", cmd_watch, &watch_help },
	{ "info", cmd_info, &info_help },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: pyheap [--version] [--help] [-v] COMMAND [ARGS]\n\n"
		"Find memory leaks in a running CPython process from outside.\n"
		"\ncommands:\n");
	for (i = 0; i < PH_ARRAY_SIZE(commands); i++) {
		fprintf(f, "  %-8s%s\n", commands[i].name,
			commands[i].help->summary);
	}
	fprintf(f, "\nRun 'pyheap COMMAND --help' for a command's options; "
		"see pyheap(1).\n");
}

int main(int argc, char **argv)
{
	int i = 1, rc;
	size_t k;

	/* Output to a closed pipe (pyheap info | head) must be an error we
	 * handle, not a signal that kills us mid-way. */
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
	for (k = 0; k < PH_ARRAY_SIZE(commands); k++) {
		if (strcmp(argv[i], commands[k].name))
			continue;
		rc = commands[k].run(argc - i, argv + i);
		if (rc < 0) {
			fprintf(stderr, "pyheap: %s\n", ph_errmsg());
			return ph_exit_status(rc);
		}
		return rc;
	}
	fprintf(stderr, "pyheap: '%s' is not a pyheap command; see 'pyheap "
		"--help'\n", argv[i]);
	return PH_EXIT_USAGE;
}
