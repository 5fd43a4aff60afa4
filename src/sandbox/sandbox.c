/*
 * The parsing process and its privileged parent (sandbox.h): fork, the
 * child's confinement, and the requests it sends on a socketpair.
 *
 * SOCK_SEQPACKET keeps each message whole and in order, so a request is
 * one header and its payload in one message, and a reply another.  The
 * parent trusts nothing it receives: sizes are checked against what was
 * received, paths against the policy, a malformed message ends the child.
 */
#include <errno.h>
#include <fcntl.h>
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

#define SOCK_FD 3
#define KEPT_FD 4

static bool in_child;
static const struct sandbox_policy *child_pol;
static pthread_mutex_t client_lock = PTHREAD_MUTEX_INITIALIZER;

bool sandbox_active(void)
{
	return in_child;
}

int sandbox_kept_fd(void)
{
	return in_child ? KEPT_FD : -1;
}

void sandbox_out_init(struct sandbox_out *out)
{
	size_t i;

	for (i = 0; i < SANDBOX_KEY__COUNT; i++)
		strbuf_init(&out->put[i]);
}

void sandbox_out_release(struct sandbox_out *out)
{
	size_t i;

	for (i = 0; i < SANDBOX_KEY__COUNT; i++)
		strbuf_release(&out->put[i]);
}

/* ---- messages ------------------------------------------------------------ */

int send_msg(int sock, const struct msg *h, const void *payload,
		    int fd)
{
	struct iovec iov[2] = { { (void *)h, sizeof(*h) },
				{ (void *)payload, h->len } };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = h->len ? 2 : 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		if (sendmsg(sock, &mh, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* One message into h and payload (PAYLOAD_MAX bytes); *fd receives a
 * passed descriptor or -1.  1 for a message, 0 at end, -1 for an error or
 * a malformed message (any descriptor it carried is closed). */
int recv_msg(int sock, struct msg *h, char *payload, int *fd)
{
	struct iovec iov[2] = { { h, sizeof(*h) }, { payload, PAYLOAD_MAX } };
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfd; k++) {
			int x;

			memcpy(&x, CMSG_DATA(c) + k * sizeof(int), sizeof(x));
			if (*fd < 0)
				*fd = x;
			else
				close(x);
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < sizeof(*h) || h->len != (size_t)n - sizeof(*h)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 1;
}

/* ---- the child's side ---------------------------------------------------- */

/* A request and its reply, one at a time (threads may ask). */
static int request(const struct msg *q, const void *payload, struct msg *r,
		   char *reply, int *fd)
{
	int got;

	pthread_mutex_lock(&client_lock);
	got = send_msg(SOCK_FD, q, payload, -1) ? -1 :
	      recv_msg(SOCK_FD, r, reply, fd);
	pthread_mutex_unlock(&client_lock);
	if (got <= 0 || r->type != q->type) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* The error an answer carries (a = -code, the parent's message). */
static int reply_error(const struct msg *r, const char *reply,
		       enum ph_err fallback)
{
	return ph_error(r->a < 0 && r->a > -(int64_t)PH_E__COUNT ?
			(enum ph_err)(-r->a) : fallback, "%.*s",
			(int)PH_MIN(r->len, 1024u), reply);
}

static int child_open(const char *path)
{
	struct msg q = { MSG_OPEN, 0, 0, 0 }, r = { 0, 0, 0, 0 };
	char *reply = xmalloc(PAYLOAD_MAX);
	size_t len = strlen(path);
	int fd = -1;

	if (len >= PATH_MAX) {
		free(reply);
		errno = ENAMETOOLONG;
		return -1;
	}
	q.len = (uint32_t)len;
	if (!request(&q, path, &r, reply, &fd) && r.a == 0 && fd >= 0) {
		free(reply);
		return fd;
	}
	if (fd >= 0)
		close(fd);
	free(reply);
	errno = r.a > 0 && r.a < 4096 ? (int)r.a : EACCES;
	return -1;
}

static int remote_read(uint64_t addr, void *buf, size_t len, size_t *done)
{
	char *reply = xmalloc(PAYLOAD_MAX);
	int rc = 0;

	*done = 0;
	while (*done < len) {
		struct msg q = { MSG_READ, 0, 0, 0 }, r;
		size_t want = PH_MIN(len - *done, (size_t)SANDBOX_READ_MAX);
		int fd = -1;

		q.a = (int64_t)(addr + *done);
		q.b = (int64_t)want;
		if (request(&q, NULL, &r, reply, &fd)) {
			rc = ph_error(PH_E_IO, "the parent of the parsing "
				      "process does not answer");
			break;
		}
		if (fd >= 0)
			close(fd);
		if (r.a < 0) {
			/* The parent's message says what went wrong. */
			rc = reply_error(&r, reply, PH_E_IO);
			break;
		}
		if (r.len > want)
			break;
		memcpy((char *)buf + *done, reply, r.len);
		*done += r.len;
		if (r.len < want)
			break;
	}
	free(reply);
	return rc;
}

/*
 * While the parent holds the target stopped its memory cannot change, so
 * whole pages are asked for and kept: a stack walk's thousand small reads
 * (a round trip each, about 7 us) become a few dozen.  Running, every
 * read goes to the process.
 */
#define PAGE 4096u
#define CACHE_SLOTS 1024u

struct page {
	uint64_t addr;      /* page address + 1; 0: empty slot */
	uint32_t valid;     /* bytes readable from its start */
	unsigned char *data;
};

static struct page *cache;
static bool cache_on;

static void cache_clear(void)
{
	size_t i;

	for (i = 0; cache && i < CACHE_SLOTS; i++) {
		free(cache[i].data);
		cache[i].data = NULL;
		cache[i].addr = 0;
	}
}

/* The page at pa (aligned), from the cache or the parent; NULL and *rc
 * for an error that is not about the address. */
static struct page *page_get(uint64_t pa, int *rc)
{
	size_t slot = (size_t)((pa / PAGE) * 0x9e3779b97f4a7c15ull >> 54) %
		      CACHE_SLOTS;
	struct page *pg;
	size_t got;

	if (!cache)
		cache = xcalloc(CACHE_SLOTS, sizeof(*cache));
	pg = &cache[slot];
	if (pg->addr == pa + 1)
		return pg;
	if (!pg->data)
		pg->data = xmalloc(PAGE);
	pg->addr = 0;
	*rc = remote_read(pa, pg->data, PAGE, &got);
	if (*rc)
		return NULL;
	pg->addr = pa + 1;
	pg->valid = (uint32_t)got;
	return pg;
}

static int child_read(uint64_t addr, void *buf, size_t len, size_t *done)
{
	int rc = 0;

	if (!cache_on)
		return remote_read(addr, buf, len, done);
	*done = 0;
	while (*done < len) {
		uint64_t a = addr + *done, pa = a & ~(uint64_t)(PAGE - 1);
		size_t off = (size_t)(a - pa), n;
		struct page *pg = page_get(pa, &rc);

		if (!pg || pg->valid <= off)
			break;
		n = PH_MIN(len - *done, pg->valid - off);
		memcpy((char *)buf + *done, pg->data + off, n);
		*done += n;
		if (pg->valid < PAGE)
			break;
	}
	return rc;
}

int sandbox_put(enum sandbox_key key, const void *data, size_t len)
{
	const char *p = data;

	if (!in_child)
		return ph_error(PH_E_IO, "not in the parsing process");
	do {
		struct msg q = { MSG_PUT, 0, key, 0 };
		size_t n = PH_MIN(len, (size_t)SANDBOX_READ_MAX);
		int rc;

		q.len = (uint32_t)n;
		pthread_mutex_lock(&client_lock);
		rc = send_msg(SOCK_FD, &q, p, -1);
		pthread_mutex_unlock(&client_lock);
		if (rc)
			return ph_error(PH_E_IO, "cannot reach the parent of "
					"the parsing process: %s",
					strerror(errno));
		p += n;
		len -= n;
	} while (len);
	return 0;
}

bool sandbox_target_alive(void)
{
	struct msg q = { MSG_ALIVE, 0, 0, 0 }, r;
	char *reply = xmalloc(PAYLOAD_MAX);
	int fd = -1;
	bool alive;

	/* No answer: say alive, which keeps the snapshot's notes as they
	 * are rather than blame an exit that did not happen. */
	alive = request(&q, NULL, &r, reply, &fd) || r.a;
	free(reply);
	return alive;
}

int sandbox_stop(void)
{
	struct msg q = { MSG_STOP, 0, 0, 0 }, r;
	char *reply = xmalloc(PAYLOAD_MAX);
	int fd = -1, rc = 0;

	if (request(&q, NULL, &r, reply, &fd))
		rc = ph_error(PH_E_IO, "the parent of the parsing process "
			      "does not answer");
	else if (r.a < 0)
		rc = reply_error(&r, reply, PH_E_ATTACH);
	/* Its threads, as the parent found them while stopping it: the
	 * stack walk names each Python thread's by its thread pointer. */
	if (!rc && child_pol->live) {
		struct target *t = child_pol->live;
		size_t total = 0;

		t->nthreads = 0;
		do {
			const struct msg_thread *v = (void *)reply;
			struct msg q2 = { MSG_THREADS, 0, 0, 0 };
			size_t i, n;
			int fd2 = -1;

			q2.a = (int64_t)t->nthreads;
			if (request(&q2, NULL, &r, reply, &fd2) || r.b < 0 ||
			    r.len % sizeof(*v)) {
				rc = ph_error(PH_E_IO, "the parent of the "
					      "parsing process does not "
					      "answer");
				break;
			}
			total = (size_t)r.b;
			n = r.len / sizeof(*v);
			if (!n || t->nthreads + n > total)
				break;
			PH_GROW(t->threads, t->threads_alloc, t->nthreads + n);
			for (i = 0; i < n; i++) {
				struct target_thread *th =
					&t->threads[t->nthreads++];

				memset(th, 0, sizeof(*th));
				th->tid = (pid_t)v[i].tid;
				th->fs_base = v[i].fs_base;
			}
		} while (t->nthreads < total);
	}
	free(reply);
	pthread_mutex_lock(&client_lock);
	cache_on = !rc;
	pthread_mutex_unlock(&client_lock);
	return rc;
}

uint64_t sandbox_resume(void)
{
	struct msg q = { MSG_RESUME, 0, 0, 0 }, r;
	char *reply = xmalloc(PAYLOAD_MAX);
	int fd = -1;
	uint64_t ns = 0;

	pthread_mutex_lock(&client_lock);
	cache_on = false;
	cache_clear();
	pthread_mutex_unlock(&client_lock);
	if (!request(&q, NULL, &r, reply, &fd) && r.b > 0)
		ns = (uint64_t)r.b;
	free(reply);
	return ns;
}

/* What the tests ask for (sandbox.h). */
enum test_mode test_mode;
const char *test_file;

void test_mode_read(void)
{
	const char *v = getenv("PYHEAP_TEST_SANDBOX");

	test_mode = TEST_NONE;
	if (!v)
		return;
	if (!strncmp(v, "status=", 7) && v[7]) {
		test_mode = TEST_STATUS;
		test_file = v + 7;
	} else if (!strcmp(v, "crash")) {
		test_mode = TEST_CRASH;
	} else if (!strcmp(v, "walk")) {
		test_mode = TEST_WALK;
	}
}

static _Noreturn void child_main(const struct sandbox_policy *pol,
				 int sock, uid_t uid, gid_t gid,
				 const char *empty, int (*fn)(void *),
				 void *ctx)
{
	static const int reset[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				     SIGPIPE, SIGALRM, SIGCHLD };
	struct sigaction dfl;
	int rc, keep = pol->keep_fd;
	size_t i;

	/* The parent's end of things: its death ends us, its handlers (which
	 * remove its files, detach its target) are not ours. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (i = 0; i < PH_ARRAY_SIZE(reset); i++)
		sigaction(reset[i], &dfl, NULL);
	ph_set_emergency_hook(NULL);

	/* Descriptors: stdio, the socket as 3, the kept one as 4, no other
	 * (/proc/PID/mem, the core's parent's files). */
	sock = fcntl(sock, F_DUPFD_CLOEXEC, 16);
	if (keep >= 0)
		keep = fcntl(keep, F_DUPFD_CLOEXEC, 16);
	if (sock < 0 || dup2(sock, SOCK_FD) < 0 ||
	    (keep >= 0 && dup2(keep, KEPT_FD) < 0))
		_exit(PH_EXIT_ERROR);
	if (syscall(SYS_close_range, keep >= 0 ? KEPT_FD + 1 : SOCK_FD + 1,
		    ~0u, 0))
		for (i = keep >= 0 ? KEPT_FD + 1 : SOCK_FD + 1; i < 65536; i++)
			close((int)i);
	in_child = true;
	child_pol = pol;
	/* What libc would otherwise open lazily, once confined; messages
	 * name files relative to where pyheap runs, not the new root. */
	tzset();
	ph_pin_cwd();

	rc = sandbox_drop(uid, gid, empty);
	if (!rc) {
		ph_open_ro_hook = child_open;
		if (pol->live)
			target_live_set_remote(pol->live, child_read);
		if (test_mode == TEST_STATUS) {
			struct strbuf sb = STRBUF_INIT;
			struct msg q = { MSG_STATUS, 0, 0, 0 }, r;
			char *reply = xmalloc(PAYLOAD_MAX);
			int fd = -1;

			sandbox_probe(pol->pid, &sb);
			q.len = (uint32_t)PH_MIN(sb.len, (size_t)4096);
			request(&q, sb.buf, &r, reply, &fd);
			strbuf_release(&sb);
			free(reply);
		} else if (test_mode == TEST_CRASH) {
			raise(SIGSEGV);
		}
		rc = fn(ctx);
	}
	if (rc < 0) {
		const char *m = ph_errmsg();
		struct msg q = { MSG_ERROR, 0, -rc, 0 };

		q.len = (uint32_t)PH_MIN(strlen(m), (size_t)4096);
		send_msg(SOCK_FD, &q, m, -1);
	} else {
		struct msg q = { MSG_DONE, 0, 0, 0 };

		send_msg(SOCK_FD, &q, NULL, -1);
	}
	fflush(stdout);
	fflush(stderr);
	/* exit(), not _exit(): a sanitizer build's leak check runs at exit. */
	exit(rc < 0 ? ph_exit_status(rc) : 0);
}

static void nobody(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam("nobody");

	*uid = pw ? pw->pw_uid : 65534;
	*gid = pw ? pw->pw_gid : 65534;
	/* A passwd where nobody is root would undo the point. */
	if (!*uid || !*gid) {
		*uid = 65534;
		*gid = 65534;
	}
}

static void remove_dir(void *dir)
{
	rmdir(dir);
}

int sandbox_run(const struct sandbox_policy *pol, const char *about,
		int (*fn)(void *ctx), void *ctx, struct sandbox_out *out)
{
	struct broker br;
	struct sigaction chld, saved_chld;
	char empty[] = "/tmp/pyheap-sandbox-XXXXXX";
	bool have_empty = false;
	int sv[2], status = 0, rc;
	uid_t uid;
	gid_t gid;
	pid_t pid;

	broker_init(&br, pol);
	test_mode_read();
	nobody(&uid, &gid);
	/* The child's root: an empty directory only root can enter, made
	 * where pyheap may (else the child keeps "/", still unable to open
	 * anything).  A sanitizer build's runtime reads /proc at exit. */
#ifndef SANDBOX_SANITIZER
	if (geteuid() == 0 && mkdtemp(empty))
		have_empty = true;
#endif
	/* A SIGCHLD the caller ignores would reap the child before waitpid()
	 * could say how it ended. */
	memset(&chld, 0, sizeof(chld));
	chld.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, NULL, &saved_chld);
	if (!(saved_chld.sa_flags & SA_SIGINFO) &&
	    saved_chld.sa_handler == SIG_IGN)
		sigaction(SIGCHLD, &chld, NULL);
	else
		saved_chld.sa_handler = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		rc = ph_error(PH_E_IO, "cannot start the parsing process: %s",
			      strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		rc = ph_error(PH_E_IO, "cannot start the parsing process: %s",
			      strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	if (!pid) {
		close(sv[0]);
		child_main(pol, sv[1], uid, gid, have_empty ? empty : NULL, fn,
			   ctx);
	}
	close(sv[1]);
	br.child = pid;
	/* Its first word comes after it is confined: in its root now, which
	 * may go. */
	if (serve_all(&br, sv[0], out, have_empty ? remove_dir : NULL,
		      empty))
		kill(pid, SIGKILL);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = child_result(&br, status, about);
out:
	broker_release(&br);
	if (have_empty)
		rmdir(empty);
	if (saved_chld.sa_handler == SIG_IGN)
		sigaction(SIGCHLD, &saved_chld, NULL);
	return rc;
}
