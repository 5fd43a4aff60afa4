/*
 * What unattended runs need besides targets and series (series.h): the
 * --min-free floor, files written atomically (metrics), and the parsers
 * of durations and rates.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "output/output.h"
#include "series.h"

/* ---- free space ------------------------------------------------------------ */

int parse_free_floor(const struct command_help *h, const char *opt,
		     const char *arg, struct free_floor *f)
{
	size_t len = strlen(arg);

	memset(f, 0, sizeof(*f));
	f->set = true;
	f->arg = arg;
	if (len && arg[len - 1] == '%') {
		char *end;

		f->is_percent = true;
		f->percent = strtod(arg, &end);
		if (end != arg + len - 1 || end == arg || *arg == '-' ||
		    *arg == '+' || !isfinite(f->percent) || f->percent > 100)
			return usage_error(h, "%s: '%s' is not a percentage "
					   "up to 100%%", opt, arg);
		return 0;
	}
	return parse_size(h, opt, arg, &f->bytes);
}

int check_free_space(const char *dir, const struct free_floor *f)
{
	struct strbuf have = STRBUF_INIT;
	struct statvfs st;
	uint64_t avail, size;
	bool below;
	char *abs;
	int rc;

	if (!f->set || (f->is_percent ? f->percent <= 0 : !f->bytes))
		return 0;
	if (statvfs(dir, &st)) {
		int err = errno;

		abs = ph_abspath(dir);
		rc = ph_error(PH_E_IO, "cannot check the free space of %s: %s",
			      abs, strerror(err));
		free(abs);
		return rc;
	}
	avail = (uint64_t)st.f_bavail * st.f_frsize;
	size = (uint64_t)st.f_blocks * st.f_frsize;
	below = f->is_percent ?
		(double)avail < f->percent / 100.0 * (double)size :
		avail < f->bytes;
	if (!below)
		return 0;
	fmt_bytes(&have, avail);
	if (size)
		strbuf_addf(&have, " (%.1f%%)",
			    100.0 * (double)avail / (double)size);
	abs = ph_abspath(dir);
	rc = ph_error(PH_E_LIMIT, "%s: only %s free on its filesystem, below "
		      "--min-free %s; nothing written (free some space, or "
		      "lower --min-free)", abs, have.buf, f->arg);
	free(abs);
	strbuf_release(&have);
	return rc;
}

/* ---- files ------------------------------------------------------------------ */

int write_file_atomic(const char *path, const char *data, size_t len,
		      mode_t mode)
{
	char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	size_t done = 0;
	int fd, err = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	/* The umask must not make a metrics file unreadable to the
	 * exporter. */
	if (fchmod(fd, mode))
		err = errno;
	while (!err && done < len) {
		ssize_t w = write(fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err = errno;
		else
			done += (size_t)w;
	}
	if (!err && fsync(fd))
		err = errno;
	if (close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
out:
	if (err) {
		char *abs = ph_abspath(path);
		int rc = ph_error(PH_E_IO, "cannot write %s: %s", abs,
				  strerror(err));

		unlink(tmp);
		free(tmp);
		free(abs);
		return rc;
	}
	free(tmp);
	return 0;
}

/* ---- parsers ------------------------------------------------------------------ */

/* Seconds in a unit: s, m or min, h, d, w; 0 if unknown. */
static double unit_seconds(const char *u)
{
	static const struct {
		const char *name;
		double secs;
	} units[] = {
		{ "s", 1 }, { "sec", 1 }, { "m", 60 }, { "min", 60 },
		{ "h", 3600 }, { "hour", 3600 }, { "d", 86400 },
		{ "day", 86400 }, { "w", 604800 }, { "week", 604800 },
	};
	size_t i;

	for (i = 0; i < PH_ARRAY_SIZE(units); i++)
		if (!strcmp(u, units[i].name))
			return units[i].secs;
	return 0;
}

int parse_duration(const struct command_help *h, const char *opt,
		   const char *s, double *seconds)
{
	double v, unit;
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return usage_error(h, "%s: '%s' is not a duration (e.g. 30m, "
				   "6h, 2d)", opt, s);
	v = strtod(s, &end);
	if (end == s || !isfinite(v))
		return usage_error(h, "%s: '%s' is not a duration (e.g. 30m, "
				   "6h, 2d)", opt, s);
	unit = unit_seconds(end);
	if (!*end)
		return usage_error(h, "%s: '%s' needs a unit: s, m, h, d or w "
				   "(e.g. 30m)", opt, s);
	if (!unit)
		return usage_error(h, "%s: '%s': unknown unit '%s' (use s, m, "
				   "h, d or w)", opt, s, end);
	v *= unit;
	if (!(v > 0) || v > 100.0 * 366 * 86400)
		return usage_error(h, "%s: '%s' is not a duration between 0 "
				   "and 100 years", opt, s);
	*seconds = v;
	return 0;
}

int parse_rate(const struct command_help *h, const char *opt, const char *s,
	       double *bytes_per_hour)
{
	const char *slash = strchr(s, '/');
	char *size = slash ? xstrndup(s, (size_t)(slash - s)) : xstrdup(s);
	uint64_t bytes;
	double per = 3600;
	int rc;

	rc = parse_size(h, opt, size, &bytes);
	free(size);
	if (rc)
		return rc;
	if (slash) {
		per = unit_seconds(slash + 1);
		if (!per || !strcmp(slash + 1, "w") ||
		    !strcmp(slash + 1, "week"))
			return usage_error(h, "%s: '%s': give a rate per s, min, "
					   "h or d (e.g. 10M/h)", opt, s);
	}
	*bytes_per_hour = (double)bytes * 3600.0 / per;
	return 0;
}
