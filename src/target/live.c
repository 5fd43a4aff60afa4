#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "target.h"

#define CMDLINE_MAX 4096
/* Early readable mappings to try at open before giving up on the probe:
 * some ([vvar]) are readable by mode yet refuse every read. */
#define PROBE_MAPS 8
/* process_vm_readv() rejects iovecs whose total exceeds SSIZE_MAX; stay
 * far below and loop. */
#define READ_CHUNK ((size_t)1 << 30)

struct live {
	int memfd;    /* /proc/PID/mem, opened on first need; -1 before */
	bool use_mem; /* process_vm_readv() was refused: read memfd instead */
	target_remote_read_fn remote; /* in a sandbox: reads go to it */
};

static const struct target_ops live_ops;

/* ---- reads ------------------------------------------------------------- */

static int read_error(uint64_t addr, size_t len)
{
	return ph_error(PH_E_READ, "cannot read %zu bytes at %#" PRIx64, len,
			addr);
}

int live_gone_error(pid_t pid)
{
	return ph_error(PH_E_NOPROC, "no such process: %d", (int)pid);
}

static int open_mem(struct target *t, struct live *lv)
{
	char path[64];

	if (lv->memfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
	lv->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (lv->memfd < 0)
		return target_proc_error(t->pid, path, errno);
	return 0;
}

/*
 * /proc/PID/mem reads with FOLL_FORCE, so it also returns PROT_NONE pages
 * (guard pages) that the process itself and process_vm_readv() cannot read.
 * Stop before mappings known to be unreadable so both paths agree;
 * addresses not in t->maps (stale) are left to the kernel.
 */
static size_t readable_prefix(const struct target *t, uint64_t a, size_t want)
{
	const struct maps *m = &t->maps;
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a + want cannot wrap: the caller checked the whole range. */
	for (; lo < m->n && m->v[lo].start < a + want; lo++)
		if (!(m->v[lo].perms & MAP_R))
			return m->v[lo].start <= a ? 0 :
			       (size_t)(m->v[lo].start - a);
	return want;
}

int live_read_prefix(struct target *t, uint64_t addr, void *buf, size_t len,
		     size_t *done)
{
	struct live *lv = t->priv;
	char *out = buf;
	int rc;

	*done = 0;
	if (lv->remote)
		return lv->remote(addr, buf, len, done);
	while (*done < len) {
		size_t want = PH_MIN(len - *done, READ_CHUNK);
		uint64_t a = addr + *done;
		ssize_t n;

		if (lv->use_mem) {
			want = readable_prefix(t, a, want);
			/* pread() takes a signed offset. */
			if (a > INT64_MAX || !want)
				return 0;
			rc = open_mem(t, lv);
			if (rc)
				return rc;
			n = pread(lv->memfd, out + *done, want, (off_t)a);
		} else {
			struct iovec local = { out + *done, want };
			struct iovec remote = { (void *)(uintptr_t)a, want };

			n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
		}
		/* A short read stops at the first page that cannot be read;
		 * the retry from there tells whether anything more can. */
		if (n > 0) {
			*done += (size_t)n;
			continue;
		}
		if (n == 0) {
			/* /proc/PID/mem reads as empty once the mm is gone. */
			if (lv->use_mem && kill(t->pid, 0) && errno == ESRCH)
				return live_gone_error(t->pid);
			return 0;
		}
		switch (errno) {
		case EINTR:
			continue;
		case EPERM:
		case ENOSYS:
			/* Seccomp profiles (Docker's default without
			 * CAP_SYS_PTRACE) refuse process_vm_readv() while
			 * /proc/PID/mem still works.  If permission is really
			 * missing, opening it says so. */
			if (!lv->use_mem) {
				ph_debug(1, "process_vm_readv: %s; reading "
					 "/proc/%d/mem instead",
					 strerror(errno), (int)t->pid);
				lv->use_mem = true;
				continue;
			}
			return 0;
		case ESRCH:
			return live_gone_error(t->pid);
		default:
			/* EFAULT, EIO: unmapped or unreadable, which walkers
			 * expect and skip: the prefix ends here. */
			return 0;
		}
	}
	return 0;
}

static int live_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	uint64_t end;
	size_t done;
	int rc;

	/* live_read_prefix() relies on this for readable_prefix(). */
	if (!ph_add(addr, len, &end))
		return read_error(addr, len);
	rc = live_read_prefix(t, addr, buf, len, &done);
	if (rc)
		return rc;
	return done == len ? 0 : read_error(addr, len);
}

static void live_close(struct target *t)
{
	struct live *lv = t->priv;

	if (!lv)
		return;
	if (lv->memfd >= 0)
		close(lv->memfd);
	free(lv);
	t->priv = NULL;
}

static const struct target_ops live_ops = {
	.read = live_read,
	.close = live_close,
};

void target_live_set_remote(struct target *t, target_remote_read_fn fn)
{
	struct live *lv = t->priv;

	/* The descriptor of /proc/PID/mem is the parent's, not ours. */
	lv->memfd = -1;
	lv->remote = fn;
}

int target_live_read_prefix(struct target *t, uint64_t addr, void *buf,
			    size_t len, size_t *done)
{
	uint64_t end;

	*done = 0;
	if (!target_is_live(t) || !ph_add(addr, len, &end))
		return 0;
	return live_read_prefix(t, addr, buf, len, done);
}

/* ---- open -------------------------------------------------------------- */

static char *read_link(const char *path)
{
	size_t size = 256;

	for (;;) {
		char *buf = xmalloc(size);
		ssize_t n = readlink(path, buf, size);

		if (n < 0) {
			free(buf);
			return NULL;
		}
		if ((size_t)n < size) {
			buf[n] = '\0';
			return buf;
		}
		/* readlink() truncates silently: retry bigger. */
		free(buf);
		if (size >= 65536)
			return NULL;
		size *= 2;
	}
}

static char *read_cmdline(pid_t pid)
{
	char path[64], buf[CMDLINE_MAX];
	size_t len = 0, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	while (len && buf[len - 1] == ' ')
		len--;
	/* Kernel threads and zombies have no command line. */
	return len ? xstrndup(buf, len) : NULL;
}

/*
 * Permission is checked per operation (maps, process_vm_readv, /proc/PID/mem
 * each have their own rules), so read a byte now rather than let the first
 * real read fail halfway through a command.
 */
static int probe_read(struct target *t)
{
	size_t i, tried = 0;

	for (i = 0; i < t->maps.n && tried < PROBE_MAPS; i++) {
		unsigned char byte;
		int rc;

		if (!(t->maps.v[i].perms & MAP_R))
			continue;
		tried++;
		rc = target_read(t, t->maps.v[i].start, &byte, 1);
		if (rc != -PH_E_READ)
			return rc;
	}
	return 0;
}

int target_live_open(pid_t pid, struct target **out)
{
	struct target *t;
	struct live *lv;
	char path[64];
	struct stat st;
	int rc;

	*out = NULL;
	if (pid <= 0)
		return live_gone_error(pid);
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st))
		return target_proc_error(pid, path, errno);
	/* A zombie has exited and has no memory left; its parent has not
	 * collected its status yet.  Its maps read as empty, which would
	 * otherwise look like "not a Python process". */
	if (target_task_state(pid, pid) == 'Z')
		return ph_error(PH_E_NOPROC, "process %d has exited (a zombie "
				"its parent has not reaped): nothing to read",
				(int)pid);

	t = xcalloc(1, sizeof(*t));
	lv = xcalloc(1, sizeof(*lv));
	lv->memfd = -1;
	t->ops = &live_ops;
	t->priv = lv;
	t->pid = pid;
	t->root = xasprintf("/proc/%d/root", (int)pid);
	rc = maps_read(pid, &t->maps);
	if (rc)
		goto cleanup;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	t->exe = read_link(path);
	t->cmdline = read_cmdline(pid);
	rc = probe_read(t);
	memset(&t->stats, 0, sizeof(t->stats));

cleanup:
	if (rc) {
		target_close(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

bool target_is_live(const struct target *t)
{
	return t->ops == &live_ops;
}

int target_refresh_maps(struct target *t)
{
	if (t->ops != &live_ops)
		return 0;
	return maps_read(t->pid, &t->maps);
}
