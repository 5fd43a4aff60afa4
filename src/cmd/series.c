/*
 * Target selection without a PID and series of snapshots in a directory
 * (series.h says what each promises); series_files.c has the rest of
 * unattended runs: free space, atomic files, parsers.
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

static int find_by_name(const char *pattern, bool all, pid_t **pids,
			size_t *npids)
{
	pid_t family[64];
	size_t nfamily = own_family(family, PH_ARRAY_SIZE(family));
	size_t alloc = 0, n = 0, i;
	char self[PATH_MAX];
	ssize_t len;
	pid_t *v = NULL;
	struct dirent *de;
	DIR *d;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[len > 0 ? len : 0] = '\0';
	d = opendir("/proc");
	if (!d)
		return ph_error(PH_E_IO, "cannot read /proc: %s",
				strerror(errno));
	while ((de = readdir(d))) {
		struct proc_args a;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		char state;
		pid_t ppid;

		if (*end || pid <= 0 || in_list(family, nfamily, (pid_t)pid))
			continue;
		if (!proc_stat((pid_t)pid, &state, &ppid) || state == 'Z' ||
		    state == 'X')
			continue;
		if (proc_args_read((pid_t)pid, &a))
			continue;
		/* Kernel threads have no command line; another pyheap (a
		 * watch, another build) holds the pattern in its own. */
		if (a.argc && strcmp(a.comm, "pyheap") &&
		    process_matches(&a, pattern) &&
		    !same_exe((pid_t)pid, self)) {
			PH_GROW(v, alloc, n + 1);
			v[n++] = (pid_t)pid;
		}
		proc_args_release(&a);
	}
	closedir(d);
	if (!n)
		return ph_error(PH_E_NOPROC, "no process matches --name '%s'",
				pattern);
	qsort(v, n, sizeof(*v), cmp_pid);
	if (n > 1 && !all) {
		struct strbuf sb = STRBUF_INIT;
		int rc;

		for (i = 0; i < n && i < 10; i++) {
			struct proc_args a;

			strbuf_addf(&sb, "%s%d", i ? ", " : "", (int)v[i]);
			if (!proc_args_read(v[i], &a)) {
				size_t k;

				strbuf_addstr(&sb, " (");
				for (k = 0; k < a.argc; k++) {
					if (k)
						strbuf_addch(&sb, ' ');
					fmt_printable(&sb, a.argv[k]);
				}
				strbuf_addch(&sb, ')');
				proc_args_release(&a);
			}
		}
		if (n > 10)
			strbuf_addf(&sb, " and %zu more", n - 10);
		rc = ph_error(PH_E_NOTFOUND, "--name '%s' matches %zu processes: "
			      "%s; give a narrower pattern, or --all to "
			      "snapshot each", pattern, n, sb.buf);
		strbuf_release(&sb);
		free(v);
		return rc;
	}
	*pids = v;
	*npids = n;
	return 0;
}

int select_targets(const struct target_select *sel, pid_t **pids, size_t *n)
{
	pid_t pid = 0;
	int rc;

	*pids = NULL;
	*n = 0;
	if (sel->name)
		return find_by_name(sel->name, sel->all, pids, n);
	if (sel->pidfile) {
		rc = read_pidfile(sel->pidfile, &pid);
		if (rc)
			return rc;
		if (!process_alive(pid))
			return ph_error(PH_E_NOPROC, "process %d (from pidfile "
					"%s) is not running", (int)pid,
					sel->pidfile);
	} else {
		pid = sel->pid;
	}
	*pids = xmalloc(sizeof(**pids));
	(*pids)[0] = pid;
	*n = 1;
	return 0;
}

/* ---- series --------------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

#define STAMP_LEN 16 /* YYYYmmddTHHMMSSZ */

bool series_parse_name(const char *name, struct series_file *f)
{
	size_t len = strlen(name), end, pid_start;
	const char *s;
	unsigned seq = 1;
	struct tm tm;

	memset(f, 0, sizeof(*f));
	if (len < 5 || strcmp(name + len - 5, ".snap"))
		return false;
	end = len - 5;
	if (end && name[end - 1] != 'Z') {
		/* "-N" */
		size_t dash = end;
		unsigned long v;

		while (dash && isdigit((unsigned char)name[dash - 1]))
			dash--;
		if (dash == end || dash < 2 || name[dash - 1] != '-' ||
		    end - dash > 6)
			return false;
		v = strtoul(name + dash, NULL, 10);
		if (v < 2)
			return false;
		seq = (unsigned)v;
		end = dash - 1;
	}
	if (end < STAMP_LEN + 4)
		return false;
	s = name + end - STAMP_LEN;
	if (!all_digits(s, 8) || s[8] != 'T' || !all_digits(s + 9, 6) ||
	    s[15] != 'Z' || s[-1] != '-')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 +
		     (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
	tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
	tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
	tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
	tm.tm_sec = (s[13] - '0') * 10 + (s[14] - '0');
	if (tm.tm_mon > 11 || !tm.tm_mday || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	/* PROGRAM-PID- before the stamp */
	pid_start = (size_t)(s - 1 - name);
	end = pid_start;
	while (pid_start && isdigit((unsigned char)name[pid_start - 1]))
		pid_start--;
	if (pid_start == end || end - pid_start > 10 || pid_start < 2 ||
	    name[pid_start - 1] != '-')
		return false;
	f->pid = strtoll(name + pid_start, NULL, 10);
	f->program = xstrndup(name, pid_start - 1);
	f->when = (int64_t)timegm(&tm);
	f->seq = seq;
	return true;
}

static int cmp_series(const void *a, const void *b)
{
	const struct series_file *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->path, y->path);
}

static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/",
			 name);
}

int series_list(const char *dir, const char *program,
		struct series_file **files, size_t *n)
{
	struct series_file *v = NULL, f;
	size_t alloc = 0, k = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	*files = NULL;
	*n = 0;
	if (!d)
		return ph_error(PH_E_IO, "cannot read directory %s: %s", dir,
				strerror(errno));
	while ((de = readdir(d))) {
		if (!series_parse_name(de->d_name, &f))
			continue;
		if (program && strcmp(f.program, program)) {
			free(f.program);
			continue;
		}
		f.path = join_path(dir, de->d_name);
		PH_GROW(v, alloc, k + 1);
		v[k++] = f;
	}
	closedir(d);
	if (k)
		qsort(v, k, sizeof(*v), cmp_series);
	*files = v;
	*n = k;
	return 0;
}

void series_files_free(struct series_file *files, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].program);
	}
	free(files);
}

char *series_path(const char *dir, const char *program, pid_t pid,
		  time_t when)
{
	char stamp[32];
	struct tm tm;
	unsigned seq;

	gmtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (seq = 1;; seq++) {
		char *name = seq == 1 ?
			xasprintf("%s-%d-%s.snap", program, (int)pid, stamp) :
			xasprintf("%s-%d-%s-%u.snap", program, (int)pid, stamp,
				  seq);
		char *path = join_path(dir, name);
		struct stat st;

		free(name);
		if (lstat(path, &st) || seq >= 999)
			return path;
		free(path);
	}
}

/* After unlink(path) failed (errno): a warning naming its directory. */
static void warn_unremovable(const char *path)
{
	int err = errno;
	char *abs = ph_abspath(path);

	ph_warn("cannot remove %s: %s", abs, strerror(err));
	free(abs);
}

/* "PROGRAM-...snap.tmp-PID" whose pyheap is gone: what a SIGKILLed snap
 * left behind. */
static void prune_stale_tmp(const char *dir, const char *program)
{
	size_t plen = strlen(program);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *tmp = strstr(de->d_name, ".snap.tmp-");
		struct series_file f;
		char *end, *name, *path;
		long pid;

		if (!tmp || strncmp(de->d_name, program, plen) ||
		    de->d_name[plen] != '-')
			continue;
		pid = strtol(tmp + 10, &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid() ||
		    !(kill((pid_t)pid, 0) && errno == ESRCH))
			continue;
		name = xstrndup(de->d_name, (size_t)(tmp - de->d_name) + 5);
		if (series_parse_name(name, &f) &&
		    !strcmp(f.program, program)) {
			path = join_path(dir, de->d_name);
			if (unlink(path) && errno != ENOENT)
				warn_unremovable(path);
			free(path);
		}
		free(f.program);
		free(name);
	}
	closedir(d);
}

int series_prune(const char *dir, const char *program, size_t keep)
{
	struct series_file *files;
	size_t n, i;
	int rc, removed = 0;

	rc = series_list(dir, program, &files, &n);
	if (rc)
		return rc;
	for (i = 0; n > keep && i < n - keep; i++) {
		if (unlink(files[i].path) && errno != ENOENT) {
			warn_unremovable(files[i].path);
			continue;
		}
		ph_debug(1, "--keep %zu: removed %s", keep, files[i].path);
		removed++;
	}
	series_files_free(files, n);
	prune_stale_tmp(dir, program);
	return removed;
}
