/* Resource limits as a program sees them: run natively (under prlimit) and
 * in the light guest with the same limits, the output must be the same.
 *   vm-rlimits show              the limits, also after fork and execve
 *   vm-rlimits nofile            fds up to RLIMIT_NOFILE, then EMFILE
 *   vm-rlimits fsize FILE        writes past RLIMIT_FSIZE: EFBIG, SIGXFSZ
 *   vm-rlimits stack KIB         recursion through KIB of stack
 *   vm-rlimits as | data         mmap/brk against RLIMIT_AS / RLIMIT_DATA
 *   vm-rlimits nproc             fork against RLIMIT_NPROC
 *   vm-rlimits set               setrlimit/prlimit rules (EPERM, EINVAL, ESRCH)
 *   vm-rlimits raise             raising a hard limit
 *   vm-rlimits cpu spin          RLIMIT_CPU: a loop without syscalls (SIGXCPU kills it)
 *   vm-rlimits cpu syscalls      ... a loop of getppid() calls
 *   vm-rlimits cpu handler       SIGXCPU caught at the soft limit, SIGKILL at the hard
 *   vm-rlimits cpu fork          a child inherits the limit and keeps it over execve
 *   vm-rlimits cpu threads       two spinning threads: their time adds up */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct { int res; const char *name; } lims[] = {
	{ RLIMIT_NOFILE, "nofile" }, { RLIMIT_STACK, "stack" }, { RLIMIT_AS, "as" },
	{ RLIMIT_DATA, "data" },     { RLIMIT_FSIZE, "fsize" }, { RLIMIT_NPROC, "nproc" },
	{ RLIMIT_CORE, "core" },     { RLIMIT_CPU, "cpu" },
};

static void num(char *b, size_t n, rlim_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(b, n, "unlimited");
	else
		snprintf(b, n, "%llu", (unsigned long long)v);
}

static void show(const char *who)
{
	for (size_t i = 0; i < sizeof(lims) / sizeof(lims[0]); i++) {
		struct rlimit r;
		char s[32], h[32];
		if (getrlimit(lims[i].res, &r) < 0) {
			printf("%s %s: %s\n", who, lims[i].name, strerror(errno));
			continue;
		}
		num(s, sizeof(s), r.rlim_cur);
		num(h, sizeof(h), r.rlim_max);
		printf("%s %s %s %s\n", who, lims[i].name, s, h);
	}
	fflush(stdout);
}

/* fork, or say why not (RLIMIT_NPROC) */
static pid_t try_fork(void)
{
	pid_t pid = fork();
	if (pid < 0)
		printf("fork: %s\n", strerror(errno));
	return pid;
}

static int do_show(char *self)
{
	show("start");
	struct rlimit core = { 4096, 8192 };
	if (setrlimit(RLIMIT_CORE, &core) < 0) /* just stored; children inherit it */
		printf("setrlimit core: %s\n", strerror(errno));
	pid_t pid = try_fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		show("child");
		char *const argv[] = { self, "show-only", NULL };
		execv(self, argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int do_nofile(void)
{
	struct rlimit r;
	getrlimit(RLIMIT_NOFILE, &r);
	int n = 0, fd, last = -1;
	while ((fd = open("/", O_RDONLY | O_DIRECTORY)) >= 0) {
		n++;
		last = fd;
	}
	printf("opened %d, last fd %d: %s\n", n, last, strerror(errno));
	printf("dup2 to the limit: %s\n", dup2(0, (int)r.rlim_cur) < 0 ? strerror(errno) : "ok");
	printf("F_DUPFD at the limit: %s\n",
	       fcntl(0, F_DUPFD, (int)r.rlim_cur) < 0 ? strerror(errno) : "ok");
	int p[2];
	printf("pipe: %s\n", pipe(p) < 0 ? strerror(errno) : "ok");
	/* a higher soft limit makes room */
	r.rlim_cur += 8;
	if (setrlimit(RLIMIT_NOFILE, &r) < 0)
		printf("setrlimit: %s\n", strerror(errno));
	n = 0;
	while (open("/", O_RDONLY | O_DIRECTORY) >= 0)
		n++;
	printf("after raising the soft limit by 8: %d more: %s\n", n, strerror(errno));
	return 0;
}

static volatile sig_atomic_t xfsz;
static void on_xfsz(int sig) { (void)sig; xfsz++; }

static int do_fsize(const char *path)
{
	struct rlimit r;
	getrlimit(RLIMIT_FSIZE, &r);
	off_t lim = (off_t)r.rlim_cur;
	signal(SIGXFSZ, on_xfsz);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	static char buf[8192];
	memset(buf, 'x', sizeof(buf));
	ssize_t a = pwrite(fd, buf, sizeof(buf), lim - 100); /* short: up to the limit */
	printf("pwrite 8192 just below the limit: %zd, SIGXFSZ %d\n", a, (int)xfsz);
	lseek(fd, lim, SEEK_SET);
	errno = 0;
	a = write(fd, buf, 10);
	printf("write at the limit: %zd %s, SIGXFSZ %d\n", a, strerror(errno), (int)xfsz);
	errno = 0;
	a = pwrite(fd, buf, 10, lim + 100);
	printf("pwrite past it: %zd %s, SIGXFSZ %d\n", a, strerror(errno), (int)xfsz);
	printf("pwrite below it: %zd\n", pwrite(fd, buf, 10, 0));
	printf("write of nothing at the limit: %zd\n", write(fd, buf, 0));
	errno = 0;
	int t = ftruncate(fd, lim + 1);
	printf("ftruncate past it: %d %s, SIGXFSZ %d\n", t, strerror(errno), (int)xfsz);
	printf("ftruncate below it: %d\n", ftruncate(fd, lim - 50));
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND);
	printf("append 8192: %zd\n", write(fd, buf, sizeof(buf)));
	close(fd);
	/* the default action kills */
	int f2 = open(path, O_WRONLY);
	unlink(path);
	pid_t pid = try_fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		signal(SIGXFSZ, SIG_DFL);
		if (pwrite(f2, buf, 10, lim) < 0)
			_exit(errno);
		_exit(0);
	}
	close(f2);
	int st;
	waitpid(pid, &st, 0);
	printf("child: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
	       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return 0;
}

static int recurse(int n)
{
	volatile char pad[16384];
	pad[0] = (char)n;
	pad[sizeof(pad) - 1] = (char)n;
	return n ? recurse(n - 1) + pad[0] : pad[sizeof(pad) - 1];
}

static int do_stack(long kib)
{
	pid_t pid = try_fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		recurse((int)(kib / 16));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("%ld KiB of stack: %s %d\n", kib, WIFSIGNALED(st) ? "signal" : "exit",
	       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return 0;
}

static const char *try_mmap(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return strerror(errno);
	munmap(p, len);
	return "ok";
}

static int do_as(void)
{
	struct rlimit r = { 64 << 20, 64 << 20 };
	setrlimit(RLIMIT_AS, &r);
	printf("mmap 16 MiB: %s\n", try_mmap(16 << 20, PROT_READ | PROT_WRITE));
	printf("mmap 128 MiB: %s\n", try_mmap(128u << 20, PROT_READ | PROT_WRITE));
	printf("mmap 128 MiB PROT_NONE: %s\n", try_mmap(128u << 20, PROT_NONE));
	void *m = malloc(128u << 20);
	printf("malloc 128 MiB: %s\n", m ? "ok" : "NULL");
	free(m);
	void *b = sbrk(128 << 20);
	printf("sbrk 128 MiB: %s\n", b == (void *)-1 ? strerror(errno) : "ok");
	return 0;
}

static int do_data(void)
{
	struct rlimit r = { 16 << 20, 16 << 20 };
	setrlimit(RLIMIT_DATA, &r);
	printf("mmap 8 MiB rw: %s\n", try_mmap(8 << 20, PROT_READ | PROT_WRITE));
	printf("mmap 32 MiB rw: %s\n", try_mmap(32 << 20, PROT_READ | PROT_WRITE));
	printf("mmap 32 MiB ro: %s\n", try_mmap(32 << 20, PROT_READ));
	void *b = sbrk(32 << 20);
	printf("sbrk 32 MiB: %s\n", b == (void *)-1 ? strerror(errno) : "ok");
	void *ro = mmap(NULL, 32 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int e = mprotect(ro, 32 << 20, PROT_READ | PROT_WRITE);
	printf("mprotect 32 MiB rw: %s\n", e < 0 ? strerror(errno) : "ok");
	e = mprotect(ro, 1 << 20, PROT_READ | PROT_WRITE);
	printf("mprotect 1 MiB rw: %s\n", e < 0 ? strerror(errno) : "ok");
	return 0;
}

static int do_nproc(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	printf("fork: %s\n", pid < 0 ? strerror(errno) : "ok");
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return 0;
}

static int do_set(void)
{
	struct rlimit r, bad = { 20, 10 };
	int e = setrlimit(RLIMIT_NOFILE, &bad);
	printf("soft above hard: %d %s\n", e, strerror(errno));
	e = getrlimit(99, &r);
	printf("unknown resource: %d %s\n", e, strerror(errno));
	getrlimit(RLIMIT_NOFILE, &r);
	struct rlimit big = { r.rlim_cur, 2000000000 };
	e = setrlimit(RLIMIT_NOFILE, &big);
	printf("nofile above nr_open: %d %s\n", e, strerror(errno));
	struct rlimit low = { 64, 128 };
	setrlimit(RLIMIT_NOFILE, &low);
	struct rlimit old;
	printf("prlimit self: %d", prlimit(getpid(), RLIMIT_NOFILE, NULL, &old));
	printf(" %llu %llu\n", (unsigned long long)old.rlim_cur, (unsigned long long)old.rlim_max);
	e = prlimit(0x3fffffff, RLIMIT_NOFILE, NULL, &old);
	printf("prlimit no such pid: %d %s\n", e, strerror(errno));
	pid_t pid = try_fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		struct rlimit c;
		prlimit(getppid(), RLIMIT_NOFILE, NULL, &c);
		printf("the parent's, from a child: %llu %llu\n", (unsigned long long)c.rlim_cur,
		       (unsigned long long)c.rlim_max);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}

/* Raising a hard limit: root with CAP_SYS_RESOURCE may, others not. */
static int do_raise(void)
{
	struct rlimit low = { 64, 128 }, up = { 64, 256 };
	setrlimit(RLIMIT_NOFILE, &low);
	errno = 0;
	int u = setrlimit(RLIMIT_NOFILE, &up);
	printf("raise hard as uid %d: %s\n", (int)getuid(), u < 0 ? strerror(errno) : "ok");
	getrlimit(RLIMIT_NOFILE, &up);
	printf("nofile %llu %llu\n", (unsigned long long)up.rlim_cur,
	       (unsigned long long)up.rlim_max);
	return 0;
}

static volatile sig_atomic_t xcpu;
static void on_xcpu(int sig) { (void)sig; xcpu++; }

static void spin(void)
{
	for (;;)
		__asm__ volatile("" ::: "memory");
}

static void *spin_thread(void *arg)
{
	(void)arg;
	spin();
	return NULL;
}

/* Burn CPU until RLIMIT_CPU ends the process; what it printed and how it
 * died (the caller's exit status) must match a native run. */
static int do_cpu(const char *how, char *self)
{
	printf("cpu %s\n", how);
	if (strcmp(how, "spin") == 0)
		spin();
	if (strcmp(how, "syscalls") == 0)
		for (;;)
			syscall(SYS_getppid);
	if (strcmp(how, "handler") == 0) {
		struct sigaction sa = { .sa_handler = on_xcpu };
		sigaction(SIGXCPU, &sa, NULL);
		while (!xcpu)
			__asm__ volatile("" ::: "memory");
		/* Linux moved the soft limit a second on before sending it. */
		struct rlimit r;
		getrlimit(RLIMIT_CPU, &r);
		printf("SIGXCPU %d, soft limit now %llu\n", (int)xcpu,
		       (unsigned long long)r.rlim_cur);
		spin(); /* until SIGKILL at the hard limit */
	}
	if (strcmp(how, "threads") == 0) {
		pthread_t th[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, spin_thread, NULL);
		for (;;)
			pause();
	}
	if (strcmp(how, "fork") == 0) {
		pid_t pid = try_fork();
		if (pid == 0) {
			char *const argv[] = { self, "cpu", "spin", NULL };
			execv(self, argv);
			_exit(127);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) < 0)
			return 1;
		if (WIFSIGNALED(st))
			printf("child killed by signal %d\n", WTERMSIG(st));
		else
			printf("child exited %d\n", WEXITSTATUS(st));
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *m = argc > 1 ? argv[1] : "show";
	if (strcmp(m, "show") == 0)
		return do_show(argv[0]);
	if (strcmp(m, "show-only") == 0)
		return show("exec"), 0;
	if (strcmp(m, "nofile") == 0)
		return do_nofile();
	if (strcmp(m, "fsize") == 0 && argc > 2)
		return do_fsize(argv[2]);
	if (strcmp(m, "stack") == 0 && argc > 2)
		return do_stack(strtol(argv[2], NULL, 10));
	if (strcmp(m, "as") == 0)
		return do_as();
	if (strcmp(m, "data") == 0)
		return do_data();
	if (strcmp(m, "nproc") == 0)
		return do_nproc();
	if (strcmp(m, "set") == 0)
		return do_set();
	if (strcmp(m, "raise") == 0)
		return do_raise();
	if (strcmp(m, "cpu") == 0 && argc > 2)
		return do_cpu(argv[2], argv[0]);
	fprintf(stderr, "usage: vm-rlimits show|nofile|fsize FILE|stack KIB|as|data|nproc|set|"
			"raise|cpu spin|syscalls|handler|fork|threads\n");
	return 2;
}
