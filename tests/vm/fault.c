/* Misbehaving programs: each mode ends the way it would natively (a signal,
 * a handled signal, an error code), which the tests compare. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void handler(int sig)
{
	char m[32];
	int n = snprintf(m, sizeof(m), "caught %d\n", sig);
	write(1, m, (size_t)n);
	_exit(42);
}

static const unsigned char garbage[] __attribute__((aligned(4096))) = { 0x0f, 0xff, 0xff, 0xff };

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "null";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(m, "null")) {
		void (*f)(void) = (void (*)(void))0;
		f();
	} else if (!strcmp(m, "garbage")) {
		/* Execute bytes that are not code, from a page mapped executable. */
		unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memcpy(p, "\x0f\x0b\xff\xff", 4); /* ud2 first; then what follows */
		for (int i = 4; i < 4096; i++)
			p[i] = (unsigned char)(i * 37);
		((void (*)(void))(p + 2))();
	} else if (!strcmp(m, "data")) {
		((void (*)(void))garbage)(); /* not executable: a page fault */
	} else if (!strcmp(m, "ports")) {
		for (int port = 0; port < 65536; port++)
			__asm__ volatile("outb %%al, %%dx" ::"a"(0), "d"(port));
	} else if (!strcmp(m, "ud2")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(m, "catch")) {
		signal(SIGSEGV, handler);
		volatile int *volatile bad = (int *)8;
		*bad = 1;
	} else if (!strcmp(m, "abort")) {
		abort();
	} else if (!strcmp(m, "term")) {
		kill(getpid(), SIGTERM);
	} else if (!strcmp(m, "enosys")) {
		long r = syscall(999);
		printf("syscall 999: %ld %s\n", r, strerror(errno));
		return 0;
	} else if (!strcmp(m, "munmap")) {
		/* Touch, unmap, touch again: natively SIGSEGV. */
		volatile char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		munmap((void *)p, 8192);
		p[0] = 2;
	} else if (!strcmp(m, "mprotect")) {
		volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		mprotect((void *)p, 4096, PROT_READ);
		printf("read %d\n", p[0]);
		p[0] = 2;
	}
	printf("survived %s\n", m);
	return 0;
}
