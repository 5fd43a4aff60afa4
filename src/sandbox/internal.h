/*
 * sandbox/internal.h — what sandbox.c (the child's side, fork and wait)
 * and broker.c (the parent's answers) share.  The interface is sandbox.h.
 */
#ifndef PYHEAP_SANDBOX_INTERNAL_H
#define PYHEAP_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

/* One message on the SOCK_SEQPACKET pair: this header, then len bytes.
 * A request and its answer have the same type. */
enum {
	MSG_OPEN = 1, MSG_READ, MSG_PUT, MSG_ERROR, MSG_STATUS, MSG_DONE,
	MSG_ALIVE, MSG_STOP, MSG_RESUME, MSG_THREADS
};

/* MSG_THREADS: the stopped target's threads from index a on, at most
 * THREADS_PER_MSG of them; b is how many there are in all. */
struct msg_thread {
	int64_t tid;
	uint64_t fs_base;
};
#define THREADS_PER_MSG (SANDBOX_READ_MAX / sizeof(struct msg_thread))

struct msg {
	uint32_t type;
	uint32_t len;  /* payload bytes that follow */
	int64_t a, b;
};

#define PAYLOAD_MAX (SANDBOX_READ_MAX + 4096)

/* sandbox.c: send h and its payload (and fd, if >= 0, by SCM_RIGHTS);
 * 0 or -1.  Receive one message into h and payload (PAYLOAD_MAX bytes),
 * *fd a passed descriptor or -1: 1, 0 at the end, -1 for an error or a
 * malformed message (what it passed is closed). */
int send_msg(int sock, const struct msg *h, const void *payload, int fd);
int recv_msg(int sock, struct msg *h, char *payload, int *fd);

/* sandbox.c: PYHEAP_TEST_SANDBOX, read by test_mode_read(). */
enum test_mode { TEST_NONE, TEST_STATUS, TEST_CRASH, TEST_WALK };
extern enum test_mode test_mode;
extern const char *test_file;
void test_mode_read(void);

/* A directory the child's paths may lead into. */
struct root {
	char *prefix;    /* in the child's paths, no final slash ("" for /) */
	int fd;          /* O_PATH of it, opened with the parent's rights */
	uint64_t resolve; /* RESOLVE_IN_ROOT or RESOLVE_BENEATH */
	bool world;      /* only files every user may read */
};

struct broker {
	const struct sandbox_policy *pol;
	struct root roots[2];
	size_t nroots;
	bool stopped;    /* the child asked for a stop, not a resume yet */
	bool malformed;  /* and was killed for a malformed request */
	pid_t child;
	int status_fd;   /* for PYHEAP_TEST_SANDBOX=status= */
	bool done, errored;
	int err_code;
	char *err_msg;
	size_t put_bytes;
};

/* broker.c: the roots of pol's files, and their release. */
void broker_init(struct broker *br, const struct sandbox_policy *pol);
void broker_release(struct broker *br);
/* Requests until the peer closes its end: 0, or -1 for a malformed one
 * (then the child must go).  on_first runs at the first message.  A
 * target the child left stopped is resumed before it returns. */
int serve_all(struct broker *br, int sock, struct sandbox_out *out,
	      void (*on_first)(void *), void *arg);
/* How the child ended (waitpid()'s status), as sandbox_run() returns it. */
int child_result(struct broker *br, int status, const char *about);

#endif
