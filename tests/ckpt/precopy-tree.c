/* precopy-tree CMD_FD ACK_FD: the tree of tests/unit/ckpt/test-ckpt-precopy
 * (static, no sanitizers: an ASan shadow of terabytes is no tree to
 * pre-dump).  It owns PAGES pages, says 'r', then for each command byte
 * does it and echoes it: 'w' rewrites the first HOT pages, 'n' opens a
 * netlink socket at fd 9 (a kind the engine refuses), 'c' closes it. */
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAGES 1024
#define HOT 256

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int cmd = atoi(argv[1]), ack = atoi(argv[2]);
	uint8_t *m = mmap(NULL, PAGES * 4096UL, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < PAGES * 4096UL; i += 64)
		m[i] = (uint8_t)(i / 4096 + 1);
	uint8_t gen = 100;
	for (char c = 'r';; gen++) {
		if (c == 'w')
			for (size_t p = 0; p < HOT; p++)
				m[p * 4096] = gen;
		if (c == 'n') {
			int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
			dup2(s, 9);
			close(s);
		}
		if (c == 'c')
			close(9);
		if (write(ack, &c, 1) != 1 || read(cmd, &c, 1) != 1)
			return 0;
	}
}
