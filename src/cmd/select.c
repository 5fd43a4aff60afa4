/*
 * Choosing targets without a PID (series.h "Targets"): /proc, the names a
 * process answers to, --pidfile, --name and --workers.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/output.h"
#include "series.h"

/* ---- /proc ------------------------------------------------------------- */

/* Read a small /proc file whole (at most max - 1 bytes, NUL-terminated);
 * its length, or -1 with errno set. */
static ssize_t read_small(const char *path, char *buf, size_t max)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len + 1 < max) {
		ssize_t r = read(fd, buf + len, max - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;

			close(fd);
			errno = err;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* State letter and parent of pid from /proc/PID/stat; false if gone. */
static bool proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], buf[1024], *p;
	long pp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	/* The command name may hold spaces and parentheses: it ends at the
	 * last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %ld", state, &pp) != 2)
		return false;
	*ppid = (pid_t)pp;
	return true;
}

bool process_identity(pid_t pid, pid_t *ppid, double *started_at)
{
	char path[64], buf[1024], *p;
	unsigned long long start, btime = 0;
	long tick = sysconf(_SC_CLK_TCK);
	char state;
	long pp;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %ld", &state, &pp) != 2)
		return false;
	/* proc(5): starttime is field 22, clock ticks after boot; the
	 * fields after the name start at 3 (state). */
	for (i = 3; i <= 22 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return false;
	f = fopen("/proc/stat", "r");
	if (f) {
		char line[256];

		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	*ppid = (pid_t)pp;
	*started_at = btime && tick > 0 ?
		(double)btime + (double)start / (double)tick : 0;
	return true;
}

bool process_alive(pid_t pid)
{
	char state;
	pid_t ppid;

	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return false;
	return proc_stat(pid, &state, &ppid) && state != 'Z' && state != 'X';
}

static void args_add(struct proc_args *a, size_t *alloc, const char *s,
		     size_t len)
{
	PH_GROW(a->argv, *alloc, a->argc + 2);
	a->argv[a->argc++] = xstrndup(s, len);
	a->argv[a->argc] = NULL;
}

void proc_args_split(const char *cmdline, struct proc_args *a)
{
	size_t alloc = 0;
	const char *p = cmdline;

	memset(a, 0, sizeof(*a));
	while (*p) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n)
			args_add(a, &alloc, p, n);
		p += n;
	}
}

int proc_args_read(pid_t pid, struct proc_args *a)
{
	char path[64], *buf;
	size_t alloc = 0, i = 0, max = 65536;
	ssize_t len;

	memset(a, 0, sizeof(*a));
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_small(path, a->comm, sizeof(a->comm)) > 0)
		a->comm[strcspn(a->comm, "\n")] = '\0';
	buf = xmalloc(max);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	len = read_small(path, buf, max);
	if (len < 0) {
		int err = errno;

		free(buf);
		return err == ENOENT || err == ESRCH ?
			ph_error(PH_E_NOPROC, "no such process: %d",
				 (int)pid) :
			ph_error(PH_E_IO, "cannot read %s: %s", path,
				 strerror(err));
	}
	/* Arguments end in NULs; a title rewritten in place may be padded
	 * with more of them, which are no arguments. */
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	while (i < (size_t)len) {
		size_t n = strnlen(buf + i, (size_t)len - i);

		args_add(a, &alloc, buf + i, n);
		i += n + 1;
	}
	free(buf);
	if (a->argc == 1 && strchr(a->argv[0], ' ')) {
		char *title = a->argv[0];
		char comm[sizeof(a->comm)];

		memcpy(comm, a->comm, sizeof(comm));
		free(a->argv);
		proc_args_split(title, a);
		memcpy(a->comm, comm, sizeof(comm));
		free(title);
	}
	return 0;
}

void proc_args_release(struct proc_args *a)
{
	size_t i;

	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	memset(a, 0, sizeof(*a));
}

/* ---- names --------------------------------------------------------------- */

static bool is_python(const char *base)
{
	return !strncmp(base, "python", 6) || !strncmp(base, "pypy", 4);
}

/*
 * What a Python interpreter's arguments run: the script (its index in
 * argv) or the module of -m (*module).  Interpreter options that take a
 * value (-W, -X, and the old -Q) are skipped with it; -c and "-" (stdin)
 * run no file.  Returns false when nothing is found.
 */
static bool python_main(const struct proc_args *a, size_t *script,
			const char **module)
{
	size_t i;

	*module = NULL;
	for (i = 1; i < a->argc; i++) {
		const char *arg = a->argv[i];

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (arg[0] != '-' || !arg[1])
			break;
		if (!strncmp(arg, "-m", 2)) {
			*module = arg[2] ? arg + 2 :
				  i + 1 < a->argc ? a->argv[i + 1] : NULL;
			return *module != NULL;
		}
		if (!strncmp(arg, "-c", 2))
			return false;
		/* "-W arg", "-X opt", "-Q arg"; "-Wignore" is one word. */
		if ((arg[1] == 'W' || arg[1] == 'X' || arg[1] == 'Q') &&
		    !arg[2])
			i++;
	}
	if (i >= a->argc || !strcmp(a->argv[i], "-"))
		return false;
	*script = i;
	return true;
}

void program_sanitise(const char *in, struct strbuf *out)
{
	size_t start = out->len, n = 0;
	const char *p;

	for (p = in; *p && n < 64; p++, n++) {
		unsigned char c = (unsigned char)*p;

		strbuf_addch(out, isalnum(c) || strchr("._+-", c) ? c : '_');
	}
	if (out->len == start)
		strbuf_addstr(out, "python");
	else if (out->buf[start] == '.')
		out->buf[start] = '_';
}

void program_name(const struct proc_args *a, struct strbuf *out)
{
	struct strbuf name = STRBUF_INIT;
	const char *module;
	size_t script;

	if (!a->argc) {
		program_sanitise(a->comm, out);
		return;
	}
	if (is_python(ph_basename(a->argv[0])) &&
	    python_main(a, &script, &module)) {
		if (module) {
			strbuf_addstr(&name, module);
		} else {
			const char *b = ph_basename(a->argv[script]);
			size_t len = strlen(b);

			if (len > 3 && !strcmp(b + len - 3, ".py"))
				len -= 3;
			strbuf_add(&name, b, len);
		}
	} else {
		/* "gunicorn:" of a title "gunicorn: master [app]" */
		const char *b = ph_basename(a->argv[0]);
		size_t len = strlen(b);

		while (len && b[len - 1] == ':')
			len--;
		strbuf_add(&name, b, len);
	}
	program_sanitise(name.buf, out);
	strbuf_release(&name);
}

/* Whether PATTERN matches any of the process's names (series.h). */
static bool process_matches(const struct proc_args *a, const char *pattern)
{
	struct strbuf line = STRBUF_INIT, prog = STRBUF_INIT;
	const char *module;
	size_t script, i;
	bool hit = false;

	if (a->comm[0] && !fnmatch(pattern, a->comm, 0))
		return true;
	if (!a->argc)
		return false;
	if (!fnmatch(pattern, ph_basename(a->argv[0]), 0))
		return true;
	if (is_python(ph_basename(a->argv[0])) &&
	    python_main(a, &script, &module)) {
		if (module) {
			hit = !fnmatch(pattern, module, 0);
		} else {
			const char *b = ph_basename(a->argv[script]);
			size_t len = strlen(b);

			hit = !fnmatch(pattern, b, 0);
			if (!hit && len > 3 && !strcmp(b + len - 3, ".py")) {
				strbuf_add(&prog, b, len - 3);
				hit = !fnmatch(pattern, prog.buf, 0);
			}
		}
	}
	for (i = 0; !hit && i < a->argc; i++) {
		if (i)
			strbuf_addch(&line, ' ');
		strbuf_addstr(&line, a->argv[i]);
	}
	if (!hit)
		hit = !fnmatch(pattern, line.buf, 0);
	strbuf_release(&line);
	strbuf_release(&prog);
	return hit;
}

/* ---- selection ------------------------------------------------------------- */

static int read_pidfile(const char *path, pid_t *pid)
{
	char buf[64], *end;
	ssize_t len = read_small(path, buf, sizeof(buf));
	const char *p = buf;
	long v;

	if (len < 0)
		return ph_error(PH_E_IO, "cannot read pidfile %s: %s", path,
				strerror(errno));
	while (isspace((unsigned char)*p))
		p++;
	errno = 0;
	v = strtol(p, &end, 10);
	if (end == p || errno || v <= 0 || v > 0x3fffffff ||
	    (*end && !isspace((unsigned char)*end)))
		return ph_error(PH_E_FORMAT, "pidfile %s holds no PID", path);
	*pid = (pid_t)v;
	return 0;
}

static bool in_list(const pid_t *v, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* pyheap and its ancestors: never targets of --name (cron's shell holds
 * the pattern in its command line). */
static size_t own_family(pid_t *v, size_t max)
{
	size_t n = 0;
	pid_t p = getpid(), pp;
	char state;

	while (p > 1 && n < max) {
		v[n++] = p;
		if (!proc_stat(p, &state, &pp))
			break;
		p = pp;
	}
	return n;
}

static bool same_exe(pid_t pid, const char *self)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;

	if (!*self)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, self);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* A process found in /proc: its PID and parent. */
struct proc_entry {
	pid_t pid, ppid;
};

static int cmp_entry(const void *a, const void *b)
{
	return cmp_pid(&((const struct proc_entry *)a)->pid,
		       &((const struct proc_entry *)b)->pid);
}

/*
 * Every live process (no zombies, no kernel threads) for which keep()
 * says yes, sorted by PID.  -PH_E_IO if /proc cannot be read.
 */
static int scan_proc(bool (*keep)(pid_t pid, pid_t ppid, void *ctx),
		     void *ctx, struct proc_entry **out, size_t *nout)
{
	struct proc_entry *v = NULL;
	size_t alloc = 0, n = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return ph_error(PH_E_IO, "cannot read /proc: %s",
				strerror(errno));
	while ((de = readdir(d))) {
		char *end, state;
		long pid = strtol(de->d_name, &end, 10);
		pid_t ppid;

		if (*end || pid <= 0)
			continue;
		if (!proc_stat((pid_t)pid, &state, &ppid) || state == 'Z' ||
		    state == 'X')
			continue;
		if (!keep((pid_t)pid, ppid, ctx))
			continue;
		PH_GROW(v, alloc, n + 1);
		v[n].pid = (pid_t)pid;
		v[n].ppid = ppid;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	*out = v;
	*nout = n;
	return 0;
}

struct name_ctx {
	const char *pattern;
	pid_t family[64];
	size_t nfamily;
	char self[PATH_MAX];
};

static bool name_keep(pid_t pid, pid_t ppid, void *ctx)
{
	struct name_ctx *c = ctx;
	struct proc_args a;
	bool hit;

	(void)ppid;
	if (in_list(c->family, c->nfamily, pid) || proc_args_read(pid, &a))
		return false;
	/* Kernel threads have no command line; another pyheap (a watch,
	 * another build) holds the pattern in its own. */
	hit = a.argc && strcmp(a.comm, "pyheap") &&
	      process_matches(&a, c->pattern) && !same_exe(pid, c->self);
	proc_args_release(&a);
	return hit;
}

struct child_ctx {
	pid_t parent;
	char exe[PATH_MAX];
	size_t other_exe;           /* children left out: another program */
};

/* A worker of a prefork server is a child that runs the parent's own
 * executable: a forked copy (gunicorn, uWSGI, Celery, multiprocessing's
 * fork and spawn).  Another program the parent started (a shell, a
 * helper) is not one. */
static bool child_keep(pid_t pid, pid_t ppid, void *ctx)
{
	struct child_ctx *c = ctx;

	if (ppid != c->parent)
		return false;
	if (c->exe[0] && !same_exe(pid, c->exe)) {
		c->other_exe++;
		return false;
	}
	return true;
}

static bool entry_has(const struct proc_entry *v, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].pid == pid)
			return true;
	return false;
}

/* " (CMDLINE)" of pid, printable, or nothing if it is gone. */
static void add_cmdline(struct strbuf *sb, pid_t pid)
{
	struct proc_args a;
	size_t k;

	if (proc_args_read(pid, &a))
		return;
	strbuf_addstr(sb, " (");
	for (k = 0; k < a.argc; k++) {
		if (k)
			strbuf_addch(sb, ' ');
		fmt_printable(sb, a.argv[k]);
	}
	strbuf_addch(sb, ')');
	proc_args_release(&a);
}

/*
 * The processes --name matched, listed in one line: each with its
 * command line, a parent of other matches marked "parent of ..." and a
 * child of one "child of P" (its command line left out: a fork's is its
 * parent's).
 */
static void list_matches(struct strbuf *sb, const struct proc_entry *v,
			 size_t n)
{
	size_t i, k, shown = 0;

	for (i = 0; i < n && shown < 12; i++, shown++) {
		size_t nchildren = 0;

		strbuf_addf(sb, "%s%d", i ? ", " : "", (int)v[i].pid);
		if (entry_has(v, n, v[i].ppid)) {
			strbuf_addf(sb, " (child of %d)", (int)v[i].ppid);
			continue;
		}
		for (k = 0; k < n; k++)
			nchildren += v[k].ppid == v[i].pid;
		if (nchildren) {
			strbuf_addstr(sb, " [parent of");
			for (k = 0; k < n; k++)
				if (v[k].ppid == v[i].pid)
					strbuf_addf(sb, " %d", (int)v[k].pid);
			strbuf_addch(sb, ']');
		}
		add_cmdline(sb, v[i].pid);
	}
	if (shown < n)
		strbuf_addf(sb, " and %zu more", n - shown);
}

static int find_by_name(const char *pattern, struct proc_entry **v,
			size_t *n)
{
	struct name_ctx c;
	ssize_t len;
	int rc;

	memset(&c, 0, sizeof(c));
	c.pattern = pattern;
	c.nfamily = own_family(c.family, PH_ARRAY_SIZE(c.family));
	len = readlink("/proc/self/exe", c.self, sizeof(c.self) - 1);
	c.self[len > 0 ? len : 0] = '\0';
	rc = scan_proc(name_keep, &c, v, n);
	if (!rc && !*n)
		rc = ph_error(PH_E_NOPROC, "no process matches --name '%s'",
			      pattern);
	return rc;
}

/* The workers of parent, appended to *out (as pids). */
static int add_workers(pid_t parent, pid_t **out, size_t *n, size_t *alloc)
{
	struct child_ctx c;
	struct proc_entry *v;
	char path[64];
	size_t nv, i;
	ssize_t len;
	int rc;

	memset(&c, 0, sizeof(c));
	c.parent = parent;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)parent);
	len = readlink(path, c.exe, sizeof(c.exe) - 1);
	c.exe[len > 0 ? len : 0] = '\0';
	rc = scan_proc(child_keep, &c, &v, &nv);
	if (rc)
		return rc;
	if (!nv) {
		free(v);
		return ph_error(PH_E_NOPROC, "process %d has no worker "
				"processes (children running %s%s)",
				(int)parent, c.exe[0] ? c.exe : "its program",
				c.other_exe ? "; other children run other "
				"programs" : "");
	}
	for (i = 0; i < nv; i++) {
		PH_GROW(*out, *alloc, *n + 1);
		(*out)[(*n)++] = v[i].pid;
	}
	free(v);
	return 0;
}

int select_targets(const struct target_select *sel, pid_t **pids, size_t *n)
{
	struct proc_entry *m = NULL;
	size_t nm = 0, alloc = 0, i, ntop = 0;
	pid_t pid = 0;
	int rc = 0;

	*pids = NULL;
	*n = 0;
	if (sel->name) {
		rc = find_by_name(sel->name, &m, &nm);
		if (rc)
			return rc;
		/* With --workers, a match whose parent matched too is one of
		 * the workers the parent's selection will find. */
		for (i = 0; i < nm; i++)
			if (!sel->workers || !entry_has(m, nm, m[i].ppid))
				m[ntop++] = m[i];
		if (ntop > 1 && !sel->all) {
			struct strbuf sb = STRBUF_INIT;
			bool family = false;

			/* The whole list, families marked. */
			free(m);
			rc = find_by_name(sel->name, &m, &nm);
			for (i = 0; !rc && i < nm; i++)
				family |= entry_has(m, nm, m[i].ppid);
			if (!rc) {
				list_matches(&sb, m, nm);
				rc = ph_error(PH_E_NOTFOUND, "--name '%s' "
					      "matches %zu processes: %s; give "
					      "a narrower pattern, %s--all to "
					      "snapshot each", sel->name, nm,
					      sb.buf, family && !sel->workers ?
					      "--workers for the workers of a "
					      "parent, or " : "or ");
			}
			strbuf_release(&sb);
			free(m);
			return rc;
		}
	} else {
		if (sel->pidfile) {
			rc = read_pidfile(sel->pidfile, &pid);
			if (rc)
				return rc;
			if (!process_alive(pid))
				return ph_error(PH_E_NOPROC, "process %d (from "
						"pidfile %s) is not running",
						(int)pid, sel->pidfile);
		} else {
			pid = sel->pid;
		}
		m = xmalloc(sizeof(*m));
		m[0].pid = pid;
		m[0].ppid = 0;
		ntop = 1;
	}
	if (!sel->workers) {
		*pids = xmalloc(ntop * sizeof(**pids));
		for (i = 0; i < ntop; i++)
			(*pids)[i] = m[i].pid;
		*n = ntop;
		free(m);
		return 0;
	}
	for (i = 0; i < ntop && !rc; i++) {
		rc = add_workers(m[i].pid, pids, n, &alloc);
		/* --all: a matched process without workers is no error when
		 * others have some. */
		if (rc == -PH_E_NOPROC && ntop > 1)
			rc = 0;
	}
	free(m);
	if (!rc && !*n)
		rc = ph_error(PH_E_NOPROC, "none of the %zu processes --name "
			      "'%s' matches has worker processes", ntop,
			      sel->name);
	if (rc) {
		free(*pids);
		*pids = NULL;
		*n = 0;
		return rc;
	}
	qsort(*pids, *n, sizeof(**pids), cmp_pid);
	return 0;
}
