/*
 * Unattended runs (cron, systemd timers, pyheap watch): choosing the
 * target without a PID, series of snapshots in a directory, and the small
 * parsers their options need.  Everything here is cmd/'s: it reads /proc
 * and directories, never a process's memory.
 *
 * Targets (--pidfile, --name, --workers)
 * --------------------------------------
 * A pidfile holds a PID (the first word; surrounding white space is
 * allowed).  --name PATTERN is an fnmatch(3) glob matched against a
 * process's names (process_names()): its command name (/proc/PID/comm),
 * the base name of argv[0], for a Python interpreter the base name of the
 * script it runs (with and without ".py") or the module of -m, and its
 * whole command line (arguments joined by spaces).  pyheap itself, its
 * ancestors (the shell or cron job that runs it), other pyheap processes,
 * kernel threads and zombies never match.
 *
 * --workers replaces each selected process by its workers: its children
 * that run the same executable (/proc/PID/exe), as forks of a prefork
 * server do (gunicorn, uWSGI, Celery, multiprocessing pools); children
 * that run another program are left out.  With --name, a match whose
 * parent matched as well is a worker of that parent, not a process of its
 * own: `--name gunicorn --workers` picks the master among the master and
 * its identical-looking workers.
 *
 * Series (--dir)
 * --------------
 * A snapshot of a series is named PROGRAM-PID-YYYYmmddTHHMMSSZ.snap (UTC,
 * so names sort by time across DST changes), with "-N" before ".snap"
 * (N = 2, 3, ...) if that name is taken.  PROGRAM is what the process
 * runs (program_name()): a Python script's base name without ".py"
 * ("leaky_worker"), the module of `python -m` ("celery"), else the base
 * name of argv[0] ("gunicorn", "uwsgi"); sanitised to letters, digits and
 * "._+-" (anything else becomes "_"), at most 64 bytes, never starting
 * with "." and never empty ("python").  --keep N keeps, of each PROGRAM
 * a run snapshotted, the newest N x (the processes of PROGRAM that run
 * snapshotted: 1, or the workers or matches of --workers and --all)
 * snapshots in the directory, whatever their PID: about N per process,
 * the files of exited processes going first.  Only files named as above
 * are ever removed, with leftovers of a killed snap
 * (PROGRAM-*.snap.tmp-PID whose pyheap is gone).
 */
#ifndef PYHEAP_CMD_SERIES_H
#define PYHEAP_CMD_SERIES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cmd.h"

/* ---- target selection -------------------------------------------------- */

struct target_select {
	int pid;              /* an explicit PID, or 0 */
	const char *pidfile;  /* --pidfile, or NULL */
	const char *name;     /* --name, or NULL */
	bool all;             /* --all: every match of --name */
	bool workers;         /* --workers: the children of the match */
};

/*
 * The PIDs to snapshot, in increasing order (*pids is xmalloc'd).  Errors,
 * each one line naming what to do: -PH_E_IO (a pidfile that cannot be
 * read), -PH_E_FORMAT (one that holds no PID), -PH_E_NOPROC (the pidfile's
 * process is not running; no process matches --name; --workers and no
 * worker), -PH_E_NOTFOUND (several match --name without --all: the
 * message lists them, each parent of other matches marked "[parent of
 * ...]" and each child "(child of P)").
 */
int select_targets(const struct target_select *sel, pid_t **pids, size_t *n);
/* Whether pid names a live process (not a zombie). */
bool process_alive(pid_t pid);
/* Its parent and when it started (Unix time, s, to the clock tick; 0 if
 * the boot time is unknown), from /proc; false if it is gone. */
bool process_identity(pid_t pid, pid_t *ppid, double *started_at);

/* The arguments of a process (/proc/PID/cmdline, NUL separated), as an
 * argv array with its strings; freed with argv_free().  A process whose
 * title was rewritten into one string with spaces (setproctitle) is split
 * at the spaces.  -PH_E_NOPROC if it is gone; an empty list for a kernel
 * thread. */
struct proc_args {
	char **argv;
	size_t argc;
	char comm[64];        /* /proc/PID/comm, "" if unknown */
};
int proc_args_read(pid_t pid, struct proc_args *a);
void proc_args_release(struct proc_args *a);
/* From a command line joined by spaces (a snapshot's meta.cmdline). */
void proc_args_split(const char *cmdline, struct proc_args *a);

/* The series' PROGRAM of a process (see above), appended to out. */
void program_name(const struct proc_args *a, struct strbuf *out);
/* Sanitise a user-given or derived name as above. */
void program_sanitise(const char *in, struct strbuf *out);

/* ---- series in a directory --------------------------------------------- */

struct series_file {
	char *path;           /* DIR/NAME */
	char *program;
	int64_t pid;
	int64_t when;         /* Unix time from the name */
	unsigned seq;         /* 1, or the N of "-N" */
};

/* Parse a base name as a series file; false if it is not one. */
bool series_parse_name(const char *name, struct series_file *f);
/*
 * The series files of dir, of `program` only if it is not NULL, sorted
 * by time, then sequence, then PID.  -PH_E_IO if dir cannot be read.
 */
int series_list(const char *dir, const char *program,
		struct series_file **files, size_t *n);
void series_files_free(struct series_file *files, size_t n);
/* A new series path in dir for (program, pid, when) that names no
 * existing file. */
char *series_path(const char *dir, const char *program, pid_t pid,
		  time_t when);
/*
 * Remove all but the newest `keep` snapshots of program in dir (and its
 * stale temporary files).  Returns the number removed, or -PH_E_IO if dir
 * cannot be read (a file that cannot be removed is warned about).
 */
int series_prune(const char *dir, const char *program, size_t keep);

/* ---- free space ---------------------------------------------------------- */

/* --min-free SIZE|PCT: the free-space floor of a filesystem. */
struct free_floor {
	bool set, is_percent;
	uint64_t bytes;
	double percent;
	const char *arg;      /* as given, for messages */
};
#define DEFAULT_MIN_FREE "1G"
int parse_free_floor(const struct command_help *h, const char *opt,
		     const char *arg, struct free_floor *f);
/* 0, or -PH_E_LIMIT when the filesystem holding dir has less free space
 * (for unprivileged users: f_bavail) than the floor; -PH_E_IO if it cannot
 * be asked. */
int check_free_space(const char *dir, const struct free_floor *f);

/* ---- files and parsers ------------------------------------------------- */

/* Write data to path through "path.tmp-PID": written, fsynced, renamed,
 * with `mode`.  0 or -PH_E_IO (the temporary file is removed). */
int write_file_atomic(const char *path, const char *data, size_t len,
		      mode_t mode);

/* "30s", "10m", "6h", "2d", "1w", "1.5h" (a unit is required): seconds,
 * > 0. */
int parse_duration(const struct command_help *h, const char *opt,
		   const char *s, double *seconds);
/* A growth rate "10M/h", "1G/d", "512K/min", "100/s" or "10M" (per hour):
 * bytes per hour. */
int parse_rate(const struct command_help *h, const char *opt, const char *s,
	       double *bytes_per_hour);

/* ---- snap, shared with watch -------------------------------------------- */

/*
 * snap's options (ids above report_opts' ROPT_*), parsed by snap_option()
 * for both snap and watch; watch's table is SNAP_TARGET_OPTIONS and
 * SNAP_SERIES_OPTIONS and SNAP_CAPTURE_OPTIONS without -o.
 */
enum {
	SOPT_OUTPUT = 0x200, SOPT_NO_STOP, SOPT_MAX_PAUSE, SOPT_ON_MAX_PAUSE,
	SOPT_MAX_COPY, SOPT_QUIET, SOPT_PIDFILE, SOPT_NAME, SOPT_ALL,
	SOPT_DIR, SOPT_KEEP, SOPT_MIN_FREE, SOPT_PROGRAM, SOPT_PROM,
	SOPT_PROM_TOP, SOPT_WORKERS, SOPT_LABELS, SOPT_NO_LEAK_SCAN,
	SOPT_JOBS, SOPT_NO_SANDBOX,
};

#define SNAP_TARGET_OPTIONS                                                  \
	{ SOPT_PIDFILE, 0, "pidfile", "FILE",                                \
	  "the process whose PID FILE holds (instead of a PID operand)" },   \
	{ SOPT_NAME, 0, "name", "PATTERN",                                   \
	  "the process whose name matches the glob PATTERN: command name, " \
	  "script (e.g. worker.py or worker), module of -m, or whole "       \
	  "command line; one match, or an error listing them" },            \
	{ SOPT_ALL, 0, "all", NULL,                                          \
	  "with --name: snapshot every matching process" },                 \
	{ SOPT_WORKERS, 0, "workers", NULL,                                  \
	  "snapshot the workers of the process (its children that run its " \
	  "program: gunicorn, uWSGI, Celery, multiprocessing), not the "     \
	  "process itself" }

#define SNAP_SERIES_OPTIONS                                                  \
	{ SOPT_DIR, 0, "dir", "DIR",                                         \
	  "write a series: DIR/PROGRAM-PID-YYYYmmddTHHMMSSZ.snap (UTC; DIR " \
	  "is created if missing)" },                                        \
	{ SOPT_KEEP, 0, "keep", "N",                                         \
	  "with --dir: keep the newest N snapshots per process snapshotted " \
	  "(of its program, any PID; older ones are removed)" },            \
	{ SOPT_MIN_FREE, 0, "min-free", "SIZE|PCT",                          \
	  "write nothing when the output's filesystem has less free space "  \
	  "(e.g. 2G, 10%; default " DEFAULT_MIN_FREE " with --dir; 0 "       \
	  "turns it off)" },                                                 \
	{ SOPT_PROGRAM, 0, "program", "NAME",                                \
	  "call the program NAME in file names and metrics (default: the "   \
	  "script's name without .py, the -m module, or the command)" },    \
	{ SOPT_PROM, 0, "prom", "FILE",                                      \
	  "also write Prometheus metrics to FILE, atomically (for "          \
	  "node_exporter's textfile collector: a NAME.prom in its "          \
	  "directory)" },                                                    \
	{ SOPT_PROM_TOP, 0, "prom-top", "N",                                 \
	  "metrics for the N largest types and an [other] bucket (default "  \
	  "20)" }

#define SNAP_CAPTURE_OPTIONS                                                 \
	{ SOPT_NO_STOP, 0, "no-stop", NULL,                                  \
	  "do not stop the process: copy its memory while it runs (the "     \
	  "snapshot is marked inconsistent)" },                              \
	{ SOPT_MAX_PAUSE, 0, "max-pause", "MS",                              \
	  "never keep the process stopped longer than MS milliseconds "      \
	  "(default 2000); past it, resume it and do what --on-max-pause "   \
	  "says" },                                                          \
	{ SOPT_ON_MAX_PAUSE, 0, "on-max-pause", "ACTION",                    \
	  "fail (default): exit with status 2, writing nothing; continue: "  \
	  "copy the rest while the process runs, as --no-stop does (the "    \
	  "snapshot is marked inconsistent)" },                              \
	{ SOPT_MAX_COPY, 0, "max-copy", "SIZE",                              \
	  "refuse to copy more than SIZE of process memory (e.g. 8G; "       \
	  "default: half of the memory available now)" },                    \
	{ SOPT_LABELS, 0, "labels", "WHICH",                                 \
	  "which dict keys name the edges of paths (pyheap why): "           \
	  "identifiers (default: interned identifier-like keys, such as "    \
	  "attribute and global names, never other data), all (every "       \
	  "ASCII str key: may store user data), none" },                     \
	{ SOPT_NO_LEAK_SCAN, 0, "no-leak-scan", NULL,                        \
	  "do not classify native memory (pyheap leaks): skips the "         \
	  "conservative scan after the copy; the pause is the same" },      \
	{ SOPT_JOBS, 'j', "jobs", "N",                                       \
	  "threads to copy with (each copies a part: the pause shrinks) "    \
	  "and to write the snapshot with: 1 to 8 (default: the CPUs this "  \
	  "process may run on, up to 8)" },                                  \
	{ SOPT_NO_SANDBOX, 0, "no-sandbox", NULL,                            \
	  "parse in pyheap's own process, with its privileges, instead of "  \
	  "in a child that has none (see SECURITY in pyheap(1)): for "       \
	  "debugging pyheap" },                                              \
	{ SOPT_QUIET, 'q', "quiet", NULL, "do not print the summary line" }

struct snap_opts {
	struct target_select sel;
	const char *output;       /* -o */
	const char *dir;          /* --dir */
	char *program;            /* --program, sanitised (owned) */
	const char *prom;         /* --prom */
	size_t prom_top;
	size_t keep;              /* 0: keep all */
	struct free_floor min_free;
	bool no_stop, quiet, no_leak_scan;
	bool no_sandbox;          /* --no-sandbox */
	unsigned max_pause_ms;
	int on_max_pause;         /* enum pause_limit */
	uint64_t max_copy;
	int labels;               /* enum census_labels */
	int jobs;                 /* --jobs, 1 to 8 */
	const char *core;         /* snap --core FILE, and with it */
	const char *exe;          /* --exe PATH */
	const char *sysroot;      /* --sysroot DIR */
};
void snap_opts_init(struct snap_opts *o);
void snap_opts_release(struct snap_opts *o);
/* 0 or -PH_E_USAGE for a SOPT_* option; 1 if id is not one. */
int snap_option(const struct command_help *h, struct snap_opts *o, int id,
		const char *arg);
/* After parsing: the operands (at most one PID) and options that only
 * make sense together.  0 or -PH_E_USAGE. */
int snap_options_check(const struct command_help *h, struct snap_opts *o,
		       int noperands, char **operands);
/*
 * Snapshot each of pids as o says, writing the metrics file (if any) once
 * at the end with what worked.  One PID: 0 or its negative error (main
 * prints it).  Several: each failure is printed as it happens and the
 * result is 0 or the exit status of the first failure.
 */
int snap_run(const struct snap_opts *o, const pid_t *pids, size_t n);
/* snap_live.c: one process (snap_run()'s step): 0 or its error; with
 * program_out, the program's name (series.h) on success. */
struct prom;
int snap_one(const struct snap_opts *o, int pid, struct prom *prom,
	     char **program_out);

/* snap.c, for snap_core.c: the pieces of a snapshot both sources share.
 * snap_check_output(): 0, or the error writing path would meet.
 * snap_default_path(): "pyheap-PID-TIME.snap".  snap_fill_meta(): META
 * from the target and the interpreter.  snap_add_garbage_stats() and
 * snap_add_lost_groups(): the analyses' totals and groups snap stores. */
struct pyproc;
struct target;
int snap_check_output(const char *path);
void snap_default_path(char *buf, size_t size, int pid, time_t when);
void snap_fill_meta(struct snapshot *s, struct target *t, struct pyproc *p);
void snap_add_garbage_stats(struct snapshot *s);
void snap_add_lost_groups(struct snapshot *s);
/* The census of p (reading p->t) into s, and what snap stores with it:
 * the analyses' totals and groups, META from t (whose threads' registers
 * are the native-leak scan's roots).  0 or census_build()'s error. */
int snap_census(const struct snap_opts *o, struct pyproc *p,
		struct target *t, struct snapshot *s);
/* What the census could not read, said on stderr. */
void snap_notes(const struct snap_opts *o, struct pyproc *p,
		const struct snapshot *s);
/* Remove path's temporary file if a signal ends pyheap while it writes;
 * snap_cleanup_done() once it is written. */
void snap_cleanup_on_signal(const char *path);
void snap_cleanup_done(void);
/* Run step (sandbox_run() under pol) to write the snapshot path: into
 * "path.tmp-PID", created here and left to the child, renamed to path
 * only if the child succeeded, removed otherwise (and on a signal).
 * *summary receives the child's summary line (SANDBOX_KEY_SUMMARY), if
 * it is one line.  0, or the child's or the file's error. */
struct sandbox_policy;
struct sandbox_out;
/* The summary line's first part ("PATH: N objects, SIZE in T types; ")
 * and its last ("; file SIZE", partial, newline). */
void snap_summary_start(struct strbuf *sb, const char *path,
			const struct snapshot *s);
void snap_summary_end(struct strbuf *sb, const struct snapshot *s,
		      uint64_t file_size);
int snap_write_sandboxed(const char *path, struct sandbox_policy *pol,
			 const char *about, int (*step)(void *), void *ctx,
			 struct sandbox_out *out, struct strbuf *summary);
/* snap_core.c: pyheap snap --core FILE (o->core): the snapshot of the
 * process a core file records. */
int snap_core(const struct snap_opts *o);

#endif
