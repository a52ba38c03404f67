/* seccomp_compile() over arbitrary linux.seccomp contents: the parser hands
 * over whatever config.json said (names, actions, argument indexes and
 * operators, errno values, flags, architectures), and compiling must either
 * succeed or fail with a message naming the JSON path -- never crash, leak
 * or trust an index.  The input is read as a little structure of bytes. */
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/util.h"
#include "os/seccomp-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libseccomp 2.5.4 (Debian 12) itself leaks part of its rule tree for some
 * rule sets on x86 (socket() is multiplexed through socketcall there).  A
 * reproducer with plain libseccomp calls, no cell code: seccomp_init(ALLOW),
 * arch_add(X86), then rule_add ERRNO(1) on socket with A3 >= 0x6765747b9a9a9a9a,
 * with A3 >= 0x7b7b7b7b7b7b7b7b, and with A0 == 0x5070707000000000; then
 * seccomp_release: 384 bytes in 4 blocks are lost.  Leaks inside the library
 * are not ours to fix here; leaks in cell code still fail the fuzzer. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libseccomp.so\n";
}

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint64_t u64(struct rd *r)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | u8(r);
	return v;
}

static const char *const known_names[] = {
	"read", "write", "mkdir", "socket", "socketcall", "_llseek", "mseal", "foo", "",
	"sendmsg", "personality", "clone", "open", "close", "getppid", "arm_fadvise64_64",
};

/* A name from the table, or up to 31 bytes of the input. */
static char *name(struct rd *r)
{
	uint8_t b = u8(r);
	if (b < 0x80)
		return xstrdup(known_names[b % ARRAY_SIZE(known_names)]);
	size_t len = b & 31;
	char *s = xcalloc(1, len + 1);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)u8(r);
	return s;
}

static char **names(struct rd *r, size_t max)
{
	size_t n = u8(r) % (max + 1);
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		v[i] = name(r);
	return v;
}

static void read_entry(struct rd *r, struct oci_seccomp_syscall *sc)
{
	sc->names = names(r, 3);
	sc->action = (enum oci_seccomp_action_kind)(u8(r) % 11);
	sc->has_errno_ret = u8(r) & 1;
	sc->errno_ret = (uint32_t)u64(r) >> (u8(r) % 32);
	sc->n_args = u8(r) % 8;
	sc->args = xcalloc(sc->n_args + 1, sizeof(*sc->args));
	for (size_t k = 0; k < sc->n_args; k++) {
		sc->args[k].index = u8(r) % 8;
		sc->args[k].op = u8(r) % 9;
		sc->args[k].value = u64(r);
		sc->args[k].value_two = u64(r);
	}
}

static const char *const flag_names[] = {
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_NOPE",
};

static const uint32_t arches[] = {
	SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_AARCH64, SCMP_ARCH_ARM,
	SCMP_ARCH_RISCV64, SCMP_ARCH_S390X, 0x1234,
};

/* libseccomp 2.5.4 can loop forever adding a rule to a syscall that already
 * has conditional rules (seen with NE, MASKED_EQ and GE comparisons of
 * 64-bit values; see stuck_libseccomp_is_cut_off in
 * tests/unit/os/test-security-seccomp.c).  Such inputs go through the
 * runtime's own guard, the compile child with a deadline; the others are
 * compiled in process, where libFuzzer sees the coverage. */
static bool may_hang_libseccomp(const struct oci_seccomp *s)
{
	size_t rules = 0;
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (s->syscalls[i].n_args)
			rules += cell_strv_len(s->syscalls[i].names) * s->syscalls[i].n_args;
	return rules > 1;
}

static int compile(const struct oci_seccomp *s, struct seccomp_prog **p, struct cell_err **e)
{
	if (!may_hang_libseccomp(s))
		return seccomp_compile_in_process(s, p, e);
	int r = seccomp_compile_deadline(s, 1000, p, e);
	/* A crash in the child would be ours or libseccomp's: either is a bug.
	 * Matched at its place: syscall names from the input appear in other
	 * messages, after "names[j]: ". */
	const char *m = r < 0 && *e ? (*e)->msg : "";
	if (strncmp(m, "linux.seccomp", 13) == 0) {
		m += 13;
		if (strncmp(m, ".syscalls[", 10) == 0)
			m += 10 + strspn(m + 10, "0123456789") + 1;
		if (strncmp(m, ": libseccomp crashed", 20) == 0)
			abort();
	}
	return r;
}

static void free_spec(struct oci_seccomp *s)
{
	for (size_t i = 0; i < s->n_syscalls; i++) {
		cell_strv_free(s->syscalls[i].names);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
	cell_strv_free(s->flags);
	free(s->architectures);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	struct oci_seccomp s = { 0 };
	struct seccomp_prog *p = NULL;
	struct cell_err *e = NULL;

	s.default_action = (enum oci_seccomp_action_kind)(u8(&r) % 10);
	s.has_default_errno_ret = u8(&r) & 1;
	s.default_errno_ret = (uint32_t)u64(&r) >> (u8(&r) % 32);
	s.n_architectures = u8(&r) % 4;
	s.architectures = xcalloc(s.n_architectures + 1, sizeof(uint32_t));
	for (size_t i = 0; i < s.n_architectures; i++)
		s.architectures[i] = arches[u8(&r) % ARRAY_SIZE(arches)];
	size_t nf = u8(&r) % 3;
	s.flags = xcalloc(nf + 1, sizeof(char *));
	for (size_t i = 0; i < nf; i++)
		s.flags[i] = xstrdup(flag_names[u8(&r) % ARRAY_SIZE(flag_names)]);
	s.n_syscalls = u8(&r) % 8;
	s.syscalls = xcalloc(s.n_syscalls + 1, sizeof(*s.syscalls));
	for (size_t i = 0; i < s.n_syscalls; i++)
		read_entry(&r, &s.syscalls[i]);

	if (compile(&s, &p, &e) == 0) {
		if (!p || seccomp_prog_len(p) == 0)
			abort();
	} else if (!e || !e->msg || strncmp(e->msg, "linux.seccomp", 13) != 0) {
		abort(); /* every error names the JSON path */
	}
	seccomp_prog_free(p);
	cell_err_free(e);
	free_spec(&s);
	return 0;
}
