/*
 * pyheap info PID: which Python a process runs, where pyheap found it, and
 * every thread's Python stack — read while the process is stopped for a
 * moment, then it runs on.
 *
 * pyheap info SNAP: what a snapshot file holds — its metadata, its
 * sections and their checksums, and the census's stats — decoding only
 * that much unless --verify asks for every section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "output/output.h"
#include "python/python.h"
#include "sandbox/sandbox.h"
#include "snapshot/format.h"
#include "snapshot/snapshot.h"
#include "target/target.h"

enum { OPT_FORMAT = 1, OPT_MAX_PAUSE, OPT_VERIFY, OPT_CORE, OPT_EXE,
       OPT_SYSROOT, OPT_NO_SANDBOX };

static const struct option_spec info_options[] = {
	{ OPT_FORMAT, 0, "format", "FMT", "text (default) or json" },
	{ OPT_MAX_PAUSE, 0, "max-pause", "MS",
	  "PID: resume the process and fail if it would stay stopped longer "
	  "(default 2000)" },
	{ OPT_VERIFY, 0, "verify", NULL,
	  "SNAP: decode and check every section, not only the metadata and "
	  "stats" },
	{ OPT_CORE, 0, "core", "CORE",
	  "the process a core file records (gcore, coredumpctl dump -o "
	  "FILE), instead of PID or SNAP" },
	{ OPT_EXE, 0, "exe", "PATH",
	  "with --core: the executable's file, where the core's path is not "
	  "it" },
	{ OPT_SYSROOT, 0, "sysroot", "DIR",
	  "with --core: open the files the core names under DIR" },
	{ OPT_NO_SANDBOX, 0, "no-sandbox", NULL,
	  "PID or --core: read in pyheap's own process, with its "
	  "privileges, instead of in a child that has none (see SECURITY in "
	  "pyheap(1)): for debugging pyheap" },
	{ 0 }
};

const struct command_help info_help = {
	"info", "[options] PID|SNAP | --core CORE",
	"show a process's Python and thread stacks, or a snapshot's contents",
	"Show the Python version, interpreter ELF, where struct offsets came "
	"from,\nand each thread's Python stack (innermost first) of a running "
	"process.\nGiven a snapshot file instead (an operand that is not all "
	"digits, or names\nan existing file), show its metadata, sections, "
	"checksums and stats.",
	info_options,
};

struct info_opts {
	enum output_format format;
	unsigned max_pause_ms;
	bool max_pause_set, verify, no_sandbox;
	const char *core, *exe, *sysroot;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct info_opts *o = ctx;
	unsigned long long v;
	int rc;

	switch (id) {
	case OPT_NO_SANDBOX:
		o->no_sandbox = true;
		return 0;
	case OPT_FORMAT:
		return parse_format(&info_help, arg, false, &o->format);
	case OPT_MAX_PAUSE:
		rc = parse_uint(&info_help, "--max-pause", arg, 3600000, &v);
		if (!rc) {
			o->max_pause_ms = (unsigned)v;
			o->max_pause_set = true;
		}
		return rc;
	case OPT_VERIFY:
		o->verify = true;
		return 0;
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
	return 0;
}

static const char *elf_kind(const struct pyproc *p)
{
	return p->elf_is_lib ? "libpython" : "executable";
}

/* The command line is the target's to choose: keep its newlines and
 * escape sequences from reshaping our output or the user's terminal. */
static void add_printable(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else
			strbuf_addch(sb, c);
	}
}

static const char *const check_key[PY_CHECK__COUNT] = {
	[PY_CHECK_GC] = "gc", [PY_CHECK_OBMALLOC] = "obmalloc",
	[PY_CHECK_TRACEMALLOC] = "tracemalloc",
};

static const char *check_state_name(enum py_check_state s)
{
	switch (s) {
	case CHECK_VERIFIED: return "verified";
	case CHECK_SEARCHED: return "searched";
	case CHECK_FAILED: return "unverified";
	case CHECK_NA: return "not used";
	case CHECK_NOT_RUN: break;
	}
	return "not checked";
}

static int print_text(struct target *t, struct pyproc *p,
		      struct py_stacks *st)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, j, k;
	int rc;

	strbuf_addf(&sb, "Process %d: ", (int)t->pid);
	add_printable(&sb, t->cmdline && *t->cmdline ? t->cmdline :
		      t->exe ? t->exe : "?");
	strbuf_addch(&sb, '\n');
	strbuf_addf(&sb, "Python %s%s (%s %s; debug info: %s)\n", p->version,
		    p->L.free_threaded ? ", free-threaded" : "",
		    elf_kind(p), p->elf.path, p->elf.has_dwarf ? "yes" :
		    p->elf.has_symtab ? "symbols only" : "no");
	strbuf_addstr(&sb, "Offsets: ");
	py_layout_describe(&p->L, &sb);
	strbuf_addch(&sb, '\n');
	/* "  GC lists: table +24, verified" per check (python/verify.c). */
	py_checks_text(p, "  ", &sb);
	if (target_is_core(t)) {
		strbuf_addstr(&sb, "From a core file (nothing was paused)\n");
	} else {
		strbuf_addstr(&sb, "Paused: ");
		fmt_ms(&sb, (double)t->pause_ns / 1e6);
		strbuf_addch(&sb, '\n');
	}
	for (i = 0; i < st->ninterps; i++) {
		const struct py_interp *pi = &st->interps[i];

		if (st->ninterps > 1)
			strbuf_addf(&sb, "\nInterpreter %lld%s\n",
				    (long long)pi->id, i == 0 ? " (main)" : "");
		for (j = 0; j < pi->nthreads; j++) {
			const struct py_thread *th = &pi->threads[j];
			const char *sep = " (";

			strbuf_addf(&sb, "\nThread %d", (int)th->tid);
			if (th->tid == t->pid) {
				strbuf_addf(&sb, "%smain thread", sep);
				sep = ", ";
			}
			if (th->holds_gil) {
				strbuf_addf(&sb, "%sholds the GIL", sep);
				sep = ", ";
			}
			if (strcmp(sep, " ("))
				strbuf_addch(&sb, ')');
			strbuf_addch(&sb, '\n');
			if (!th->nframes)
				strbuf_addstr(&sb, "    (no Python frames)\n");
			for (k = 0; k < th->nframes; k++) {
				const struct py_frame *f = &th->frames[k];

				strbuf_addstr(&sb, "    ");
				add_printable(&sb, f->function);
				strbuf_addstr(&sb, " (");
				add_printable(&sb, f->file);
				strbuf_addch(&sb, ':');
				if (f->line >= 0)
					strbuf_addf(&sb, "%d)\n", f->line);
				else
					strbuf_addstr(&sb, "?)\n");
			}
			if (th->truncated)
				strbuf_addstr(&sb, "    ... (stack truncated: "
					      "unreadable frame)\n");
		}
	}
	rc = write_stdout(&sb);
	strbuf_release(&sb);
	return rc;
}

static int print_json(struct target *t, struct pyproc *p,
		      struct py_stacks *st, const char *core_path)
{
	struct strbuf sb = STRBUF_INIT, offs = STRBUF_INIT;
	struct json j;
	size_t i, k, f;
	int rc;

	py_layout_describe(&p->L, &offs);
	json_init(&j, &sb);
	json_obj_begin(&j);
	json_key(&j, "pid"); json_int(&j, t->pid);
	json_key(&j, "exe"); json_str(&j, t->exe);
	json_key(&j, "cmdline"); json_str(&j, t->cmdline);
	json_key(&j, "python"); json_str(&j, p->version);
	json_key(&j, "version_source"); json_str(&j, p->version_source);
	json_key(&j, "free_threaded"); json_bool(&j, p->L.free_threaded);
	json_key(&j, "elf");
	json_obj_begin(&j);
	json_key(&j, "path"); json_str(&j, p->elf.path);
	json_key(&j, "kind"); json_str(&j, elf_kind(p));
	json_key(&j, "build_id"); json_str(&j, p->elf.build_id);
	json_key(&j, "symtab"); json_bool(&j, p->elf.has_symtab);
	json_key(&j, "debug_info"); json_bool(&j, p->elf.has_dwarf);
	json_key(&j, "debug_file"); json_str(&j, p->elf.debug_path);
	json_obj_end(&j);
	json_key(&j, "offsets"); json_str(&j, offs.buf);
	json_key(&j, "checks");
	json_obj_begin(&j);
	for (i = 0; i < PY_CHECK__COUNT; i++) {
		const struct py_check *c = &p->checks[i];

		if (c->state == CHECK_NOT_RUN)
			continue;
		json_key(&j, check_key[i]);
		json_obj_begin(&j);
		json_key(&j, "state"); json_str(&j, check_state_name(c->state));
		json_key(&j, "source");
		json_str(&j, layout_source_name(c->src));
		json_key(&j, "layout_offset"); json_int(&j, c->layout_off);
		json_key(&j, "offset"); json_int(&j, c->off);
		json_key(&j, "note"); json_str(&j, c->note);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	json_key(&j, "runtime"); json_addr(&j, p->runtime);
	json_key(&j, "pause_ms"); json_double(&j, (double)t->pause_ns / 1e6);
	json_key(&j, "core"); /* the core file read, or null */
	if (target_is_core(t))
		json_str(&j, core_path);
	else
		json_null(&j);
	json_key(&j, "interpreters");
	json_arr_begin(&j);
	for (i = 0; i < st->ninterps; i++) {
		const struct py_interp *pi = &st->interps[i];

		json_obj_begin(&j);
		json_key(&j, "id"); json_int(&j, pi->id);
		json_key(&j, "address"); json_addr(&j, pi->addr);
		json_key(&j, "threads");
		json_arr_begin(&j);
		for (k = 0; k < pi->nthreads; k++) {
			const struct py_thread *th = &pi->threads[k];

			json_obj_begin(&j);
			json_key(&j, "tid"); json_int(&j, th->tid);
			json_key(&j, "thread_id"); json_uint(&j, th->thread_id);
			json_key(&j, "main"); json_bool(&j, th->tid == t->pid);
			json_key(&j, "gil"); json_bool(&j, th->holds_gil);
			json_key(&j, "truncated"); json_bool(&j, th->truncated);
			json_key(&j, "frames");
			json_arr_begin(&j);
			for (f = 0; f < th->nframes; f++) {
				const struct py_frame *fr = &th->frames[f];

				json_obj_begin(&j);
				json_key(&j, "function");
				json_str(&j, fr->function);
				json_key(&j, "qualname");
				json_str(&j, fr->qualname);
				json_key(&j, "file"); json_str(&j, fr->file);
				json_key(&j, "line");
				if (fr->line >= 0)
					json_int(&j, fr->line);
				else
					json_null(&j);
				json_obj_end(&j);
			}
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	rc = write_stdout(&sb);
	strbuf_release(&sb);
	strbuf_release(&offs);
	return rc;
}

/* ---- a snapshot file ---------------------------------------------------- */

/* SNAP_* bits in order (snapshot.h): bit i is flag_names[i]. */
static const char *const flag_names[] = {
	"inconsistent", "partial", "native", "unverified", "refcounts",
	"leaks",
};
static const char *const flag_notes[] = {
	" (taken without stopping)", " (counts are a floor: see the stats)",
	" (malloc was walked)", " (a part was not read: see Checks)",
	" (references accounted: pyheap garbage)",
	" (native chunks classified: pyheap leaks)",
};
_Static_assert((1u << PH_ARRAY_SIZE(flag_names)) - 1 == SNAP_KNOWN_FLAGS,
	       "every SNAP_* flag has a name");
_Static_assert(PH_ARRAY_SIZE(flag_notes) == PH_ARRAY_SIZE(flag_names),
	       "every SNAP_* flag has a note");

/* Bits a later pyheap may set, as one "0x30" (the flags' names are for
 * the ones this pyheap knows). */
static void add_unknown_flags(struct strbuf *sb, uint32_t flags)
{
	strbuf_addf(sb, "%#x", flags & ~SNAP_KNOWN_FLAGS);
}

/* Stats in name order: the census.skipped.* and pymalloc.* families
 * read together. */
static int cmp_stat(const void *x, const void *y, void *ctx)
{
	const struct snapshot *s = ctx;
	const struct snap_stat *a = x, *b = y;

	return strcmp(snapshot_str(s, a->name), snapshot_str(s, b->name));
}

static void add_compression(struct strbuf *sb, const struct snap_section_info *si)
{
	if (!(si->flags & SNAP_SECT_ZLIB))
		strbuf_addstr(sb, "none");
	else if (!si->stored)
		strbuf_addstr(sb, "zlib");
	else
		strbuf_addf(sb, "zlib %.1f:1",
			    (double)si->size / (double)si->stored);
}

static uint64_t object_bytes(const struct snapshot *s)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		n += s->objects[i].size;
	return n;
}

static void snap_text(struct strbuf *sb, const char *path,
		      const struct snapshot *s,
		      const struct snap_file_info *fi, bool verified)
{
	const struct snap_meta *m = &s->meta;
	uint64_t stored = 0, size = 0;
	size_t i, w = 0;
	int nflags = 0;

	strbuf_addstr(sb, "Snapshot ");
	fmt_printable(sb, path);
	strbuf_addf(sb, ": format %u.%u, ", fi->major, fi->minor);
	fmt_count(sb, fi->size);
	strbuf_addf(sb, " bytes\nProcess %lld", (long long)m->pid);
	if (*snapshot_str(s, m->cmdline)) {
		strbuf_addstr(sb, " (");
		fmt_printable(sb, snapshot_str(s, m->cmdline));
		strbuf_addch(sb, ')');
	}
	if (*snapshot_str(s, m->host)) {
		strbuf_addstr(sb, " on ");
		fmt_printable(sb, snapshot_str(s, m->host));
	}
	if (m->parent_pid)
		strbuf_addf(sb, ", child of %lld", (long long)m->parent_pid);
	if (m->started_at) {
		strbuf_addstr(sb, ", started ");
		fmt_iso8601(sb, m->started_at);
	}
	strbuf_addstr(sb, "\nPython ");
	fmt_printable(sb, snapshot_str(s, m->python));
	strbuf_addstr(sb, " (");
	fmt_printable(sb, snapshot_str(s, m->python_elf));
	strbuf_addstr(sb, "); offsets: ");
	fmt_printable(sb, snapshot_str(s, m->offsets));
	strbuf_addstr(sb, "\nTaken ");
	fmt_iso8601(sb, m->taken_at);
	strbuf_addstr(sb, " by pyheap ");
	fmt_printable(sb, snapshot_str(s, m->pyheap_version));
	if (m->core) {
		strbuf_addstr(sb, " from core ");
		fmt_printable(sb, snapshot_str(s, m->core));
		strbuf_addstr(sb, " (");
		fmt_bytes(sb, m->core_missing_bytes);
		strbuf_addf(sb, " in %llu mappings it does not hold)",
			    (unsigned long long)m->core_missing_mappings);
	}
	strbuf_addstr(sb, ": paused ");
	if (m->flags & SNAP_INCONSISTENT)
		strbuf_addstr(sb, "0 ms (--no-stop)");
	else
		fmt_ms(sb, m->pause_ms);
	strbuf_addstr(sb, ", copied ");
	fmt_bytes(sb, m->image_bytes);
	strbuf_addstr(sb, " in ");
	fmt_ms(sb, m->capture_ms);
	strbuf_addstr(sb, ", parsed in ");
	fmt_ms(sb, m->parse_ms);
	strbuf_addstr(sb, "\nFlags: ");
	for (i = 0; i < PH_ARRAY_SIZE(flag_names); i++)
		if (m->flags & 1u << i)
			strbuf_addf(sb, "%s%s%s", nflags++ ? ", " : "",
				    flag_names[i], flag_notes[i]);
	if (m->flags & ~SNAP_KNOWN_FLAGS) {
		strbuf_addstr(sb, nflags++ ? ", " : "");
		add_unknown_flags(sb, m->flags);
	}
	if (!nflags)
		strbuf_addstr(sb, "none");
	if (*snapshot_str(s, m->checks)) {
		const char *c = snapshot_str(s, m->checks), *nl;

		/* One line per group of offsets _Py_DebugOffsets lacks. */
		strbuf_addstr(sb, "\nChecks:");
		for (; *c; c = nl ? nl + 1 : c + strlen(c)) {
			nl = strchr(c, '\n');
			strbuf_addstr(sb, "\n  ");
			strbuf_add(sb, c, nl ? (size_t)(nl - c) : strlen(c));
			if (!nl)
				break;
		}
	}

	strbuf_addf(sb, "\n\nSections (CRC32 of the file header and of all "
		    "%zu sections verified):\n", fi->nsections);
	strbuf_addf(sb, "  %-8s %14s %14s  %s\n", "SECTION", "STORED",
		    "SIZE", "COMPRESSION");
	for (i = 0; i < fi->nsections; i++) {
		const struct snap_section_info *si = &fi->sections[i];
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
		char tag[SNAP_TAG_BUF];

		fmt_count(&a, si->stored);
		fmt_count(&b, si->size);
		strbuf_addf(sb, "  %-8s %14s %14s  ",
			    snap_tag_name(si->tag, tag), a.buf, b.buf);
		add_compression(sb, si);
		strbuf_addch(sb, '\n');
		stored += si->stored;
		size += si->size;
		strbuf_release(&a);
		strbuf_release(&b);
	}
	{
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

		fmt_count(&a, stored);
		fmt_count(&b, size);
		strbuf_addf(sb, "  %-8s %14s %14s\n", "total", a.buf, b.buf);
		strbuf_release(&a);
		strbuf_release(&b);
	}

	if (verified) {
		strbuf_addstr(sb, "\nVerified (--verify): every section "
			      "decoded and consistent: ");
		fmt_count(sb, s->nobjects);
		strbuf_addstr(sb, " objects (");
		fmt_bytes(sb, object_bytes(s));
		strbuf_addf(sb, ") in %zu types, ", s->ntypes);
		fmt_count(sb, s->nedges);
		strbuf_addf(sb, " references, %zu root%s, %zu thread%s\n",
			    s->nroots, s->nroots == 1 ? "" : "s", s->nthreads,
			    s->nthreads == 1 ? "" : "s");
	} else {
		strbuf_addstr(sb, "\nDecoded: META, STRS, GC, STAT only "
			      "(--verify decodes and checks every section)\n");
	}

	strbuf_addstr(sb, "\nStats:\n");
	for (i = 0; i < s->nstats; i++)
		w = PH_MAX(w, strlen(snapshot_str(s, s->stats[i].name)));
	for (i = 0; i < s->nstats; i++) {
		strbuf_addstr(sb, "  ");
		fmt_printable(sb, snapshot_str(s, s->stats[i].name));
		strbuf_addf(sb, "%*s  %lld\n",
			    (int)(w - strlen(snapshot_str(s, s->stats[i].name))),
			    "", (long long)s->stats[i].value);
	}
	if (!s->nstats)
		strbuf_addstr(sb, "  (none)\n");
}

static void snap_json(struct strbuf *sb, const char *path,
		      const struct snapshot *s,
		      const struct snap_file_info *fi, bool verified)
{
	const struct snap_meta *m = &s->meta;
	struct strbuf tmp = STRBUF_INIT;
	struct json j;
	size_t i;

	json_init(&j, sb);
	json_obj_begin(&j);
	json_key(&j, "file"); json_str(&j, path);
	strbuf_addf(&tmp, "%u.%u", fi->major, fi->minor);
	json_key(&j, "format"); json_str(&j, tmp.buf);
	json_key(&j, "file_size"); json_uint(&j, fi->size);
	json_key(&j, "meta");
	json_obj_begin(&j);
	json_key(&j, "pid"); json_int(&j, m->pid);
	json_key(&j, "exe"); json_str(&j, snapshot_str(s, m->exe));
	json_key(&j, "cmdline"); json_str(&j, snapshot_str(s, m->cmdline));
	json_key(&j, "host"); json_str(&j, snapshot_str(s, m->host));
	/* 1.4; null in older files and where /proc did not say. */
	json_key(&j, "parent_pid"); json_int_or_null(&j, m->parent_pid);
	json_key(&j, "started_at"); json_time_or_null(&j, m->started_at);
	json_key(&j, "python"); json_str(&j, snapshot_str(s, m->python));
	json_key(&j, "python_elf");
	json_str(&j, snapshot_str(s, m->python_elf));
	json_key(&j, "offsets"); json_str(&j, snapshot_str(s, m->offsets));
	json_key(&j, "checks"); json_str(&j, snapshot_str(s, m->checks));
	json_key(&j, "pyheap_version");
	json_str(&j, snapshot_str(s, m->pyheap_version));
	strbuf_reset(&tmp);
	fmt_iso8601(&tmp, m->taken_at);
	json_key(&j, "taken_at"); json_str(&j, tmp.buf);
	json_key(&j, "pause_ms"); json_double(&j, m->pause_ms);
	json_key(&j, "core");
	if (m->core)
		json_str(&j, snapshot_str(s, m->core));
	else
		json_null(&j);
	json_key(&j, "core_missing_bytes"); json_uint(&j, m->core_missing_bytes);
	json_key(&j, "core_missing_mappings");
	json_uint(&j, m->core_missing_mappings);
	json_key(&j, "capture_ms"); json_double(&j, m->capture_ms);
	json_key(&j, "parse_ms"); json_double(&j, m->parse_ms);
	json_key(&j, "image_bytes"); json_uint(&j, m->image_bytes);
	json_key(&j, "flags");
	json_arr_begin(&j);
	for (i = 0; i < PH_ARRAY_SIZE(flag_names); i++)
		if (m->flags & 1u << i)
			json_str(&j, flag_names[i]);
	if (m->flags & ~SNAP_KNOWN_FLAGS) {
		strbuf_reset(&tmp);
		add_unknown_flags(&tmp, m->flags);
		json_str(&j, tmp.buf);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_key(&j, "sections");
	json_arr_begin(&j);
	for (i = 0; i < fi->nsections; i++) {
		const struct snap_section_info *si = &fi->sections[i];
		char tag[SNAP_TAG_BUF];

		json_obj_begin(&j);
		json_key(&j, "tag"); json_str(&j, snap_tag_name(si->tag, tag));
		json_key(&j, "offset"); json_uint(&j, si->offset);
		json_key(&j, "stored"); json_uint(&j, si->stored);
		json_key(&j, "size"); json_uint(&j, si->size);
		json_key(&j, "compression");
		json_str(&j, si->flags & SNAP_SECT_ZLIB ? "zlib" : "none");
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_key(&j, "checksums_verified"); json_bool(&j, true);
	json_key(&j, "verified"); json_bool(&j, verified);
	json_key(&j, "contents");
	if (verified) {
		json_obj_begin(&j);
		json_key(&j, "objects"); json_uint(&j, s->nobjects);
		json_key(&j, "bytes"); json_uint(&j, object_bytes(s));
		json_key(&j, "types"); json_uint(&j, s->ntypes);
		json_key(&j, "references"); json_uint(&j, s->nedges);
		json_key(&j, "roots"); json_uint(&j, s->nroots);
		json_key(&j, "threads"); json_uint(&j, s->nthreads);
		json_obj_end(&j);
	} else {
		json_null(&j);
	}
	json_key(&j, "stats");
	json_obj_begin(&j);
	for (i = 0; i < s->nstats; i++) {
		json_key(&j, snapshot_str(s, s->stats[i].name));
		json_int(&j, s->stats[i].value);
	}
	json_obj_end(&j);
	json_obj_end(&j);
	strbuf_release(&tmp);
}

static int info_snapshot(const char *path, const struct info_opts *o)
{
	struct snap_file_info fi;
	struct snapshot s;
	struct strbuf sb = STRBUF_INIT;
	int rc;

	/* Without --verify only META, STRS, GC and STAT are inflated; the
	 * framing still checks every section's CRC. */
	rc = snapshot_read_level(path, o->verify ? SNAP_READ_ALL :
				 SNAP_READ_META, &s, &fi);
	if (rc)
		goto cleanup;
	if (s.nstats)
		qsort_r(s.stats, s.nstats, sizeof(*s.stats), cmp_stat, &s);
	if (o->format == FORMAT_JSON)
		snap_json(&sb, path, &s, &fi, o->verify);
	else
		snap_text(&sb, path, &s, &fi, o->verify);
	rc = write_stdout(&sb);

cleanup:
	strbuf_release(&sb);
	snapshot_release(&s);
	snap_file_info_release(&fi);
	return rc;
}

/* "an operand that is all digits and not an existing file is a PID" */
static bool is_pid_operand(const char *arg)
{
	struct stat st;

	return *arg && strspn(arg, "0123456789") == strlen(arg) &&
	       stat(arg, &st) != 0;
}

/*
 * Everything that reads what the process controls: its files, and its
 * memory while it is stopped (live), or a core and the files it names.
 * In the sandbox (sandbox.h) the child runs this; pyheap stops and
 * resumes the process when the child asks, and serves its reads.
 */
struct info_job {
	const struct info_opts *o;
	struct target *t;
};

static int info_target(void *ctx)
{
	struct info_job *j = ctx;
	const struct info_opts *o = j->o;
	struct target *t = j->t;
	struct pyproc p;
	struct py_stacks st;
	bool have_proc = false, have_stacks = false, stopped = false;
	int rc;

	if (o->core) {
		struct core_opts co = { o->sysroot, o->exe };

		rc = target_core_open(o->core, &co, &t);
		if (rc)
			return rc;
	}
	/* Everything that reads files (ELF, DWARF) happens before the stop,
	 * so the pause covers only the memory reads of the stack walk. */
	rc = pyproc_open(&p, t);
	if (rc)
		goto out;
	have_proc = true;
	/* (A core is never stopped: target_stop() does nothing to it.) */
	rc = sandbox_active() && !o->core ? sandbox_stop() :
	     target_stop(t, o->max_pause_ms);
	if (rc)
		goto out;
	stopped = true;
	rc = py_read_stacks(&p, &st);
	have_stacks = !rc;
	/* A few hundred reads: the lists' heads and first nodes. */
	if (!rc)
		py_checks_run(&p, t);
	if (sandbox_active() && !o->core)
		t->pause_ns = sandbox_resume();
	else
		target_resume(t);
	stopped = false;
	if (rc)
		goto out;
	ph_debug(1, "%llu reads, %llu bytes while stopped",
		 (unsigned long long)t->stats.reads,
		 (unsigned long long)t->stats.bytes);
	if (o->format == FORMAT_JSON)
		rc = print_json(t, &p, &st, o->core);
	else
		rc = print_text(t, &p, &st);
out:
	if (stopped && sandbox_active() && !o->core)
		sandbox_resume();
	if (have_stacks)
		py_stacks_release(&st);
	if (have_proc)
		pyproc_release(&p);
	if (o->core && t)
		target_close(t);
	return rc;
}

int cmd_info(int argc, char **argv)
{
	struct info_opts o = { FORMAT_TEXT, 2000, false, false, false, NULL,
			       NULL, NULL };
	struct sandbox_policy pol;
	struct info_job j = { &o, NULL };
	const char *paths[3] = { NULL };
	char about[64];
	int pid, rc, first;

	first = options_parse(argc, argv, &info_help, on_opt, &o);
	if (first <= 0)
		return first;
	if (!o.core && (o.exe || o.sysroot))
		return usage_error(&info_help, "--%s needs --core",
				   o.exe ? "exe" : "sysroot");
	memset(&pol, 0, sizeof(pol));
	pol.keep_fd = -1;
	if (o.core) {
		if (argc - first)
			return usage_error(&info_help, "give a PID, a snapshot "
					   "or --core CORE, not more");
		if (o.max_pause_set || o.verify)
			return usage_error(&info_help, "--%s does not apply to "
					   "--core", o.verify ? "verify" :
					   "max-pause");
		if (o.no_sandbox)
			return info_target(&j);
		paths[0] = o.core;
		paths[1] = o.exe;
		pol.paths = paths;
		pol.core = true;
		pol.root = o.sysroot;
		snprintf(about, sizeof(about), "core %.50s", o.core);
		return sandbox_run(&pol, about, info_target, &j, NULL);
	}
	if (argc - first != 1)
		return usage_error(&info_help, argc - first ?
				   "expected one PID or snapshot" :
				   "missing PID or snapshot");
	if (!is_pid_operand(argv[first])) {
		if (o.max_pause_set || o.no_sandbox)
			return usage_error(&info_help, "--%s applies to a PID, "
					   "not a snapshot", o.no_sandbox ?
					   "no-sandbox" : "max-pause");
		return info_snapshot(argv[first], &o);
	}
	if (o.verify)
		return usage_error(&info_help, "--verify applies to a "
				   "snapshot, not a PID");
	rc = parse_pid(&info_help, argv[first], &pid);
	if (rc)
		return rc;

	rc = target_live_open(pid, &j.t);
	if (rc)
		return rc;
	if (o.no_sandbox) {
		rc = info_target(&j);
	} else {
		pol.pid = pid;
		pol.live = j.t;
		pol.may_stop = true;
		pol.max_pause_ms = o.max_pause_ms;
		snprintf(about, sizeof(about), "process %d", pid);
		rc = sandbox_run(&pol, about, info_target, &j, NULL);
	}
	target_close(j.t);
	return rc;
}
