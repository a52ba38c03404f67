/* The floor of a daemonless microVM start on this host, for bench/vm: the
 * kernel work any launcher like `cell vm run` must do, with no runtime
 * logic around it.  Run as root.
 *   floor vm [EXITS]    create a VM with one vCPU in long mode, run a ring-3
 *                       guest that makes EXITS port exits (the light guest's
 *                       syscall sites; a static hello makes ~17), print
 *                       "hello", exit: a bare KVM process;
 *   floor full [EXITS]  what a launcher adds at least: a cgroup of its own in
 *                       the hierarchies a VM is limited in (v1: memory, pids,
 *                       cpu; v2: one directory), a child cloned into a new
 *                       PID namespace and that cgroup, new mount, IPC and UTS
 *                       namespaces, the exec of a static monitor (this
 *                       program, "vm"), the wait, the cgroups' removal;
 *   floor sandboxed [EXITS]  full, and the monitor sandboxes itself before
 *                       its first KVM_RUN as issue 6 asks: pivot into a
 *                       tmpfs of its own, every capability dropped, a
 *                       seccomp allowlist of the size of cell's;
 *   floor container     sandboxed without KVM: the same launcher, namespaces,
 *                       cgroup and sandbox, and the child prints "hello"
 *                       itself.  A VM under issue 6's isolation is this
 *                       plus the VM, so it cannot start sooner than an
 *                       equally lean container.
 * What it still leaves out and cell does (a state directory and a record, a
 * control socket, the guest's ELF loader, a guest that is a real static
 * program) costs more, never less. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest64.h"

#define RAM (4u << 20)
#define CODE GUEST64_CODE
#define die guest64_die

/* pivot into an empty tmpfs, drop every capability, then an allowlist of
 * 120 syscall numbers (cell's monitor allows ~110 and checks ioctl numbers)
 * with a kill default: its cost is in loading and JIT-compiling it. */
static void sandbox(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("floor", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0 ||
	    chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		die("sandbox: pivot");
	for (int c = 0; c <= 63; c++)
		prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs");
	struct sock_filter f[2 + 120 + 2];
	unsigned n = 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < 120; i++) /* numbers 0..119 (read, write, ioctl, mmap...) */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, i, 121 - i, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		die("seccomp");
}

static int run_vm(long exits, int sandboxed)
{
	int kvm, vm;
	uint8_t *ram = guest64_vm(RAM, &kvm, &vm);
	/* 1: out %al,$0xe7; dec %rbx; jnz 1b; mov %al,(MMIO); hlt */
	static const uint8_t code[] = { 0xe6, 0xe7, 0x48, 0xff, 0xcb, 0x75, 0xf9, 0x88,
					0x04, 0x25, 0x00, 0x00, 0x00, 0x40, 0xf4 };
	memcpy(ram + CODE, code, sizeof(code));
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (cpu < 0)
		die("vcpu");
	struct kvm_run *run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
				   PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED)
		die("kvm_run");
	guest64_setup(kvm, cpu, ram);
	struct kvm_regs r = { .rip = CODE, .rbx = (uint64_t)(exits > 0 ? exits : 1), .rflags = 2 };
	if (ioctl(cpu, KVM_SET_REGS, &r) < 0)
		die("regs");
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	if (sandboxed)
		sandbox();
	for (;;) {
		if (ioctl(cpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == GUEST64_PORT) {
			struct kvm_regs *k = &run->s.regs.regs;
			k->rip = CODE + 2;
			k->rflags = (k->rflags & 0x254dd5) | 0x202;
			run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO)
			break;
		fprintf(stderr, "floor: exit %u\n", run->exit_reason);
		return 1;
	}
	static const char msg[] = "hello\n";
	return write(1, msg, sizeof(msg) - 1) == sizeof(msg) - 1 ? 0 : 1;
}

static int hello_sandboxed(void)
{
	sandbox();
	static const char msg[] = "hello\n";
	return write(1, msg, sizeof(msg) - 1) == sizeof(msg) - 1 ? 0 : 1;
}

static const char *const v1[] = { "memory", "pids", "cpu" };

/* The launcher's cgroup directories: the v1 ones (none on a pure v2 host),
 * then the v2 one, last. */
struct cgdirs {
	char dir[4][256];
	size_t n;
};

static void cgdirs_remove(const struct cgdirs *c, size_t made)
{
	while (made)
		rmdir(c->dir[--made]);
}

static int full(const char *self, const char *exits, const char *role)
{
	struct cgdirs c = { .n = 0 };
	int pure = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	for (size_t i = 0; !pure && i < sizeof(v1) / sizeof(*v1); i++)
		snprintf(c.dir[c.n++], sizeof(c.dir[0]), "/sys/fs/cgroup/%s/floor-%d", v1[i],
			 getpid());
	snprintf(c.dir[c.n++], sizeof(c.dir[0]),
		 pure ? "/sys/fs/cgroup/floor-%d" : "/sys/fs/cgroup/unified/floor-%d", getpid());
	/* Every failure from here removes what was made. */
	for (size_t i = 0; i < c.n; i++)
		if (mkdir(c.dir[i], 0755) < 0) {
			perror(c.dir[i]);
			cgdirs_remove(&c, i);
			return 1;
		}
	int v2fd = open(c.dir[c.n - 1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	int pidfd = -1;
	struct clone_args a = { .flags = CLONE_PIDFD | CLONE_NEWPID | CLONE_INTO_CGROUP,
				.pidfd = (uint64_t)(uintptr_t)&pidfd, .exit_signal = SIGCHLD,
				.cgroup = (uint64_t)v2fd };
	long pid = v2fd < 0 ? -1 : syscall(SYS_clone3, &a, sizeof(a));
	if (pid < 0) {
		perror(v2fd < 0 ? c.dir[c.n - 1] : "clone3");
		cgdirs_remove(&c, c.n);
		return 1;
	}
	if (pid == 0) { /* the launcher cleans up after any failure here */
		char tasks[300];
		for (size_t i = 0; i + 1 < c.n; i++) {
			snprintf(tasks, sizeof(tasks), "%s/tasks", c.dir[i]);
			int fd = open(tasks, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1)
				_exit(126);
			close(fd);
		}
		if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) == 0)
			execl(self, self, role, exits, (char *)NULL);
		_exit(127);
	}
	close(v2fd);
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	poll(&p, 1, -1);
	close(pidfd);
	int st = 0;
	waitpid((pid_t)pid, &st, 0);
	cgdirs_remove(&c, c.n);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	const char *exits = argc > 2 ? argv[2] : "17";
	if (argc > 1 && strcmp(argv[1], "vm") == 0)
		return run_vm(atol(exits), 0);
	if (argc > 1 && strcmp(argv[1], "vm-sandboxed") == 0)
		return run_vm(atol(exits), 1);
	if (argc > 1 && strcmp(argv[1], "hello-sandboxed") == 0)
		return hello_sandboxed();
	if (argc > 1 && strcmp(argv[1], "full") == 0)
		return full("/proc/self/exe", exits, "vm");
	if (argc > 1 && strcmp(argv[1], "sandboxed") == 0)
		return full("/proc/self/exe", exits, "vm-sandboxed");
	if (argc > 1 && strcmp(argv[1], "container") == 0)
		return full("/proc/self/exe", exits, "hello-sandboxed");
	fprintf(stderr, "usage: floor vm|full|sandboxed|container [EXITS]\n");
	return 2;
}
