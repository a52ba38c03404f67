/* The light guest's patched syscall sites (src/vm/guest/sites.c): programs
 * whose output must be the same in the VM and natively, except "readtext",
 * which shows the one documented difference.
 *   straddle   syscall instructions across a page and a cache-line boundary
 *   fork       sites patched before and after fork, in shared and copied frames
 *   out        `in`/`out` on the monitor's syscall port: SIGSEGV at the instruction
 *   readtext   the bytes of a syscall site after it ran: 0f 05 natively, e6 e7 in the VM
 * Modes print the bytes of their sites on "bytes:" lines, which show that
 * the VM patched them (and differ from native runs for that reason). */

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* mov $39,%eax (getpid); syscall; ret */
static const unsigned char getpid_code[] = { 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3 };

/* getpid through a syscall instruction placed so that its 0x0f byte is at
 * offset `at` of buf. */
static long (*place(unsigned char *buf, size_t at))(void)
{
	memcpy(buf + at - 5, getpid_code, sizeof(getpid_code));
	return (long (*)(void))(buf + at - 5);
}

static int straddle(void)
{
	unsigned char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	long (*page)(void) = place(p, 4095);       /* 0f | 05 across pages */
	long (*line)(void) = place(p, 8192 + 63);  /* across a cache line */
	mprotect(p, 3 * 4096, PROT_READ | PROT_EXEC);
	long me = getpid(), bad = 0;
	for (int i = 0; i < 1000; i++)
		bad += (page() != me) + (line() != me);
	const unsigned char *a = p + 4095, *b = p + 8192 + 63;
	printf("straddle: %ld wrong of 2000\n", bad);
	printf("bytes: %02x %02x, %02x %02x\n", a[0], a[1], b[0], b[1]);
	return bad != 0;
}

static long __attribute__((noinline)) site_b(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(SYS_getppid) : "rcx", "r11", "memory");
	return r;
}

static int forks(void)
{
	/* A site in a writable executable page, patched before fork: the
	 * child's copy of the page must still be a site. */
	unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long (*rw)(void) = place(p, 100);
	long me = getpid();
	for (int i = 0; i < 10; i++)
		if (rw() != me)
			return 1;
	pid_t c = fork();
	if (c == 0) {
		long bad = 0;
		for (int i = 0; i < 100; i++)
			bad += (rw() != getpid()) + (site_b() != me); /* site_b: first use here */
		printf("child bytes: %02x %02x\n", p[100], p[101]);
		_exit(bad ? 1 : 0);
	}
	int st;
	waitpid(c, &st, 0);
	/* site_b's frame is the parent's too: patched by the child after fork. */
	long bad = 0;
	for (int i = 0; i < 100; i++)
		bad += (site_b() != getppid()) + (rw() != me);
	printf("fork: child %s, parent %ld wrong\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "failed", bad);
	return bad != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

static sigjmp_buf jb;
static volatile uintptr_t fault_rip;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	fault_rip = (uintptr_t)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
	fault_code = si->si_code;
	siglongjmp(jb, 1);
}

extern const char out_imm[], in_imm[], out_dx[];

static void __attribute__((noinline)) try_port(const char *name, const char *insn, int which)
{
	if (sigsetjmp(jb, 1) == 0) {
		if (which == 0)
			__asm__ volatile("out_imm: outb %%al, $0xe7" ::"a"(0));
		else if (which == 1)
			__asm__ volatile("in_imm: inb $0xe7, %%al" ::: "rax");
		else
			__asm__ volatile("out_dx: outb %%al, %%dx" ::"a"(0), "d"(0xe7));
		printf("%s: no fault\n", name);
		return;
	}
	printf("%s: SIGSEGV code %d at insn%+ld\n", name, fault_code,
	       (long)(fault_rip - (uintptr_t)insn));
}

static int out(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	getpid(); /* some sites patched first */
	try_port("out imm", out_imm, 0);
	try_port("in imm", in_imm, 1);
	try_port("out dx", out_dx, 2);
	return 0;
}

static int readtext(void)
{
	site_b();
	const unsigned char *b = (const unsigned char *)site_b;
	for (int i = 0; i < 32; i++)
		if ((b[i] == 0x0f && b[i + 1] == 0x05) || (b[i] == 0xe6 && b[i + 1] == 0xe7)) {
			printf("site bytes: %02x %02x\n", b[i], b[i + 1]);
			return 0;
		}
	printf("site not found\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(m, "straddle"))
		return straddle();
	if (!strcmp(m, "fork"))
		return forks();
	if (!strcmp(m, "out"))
		return out();
	if (!strcmp(m, "readtext"))
		return readtext();
	fprintf(stderr, "usage: vm-sites straddle|fork|out|readtext\n");
	return 2;
}
