"""Process security as the kernel reports it inside the container:
capabilities, user, rlimits, no_new_privs, seccomp, oom score, personality."""
import errno

CAP_NAMES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
             "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
             "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
             "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
             "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
             "CAP_SYS_ADMIN"]


def mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NAMES.index(n)
    return m


def probe(t, *args, edit=None):
    b = t.bundle(["/bin/probe"] + list(args), edit=edit)
    return t.run(b).out


def caps_of(out):
    return {l.split(":")[0]: int(l.split()[1], 16) for l in out.splitlines()}


def test_default_capabilities(t):
    caps = caps_of(probe(t, "caps"))
    want = mask(["CAP_KILL", "CAP_NET_BIND_SERVICE"]) | (1 << 29)  # CAP_AUDIT_WRITE
    assert caps["CapEff"] == want and caps["CapPrm"] == want and caps["CapBnd"] == want, caps
    assert caps["CapInh"] == 0 and caps["CapAmb"] == 0, caps


def test_all_five_capability_sets(t):
    def edit(c):
        c["process"]["capabilities"] = {
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_KILL", "CAP_NET_RAW"],
            "ambient": ["CAP_KILL"],
        }
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
    caps = caps_of(probe(t, "caps", edit=edit))
    assert caps["CapBnd"] == mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"]), caps
    # After execve as uid 1000: permitted and effective become the ambient set.
    assert caps["CapInh"] == mask(["CAP_KILL", "CAP_NET_RAW"]), caps
    assert caps["CapAmb"] == mask(["CAP_KILL"]), caps
    assert caps["CapPrm"] == mask(["CAP_KILL"]) and caps["CapEff"] == mask(["CAP_KILL"]), caps


def test_user_groups_umask(t):
    def edit(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [2000, 3000],
                                "umask": 0o077}
    b = t.bundle(["/bin/sh", "-c", "probe uid; probe gid; probe groups; probe umask"],
                 edit=edit)
    out = t.run(b).out.splitlines()
    assert out == ["1000 1000", "1000 1000", "2000 3000", "0077"], out


def test_cwd_and_env(t):
    def edit(c):
        c["process"]["cwd"] = "/tmp"
        c["process"]["env"].append("GREETING=hello world")
    b = t.bundle(["/bin/sh", "-c", 'pwd; echo "$GREETING"; echo "$HOME"'], edit=edit)
    assert t.run(b).out == "/tmp\nhello world\n/root\n"


def test_rlimits(t):
    def edit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                   {"type": "RLIMIT_NPROC", "soft": 77, "hard": 88}]
    b = t.bundle(["/bin/sh", "-c", "probe rlimit nofile; probe rlimit nproc"], edit=edit)
    assert t.run(b).out == "123 456\n77 88\n"


def test_no_new_privileges(t):
    assert probe(t, "nnp").split() == ["NoNewPrivs:", "1"]
    out = probe(t, "nnp", edit=lambda c: c["process"].update(noNewPrivileges=False))
    assert out.split() == ["NoNewPrivs:", "0"]


def seccomp_profile(extra=None):
    p = {"defaultAction": "SCMP_ACT_ALLOW",
         "architectures": ["SCMP_ARCH_X86_64"],
         "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                       "errnoRet": errno.EROFS}]}
    if extra:
        p["syscalls"] += extra
    return p


def test_seccomp_errno(t):
    def edit(c):
        c["linux"]["seccomp"] = seccomp_profile()
        c["root"]["readonly"] = False
    out = probe(t, "syscall", "mkdir", edit=edit)
    assert out.strip() == f"errno {errno.EROFS}", out
    assert probe(t, "seccomp", edit=edit).split()[:2] == ["Seccomp:", "2"]


def test_seccomp_argument_filter(t):
    # personality(0xffffffff) only queries: allowed; any other value: EPERM.
    def edit(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
                          "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_EQ"}]}]}
        c["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
        c["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")
        c["process"]["capabilities"]["permitted"].append("CAP_SYS_ADMIN")
    # probe's sethostname uses length 5: denied with errno 99.
    assert probe(t, "syscall", "sethostname", edit=edit).strip() == "errno 99"
    # busybox hostname with another length passes the filter.
    b = t.bundle(["/bin/sh", "-c", "hostname abcdefg && hostname"], edit=edit)
    assert t.run(b).out.strip() == "abcdefg"


def test_seccomp_kill_process(t):
    def edit(c):
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                 "syscalls": [{"names": ["getcwd"],
                                               "action": "SCMP_ACT_KILL_PROCESS"}]}
    b = t.bundle(["/bin/probe", "syscall", "getcwd"], edit=edit)
    r = t.run(b, check=False)
    assert r.rc == 128 + 31, r  # SIGSYS


def test_seccomp_default_errno_allowlist(t):
    def edit(c):
        allow = ["read", "write", "exit", "exit_group", "execve", "brk", "mmap", "munmap",
                 "arch_prctl", "set_tid_address", "rt_sigprocmask", "rt_sigaction",
                 "getpid", "uname", "readlink", "newfstatat", "fstat", "ioctl", "prlimit64",
                 "mprotect", "set_robust_list", "rseq", "getrandom", "close", "openat",
                 "futex", "sigaltstack", "fcntl", "lseek", "pread64", "writev",
                 # what cell itself does between installing the filter and execve
                 "sendmsg", "recvmsg", "close_range", "getppid", "setsid"]
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                                 "syscalls": [{"names": allow, "action": "SCMP_ACT_ALLOW"}]}
    out = probe(t, "syscall", "getpid", edit=edit)
    assert out.strip() == "ok", out
    out = probe(t, "syscall", "chdir", edit=edit)
    assert out.strip() == "errno 38", out


def test_oom_score_adj(t):
    out = probe(t, "oomscore", edit=lambda c: c["process"].update(oomScoreAdj=500))
    assert out.strip() == "500"


def test_personality(t):
    def edit(c):
        c["linux"]["personality"] = {"domain": "LINUX32"}
    out = probe(t, "personality", edit=edit)
    assert int(out, 16) & 0xff == 0x0008, out
    b = t.bundle(["/bin/uname", "-m"], edit=edit)
    assert t.run(b).out.strip() in ("i686", "i386"), t.run(b).out
