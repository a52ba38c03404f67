/* The v2 device controller: cgroup v2 has no devices.allow; access to
 * device nodes is decided by BPF_PROG_TYPE_CGROUP_DEVICE programs attached
 * to the cgroup (kernel/bpf/cgroup.c, __cgroup_bpf_check_dev_permission).
 * We assemble one from the OCI rules by hand and attach it with bpf(2).
 *
 * Semantics are those of the v1 controller that the OCI rules were written
 * for: rules apply in order, so the last rule matching a request decides;
 * a type 'a' rule resets everything to allow-all or deny-all; with no
 * 'a' rule, what no rule matches is allowed (a v1 child starts from its
 * parent's allow-all).  An allow rule matches a request whose accesses are
 * all in it; a deny rule one that asks for any access in it, so "deny w"
 * stops an open for read+write. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "os/cgroup-internal.h"

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static uint64_t ptr64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

struct prog {
	struct bpf_insn *v;
	size_t n, cap;
};

static size_t emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off,
		   int32_t imm)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off,
					.imm = imm };
	return p->n++;
}

static uint32_t access_bits(const char *access)
{
	uint32_t a = 0;
	for (const char *c = access; *c; c++)
		a |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE
			: *c == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
	return a;
}

int cg_check_device_rule(const struct oci_device_rule *d, const char *field,
			 struct cell_err **err)
{
	if (d->type != 'a' && d->type != 'b' && d->type != 'c')
		return cell_err(err, EINVAL, "%s.type: \"%c\" is not a, b or c", field, d->type);
	/* Linux device numbers are 12+20 bits; the program compares 32. */
	if (d->major < -1 || d->major > INT32_MAX)
		return cell_err(err, EINVAL, "%s.major: %lld is out of range", field,
				(long long)d->major);
	if (d->minor < -1 || d->minor > INT32_MAX)
		return cell_err(err, EINVAL, "%s.minor: %lld is out of range", field,
				(long long)d->minor);
	if (strspn(d->access, "rwm") != strlen(d->access))
		return cell_err(err, EINVAL, "%s.access: \"%s\" is not made of r, w and m", field,
				d->access);
	return 0;
}

/*   if type != T goto next; if major != M goto next; if minor != N goto next;
 *   if !(access matches) goto next; return allow;  next:
 * Each test loads what it compares from the context afresh (struct
 * bpf_cgroup_dev_ctx: u32 access_type = access << 16 | type, u32 major,
 * u32 minor).  Keeping the values in registers across blocks would let the
 * verifier carry what each path learnt ("r4 == 8 here") into the next
 * block, so that its states there never prune and verification grows with
 * the square of the rules (E2BIG past a few hundred); loaded afresh, the
 * registers are dead at every block's start and each block is verified
 * once. */
static void emit_rule(struct prog *p, const struct oci_device_rule *d)
{
	size_t jumps[4], nj = 0;
	uint32_t acc = access_bits(d->access);
	if (d->type != 'a') {
		emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
		emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
		jumps[nj++] = emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
				   d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	}
	if (d->major >= 0) {
		emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 4, 0);
		jumps[nj++] = emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, 0, (int32_t)d->major);
	}
	if (d->minor >= 0) {
		emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 8, 0);
		jumps[nj++] = emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)d->minor);
	}
	if (acc != ACC_ALL) {
		emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 0, 0);
		emit(p, BPF_ALU | BPF_RSH | BPF_K, BPF_REG_5, 0, 0, 16);
		if (d->allow) {
			/* requested & ~allowed != 0: not covered */
			emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_5, 0, 0, (int32_t)(~acc & ACC_ALL));
			jumps[nj++] = emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, 0);
		} else {
			/* requested & denied == 0: untouched */
			emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_5, 0, 0, (int32_t)acc);
			jumps[nj++] = emit(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_5, 0, 0, 0);
		}
	}
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, d->allow ? 1 : 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (size_t j = 0; j < nj; j++)
		p->v[jumps[j]].off = (int16_t)(p->n - jumps[j] - 1);
}

int cg_bpf_devices_build(const struct oci_device_rule *rules, size_t n, struct bpf_insn **ret,
			 size_t *ret_n, struct cell_err **err)
{
	struct prog p = { 0 };
	size_t wild = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *field = xasprintf("linux.resources.devices[%zu]", i);
		int r = cg_check_device_rule(&rules[i], field, err);
		if (r < 0)
			return r;
		if (rules[i].type == 'a')
			wild = i;
	}
	/* Last match wins: test from the end, back to the last 'a' rule,
	 * which sets what nothing else matched gets. */
	for (size_t i = n; i-- > 0 && (wild == SIZE_MAX || i > wild);)
		if (rules[i].access[0])
			emit_rule(&p, &rules[i]);
	bool dflt = wild == SIZE_MAX || rules[wild].allow;
	emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, dflt ? 1 : 0);
	emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	*ret = p.v;
	*ret_n = p.n;
	return 0;
}

static int load(const struct bpf_insn *insns, size_t n, struct cell_err **err)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = ptr64(insns);
	a.insn_cnt = (uint32_t)n;
	a.license = ptr64("Apache-2.0");
	int fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	int saved = errno;
	if (saved != EINVAL && saved != EACCES)
		return cell_err(err, saved, "load the device filter (bpf BPF_PROG_LOAD, %zu "
				"instructions)", n);
	/* Ask again for the verifier's reason. */
	_cleanup_free_ char *log = xcalloc(1, 1 << 16);
	a.log_buf = ptr64(log);
	a.log_size = 1 << 16;
	a.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	size_t len = strlen(log);
	while (len && log[len - 1] == '\n')
		log[--len] = '\0';
	char *last = strrchr(log, '\n');
	return cell_err(err, saved, "the verifier refused the device filter (%s)",
			last ? last + 1 : log);
}

static int query(int dirfd, uint32_t **ret, uint32_t *ret_n, struct cell_err **err)
{
	uint32_t cap = 16;
	_cleanup_free_ uint32_t *ids = NULL;
	for (;;) {
		ids = xrealloc(ids, cap * sizeof(uint32_t));
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.query.target_fd = (uint32_t)dirfd;
		a.query.attach_type = BPF_CGROUP_DEVICE;
		a.query.prog_ids = ptr64(ids);
		a.query.prog_cnt = cap;
		if (sys_bpf(BPF_PROG_QUERY, &a) == 0) {
			*ret_n = a.query.prog_cnt;
			*ret = TAKE_PTR(ids);
			return 0;
		}
		if (errno != ENOSPC || a.query.prog_cnt <= cap)
			return cell_err_sys(err, "list the cgroup's device filters (bpf "
					    "BPF_PROG_QUERY)");
		cap = a.query.prog_cnt;
	}
}

int cg_bpf_devices_count(int dirfd, size_t *ret, struct cell_err **err)
{
	_cleanup_free_ uint32_t *ids = NULL;
	uint32_t n;
	int r = query(dirfd, &ids, &n, err);
	if (r < 0)
		return r;
	*ret = n;
	return 0;
}

static int prog_fd(uint32_t id)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	return sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
}

static int attach(int dirfd, int fd, int replace_fd)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dirfd;
	a.attach_bpf_fd = (uint32_t)fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (replace_fd >= 0) {
		a.attach_flags |= BPF_F_REPLACE;
		a.replace_bpf_fd = (uint32_t)replace_fd;
	}
	return sys_bpf(BPF_PROG_ATTACH, &a);
}

int cg_bpf_devices_attach(int dirfd, const struct bpf_insn *insns, size_t n,
			  struct cell_err **err)
{
	_cleanup_close_ int fd = load(insns, n, err);
	if (fd < 0)
		return fd;
	_cleanup_free_ uint32_t *old = NULL;
	uint32_t n_old;
	int r = query(dirfd, &old, &n_old, err);
	if (r < 0)
		return r;
	/* One program before: swap it atomically (BPF_F_REPLACE, Linux 5.6),
	 * so that no request sees neither or both. */
	if (n_old == 1) {
		_cleanup_close_ int ofd = prog_fd(old[0]);
		if (ofd >= 0 && attach(dirfd, fd, ofd) == 0)
			return 0;
	}
	if (attach(dirfd, fd, -1) < 0)
		return cell_err_sys(err, "attach the device filter (bpf BPF_PROG_ATTACH)");
	for (uint32_t i = 0; i < n_old; i++) {
		_cleanup_close_ int ofd = prog_fd(old[i]);
		if (ofd < 0)
			continue; /* gone meanwhile */
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.target_fd = (uint32_t)dirfd;
		a.attach_bpf_fd = (uint32_t)ofd;
		a.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &a) < 0 && errno != ENOENT)
			return cell_err_sys(err, "detach the previous device filter (bpf "
					    "BPF_PROG_DETACH)");
	}
	return 0;
}
