/*
 * pyheap snap --core FILE: the snapshot of the process a core file records
 * (target.h "Cores").  Nothing runs and nothing is stopped: the census
 * reads the core, and the files it names under --sysroot, as it reads a
 * live process's copied image.  The snapshot says it came from a core
 * (META core, core_missing_*), and what the core lacks is said on stderr
 * too, never left for the numbers to hide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd.h"
#include "objects/objects.h"
#include "output/output.h"
#include "python/python.h"
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

static int summary(const char *path, const struct snap_opts *o,
		   const struct snapshot *s, uint64_t file_size)
{
	struct strbuf sb = STRBUF_INIT;
	uint64_t bytes = 0;
	size_t i;
	int rc;

	for (i = 0; i < s->nobjects; i++)
		bytes += s->objects[i].size;
	strbuf_addf(&sb, "%s: %zu objects, ", path, s->nobjects);
	fmt_bytes(&sb, bytes);
	strbuf_addf(&sb, " in %zu types; from core %s (process %lld), "
		    "parsed in ", s->ntypes, o->core, (long long)s->meta.pid);
	fmt_ms(&sb, s->meta.parse_ms);
	strbuf_addstr(&sb, "; file ");
	fmt_bytes(&sb, file_size);
	if (s->meta.flags & SNAP_PARTIAL)
		strbuf_addstr(&sb, " (partial: see pyheap info)");
	strbuf_addch(&sb, '\n');
	rc = write_stdout(&sb);
	strbuf_release(&sb);
	return rc;
}

int snap_core(const struct snap_opts *o)
{
	struct core_opts copts = { o->sysroot, o->exe };
	const struct target_core_info *ci;
	struct target *t = NULL;
	struct snapshot s;
	struct pyproc p;
	struct stat st;
	bool have_proc = false;
	char *path = NULL, buf[64];
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
	/* When the core was written: its file's time. */
	s.meta.taken_at = !stat(o->core, &st) ? (double)st.st_mtime : 0;
	if (o->output) {
		path = xstrdup(o->output);
	} else {
		snap_default_path(buf, sizeof(buf), (int)t->pid,
				  (time_t)s.meta.taken_at);
		path = xstrdup(buf);
	}
	rc = snap_check_output(path);
	if (rc)
		goto out;

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
	snap_cleanup_on_signal(path);
	rc = snapshot_write_jobs(&s, path, &file_size, o->jobs);
	snap_cleanup_done();
	if (rc)
		goto out;
	if (!o->quiet)
		rc = summary(path, o, &s, file_size);
out:
	if (have_proc)
		pyproc_release(&p);
	if (t)
		target_close(t);
	snapshot_release(&s);
	free(path);
	return rc;
}
