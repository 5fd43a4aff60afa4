/*
 * libFuzzer target for the privileged side of the sandbox (sandbox.c
 * sandbox_serve()): what a compromised parsing process could send its
 * parent.  The input is a series of datagrams, each a little-endian u16
 * length and that many bytes (a request header and payload, or garbage),
 * sent on a SOCK_SEQPACKET pair to the broker, whose answers (and the
 * descriptors they pass) are drained and closed.  Every request must end
 * in an answer or the end of the conversation: never a crash, a hang, a
 * descriptor kept open, or a file opened outside the policy.  The metrics
 * the peer put are then merged as the parent would (prom_merge_serialized).
 *
 * The policy is a core's without a live process: files under a sysroot
 * made here (a file every user may read, one only its owner may, a FIFO,
 * links out of it), world-readable ones only, and /dev/null by name.
 *
 * Build with clang (tests/CMakeLists.txt, target fuzz_broker), run:
 *   build-clang/tests/fuzz_broker -max_total_time=60 CORPUS \
 *       tests/fuzz/corpus/broker
 * Seeds: tests/fuzz/mkbroker.py.  The same entry point is linked by gcc
 * into fuzz_replay_broker.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/output.h"
#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void make_root(void)
{
	char p[128];
	int fd;

	/* A fixed name, which the seeds use (tests/fuzz/mkbroker.py). */
	snprintf(root, sizeof(root), "/tmp/pyheap-fuzz-broker");
	mkdir(root, 0755);
	snprintf(p, sizeof(p), "%s/lib.so", root);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/secret", root);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		fchmod(fd, 0600);
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/fifo", root);
	mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/escape", root);
	symlink("/etc/passwd", p);
	snprintf(p, sizeof(p), "%s/up", root);
	symlink("../../../../etc/passwd", p);
}

/* The peer's side of the answers: read them all, close what they pass. */
static void *drain(void *arg)
{
	int sock = *(int *)arg;
	char buf[70000];
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];

	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh;
		struct cmsghdr *c;
		ssize_t n;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t k, nfd;

			if (c->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < nfd; k++) {
				int fd;
				struct stat st;

				memcpy(&fd, CMSG_DATA(c) + k * sizeof(int),
				       sizeof(fd));
				/* The policy: regular world-readable files
				 * under the root, or /dev/null by name. */
				if (fstat(fd, &st) ||
				    (!S_ISCHR(st.st_mode) &&
				     !(S_ISREG(st.st_mode) &&
				       (st.st_mode & S_IROTH))))
					abort();
				close(fd);
			}
		}
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *paths[] = { "/dev/null", NULL };
	struct sandbox_policy pol;
	struct sandbox_out out;
	struct prom prom = PROM_INIT;
	pthread_t th;
	size_t i = 0, n = 0;
	int sv[2];

	if (!*root)
		make_root();
	memset(&pol, 0, sizeof(pol));
	pol.core = true;
	pol.root = root;
	pol.paths = paths;
	pol.keep_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	if (pthread_create(&th, NULL, drain, &sv[1]))
		abort();
	/* The requests first, then the broker: the socket holds them (at
	 * most 32, each under 64 KiB), and its answers go to drain(). */
	while (i + 2 <= size && n < 32) {
		size_t len = (size_t)data[i] | (size_t)data[i + 1] << 8;

		i += 2;
		len = len < size - i ? len : size - i;
		if (send(sv[1], data + i, len, MSG_NOSIGNAL) < 0)
			break;
		i += len;
		n++;
	}
	shutdown(sv[1], SHUT_WR);
	sandbox_out_init(&out);
	sandbox_serve(&pol, sv[0], &out);
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
	prom_merge_serialized(&prom, out.put[SANDBOX_KEY_PROM].buf,
			      out.put[SANDBOX_KEY_PROM].len);
	prom_release(&prom);
	sandbox_out_release(&out);
	return 0;
}
