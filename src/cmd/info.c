/*
 * pyheap info PID: which Python a process runs, where pyheap found it, and
 * every thread's Python stack — read while the process is stopped for a
 * moment, then it runs on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "output/output.h"
#include "python/python.h"
#include "target/target.h"

enum { OPT_FORMAT = 1, OPT_MAX_PAUSE };

static const struct option_spec info_options[] = {
	{ OPT_FORMAT, 0, "format", "FMT", "text (default) or json" },
	{ OPT_MAX_PAUSE, 0, "max-pause", "MS",
	  "resume the process and fail if it would stay stopped longer "
	  "(default 2000)" },
	{ 0 }
};

const struct command_help info_help = {
	"info", "[options] PID",
	"show a process's Python version and each thread's Python stack",
	"Show the Python version, interpreter ELF, where struct offsets came "
	"from,\nand each thread's Python stack (innermost first) of a running "
	"process.",
	info_options,
};

struct info_opts {
	enum output_format format;
	unsigned max_pause_ms;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct info_opts *o = ctx;
	unsigned long long v;
	int rc;

	switch (id) {
	case OPT_FORMAT:
		return parse_format(&info_help, arg, false, &o->format);
	case OPT_MAX_PAUSE:
		rc = parse_uint(&info_help, "--max-pause", arg, 3600000, &v);
		if (!rc)
			o->max_pause_ms = (unsigned)v;
		return rc;
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

static void print_text(struct target *t, struct pyproc *p,
		       struct py_stacks *st)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, j, k;

	strbuf_addf(&sb, "Process %d: ", (int)t->pid);
	add_printable(&sb, t->cmdline && *t->cmdline ? t->cmdline :
		      t->exe ? t->exe : "?");
	strbuf_addch(&sb, '\n');
	strbuf_addf(&sb, "Python %s (%s %s; debug info: %s)\n", p->version,
		    elf_kind(p), p->elf.path, p->elf.has_dwarf ? "yes" :
		    p->elf.has_symtab ? "symbols only" : "no");
	strbuf_addstr(&sb, "Offsets: ");
	py_layout_describe(&p->L, &sb);
	strbuf_addstr(&sb, "\nPaused: ");
	fmt_ms(&sb, (double)t->pause_ns / 1e6);
	strbuf_addch(&sb, '\n');
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
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
}

static void print_json(struct target *t, struct pyproc *p,
		       struct py_stacks *st)
{
	struct strbuf sb = STRBUF_INIT, offs = STRBUF_INIT;
	struct json j;
	size_t i, k, f;

	py_layout_describe(&p->L, &offs);
	json_init(&j, &sb);
	json_obj_begin(&j);
	json_key(&j, "pid"); json_int(&j, t->pid);
	json_key(&j, "exe"); json_str(&j, t->exe);
	json_key(&j, "cmdline"); json_str(&j, t->cmdline);
	json_key(&j, "python"); json_str(&j, p->version);
	json_key(&j, "version_source"); json_str(&j, p->version_source);
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
	json_key(&j, "runtime"); json_addr(&j, p->runtime);
	json_key(&j, "pause_ms"); json_double(&j, (double)t->pause_ns / 1e6);
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
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	strbuf_release(&offs);
}

int cmd_info(int argc, char **argv)
{
	struct info_opts o = { FORMAT_TEXT, 2000 };
	struct target *t = NULL;
	struct pyproc p;
	struct py_stacks st;
	bool have_proc = false, have_stacks = false;
	int pid, rc, first;

	first = options_parse(argc, argv, &info_help, on_opt, &o);
	if (first <= 0)
		return first;
	if (argc - first != 1)
		return usage_error(&info_help, argc - first ?
				   "expected one PID" : "missing PID");
	rc = parse_pid(&info_help, argv[first], &pid);
	if (rc)
		return rc;

	rc = target_live_open(pid, &t);
	if (rc)
		goto out;
	/* Everything that reads files (ELF, DWARF) happens before the stop,
	 * so the pause covers only the memory reads of the stack walk. */
	rc = pyproc_open(&p, t);
	if (rc)
		goto out;
	have_proc = true;
	rc = target_stop(t, o.max_pause_ms);
	if (rc)
		goto out;
	rc = py_read_stacks(&p, &st);
	have_stacks = !rc;
	target_resume(t);
	if (rc)
		goto out;
	ph_debug(1, "%llu reads, %llu bytes while stopped",
		 (unsigned long long)t->stats.reads,
		 (unsigned long long)t->stats.bytes);
	if (o.format == FORMAT_JSON)
		print_json(t, &p, &st);
	else
		print_text(t, &p, &st);
	if (fflush(stdout))
		rc = ph_error(PH_E_IO, "cannot write output");
out:
	if (have_stacks)
		py_stacks_release(&st);
	if (have_proc)
		pyproc_release(&p);
	if (t)
		target_close(t);
	return rc;
}
