/*
 * pyheap snap --core FILE: the snapshot of the process a core file records
 * (target.h "Cores").  Nothing runs and nothing is stopped: the census
 * reads the core, and the files it names under --sysroot, as it reads a
 * live process's copied image.  The snapshot says it came from a core
 * (META core, core_missing_*), and what the core lacks is said on stderr
 * too, never left for the numbers to hide.
 */
#include <stdint.h>
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

static void say_missing(const struct snap_opts *o,
			const struct target_core_info *ci)
{
	struct strbuf sb = STRBUF_INIT;

	if (ci->missing_bytes) {
		fmt_bytes(&sb, ci->missing_bytes);
		ph_warn("%s holds no bytes of %llu mappings (%s) where Python "
			"objects can live (coredump_filter left them out, "
			"see core(5)): the census lacks what was in them",
			o->core, (unsigned long long)ci->missing_mappings,
			sb.buf);
	}
	if (ci->truncated_bytes) {
		strbuf_reset(&sb);
		fmt_bytes(&sb, ci->truncated_bytes);
		ph_warn("%s is cut short: %s of its segments are missing",
			o->core, sb.buf);
	}
	if (ci->files_unchecked)
		ph_warn("%llu files were read%s%s that %s holds no ELF header "
			"of: they could not be checked to be the process's",
			(unsigned long long)ci->files_unchecked,
			o->sysroot ? " under " : "",
			o->sysroot ? o->sysroot : "", o->core);
	if (ci->files_missing)
		ph_warn("%llu files %s names cannot be opened%s%s: what of "
			"them it does not hold cannot be read",
			(unsigned long long)ci->files_missing, o->core,
			o->sysroot ? " under " : "",
			o->sysroot ? o->sysroot : "");
	strbuf_release(&sb);
}

static void format_summary(const char *path, const struct snap_opts *o,
			   const struct snapshot *s, uint64_t file_size,
			   struct strbuf *sb)
{
	snap_summary_start(sb, path, s);
	strbuf_addf(sb, "from core %s (process %lld), parsed in ", o->core,
		    (long long)s->meta.pid);
	fmt_ms(sb, s->meta.parse_ms);
	snap_summary_end(sb, s, file_size);
}

/*
 * As for a live process (snap_live.c), what reads the core and the files
 * it names runs in the sandbox, in two steps: "open" finds the PID the
 * default file name needs; "parse" takes the census and writes it into
 * the file pyheap created.  --no-sandbox runs the second step here,
 * with the first's part.
 */
struct core_job {
	const struct snap_opts *o;
	double taken_at;      /* the core file's time */
	char *path;           /* the snapshot's; NULL until step 1 */
	struct strbuf summary;
};

static int step_open(void *ctx)
{
	struct core_job *j = ctx;
	struct core_opts copts = { j->o->sysroot, j->o->exe };
	struct target *t;
	char buf[32];
	int rc;

	rc = target_core_open(j->o->core, &copts, &t);
	if (rc)
		return rc;
	snprintf(buf, sizeof(buf), "%d", (int)t->pid);
	target_close(t);
	return sandbox_put(SANDBOX_KEY_PID, buf, strlen(buf));
}

/* The name of the snapshot, given the PID the core records. */
static void choose_path(struct core_job *j, int pid)
{
	char buf[64];

	if (j->o->output) {
		j->path = xstrdup(j->o->output);
	} else {
		snap_default_path(buf, sizeof(buf), pid, (time_t)j->taken_at);
		j->path = xstrdup(buf);
	}
}

static int step_parse(void *ctx)
{
	struct core_job *j = ctx;
	const struct snap_opts *o = j->o;
	struct core_opts copts = { o->sysroot, o->exe };
	const struct target_core_info *ci;
	struct target *t = NULL;
	struct snapshot s;
	struct pyproc p;
	bool have_proc = false;
	uint64_t t0, file_size = 0;
	int rc;

	snapshot_init(&s);
	rc = target_core_open(o->core, &copts, &t);
	if (rc)
		goto out;
	ci = target_core_info(t);
	rc = pyproc_open(&p, t);
	if (rc)
		goto out;
	have_proc = true;
	s.meta.taken_at = j->taken_at;
	if (!j->path) {
		choose_path(j, (int)t->pid);
		rc = snap_check_output(j->path);
		if (rc)
			goto out;
	}

	t0 = ph_now_ns();
	rc = snap_census(o, &p, t, &s);
	if (rc)
		goto out;
	/* Where the process ran is not in a core. */
	s.meta.host = 0;
	s.meta.image_bytes = ci->held_bytes;
	s.meta.core = snapshot_cstring(&s, o->core);
	s.meta.core_missing_bytes = ci->missing_bytes + ci->truncated_bytes;
	s.meta.core_missing_mappings = ci->missing_mappings;
	s.meta.parse_ms = (double)(ph_now_ns() - t0) / 1e6;
	say_missing(o, ci);
	snap_notes(o, &p, &s);
	if (sandbox_active()) {
		rc = snapshot_write_fd(&s, sandbox_kept_fd(), j->path,
				       &file_size, o->jobs);
	} else {
		snap_cleanup_on_signal(j->path);
		rc = snapshot_write_jobs(&s, j->path, &file_size, o->jobs);
		snap_cleanup_done();
	}
	if (rc)
		goto out;
	format_summary(j->path, o, &s, file_size, &j->summary);
	if (sandbox_active())
		rc = sandbox_put(SANDBOX_KEY_SUMMARY, j->summary.buf,
				 j->summary.len);
out:
	if (have_proc)
		pyproc_release(&p);
	if (t)
		target_close(t);
	snapshot_release(&s);
	return rc;
}

int snap_core(const struct snap_opts *o)
{
	struct core_job j = { o, 0, NULL, STRBUF_INIT };
	const char *paths[3] = { o->core, o->exe, NULL };
	struct sandbox_policy pol;
	struct sandbox_out out;
	struct sandbox_files files = SANDBOX_FILES_INIT;
	struct stat st;
	char about[80], *end;
	long pid;
	int rc;

	/* When the core was written: its file's time. */
	j.taken_at = !stat(o->core, &st) ? (double)st.st_mtime : 0;
	if (o->no_sandbox) {
		rc = step_parse(&j);
		goto done;
	}
	memset(&pol, 0, sizeof(pol));
	pol.core = true;
	pol.root = o->sysroot;
	pol.paths = paths;
	pol.keep_fd = -1;
	pol.files = &files;
	snprintf(about, sizeof(about), "core %.60s", o->core);
	sandbox_out_init(&out);
	rc = sandbox_run(&pol, about, step_open, &j, &out);
	if (rc)
		goto out;
	strbuf_addch(&out.put[SANDBOX_KEY_PID], '\0');
	pid = strtol(out.put[SANDBOX_KEY_PID].buf, &end, 10);
	if (*end || pid < 0 || pid > INT32_MAX) {
		rc = ph_error(PH_E_CRASH, "%s: the parsing process gave no "
			      "process ID", about);
		goto out;
	}
	choose_path(&j, (int)pid);
	rc = snap_check_output(j.path);
	if (rc)
		goto out;
	sandbox_out_release(&out);
	sandbox_out_init(&out);
	rc = snap_write_sandboxed(j.path, &pol, about, step_parse, &j, &out,
				  &j.summary);
out:
	sandbox_out_release(&out);
	sandbox_files_release(&files);
done:
	if (!rc && !o->quiet && j.summary.len)
		rc = write_stdout(&j.summary);
	strbuf_release(&j.summary);
	free(j.path);
	return rc;
}
