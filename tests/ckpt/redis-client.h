/* The redis test's client (tests/ckpt/redis.c): a process in the client's
 * network namespace that talks RESP to 10.77.0.1:6379 over one connection
 * for its whole life.  Control as the zdtm peer's: 'c' -> "N <answers>",
 * 's' -> "OK ..." (after its final checks); a failing client says
 * "FAIL: ..." at once and exits. */
#ifndef CKPT_REDIS_CLIENT_H
#define CKPT_REDIS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct client {
	pid_t pid;
	int ctl;
	char fail[300];
};

/* Start it, let it load `keys` keys; true once it runs its command loop. */
bool client_start(struct client *c, int netfd, int keys, char *why, size_t len);
/* INCR answers so far, or -1 if it failed (c->fail says why). */
int64_t client_count(struct client *c);
/* Wait for more than `than` answers (10 s at most), stop it, and give its
 * verdict in why. */
bool client_stop(struct client *c, int64_t than, char *why, size_t len);

#endif
