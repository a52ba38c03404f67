/* probe: a static binary the integration tests put in the container's root
 * filesystem and ask questions, so assertions read the kernel's answer from
 * inside rather than trusting what the runtime says it did.
 *
 *   probe hostname | domainname | uid | gid | groups | umask | cwd
 *   probe caps                 CapInh/CapPrm/CapEff/CapBnd/CapAmb, one per line
 *   probe nnp                  NoNewPrivs from /proc/self/status
 *   probe rlimit NAME          "soft hard" for RLIMIT_NAME (nofile, nproc, ...)
 *   probe syscall NAME         runs the syscall, prints "ok" or "errno N"
 *   probe open PATH [w]        "ok" or "errno N"
 *   probe isatty FD            "yes" / "no"
 *   probe personality          the personality word in hex
 *   probe oomscore             /proc/self/oom_score_adj
 *   probe sleep SECONDS
 *   probe alloc MIB [hold]     touch MIB mebibytes of anonymous memory, print "ok"
 *                              (hold: then keep it until killed)
 *   probe fork N               fork N children that wait; "forked K" and, when a
 *                              fork failed, "errno E"; the children are then killed
 *   probe exit CODE
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_field(const char *prefix)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f) {
		printf("errno %d\n", errno);
		return 1;
	}
	char line[256];
	size_t n = strlen(prefix);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, prefix, n) == 0)
			fputs(line, stdout);
	fclose(f);
	return 0;
}

static const struct {
	const char *name;
	int res;
} rlimits[] = {
	{ "cpu", RLIMIT_CPU },		 { "fsize", RLIMIT_FSIZE },   { "data", RLIMIT_DATA },
	{ "stack", RLIMIT_STACK },	 { "core", RLIMIT_CORE },     { "rss", RLIMIT_RSS },
	{ "nproc", RLIMIT_NPROC },	 { "nofile", RLIMIT_NOFILE }, { "memlock", RLIMIT_MEMLOCK },
	{ "as", RLIMIT_AS },		 { "locks", RLIMIT_LOCKS },   { "sigpending", RLIMIT_SIGPENDING },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },     { "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },
};

static int do_syscall(const char *name)
{
	long r;
	if (strcmp(name, "getpid") == 0)
		r = syscall(SYS_getpid);
	else if (strcmp(name, "mkdir") == 0)
		r = syscall(SYS_mkdir, "/tmp/probe-mkdir", 0700);
	else if (strcmp(name, "getcwd") == 0) {
		char buf[256];
		r = syscall(SYS_getcwd, buf, sizeof(buf));
	} else if (strcmp(name, "chdir") == 0)
		r = syscall(SYS_chdir, "/");
	else if (strcmp(name, "uname") == 0) {
		struct utsname u;
		r = syscall(SYS_uname, &u);
	} else if (strcmp(name, "unshare") == 0)
		r = syscall(SYS_unshare, 0);
	else if (strcmp(name, "sethostname") == 0)
		r = syscall(SYS_sethostname, "probe", 5);
	else {
		fprintf(stderr, "probe: unknown syscall %s\n", name);
		return 2;
	}
	if (r < 0)
		printf("errno %d\n", errno);
	else
		printf("ok\n");
	return 0;
}

static int do_alloc(long mib, bool hold)
{
	for (long i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("errno %d after %ld MiB\n", errno, i);
			return 1;
		}
		memset(p, 0x5a, 1 << 20); /* touched, so it is charged */
	}
	printf("ok\n");
	fflush(stdout);
	while (hold)
		pause();
	return 0;
}

static int do_fork(long n)
{
	pid_t kids[4096];
	long k = 0;
	int e = 0;
	for (; k < n && k < 4096; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			e = errno;
			break;
		}
		if (pid == 0) {
			pause();
			_exit(0);
		}
		kids[k] = pid;
	}
	printf("forked %ld\n", k);
	if (e)
		printf("errno %d\n", e);
	fflush(stdout);
	for (long i = 0; i < k; i++)
		kill(kids[i], SIGKILL);
	for (long i = 0; i < k; i++)
		waitpid(kids[i], NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: probe QUESTION [ARGS]\n");
		return 2;
	}
	const char *q = argv[1];
	char buf[4096];
	if (strcmp(q, "hostname") == 0 || strcmp(q, "domainname") == 0) {
		struct utsname u;
		uname(&u);
		puts(q[0] == 'h' ? u.nodename : u.domainname);
	} else if (strcmp(q, "uid") == 0) {
		printf("%u %u\n", getuid(), geteuid());
	} else if (strcmp(q, "gid") == 0) {
		printf("%u %u\n", getgid(), getegid());
	} else if (strcmp(q, "groups") == 0) {
		gid_t g[256];
		int n = getgroups(256, g);
		for (int i = 0; i < n; i++)
			printf("%s%u", i ? " " : "", g[i]);
		printf("\n");
	} else if (strcmp(q, "umask") == 0) {
		mode_t m = umask(0);
		printf("%04o\n", m);
	} else if (strcmp(q, "cwd") == 0) {
		puts(getcwd(buf, sizeof(buf)) ? buf : "?");
	} else if (strcmp(q, "caps") == 0) {
		return status_field("Cap");
	} else if (strcmp(q, "nnp") == 0) {
		return status_field("NoNewPrivs");
	} else if (strcmp(q, "seccomp") == 0) {
		return status_field("Seccomp");
	} else if (strcmp(q, "rlimit") == 0 && argc > 2) {
		for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++) {
			if (strcmp(rlimits[i].name, argv[2]) != 0)
				continue;
			struct rlimit rl;
			getrlimit(rlimits[i].res, &rl);
			printf("%llu %llu\n", (unsigned long long)rl.rlim_cur,
			       (unsigned long long)rl.rlim_max);
			return 0;
		}
		return 2;
	} else if (strcmp(q, "syscall") == 0 && argc > 2) {
		return do_syscall(argv[2]);
	} else if (strcmp(q, "open") == 0 && argc > 2) {
		int fd = open(argv[2], (argc > 3 && argv[3][0] == 'w') ? O_WRONLY : O_RDONLY);
		if (fd < 0)
			printf("errno %d\n", errno);
		else
			printf("ok\n");
	} else if (strcmp(q, "isatty") == 0 && argc > 2) {
		puts(isatty(atoi(argv[2])) ? "yes" : "no");
	} else if (strcmp(q, "personality") == 0) {
		printf("0x%x\n", personality(0xffffffff));
	} else if (strcmp(q, "oomscore") == 0) {
		int fd = open("/proc/self/oom_score_adj", O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (n < 0)
			return 1;
		buf[n] = '\0';
		fputs(buf, stdout);
	} else if (strcmp(q, "alloc") == 0 && argc > 2) {
		return do_alloc(atol(argv[2]), argc > 3 && strcmp(argv[3], "hold") == 0);
	} else if (strcmp(q, "fork") == 0 && argc > 2) {
		return do_fork(atol(argv[2]));
	} else if (strcmp(q, "sleep") == 0 && argc > 2) {
		sleep((unsigned)atoi(argv[2]));
	} else if (strcmp(q, "exit") == 0 && argc > 2) {
		return atoi(argv[2]);
	} else {
		fprintf(stderr, "probe: unknown question %s\n", q);
		return 2;
	}
	return 0;
}
