/* Shared memory between processes: an anonymous shared mapping and a
 * memfd mapped by parent and child; after the restore a write by one is
 * seen by the other, and the contents survived. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	size_t len = 64 * 4096;
	volatile uint32_t *anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int mfd = memfd_create("zdtm-shm", 0);
	if (anon == MAP_FAILED || mfd < 0 || ftruncate(mfd, (off_t)len))
		zdtm_fail("setup");
	volatile uint32_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	for (size_t i = 0; i < len / 4; i += 97) {
		anon[i] = (uint32_t)i * 3;
		mem[i] = (uint32_t)i * 5;
	}
	int go[2];
	if (pipe(go) < 0)
		zdtm_fail("pipe");
	pid_t kid = fork();
	if (kid == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		for (size_t i = 0; i < len / 4; i += 97)
			if (anon[i] != (uint32_t)i * 3 || mem[i] != (uint32_t)i * 5)
				_exit(3);
		anon[1] = 0xabcd; /* the parent must see these */
		mem[1] = 0x1234;
		_exit(0);
	}

	zdtm_ready();
	zdtm_wait();

	zdtm_check(write(go[1], "g", 1) == 1);
	int st;
	zdtm_check(waitpid(kid, &st, 0) == kid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		zdtm_fail("child %#x", st);
	zdtm_check(anon[1] == 0xabcd && mem[1] == 0x1234);
	zdtm_pass();
}
