/* The zdtm driver's TCP peer: a process outside the tree (in its network
 * namespace, outside its PID namespace) that streams a byte pattern to an
 * echo server of the tree and checks every byte that comes back, through
 * the whole checkpoint and restore.  Lost, duplicated or reordered bytes,
 * a reset, or no progress after the restore fail the test. */
#ifndef ZDTM_PEER_H
#define ZDTM_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct peer {
	pid_t pid;
	int ctl; /* our end of the control socket */
	char fail[300];
};

/* Start it in the network namespace netfd, connecting to 127.0.0.1:port;
 * returns once the first echo came back (false: why in why). */
bool peer_start(struct peer *p, int netfd, uint16_t port, char *why, size_t len);
/* Bytes echoed so far, or -1 if the peer is gone. */
int64_t peer_count(struct peer *p);
/* Wait until more than `than` bytes were echoed (or seconds pass), stop
 * it, and give its verdict: true if every byte came back right. */
bool peer_finish(struct peer *p, int64_t than, int seconds, char *why, size_t len);
/* Stop it, whatever its state. */
void peer_kill(struct peer *p);

#endif
