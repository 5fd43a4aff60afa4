/*
 * pyheap snap PID: stop the process, copy its memory, let it run, then
 * take a census of every Python object from the copy and write it to a
 * snapshot file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "objects/objects.h"
#include "output/output.h"
#include "python/python.h"
#include "sandbox/sandbox.h"
#include "series.h"
#include "snapshot/snapshot.h"
#include "target/target.h"

enum { OPT_CORE = 0x300, OPT_EXE, OPT_SYSROOT };

static const struct option_spec snap_options[] = {
	{ SOPT_OUTPUT, 'o', "output", "FILE",
	  "write the snapshot to FILE (default "
	  "pyheap-PID-YYYYmmddTHHMMSS.snap in the current directory)" },
	{ OPT_CORE, 0, "core", "CORE",
	  "read the process a core file records (gcore, coredumpctl dump "
	  "-o FILE) instead of a running one" },
	{ OPT_EXE, 0, "exe", "PATH",
	  "with --core: the executable's file, where the path the core "
	  "names is not it" },
	{ OPT_SYSROOT, 0, "sysroot", "DIR",
	  "with --core: open the files the core names under DIR (a "
	  "container's root, a copy of the machine's files)" },
	SNAP_TARGET_OPTIONS,
	SNAP_SERIES_OPTIONS,
	SNAP_CAPTURE_OPTIONS,
	{ 0 }
};

const struct command_help snap_help = {
	"snap", "[options] PID | --pidfile FILE | --name PATTERN | "
	"--core CORE",
	"take a census of every Python object into a snapshot file",
	"Take a census of every Python object of a running process and write "
	"it to a\nsnapshot file.  The process is stopped only while its "
	"memory is copied.\nFor cron: --pidfile or --name find the process "
	"(--workers: the workers of a\nprefork server), --dir DIR --keep N "
	"keep a series, --prom FILE writes\nmetrics for node_exporter.  "
	"--core CORE reads a core file instead (gcore,\ncoredumpctl dump -o "
	"FILE): nothing is stopped.",
	snap_options,
};

/*
 * The snapshot goes to path via snapshot_write()'s temporary file
 * "path.tmp-PID" (snapshot.h).  Find out now, before the process is
 * stopped, whether that can work: the path is not a directory and a file
 * can be created next to it.  A full disk is only found when writing;
 * snapshot_write() then removes its temporary file.
 */
int snap_check_output(const char *path)
{
	struct stat st;
	char *tmp, *abs;
	int fd, err, rc = 0;

	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		err = EISDIR;
	} else {
		tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		err = fd < 0 && errno != EEXIST ? errno : 0;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
	}
	if (!err)
		return 0;
	/* With its directory: the default name says nothing of where. */
	abs = ph_abspath(path);
	rc = ph_error(PH_E_IO, "cannot write %s: %s", abs, err == EISDIR ?
		      "it is a directory" : strerror(err));
	free(abs);
	return rc;
}

/*
 * While the snapshot is written, a SIGINT, SIGTERM, SIGHUP or SIGQUIT
 * removes the temporary file before pyheap dies of it, so an interrupted
 * snap leaves nothing behind (SIGKILL can still leave "path.tmp-PID";
 * never the final name).  The name is formatted beforehand: the handler
 * only calls unlink() and raise().
 */
static const int cleanup_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static char *cleanup_tmp;
static struct sigaction cleanup_saved[PH_ARRAY_SIZE(cleanup_signals)];

static void on_signal_cleanup(int sig)
{
	struct sigaction dfl;

	if (cleanup_tmp)
		unlink(cleanup_tmp);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

void snap_cleanup_on_signal(const char *path)
{
	struct sigaction sa;
	size_t i;

	cleanup_tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal_cleanup;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < PH_ARRAY_SIZE(cleanup_signals); i++) {
		sigaction(cleanup_signals[i], NULL, &cleanup_saved[i]);
		if (cleanup_saved[i].sa_handler != SIG_IGN)
			sigaction(cleanup_signals[i], &sa, NULL);
	}
}

void snap_cleanup_done(void)
{
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(cleanup_signals); i++)
		sigaction(cleanup_signals[i], &cleanup_saved[i], NULL);
	free(cleanup_tmp);
	cleanup_tmp = NULL;
}


void snap_summary_start(struct strbuf *sb, const char *path,
			const struct snapshot *s)
{
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		bytes += s->objects[i].size;
	strbuf_addf(sb, "%s: %zu objects, ", path, s->nobjects);
	fmt_bytes(sb, bytes);
	strbuf_addf(sb, " in %zu types; ", s->ntypes);
}

void snap_summary_end(struct strbuf *sb, const struct snapshot *s,
		      uint64_t file_size)
{
	strbuf_addstr(sb, "; file ");
	fmt_bytes(sb, file_size);
	if (s->meta.flags & SNAP_PARTIAL)
		strbuf_addstr(sb, " (partial: see pyheap info)");
	strbuf_addch(sb, '\n');
}

int snap_write_sandboxed(const char *path, struct sandbox_policy *pol,
			 const char *about, int (*step)(void *), void *ctx,
			 struct sandbox_out *out, struct strbuf *summary)
{
	const struct strbuf *sum = &out->put[SANDBOX_KEY_SUMMARY];
	char *tmp;
	int rc, fd;

	snap_cleanup_on_signal(path);
	rc = snapshot_file_create(path, &tmp, &fd);
	if (rc) {
		snap_cleanup_done();
		return rc;
	}
	pol->keep_fd = fd;
	rc = sandbox_run(pol, about, step, ctx, out);
	pol->keep_fd = -1;
	close(fd);
	if (rc)
		unlink(tmp);
	else
		rc = snapshot_file_commit(tmp, path);
	snap_cleanup_done();
	free(tmp);
	/* One line of text, as the child formats it. */
	strbuf_reset(summary);
	if (!rc && sum->len && sum->len < 4096 &&
	    sum->buf[sum->len - 1] == '\n' &&
	    !memchr(sum->buf, '\n', sum->len - 1))
		strbuf_add(summary, sum->buf, sum->len);
	return rc;
}

void snap_default_path(char *buf, size_t size, int pid, time_t when)
{
	struct tm tm;

	localtime_r(&when, &tm);
	snprintf(buf, size, "pyheap-%d-%04d%02d%02dT%02d%02d%02d.snap", pid,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

void snap_fill_meta(struct snapshot *s, struct target *t,
		    struct pyproc *p)
{
	struct strbuf sb = STRBUF_INIT;
	char host[256];

	s->meta.pid = t->pid;
	s->meta.exe = snapshot_cstring(s, t->exe);
	s->meta.cmdline = snapshot_cstring(s, t->cmdline);
	if (gethostname(host, sizeof(host)))
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	s->meta.host = snapshot_cstring(s, host);
	s->meta.python = snapshot_cstring(s, p->version);
	s->meta.python_elf = snapshot_cstring(s, p->elf.path);
	py_layout_describe(&p->L, &sb);
	s->meta.offsets = snapshot_cstring(s, sb.buf);
	s->meta.pyheap_version = snapshot_cstring(s, PYHEAP_VERSION);
	strbuf_reset(&sb);
	py_checks_text(p, "", &sb);
	s->meta.checks = snapshot_cstring(s, sb.buf);
	if (py_checks_failed(p))
		s->meta.flags |= SNAP_UNVERIFIED;
	strbuf_release(&sb);
}

/* --dir DIR: created (0700: snapshots are private) if it is missing. */
static int ensure_dir(const char *dir)
{
	struct stat st;
	char *abs;
	int err, rc;

	if (!stat(dir, &st)) {
		if (!S_ISDIR(st.st_mode))
			return ph_error(PH_E_IO, "--dir %s: not a directory",
					dir);
		return 0;
	}
	if (errno == ENOENT && (!mkdir(dir, 0700) || errno == EEXIST))
		return 0;
	err = errno;
	abs = ph_abspath(dir);
	rc = ph_error(PH_E_IO, "cannot create --dir %s: %s", abs,
		      strerror(err));
	free(abs);
	return rc;
}

/*
 * What pyheap garbage would say, in the snapshot's stats (analysis.h
 * "Garbage totals"): diff, trend and the metrics read it without loading
 * the references.  Only where the analysis can run: refcount arithmetic,
 * taken stopped.
 */
void snap_add_garbage_stats(struct snapshot *s)
{
	struct garbage g;
	uint8_t *part;
	size_t i, k;

	if (!(s->meta.flags & SNAP_REFCOUNTS) ||
	    (s->meta.flags & SNAP_INCONSISTENT))
		return;
	part = xmalloc(s->nobjects + 1);
	if (garbage_analyse_parts(s, &g, part)) {
		free(part);
		return;
	}
	/* Each object's part too, so that diff and show can say how much
	 * of a row is garbage without loading the references. */
	for (i = 0; i < s->nobjects; i++) {
		if (part[i])
			s->objects[i].flags |= OBJ_GARBAGE;
		if (part[i] == GARBAGE_PART_UNCOLLECTABLE)
			s->objects[i].flags |= OBJ_NEVER_COLLECTABLE;
	}
	free(part);
	snapshot_stat(s, GARBAGE_STAT_COLLECTABLE_OBJECTS,
		      (int64_t)g.collectable.objects);
	snapshot_stat(s, GARBAGE_STAT_COLLECTABLE_BYTES,
		      (int64_t)g.collectable.bytes);
	snapshot_stat(s, GARBAGE_STAT_UNCOLLECTABLE_OBJECTS,
		      (int64_t)g.uncollectable.objects);
	snapshot_stat(s, GARBAGE_STAT_UNCOLLECTABLE_BYTES,
		      (int64_t)g.uncollectable.bytes);
	/* 1.8: the rest of what garbage --since compares, and the groups
	 * (GRPS), so that an earlier snapshot is read as a summary. */
	snapshot_stat(s, GARBAGE_STAT_COLLECTABLE_CYCLES,
		      (int64_t)g.collectable.cycles);
	snapshot_stat(s, GARBAGE_STAT_UNCOLLECTABLE_CYCLES,
		      (int64_t)g.uncollectable.cycles);
	snapshot_stat(s, GARBAGE_STAT_OBJECTS, (int64_t)g.garbage_objects);
	snapshot_stat(s, GARBAGE_STAT_UNEXPLAINED_OBJECTS,
		      (int64_t)g.unexplained_objects);
	snapshot_stat(s, GARBAGE_STAT_UNEXPLAINED_REFS,
		      (int64_t)g.unexplained_refs);
	s->groups.present = true;
	for (k = 0; k < 2; k++) {
		const struct garbage_part *p = k ? &g.uncollectable :
					       &g.collectable;

		for (i = 0; i < p->ngroups; i++) {
			struct snap_garbage_group *x;

			PH_GROW(s->groups.garbage, s->groups.garbage_alloc,
				s->groups.ngarbage + 1);
			x = &s->groups.garbage[s->groups.ngarbage++];
			memset(x, 0, sizeof(*x));
			x->part = k ? GARBAGE_PART_UNCOLLECTABLE :
				  GARBAGE_PART_COLLECTABLE;
			x->shape = snapshot_cstring(s, p->groups[i].shape);
			x->cycles = p->groups[i].cycles;
			x->objects = p->groups[i].objects;
			x->bytes = p->groups[i].bytes;
		}
	}
	garbage_release(&g);
}

/* pyheap leaks' groups (GRPS, 1.8), once the native-leak scan has
 * classified the chunks. */
void snap_add_lost_groups(struct snapshot *s)
{
	struct leaks l;
	size_t i;

	if (!(s->meta.flags & SNAP_LEAKS) || leaks_analyse_groups(s, &l))
		return;
	s->groups.present = true;
	for (i = 0; i < l.ngroups; i++) {
		const struct leak_group *g = &l.groups[i];
		struct snap_lost_group *x;

		PH_GROW(s->groups.lost, s->groups.lost_alloc,
			s->groups.nlost + 1);
		x = &s->groups.lost[s->groups.nlost++];
		memset(x, 0, sizeof(*x));
		x->reach = g->state;
		x->signature = snapshot_cstring(s, g->signature);
		x->size = g->size;
		x->chunks = g->chunks;
		x->bytes = g->bytes;
		x->indirect_chunks = g->indirect_chunks;
		x->indirect_bytes = g->indirect_bytes;
	}
	leaks_release(&l);
}

int snap_census(const struct snap_opts *o, struct pyproc *p,
		struct target *t, struct snapshot *s)
{
	struct census_opts co = { false };
	int rc;

	co.inconsistent = s->meta.flags & SNAP_INCONSISTENT;
	co.labels = (enum census_labels)o->labels;
	co.objects_done = snap_add_garbage_stats;
	/* Garbage's version rules read it (snap_fill_meta() sets the rest
	 * once the census has run its checks). */
	s->meta.python = snapshot_cstring(s, p->version);
	co.leaks = !o->no_leak_scan;
	co.threads = t->threads;
	co.nthreads = t->nthreads;
	rc = census_build(p, &co, s);
	if (rc)
		return rc;
	snap_add_lost_groups(s);
	snap_fill_meta(s, t, p);
	return 0;
}

void snap_notes(const struct snap_opts *o, struct pyproc *p,
		const struct snapshot *s)
{
	/* Never quietly: a part left unread is said at every verbosity. */
	py_checks_warn(p);
	if (s->meta.malloc_note && !o->quiet)
		fprintf(stderr, "pyheap: note: %s\n",
			snapshot_str(s, s->meta.malloc_note));
}

/*
 * --keep after a run, once its snapshots are safe: N snapshots for each
 * process this run snapshotted of a program, so that with --workers or
 * --all every process keeps about N (a replaced worker's files are the
 * oldest and go first).
 */
static void prune_series(const struct snap_opts *o, char **programs, size_t n)
{
	size_t i, k, count;

	for (i = 0; i < n; i++) {
		int removed;

		if (!programs[i])
			continue;
		for (k = 0; k < i; k++)
			if (programs[k] && !strcmp(programs[k], programs[i]))
				break;
		if (k < i)
			continue;
		for (k = i, count = 0; k < n; k++)
			count += programs[k] && !strcmp(programs[k],
							 programs[i]);
		removed = series_prune(o->dir, programs[i], o->keep * count);
		if (removed < 0)
			ph_warn("%s", ph_errmsg());
	}
}

int snap_run(const struct snap_opts *o, const pid_t *pids, size_t n)
{
	struct prom prom = PROM_INIT;
	struct strbuf text = STRBUF_INIT;
	char **programs = xcalloc(n ? n : 1, sizeof(*programs));
	size_t i, ok = 0;
	int rc = 0, status = 0;

	if (o->dir && (rc = ensure_dir(o->dir))) {
		free(programs);
		return rc;
	}
	for (i = 0; i < n; i++) {
		rc = snap_one(o, (int)pids[i], o->prom ? &prom : NULL,
			      o->keep ? &programs[i] : NULL);
		if (!rc) {
			ok++;
			continue;
		}
		if (n == 1)
			break;
		/* A worker that exited since it was chosen was replaced or
		 * retired by its server (gunicorn's max_requests): no failure
		 * of the run. */
		if (o->sel.workers && rc == -PH_E_NOPROC) {
			fprintf(stderr, "pyheap: note: %s (a worker that "
				"exited; its server may have replaced it)\n",
				ph_errmsg());
			continue;
		}
		/* --all: say what failed and go on with the others. */
		fprintf(stderr, "pyheap: %s\n", ph_errmsg());
		if (!status)
			status = ph_exit_status(rc);
	}
	/* The new snapshots are safe: now the oldest may go. */
	if (o->keep)
		prune_series(o, programs, n);
	/* Metrics of what worked; none at all leaves the old file, whose
	 * timestamps then tell that snapshots stopped. */
	if (o->prom && ok) {
		int wrc;

		prom_render(&prom, &text);
		wrc = write_file_atomic(o->prom, text.buf, text.len, 0644);
		if (wrc && n > 1) {
			fprintf(stderr, "pyheap: %s\n", ph_errmsg());
			status = status ? status : PH_EXIT_ERROR;
		} else if (wrc && !rc) {
			rc = wrc;
		}
	}
	for (i = 0; i < n; i++)
		free(programs[i]);
	free(programs);
	prom_release(&prom);
	strbuf_release(&text);
	return n == 1 ? rc : status;
}

static int on_opt(void *ctx, int id, const char *arg)
{
	struct snap_opts *o = ctx;
	int rc;

	switch (id) {
	case OPT_CORE:
		o->core = arg;
		return 0;
	case OPT_EXE:
		o->exe = arg;
		return 0;
	case OPT_SYSROOT:
		o->sysroot = arg;
		return 0;
	}
	rc = snap_option(&snap_help, ctx, id, arg);
	return rc > 0 ? 0 : rc;
}

/* --core reads a file: what is about a running process does not apply. */
static int core_options_check(const struct snap_opts *o, int noperands)
{
	const char *bad = o->sel.pidfile ? "--pidfile" :
			  o->sel.name ? "--name" : o->dir ? "--dir" :
			  o->keep ? "--keep" : o->prom ? "--prom" :
			  o->no_stop ? "--no-stop" : o->max_copy ? "--max-copy" :
			  NULL;

	if (!o->core) {
		if (o->exe || o->sysroot)
			return usage_error(&snap_help, "--%s needs --core",
					   o->exe ? "exe" : "sysroot");
		return 1;
	}
	if (noperands)
		return usage_error(&snap_help, "give a PID or --core CORE, "
				   "not both");
	if (bad)
		return usage_error(&snap_help, "%s does not apply to --core",
				   bad);
	return 0;
}

int cmd_snap(int argc, char **argv)
{
	struct snap_opts o;
	pid_t *pids = NULL;
	size_t n = 0;
	int rc, first;

	snap_opts_init(&o);
	first = options_parse(argc, argv, &snap_help, on_opt, &o);
	if (first <= 0) {
		rc = first;
		goto out;
	}
	rc = core_options_check(&o, argc - first);
	if (rc <= 0) {
		if (!rc)
			rc = snap_core(&o);
		goto out;
	}
	rc = snap_options_check(&snap_help, &o, argc - first, argv + first);
	if (rc)
		goto out;
	rc = select_targets(&o.sel, &pids, &n);
	if (rc)
		goto out;
	rc = snap_run(&o, pids, n);
out:
	free(pids);
	snap_opts_release(&o);
	return rc;
}
