/* The v2 device filter: the compiled program against the rule semantics
 * (an interpreter of the few instructions it uses), the kernel's verifier,
 * and a real attach to a cgroup2 directory of this host. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup-fake.h"
#include "t.h"

#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD

/* Runs a program as the kernel would for one request; -1 on an
 * instruction it does not know or a jump out of the program. */
static int run(const struct bpf_insn *p, size_t n, int type, uint32_t acc, uint32_t major,
	       uint32_t minor)
{
	uint32_t ctx[3] = { (acc << 16) | (uint32_t)type, major, minor };
	uint64_t reg[11] = { 0 };
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];
		uint64_t imm = (uint64_t)(int64_t)i->imm;
		switch (i->code) {
		case BPF_LDX | BPF_W | BPF_MEM:
			if (i->src_reg != BPF_REG_1 || i->off % 4 || i->off > 8)
				return -1;
			reg[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			reg[i->dst_reg] = (uint32_t)(reg[i->dst_reg] & imm);
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			reg[i->dst_reg] = (uint32_t)reg[i->dst_reg] >> i->imm;
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			reg[i->dst_reg] = (uint32_t)reg[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			reg[i->dst_reg] = imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (reg[i->dst_reg] != imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			if (reg[i->dst_reg] == imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)reg[0];
		default:
			return -1;
		}
	}
	return -1;
}

static uint32_t bits(const char *a)
{
	uint32_t b = 0;
	for (; *a; a++)
		b |= *a == 'r' ? R : *a == 'w' ? W : M;
	return b;
}

/* The semantics, written plainly: the last matching rule decides. */
static int model(const struct oci_device_rule *r, size_t n, int type, uint32_t acc,
		 uint32_t major, uint32_t minor)
{
	for (size_t i = n; i-- > 0;) {
		if (r[i].type == 'a')
			return r[i].allow;
		int t = r[i].type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
		if (!r[i].access[0] || t != type || (r[i].major >= 0 && r[i].major != major) ||
		    (r[i].minor >= 0 && r[i].minor != minor))
			continue;
		uint32_t a = bits(r[i].access);
		if (r[i].allow ? (acc & ~a) == 0 : (acc & a) != 0)
			return r[i].allow;
	}
	return 1;
}

static int eval(const struct oci_device_rule *r, size_t n, char type, const char *acc,
		uint32_t major, uint32_t minor)
{
	_cleanup_free_ struct bpf_insn *p = NULL;
	size_t np;
	_cleanup_err_ struct cell_err *err = NULL;
	if (cg_bpf_devices_build(r, n, &p, &np, &err) < 0)
		return -2;
	return run(p, np, type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, bits(acc), major,
		   minor);
}

/* The cases OCI configs rely on, spelled out. */
static void semantics(void)
{
	const struct oci_device_rule oci[] = { { false, 'a', -1, -1, "rwm" },
					       { true, 'c', 1, 3, "rwm" },
					       { true, 'c', 136, -1, "rw" },
					       { true, 'c', -1, -1, "m" },
					       { false, 'c', 1, 3, "w" } };
	T_ASSERT_INT(eval(oci, 5, 'c', "r", 1, 3), 1);  /* /dev/null read */
	T_ASSERT_INT(eval(oci, 5, 'c', "w", 1, 3), 0);  /* the later deny w */
	T_ASSERT_INT(eval(oci, 5, 'c', "rw", 1, 3), 0); /* deny w stops read+write */
	T_ASSERT_INT(eval(oci, 5, 'c', "rw", 136, 7), 1);
	T_ASSERT_INT(eval(oci, 5, 'c', "m", 136, 7), 1); /* mknod of any char device */
	T_ASSERT_INT(eval(oci, 5, 'c', "rwm", 136, 7), 0); /* no rule covers all three */
	T_ASSERT_INT(eval(oci, 5, 'c', "r", 1, 5), 0);
	T_ASSERT_INT(eval(oci, 5, 'b', "m", 8, 0), 0);
	/* no 'a' rule: what nothing matches stays allowed, as in a v1 child */
	const struct oci_device_rule deny_only[] = { { false, 'b', 8, -1, "rw" } };
	T_ASSERT_INT(eval(deny_only, 1, 'b', "r", 8, 1), 0);
	T_ASSERT_INT(eval(deny_only, 1, 'b', "m", 8, 1), 1);
	T_ASSERT_INT(eval(deny_only, 1, 'c', "r", 1, 3), 1);
	/* a later 'a' makes all before it moot */
	const struct oci_device_rule reset[] = { { false, 'c', 1, 3, "rwm" },
						 { true, 'a', -1, -1, "rwm" } };
	T_ASSERT_INT(eval(reset, 2, 'c', "r", 1, 3), 1);
	/* empty access: matches nothing */
	const struct oci_device_rule none[] = { { false, 'a', -1, -1, "" },
						{ true, 'c', 1, 3, "" } };
	T_ASSERT_INT(eval(none, 2, 'c', "r", 1, 3), 0);
	const struct oci_device_rule bad[] = { { true, 'c', 1, 1LL << 33, "r" } };
	T_ASSERT_INT(eval(bad, 1, 'c', "r", 1, 3), -2);
}

/* Many random rule lists, every request of a small space. */
static void matches_model(void)
{
	static const char *const accs[] = { "", "r", "w", "m", "rw", "rm", "wm", "rwm" };
	static const int64_t nums[] = { -1, 1, 3, 8 };
	unsigned seed = 1;
	for (int round = 0; round < 400; round++) {
		struct oci_device_rule r[8];
		size_t n = (size_t)(rand_r(&seed) % 8) + 1;
		for (size_t i = 0; i < n; i++) {
			int t = rand_r(&seed) % 7;
			r[i] = (struct oci_device_rule){ .allow = rand_r(&seed) % 2,
							 .type = t == 0 ? 'a' : t < 4 ? 'b' : 'c',
							 .major = nums[rand_r(&seed) % 4],
							 .minor = nums[rand_r(&seed) % 4] };
			strcpy(r[i].access, accs[rand_r(&seed) % 8]);
		}
		_cleanup_free_ struct bpf_insn *p = NULL;
		size_t np;
		_cleanup_err_ struct cell_err *err = NULL;
		T_ASSERT_INT(cg_bpf_devices_build(r, n, &p, &np, &err), 0);
		for (int type = 1; type <= 2; type++)
			for (uint32_t acc = 1; acc < 8; acc++)
				for (size_t a = 1; a < 4; a++)
					for (size_t b = 1; b < 4; b++) {
						int got = run(p, np, type, acc, (uint32_t)nums[a],
							      (uint32_t)nums[b]);
						int want = model(r, n, type, acc, (uint32_t)nums[a],
								 (uint32_t)nums[b]);
						if (got != want)
							T_FAIL("round %d: type %d acc %u %lld:%lld: "
							       "program %d, model %d", round, type, acc,
							       (long long)nums[a], (long long)nums[b],
							       got, want);
					}
	}
}

static int load(const struct bpf_insn *p, size_t n)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)p;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t) "Apache-2.0";
	return (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
}

/* The kernel's verifier takes what we build, small and large. */
static void verifier_accepts(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root for bpf(BPF_PROG_LOAD)");
	static struct oci_device_rule many[2000];
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct oci_device_rule){ i % 3 != 0, i % 2 ? 'b' : 'c', (int64_t)(i % 300),
						    i % 5 ? (int64_t)i : -1, "rw" };
	many[0] = (struct oci_device_rule){ false, 'a', -1, -1, "rwm" };
	static const size_t sizes[] = { 1, 2, 17, 500, 2000 };
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		_cleanup_free_ struct bpf_insn *p = NULL;
		size_t np;
		_cleanup_err_ struct cell_err *err = NULL;
		T_ASSERT_INT(cg_bpf_devices_build(many, sizes[k], &p, &np, &err), 0);
		_cleanup_close_ int fd = load(p, np);
		if (fd < 0)
			T_FAIL("%zu rules, %zu instructions: BPF_PROG_LOAD: %s", sizes[k], np,
			       strerror(errno));
	}
}

/* Try to open path in a child in the cgroup: 0 or the errno. */
static int open_in(struct cgroup *cg, const char *path, int flags)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		_cleanup_err_ struct cell_err *e = NULL;
		int res = cgroup_enter(cg, getpid(), &e) < 0 ? 1000 : 0;
		if (!res) {
			int fd = open(path, flags | O_CLOEXEC);
			res = fd < 0 ? errno : 0;
		}
		(void)!write(pfd[1], &res, sizeof(res));
		_exit(0);
	}
	close(pfd[1]);
	int res = -1;
	if (read(pfd[0], &res, sizeof(res)) != sizeof(res))
		res = -1;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return res;
}

/* On this hybrid host the unified hierarchy takes device programs too
 * (they are core cgroup2, not a controller): attach ours for real. */
static void attach_on_this_host(void)
{
	struct cgroup_ctx *ctx;
	_cleanup_err_ struct cell_err *err = NULL;
	if (geteuid() != 0 || cgroup_ctx_host(&ctx, &err) < 0 || ctx->unified < 0)
		T_SKIP("needs root and a cgroup2 hierarchy");
	_cleanup_free_ char *path = xasprintf("/cell-test-%d/bpf", (int)getpid());
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_create(path, &cg, &err), 0);
	int fd = open(cg->dirs[ctx->unified], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const struct oci_device_rule rules[] = { { false, 'a', -1, -1, "rwm" },
						 { true, 'c', 1, 5, "rwm" },
						 { true, 'c', 1, 3, "w" } };
	_cleanup_free_ struct bpf_insn *p = NULL;
	size_t np, count = 99;
	int r = cg_bpf_devices_build(rules, 3, &p, &np, &err);
	if (r == 0)
		r = cg_bpf_devices_attach(fd, p, np, &err);
	int zero = open_in(cg, "/dev/zero", O_RDONLY);
	int null_r = open_in(cg, "/dev/null", O_RDONLY);
	int null_w = open_in(cg, "/dev/null", O_WRONLY);
	int full = open_in(cg, "/dev/full", O_RDONLY);
	/* a second program replaces the first */
	const struct oci_device_rule open_all[] = { { true, 'a', -1, -1, "rwm" } };
	_cleanup_free_ struct bpf_insn *p2 = NULL;
	if (r == 0)
		r = cg_bpf_devices_build(open_all, 1, &p2, &np, &err);
	if (r == 0)
		r = cg_bpf_devices_attach(fd, p2, np, &err);
	if (r == 0)
		r = cg_bpf_devices_count(fd, &count, &err);
	int null_after = open_in(cg, "/dev/null", O_RDONLY);
	close(fd);
	_cleanup_err_ struct cell_err *e2 = NULL;
	int d = cgroup_destroy(cg, &e2);
	T_ASSERT_INT(r, 0);
	T_ASSERT_INT(zero, 0);
	T_ASSERT_INT(null_r, EPERM);
	T_ASSERT_INT(null_w, 0);
	T_ASSERT_INT(full, EPERM);
	T_ASSERT_INT(count, 1);
	T_ASSERT_INT(null_after, 0);
	T_ASSERT_INT(d, 0);
	for (char *const *dir = cgroup_dirs(cg); *dir; dir++)
		T_ASSERT(access(*dir, F_OK) < 0);
}

T_MAIN("cgroup-bpf", T_CASE(semantics), T_CASE(matches_model), T_CASE(verifier_accepts),
       T_CASE(attach_on_this_host))
