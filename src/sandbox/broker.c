/*
 * The privileged parent's side of the sandbox (sandbox.h): the broker that
 * answers the parsing process's requests, each checked against the
 * policy.  Nothing the child sends is trusted: a size must be what was
 * received, a path must lead where the policy allows (openat2() resolves
 * it, not a string comparison alone), a key must be known; anything else
 * ends the conversation and the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sandbox.h"
#include "target/target.h"

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/*
 * What openat2(RESOLVE_IN_ROOT or RESOLVE_BENEATH) does, component by
 * component, where the kernel has no openat2 (before Linux 5.6, RHEL 8's
 * 4.18) or a seccomp profile refuses it (a container's): no component is
 * followed by the kernel (O_PATH | O_NOFOLLOW); a symbolic link is read
 * and its target walked in its place, from the root if it is absolute;
 * ".." never climbs above the root.  In the root, a ".." or an absolute
 * link stays at the root; beneath it, either is refused.  At most 40
 * links, 255 directories deep.
 */
static int walk_in_root(int rootfd, const char *path, bool beneath)
{
	int stack[256], depth = 0, links = 0, fd = -1, err = ENOENT;
	char *rest = xstrdup(path), *p = rest;

	stack[0] = rootfd;
	for (;;) {
		char name[NAME_MAX + 1], link[PATH_MAX];
		struct stat st;
		size_t n;
		ssize_t ln;
		int cur = stack[depth], x;

		while (*p == '/')
			p++;
		if (!*p) {
			/* The path named a directory (or the root). */
			fd = openat(cur, ".", OPEN_FLAGS);
			err = errno;
			break;
		}
		n = strcspn(p, "/");
		if (n > NAME_MAX) {
			err = ENAMETOOLONG;
			break;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (!depth && beneath) {
				err = EXDEV;
				break;
			}
			if (depth)
				close(stack[depth--]);
			continue;
		}
		x = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (x < 0 || fstat(x, &st)) {
			err = errno;
			if (x >= 0)
				close(x);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			char *next;

			close(x);
			ln = readlinkat(cur, name, link, sizeof(link) - 1);
			if (ln <= 0 || ++links > 40) {
				err = ln <= 0 ? errno : ELOOP;
				break;
			}
			link[ln] = '\0';
			if (link[0] == '/') {
				if (beneath) {
					err = EXDEV;
					break;
				}
				while (depth)
					close(stack[depth--]);
			}
			next = xasprintf("%s/%s", link, p);
			free(rest);
			rest = p = next;
			continue;
		}
		while (*p == '/')
			p++;
		if (!*p) {
			/* The last component: opened for real, still without
			 * following what may have replaced it since. */
			close(x);
			fd = openat(cur, name, OPEN_FLAGS | O_NOFOLLOW);
			err = errno;
			break;
		}
		if (!S_ISDIR(st.st_mode) ||
		    depth + 1 >= (int)PH_ARRAY_SIZE(stack)) {
			close(x);
			err = ENOTDIR;
			break;
		}
		stack[++depth] = x;
	}
	while (depth)
		close(stack[depth--]);
	free(rest);
	if (fd < 0)
		errno = err;
	return fd;
}

static int open_in_root(const struct root *r, const char *rest)
{
	static bool said;
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	/* O_NONBLOCK: a FIFO planted where a file is expected must not
	 * block the parent; it is refused below. */
	how.flags = OPEN_FLAGS;
	how.resolve = r->resolve | RESOLVE_NO_MAGICLINKS;
	while (*rest == '/')
		rest++;
	if (!*rest)
		rest = ".";
	if (test_mode != TEST_WALK) {
		fd = (int)syscall(SYS_openat2, r->fd, rest, &how, sizeof(how));
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return fd;
		if (!said)
			ph_debug(1, "sandbox: openat2: %s; resolving paths one "
				 "component at a time", strerror(errno));
		said = true;
	}
	return walk_in_root(r->fd, rest, r->resolve == RESOLVE_BENEATH);
}

static void root_add(struct broker *br, const char *dir, uint64_t resolve,
		     bool world)
{
	struct root *r = &br->roots[br->nroots];
	size_t n;

	r->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0) {
		ph_debug(1, "sandbox: cannot open %s: %s", dir,
			 strerror(errno));
		return;
	}
	r->prefix = xstrdup(dir);
	n = strlen(r->prefix);
	while (n && r->prefix[n - 1] == '/')
		r->prefix[--n] = '\0';
	r->resolve = resolve;
	r->world = world;
	br->nroots++;
}

/* /proc/PID/map_files/START-END of the target: hex, nothing else. */
static bool map_files_path(pid_t pid, const char *path)
{
	char prefix[64];
	size_t n;
	const char *p;
	int dashes = 0;

	n = (size_t)snprintf(prefix, sizeof(prefix), "/proc/%d/map_files/",
			     (int)pid);
	if (pid <= 0 || strncmp(path, prefix, n))
		return false;
	for (p = path + n; *p; p++) {
		if (*p == '-')
			dashes++;
		else if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return dashes == 1 && p - path > (ptrdiff_t)n + 2;
}

void sandbox_files_release(struct sandbox_files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->paths[i]);
		close(f->fds[i]);
	}
	free(f->paths);
	free(f->fds);
	memset(f, 0, sizeof(*f));
}

/* A descriptor of its own (its own offset) for a kept file. */
static int reopen(int fd)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

static int policy_open(struct broker *br, const char *path);

/* The policy's answer to OPEN path, through the kept files. */
static int broker_open(struct broker *br, const char *path)
{
	struct sandbox_files *f = br->pol->files;
	size_t i;
	int fd;

	for (i = 0; f && i < f->n; i++)
		if (!strcmp(f->paths[i], path))
			return reopen(f->fds[i]);
	fd = policy_open(br, path);
	if (fd >= 0 && f && f->n < 4096) {
		int keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);

		if (keep >= 0) {
			PH_GROW(f->paths, f->alloc, f->n + 1);
			f->fds = xrealloc(f->fds, f->alloc * sizeof(*f->fds));
			f->paths[f->n] = xstrdup(path);
			f->fds[f->n++] = keep;
		}
	}
	return fd;
}

/* The policy's answer to OPEN path: a descriptor, or -1 and errno. */
static int policy_open(struct broker *br, const char *path)
{
	const struct sandbox_policy *pol = br->pol;
	const struct root *r = NULL;
	bool exact = false;
	struct stat st;
	size_t i;
	int fd;

	/* The paths the user named first: a core may be readable by root
	 * alone (systemd-coredump's are). */
	for (i = 0; pol->paths && pol->paths[i]; i++)
		if (!strcmp(path, pol->paths[i]))
			exact = true;
	for (i = 0; i < br->nroots && !r && !exact; i++) {
		size_t n = strlen(br->roots[i].prefix);

		if (!strncmp(path, br->roots[i].prefix, n) &&
		    (path[n] == '/' || (!path[n] && n)))
			r = &br->roots[i];
	}
	if (exact) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	} else if (map_files_path(pol->pid, path)) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	} else if (r) {
		fd = open_in_root(r, path + strlen(r->prefix));
	} else {
		ph_debug(2, "sandbox: refused to open %s", path);
		errno = EACCES;
		return -1;
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || (!exact && !S_ISREG(st.st_mode)) ||
	    (r && r->world && !(st.st_mode & S_IROTH)) ||
	    fcntl(fd, F_SETFL, 0)) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/* PYHEAP_TEST_SANDBOX=status=FILE: what the child could do, and its
 * credentials as the kernel has them, while it is confined. */
static void write_status(struct broker *br, const char *probe, size_t len)
{
	char path[64], buf[8192];
	FILE *out = fopen(test_file, "w");
	ssize_t n;
	int fd;

	if (!out) {
		ph_warn("PYHEAP_TEST_SANDBOX: cannot write %s: %s", test_file,
			strerror(errno));
		return;
	}
	fwrite(probe, 1, len, out);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)br->child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	if (fd >= 0)
		close(fd);
	fclose(out);
}

/* The answer r to a request that failed with rc: the code and
 * ph_errmsg(), which the child reports as its own. */
static void send_error(int sock, struct msg *r, int rc)
{
	const char *m = ph_errmsg();

	r->a = rc;
	r->len = (uint32_t)PH_MIN(strlen(m), (size_t)1024);
	send_msg(sock, r, m, -1);
}

/* One request; false ends the conversation (the child is killed). */
static bool serve(struct broker *br, int sock, struct msg *h, char *payload,
		  struct sandbox_out *out)
{
	struct msg r = { h->type, 0, 0, 0 };
	const struct sandbox_policy *pol = br->pol;

	switch (h->type) {
	case MSG_OPEN: {
		int fd;

		if (!h->len || memchr(payload, '\0', h->len) ||
		    h->len >= PATH_MAX)
			return false;
		payload[h->len] = '\0';
		fd = broker_open(br, payload);
		r.a = fd < 0 ? errno : 0;
		ph_debug(3, "sandbox: open %s: %s", payload,
			 fd < 0 ? strerror(errno) : "ok");
		send_msg(sock, &r, NULL, fd);
		if (fd >= 0)
			close(fd);
		return true;
	}
	case MSG_READ: {
		size_t done = 0;
		int rc = -PH_E_PERM;

		if (h->b < 0 || h->b > SANDBOX_READ_MAX || h->len)
			return false;
		if (pol->live)
			rc = target_live_read_prefix(pol->live, (uint64_t)h->a,
						     payload, (size_t)h->b,
						     &done);
		else
			ph_error(PH_E_PERM, "the parsing process may not "
				 "read memory here");
		if (rc < 0) {
			send_error(sock, &r, rc);
		} else {
			r.len = (uint32_t)done;
			send_msg(sock, &r, payload, -1);
		}
		return true;
	}
	case MSG_PUT:
		if (h->a < 0 || h->a >= SANDBOX_KEY__COUNT ||
		    br->put_bytes + h->len > SANDBOX_PUT_MAX)
			return false;
		br->put_bytes += h->len;
		if (out)
			strbuf_add(&out->put[h->a], payload, h->len);
		return true;
	case MSG_ERROR:
		if (br->errored || br->done)
			return false;
		br->errored = true;
		br->err_code = h->a > 0 && h->a < PH_E__COUNT ?
			       (int)h->a : PH_E_IO;
		br->err_msg = xstrndup(payload, h->len);
		return true;
	case MSG_DONE:
		if (br->errored || br->done)
			return false;
		br->done = true;
		return true;
	case MSG_ALIVE: {
		char c = pol->pid > 0 ? target_task_state(pol->pid, pol->pid) :
			 '?';

		if (h->len)
			return false;
		r.a = c != '?' && c != 'Z' && c != 'X';
		send_msg(sock, &r, NULL, -1);
		return true;
	}
	case MSG_STOP: {
		int rc;

		if (!pol->may_stop || !pol->live || br->stopped || h->len)
			return false;
		rc = target_stop(pol->live, pol->max_pause_ms);
		br->stopped = !rc;
		if (rc < 0)
			send_error(sock, &r, rc);
		else
			send_msg(sock, &r, NULL, -1);
		return true;
	}
	case MSG_THREADS: {
		struct target *t = pol->live;
		struct msg_thread *v = (struct msg_thread *)payload;
		size_t i, n = 0;

		if (!br->stopped || h->len || h->a < 0)
			return false;
		for (i = (size_t)h->a; i < t->nthreads && n < THREADS_PER_MSG;
		     i++, n++) {
			v[n].tid = t->threads[i].tid;
			v[n].fs_base = t->threads[i].fs_base;
		}
		r.b = (int64_t)t->nthreads;
		r.len = (uint32_t)(n * sizeof(*v));
		send_msg(sock, &r, payload, -1);
		return true;
	}
	case MSG_RESUME:
		if (!br->stopped || h->len)
			return false;
		target_resume(pol->live);
		br->stopped = false;
		r.b = (int64_t)pol->live->pause_ns;
		send_msg(sock, &r, NULL, -1);
		return true;
	case MSG_STATUS:
		if (test_mode != TEST_STATUS)
			return false;
		write_status(br, payload, h->len);
		send_msg(sock, &r, NULL, -1);
		return true;
	}
	return false;
}

/* A one-line text from the child: control characters become '?'. */
static void clean_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int child_result(struct broker *br, int status, const char *about)
{
	if (br->malformed)
		return ph_error(PH_E_CRASH, "%s: the parsing process (pid %d) "
				"sent a malformed request and was killed; %s "
				"was not stopped while it ran; nothing written",
				about, (int)br->child, about);
	if (WIFEXITED(status) && br->errored && WEXITSTATUS(status)) {
		clean_line(br->err_msg);
		return ph_error((enum ph_err)br->err_code, "%s", br->err_msg);
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status) && br->done)
		return 0;
	if (WIFSIGNALED(status))
		return ph_error(PH_E_CRASH, "%s: the parsing process (pid %d) "
				"died of signal %d (%s); %s was not stopped "
				"while it ran; nothing written", about,
				(int)br->child, WTERMSIG(status),
				strsignal(WTERMSIG(status)), about);
	return ph_error(PH_E_CRASH, "%s: the parsing process (pid %d) exited "
			"with status %d without a result; %s was not stopped "
			"while it ran; nothing written", about, (int)br->child,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1, about);
}


void broker_init(struct broker *br, const struct sandbox_policy *pol)
{
	memset(br, 0, sizeof(*br));
	br->pol = pol;
	/* The target's files, as it sees them; then the host's debug files
	 * (pyheap looks for those after the target's own). */
	if (pol->pid > 0) {
		char dir[64];

		snprintf(dir, sizeof(dir), "/proc/%d/root", (int)pol->pid);
		root_add(br, dir, RESOLVE_IN_ROOT, false);
	} else if (pol->core) {
		root_add(br, pol->root && *pol->root ? pol->root : "/",
			 RESOLVE_IN_ROOT, true);
	}
	if (!(pol->core && !(pol->root && *pol->root)))
		root_add(br, "/usr/lib/debug", RESOLVE_BENEATH, false);
}

void broker_release(struct broker *br)
{
	size_t i;

	for (i = 0; i < br->nroots; i++) {
		close(br->roots[i].fd);
		free(br->roots[i].prefix);
	}
	br->nroots = 0;
	free(br->err_msg);
	br->err_msg = NULL;
}

/* Requests until the child closes its end: 0, or -1 for a malformed one
 * (then the child must go).  on_first runs at the first message. */
int serve_all(struct broker *br, int sock, struct sandbox_out *out,
		     void (*on_first)(void *), void *arg)
{
	char *payload = xmalloc(PAYLOAD_MAX + 1);
	int rc = 0;

	for (;;) {
		struct msg h;
		int fd, got = recv_msg(sock, &h, payload, &fd);

		if (fd >= 0)
			close(fd);  /* the child has nothing to give */
		if (got == 0)
			break;
		if (got < 0 || !serve(br, sock, &h, payload, out)) {
			ph_debug(1, "sandbox: malformed request from the "
				 "parsing process");
			br->malformed = true;
			rc = -1;
			break;
		}
		if (on_first) {
			on_first(arg);
			on_first = NULL;
		}
	}
	free(payload);
	/* The child is done with the target, whatever it asked. */
	if (br->stopped) {
		target_resume(br->pol->live);
		br->stopped = false;
	}
	return rc;
}

int sandbox_serve(const struct sandbox_policy *pol, int sock,
		  struct sandbox_out *out)
{
	struct broker br;
	int rc;

	broker_init(&br, pol);
	rc = serve_all(&br, sock, out, NULL, NULL);
	broker_release(&br);
	return rc;
}
