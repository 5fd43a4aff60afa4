/*
 * Series of snapshots in a directory (series.h says what each promises);
 * select.c chooses the targets, series_files.c has the rest of unattended
 * runs: free space, atomic files, parsers.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/output.h"
#include "series.h"

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
