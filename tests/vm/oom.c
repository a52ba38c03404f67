/* Touch more memory than there is.
 *   vm-oom MIB          malloc and touch MIB in 4 MiB pieces, then exit 0
 *   vm-oom child MIB    the same in a child; print how the child ended
 * Out of memory, Linux's OOM killer ends the biggest process with SIGKILL;
 * the light guest's must do the same (never SIGSEGV, never a NULL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int hog(size_t mib)
{
	for (size_t done = 0; done < mib; done += 4) {
		char *p = malloc(4 << 20);
		if (!p) {
			printf("malloc failed after %zu MiB\n", done);
			return 1;
		}
		memset(p, 0x5a, 4 << 20);
	}
	printf("touched %zu MiB\n", mib);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 2 && strcmp(argv[1], "child") == 0) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(hog(strtoul(argv[2], NULL, 10)));
		int st;
		waitpid(pid, &st, 0);
		printf("child: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
		       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		return 0;
	}
	return hog(argc > 1 ? strtoul(argv[1], NULL, 10) : 1024);
}
