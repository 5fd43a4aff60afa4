/*
 * pyheap snap PID: the live path, in two processes (sandbox/sandbox.h).
 *
 * pyheap itself finds the process, stops it, copies its memory, lets it
 * run and detaches; what reads bytes the process controls runs in a child
 * without privileges, twice:
 *
 *   1. before the stop, "open": the interpreter's files, version and
 *      layout (pyproc_open()), so that a process pyheap cannot read is
 *      refused without being stopped; it returns the interpreter's file;
 *   2. after the process runs again, "parse": the same, then the census of
 *      the copy, written into the file pyheap created for it, which pyheap
 *      renames only if the child succeeded.
 *
 * The child of step 2 is forked after the copy: the copy is its memory
 * from the start, shared until written (nothing of it is).  With
 * --no-sandbox both steps run here, as one.
 */
#include <errno.h>
#include <inttypes.h>
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

/* What the steps share; the child sees it as it was at the fork. */
struct snap_job {
	const struct snap_opts *o;
	int pid;
	struct target *t, *img;
	struct pyproc p;
	bool have_proc;
	struct snapshot s;
	const char *path;
	struct prom *prom;     /* --prom: this snapshot's metrics go here */
	const char *program;
	struct strbuf summary; /* the line printed once the file is there */
	struct sandbox_files files; /* step 1's files, for step 2 */
};

/* Half of MemAvailable: a copy larger than that would push the machine
 * into swap, which hurts the target more than a refusal does. */
static uint64_t default_max_copy(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			fclose(f);
			return kb * 1024 / 2;
		}
	}
	fclose(f);
	return 0;
}


/* VmRSS from /proc/PID/status, in bytes; 0 if unknown. */
static uint64_t read_rss(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}


/*
 * exec() gives a process a new address space: files, layout and symbols
 * read before the stop no longer describe what was copied.  The
 * interpreter's mapping or the stack moves (address space randomisation),
 * so compare where they were when pyheap opened the process with where
 * they are in the copy.
 */
static uint64_t start_of(const struct maps *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->v[i].path && !strcmp(m->v[i].path, path))
			return m->v[i].start;
	return 0;
}


/* The line snap prints for a snapshot written to path. */
static void format_summary(const char *path, const struct snapshot *s,
			   uint64_t file_size, struct strbuf *sb)
{
	snap_summary_start(sb, path, s);
	strbuf_addstr(sb, "paused ");
	if ((s->meta.flags & SNAP_INCONSISTENT) && !s->meta.pause_ms) {
		strbuf_addstr(sb, "0 ms (--no-stop)");
	} else {
		fmt_ms(sb, s->meta.pause_ms);
		if (s->meta.flags & SNAP_INCONSISTENT)
			strbuf_addstr(sb, " (--max-pause reached: the rest "
				      "was copied while it ran)");
	}
	strbuf_addstr(sb, ", copied ");
	fmt_bytes(sb, s->meta.image_bytes);
	strbuf_addstr(sb, " in ");
	fmt_ms(sb, s->meta.capture_ms);
	strbuf_addstr(sb, ", parsed in ");
	fmt_ms(sb, s->meta.parse_ms);
	snap_summary_end(sb, s, file_size);
}


/* Whether the target still runs, after the census (for note_exit()). */
static bool target_alive(int pid)
{
	return sandbox_active() ? sandbox_target_alive() : process_alive(pid);
}

/*
 * A target that exits right after the copy leaves a whole census (it is
 * made from the copy), but what is read from its files after the resume
 * cannot be: /proc/PID/root is gone with it, so the malloc walk, which
 * opens libc, stops with a note that blames libc.  Put the real cause
 * first.  (The note stays: it says what was not done.)
 */
static void note_exit(struct snapshot *s, int pid)
{
	const char *note = snapshot_str(s, s->meta.malloc_note);
	char *msg;

	if (!*note || target_alive(pid))
		return;
	msg = xasprintf("process %d exited during the snapshot, so its files "
			"could no longer be read: %s", pid, note);
	s->meta.malloc_note = snapshot_cstring(s, msg);
	free(msg);
}


/* The program's name for file names and metrics (series.h). */
static int target_program(const struct snap_opts *o, int pid, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	struct proc_args a;
	int rc;

	if (o->program) {
		*out = xstrdup(o->program);
		return 0;
	}
	rc = proc_args_read(pid, &a);
	if (rc)
		return rc;
	program_name(&a, &sb);
	proc_args_release(&a);
	*out = strbuf_detach(&sb, NULL);
	return 0;
}


/* What to reserve for a copy estimated at est bytes: 1/32 more and 2 MiB,
 * within the copy limit. */
static uint64_t reserve_size(uint64_t est, uint64_t max)
{
	uint64_t r = est + est / 32 + (2u << 20);

	return max && r > max ? max : r;
}



/* Step 1: the interpreter, from its files and (read through pyheap) its
 * constants.  In the sandbox, what step 2 needs of it is the file's
 * name; --no-sandbox keeps it open for step 2. */
static int step_open(void *ctx)
{
	struct snap_job *j = ctx;
	int rc;

	rc = pyproc_open(&j->p, j->t);
	if (rc)
		return rc;
	j->have_proc = true;
	if (sandbox_active())
		return sandbox_put(SANDBOX_KEY_ELF, j->p.elf.path,
				   strlen(j->p.elf.path));
	return 0;
}

/* Step 2: the census of the copy, its file and its metrics. */
static int step_parse(void *ctx)
{
	struct snap_job *j = ctx;
	struct report r = { 0 };
	uint64_t t0 = ph_now_ns(), file_size = 0;
	int rc;

	if (sandbox_active()) {
		/* The interpreter again, as in step 1, from the copy (the
		 * files are step 1's, kept by the parent); from the process
		 * if the copy will not do (it holds no code, which a build
		 * without interp_head is read from). */
		rc = pyproc_open(&j->p, j->img);
		if (rc)
			rc = pyproc_open(&j->p, j->t);
		if (rc)
			return rc;
		j->have_proc = true;
	}
	j->p.t = j->img;
	rc = snap_census(j->o, &j->p, j->t, &j->s);
	if (rc)
		goto out;
	note_exit(&j->s, j->pid);
	j->s.meta.parse_ms = (double)(ph_now_ns() - t0) / 1e6;
	snap_notes(j->o, &j->p, &j->s);

	if (sandbox_active()) {
		rc = snapshot_write_fd(&j->s, sandbox_kept_fd(), j->path,
				       &file_size, j->o->jobs);
	} else {
		snap_cleanup_on_signal(j->path);
		rc = snapshot_write_jobs(&j->s, j->path, &file_size,
					 j->o->jobs);
		snap_cleanup_done();
	}
	if (rc)
		goto out;
	format_summary(j->path, &j->s, file_size, &j->summary);
	if (j->prom) {
		rc = report_group(&j->s, BY_TYPE, &r);
		if (rc)
			goto out;
		if (sandbox_active()) {
			struct prom mine = PROM_INIT;
			struct strbuf sb = STRBUF_INIT;

			prom_add_snapshot(&mine, j->program, &j->s, &r,
					  j->o->prom_top);
			prom_serialize(&mine, &sb);
			rc = sandbox_put(SANDBOX_KEY_PROM, sb.buf, sb.len);
			strbuf_release(&sb);
			prom_release(&mine);
		} else {
			prom_add_snapshot(j->prom, j->program, &j->s, &r,
					  j->o->prom_top);
		}
	}
	if (!rc && sandbox_active())
		rc = sandbox_put(SANDBOX_KEY_SUMMARY, j->summary.buf,
				 j->summary.len);
out:
	report_release(&r);
	return rc;
}

/* Run a step here, or in the sandbox with what it may ask for. */
static int run_step(struct snap_job *j, int (*step)(void *),
		    struct sandbox_out *out)
{
	struct sandbox_policy pol;
	char about[64];

	if (j->o->no_sandbox)
		return step(j);
	memset(&pol, 0, sizeof(pol));
	pol.pid = j->pid;
	pol.live = j->t;
	pol.keep_fd = -1;
	pol.files = &j->files;
	snprintf(about, sizeof(about), "process %d", j->pid);
	return sandbox_run(&pol, about, step, j, out);
}

/* Step 2 in the sandbox, with the metrics it made. */
static int parse_sandboxed(struct snap_job *j)
{
	struct sandbox_out out;
	struct sandbox_policy pol;
	char about[64];
	int rc;

	memset(&pol, 0, sizeof(pol));
	pol.pid = j->pid;
	pol.live = j->t;
	pol.files = &j->files;
	snprintf(about, sizeof(about), "process %d", j->pid);
	sandbox_out_init(&out);
	rc = snap_write_sandboxed(j->path, &pol, about, step_parse, j, &out,
				  &j->summary);
	if (!rc && j->prom)
		rc = prom_merge_serialized(j->prom,
					   out.put[SANDBOX_KEY_PROM].buf,
					   out.put[SANDBOX_KEY_PROM].len);
	sandbox_out_release(&out);
	return rc;
}

int snap_one(const struct snap_opts *o, int pid, struct prom *prom,
	     char **program_out)
{
	struct image_opts io = { 0 };
	struct image_buf ibuf = { NULL, 0 };
	struct sandbox_out out;
	struct snap_job j;
	char *path = NULL, *program = NULL, *out_dir = NULL, *elf = NULL;
	uint64_t est = 0, copied = 0, t0, elf_at, stack_at;
	int rc;

	memset(&j, 0, sizeof(j));
	j.o = o;
	j.pid = pid;
	j.prom = prom;
	strbuf_init(&j.summary);
	snapshot_init(&j.s);
	sandbox_out_init(&out);
	io.max_bytes = o->max_copy ? o->max_copy : default_max_copy();

	rc = target_live_open(pid, &j.t);
	if (rc)
		goto out;
	if (o->dir || o->prom) {
		rc = target_program(o, pid, &program);
		if (rc)
			goto out;
		j.program = program;
	}
	/* Before anything else: a full disk gets nothing more. */
	if (o->dir)
		out_dir = xstrdup(o->dir);
	else if (o->min_free.set)
		out_dir = ph_dirname(o->output ? o->output : "./x");
	if (out_dir && (rc = check_free_space(out_dir, &o->min_free)))
		goto out;
	/* Files first (ELF, DWARF, version): none of it needs a stop. */
	rc = run_step(&j, step_open, &out);
	if (rc)
		goto out;
	elf = o->no_sandbox ? xstrdup(j.p.elf.path) :
	      xstrndup(out.put[SANDBOX_KEY_ELF].buf,
		       out.put[SANDBOX_KEY_ELF].len);
	elf_at = start_of(&j.t->maps, elf);
	stack_at = start_of(&j.t->maps, "[stack]");
	/* Refuse before stopping anything if the copy cannot fit. */
	if (!target_image_estimate(j.t, &est) && io.max_bytes &&
	    est > io.max_bytes) {
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

		fmt_bytes(&a, est);
		fmt_bytes(&b, io.max_bytes);
		rc = ph_error(PH_E_LIMIT, "process %d: its memory (%s) exceeds "
			      "the copy limit (%s); see --max-copy", pid, a.buf,
			      b.buf);
		strbuf_release(&a);
		strbuf_release(&b);
		goto out;
	}

	j.s.meta.taken_at = ph_wall_time();
	{
		pid_t ppid;
		double started;

		if (process_identity(pid, &ppid, &started)) {
			j.s.meta.parent_pid = ppid;
			j.s.meta.started_at = started;
		}
	}
	if (o->output) {
		path = xstrdup(o->output);
	} else if (o->dir) {
		path = series_path(o->dir, program, pid,
				   (time_t)j.s.meta.taken_at);
	} else {
		char buf[64];

		snap_default_path(buf, sizeof(buf), pid,
				  (time_t)j.s.meta.taken_at);
		path = xstrdup(buf);
	}
	j.path = path;
	/* Before anything is stopped: outputs that cannot be written. */
	rc = snap_check_output(path);
	if (!rc && o->prom)
		rc = snap_check_output(o->prom);
	if (rc)
		goto out;

	/* The memory to copy into, faulted in while the process runs: the
	 * estimate and a margin for what it allocates meanwhile (beyond it,
	 * the capture maps afresh and pays the faults in the pause). */
	rc = target_image_reserve(reserve_size(est, io.max_bytes), o->jobs,
				  &ibuf);
	if (rc)
		goto out;
	io.buf = &ibuf;
	io.jobs = o->jobs;

	if (!o->no_stop) {
		j.t->pause_limit = (enum pause_limit)o->on_max_pause;
		rc = target_stop(j.t, o->max_pause_ms);
		if (rc)
			goto out;
	}
	t0 = ph_now_ns();
	rc = target_image_capture(j.t, &io, &j.img, &copied);
	j.s.meta.capture_ms = (double)(ph_now_ns() - t0) / 1e6;
	j.s.meta.rss_bytes = read_rss(pid);
	target_resume(j.t);
	target_image_buf_release(&ibuf);
	if (rc)
		goto out;
	target_image_log_extents(j.img); /* -vvv, for bench/copy */
	if (start_of(&j.img->maps, elf) != elf_at ||
	    start_of(&j.img->maps, "[stack]") != stack_at) {
		rc = ph_error(PH_E_NOPROC, "process %d ran exec() while pyheap "
			      "read it: nothing written; run pyheap again", pid);
		goto out;
	}
	j.s.meta.pause_ms = (double)j.t->pause_ns / 1e6;
	j.s.meta.image_bytes = copied;
	/* --on-max-pause continue: copied partly while it ran. */
	if (o->no_stop || j.t->pause_limit_hit)
		j.s.meta.flags |= SNAP_INCONSISTENT;

	/* The process runs again; everything below reads the copy. */
	rc = o->no_sandbox ? step_parse(&j) : parse_sandboxed(&j);
	if (rc)
		goto out;
	/* The target runs again: a closed stdout is no reason to stop. */
	if (!o->quiet && j.summary.len && (rc = write_stdout(&j.summary)))
		goto out;
	if (program_out) {
		*program_out = program;
		program = NULL;
	}
out:
	target_image_buf_release(&ibuf);
	if (j.have_proc)
		pyproc_release(&j.p);
	if (j.img)
		target_close(j.img);
	if (j.t)
		target_close(j.t);
	snapshot_release(&j.s);
	sandbox_out_release(&out);
	strbuf_release(&j.summary);
	sandbox_files_release(&j.files);
	free(path);
	free(program);
	free(out_dir);
	free(elf);
	return rc;
}
