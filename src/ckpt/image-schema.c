/* The field tables of the checkpoint records: the on-disk description of
 * each record, tag by tag (docs/image-format.md lists them too).  Tags are
 * never reused; a new field gets a new tag. */
#include <stddef.h>

#include "ckpt/image.h"

#define R IMG_F_REQUIRED

static const struct img_field inventory_fields[] = {
	IMG_U32(1, struct ck_inventory, flags, R),
	IMG_U32(2, struct ck_inventory, root_pid, R),
	IMG_U32(3, struct ck_inventory, ntasks, R),
	IMG_U32(4, struct ck_inventory, page_size, R),
	IMG_STR(5, struct ck_inventory, engine, 64, 0),
	IMG_STR(6, struct ck_inventory, kernel, 128, 0),
	IMG_STR(7, struct ck_inventory, arch, 16, R),
	IMG_STR(8, struct ck_inventory, parent, CK_MAX_PATH, 0),
	IMG_U64(9, struct ck_inventory, created, 0),
	IMG_U32(10, struct ck_inventory, xsave_size, 0),
	IMG_U64(11, struct ck_inventory, xfeatures, 0),
	IMG_U32(12, struct ck_inventory, vdso_pages, 0),
	IMG_U32(13, struct ck_inventory, vvar_pages, 0),
	IMG_U32(14, struct ck_inventory, vvar_vclock_pages, 0),
	IMG_U64(15, struct ck_inventory, pages_written, 0),
	IMG_U64(16, struct ck_inventory, pages_parent, 0),
	IMG_STR(17, struct ck_inventory, netlock, 64, 0),
};
const struct img_schema ck_inventory_schema =
	IMG_SCHEMA(CK_REC_INVENTORY, "inventory", inventory_fields, struct ck_inventory);

static const struct img_field task_fields[] = {
	IMG_U32(1, struct ck_task, pid, R),
	IMG_U32(2, struct ck_task, ppid, R),
	IMG_U32(3, struct ck_task, pgid, R),
	IMG_U32(4, struct ck_task, sid, R),
	IMG_U32(5, struct ck_task, nthreads, R),
	IMG_U32(6, struct ck_task, exit_signal, 0),
	IMG_U32(7, struct ck_task, flags, 0),
	IMG_U32(8, struct ck_task, personality, 0),
	IMG_U32(9, struct ck_task, umask, 0),
	IMG_I32(10, struct ck_task, pdeathsig, 0),
	IMG_I32(11, struct ck_task, dumpable, 0),
	IMG_U32(12, struct ck_task, thp_disabled, 0),
	IMG_STR(13, struct ck_task, comm, 15, 0),
	IMG_STR(14, struct ck_task, cwd, CK_MAX_PATH, 0),
	IMG_STR(15, struct ck_task, root, CK_MAX_PATH, 0),
	IMG_U64(16, struct ck_task, ctty, 0),
	IMG_U32(17, struct ck_task, tpgid, 0),
};
const struct img_schema ck_task_schema = IMG_SCHEMA(CK_REC_TASK, "task", task_fields, struct ck_task);

static const struct img_field creds_fields[] = {
	IMG_U32(1, struct ck_creds, pid, R),
	IMG_U32(2, struct ck_creds, uid, R),   IMG_U32(3, struct ck_creds, euid, R),
	IMG_U32(4, struct ck_creds, suid, R),  IMG_U32(5, struct ck_creds, fsuid, R),
	IMG_U32(6, struct ck_creds, gid, R),   IMG_U32(7, struct ck_creds, egid, R),
	IMG_U32(8, struct ck_creds, sgid, R),  IMG_U32(9, struct ck_creds, fsgid, R),
	IMG_U32V(10, struct ck_creds, groups, ngroups, 65536, 0),
	IMG_U64(11, struct ck_creds, cap_inh, R), IMG_U64(12, struct ck_creds, cap_prm, R),
	IMG_U64(13, struct ck_creds, cap_eff, R), IMG_U64(14, struct ck_creds, cap_bnd, R),
	IMG_U64(15, struct ck_creds, cap_amb, R),
	IMG_U32(16, struct ck_creds, securebits, 0),
};
const struct img_schema ck_creds_schema =
	IMG_SCHEMA(CK_REC_CREDS, "creds", creds_fields, struct ck_creds);

static const struct img_field mm_fields[] = {
	IMG_U32(1, struct ck_mm, pid, R),
	IMG_U64(2, struct ck_mm, start_code, R), IMG_U64(3, struct ck_mm, end_code, R),
	IMG_U64(4, struct ck_mm, start_data, R), IMG_U64(5, struct ck_mm, end_data, R),
	IMG_U64(6, struct ck_mm, start_brk, R),	 IMG_U64(7, struct ck_mm, brk, R),
	IMG_U64(8, struct ck_mm, start_stack, R), IMG_U64(9, struct ck_mm, arg_start, R),
	IMG_U64(10, struct ck_mm, arg_end, R),	 IMG_U64(11, struct ck_mm, env_start, R),
	IMG_U64(12, struct ck_mm, env_end, R),
	IMG_U64V(13, struct ck_mm, auxv, nauxv, 128, 0),
	IMG_STR(14, struct ck_mm, exe, CK_MAX_PATH, 0),
};
const struct img_schema ck_mm_schema = IMG_SCHEMA(CK_REC_MM, "mm", mm_fields, struct ck_mm);

static const struct img_field vma_fields[] = {
	IMG_U32(1, struct ck_vma, pid, R),
	IMG_U64(2, struct ck_vma, start, R),
	IMG_U64(3, struct ck_vma, end, R),
	IMG_U32(4, struct ck_vma, prot, R),
	IMG_U32(5, struct ck_vma, flags, R),
	IMG_U32(6, struct ck_vma, kind, R),
	IMG_U64(7, struct ck_vma, pgoff, 0),
	IMG_STR(8, struct ck_vma, path, CK_MAX_PATH, 0),
	IMG_U64(9, struct ck_vma, dev, 0),
	IMG_U64(10, struct ck_vma, ino, 0),
	IMG_U32(11, struct ck_vma, shmem_id, 0),
};
const struct img_schema ck_vma_schema = IMG_SCHEMA(CK_REC_VMA, "vma", vma_fields, struct ck_vma);

#define REG_FIELD(r) IMG_U64(__COUNTER__ - base_ + 32, struct ck_thread, regs.r, R),
enum { base_ = __COUNTER__ + 1 };
static const struct img_field thread_fields[] = {
	IMG_U32(1, struct ck_thread, pid, R),
	IMG_U32(2, struct ck_thread, tid, R),
	IMG_BYTES(3, struct ck_thread, xstate, xstate_len, CK_MAX_XSTATE, 0),
	IMG_U64(4, struct ck_thread, sigmask, 0),
	IMG_U64(5, struct ck_thread, rseq_ptr, 0),
	IMG_U32(6, struct ck_thread, rseq_len, 0),
	IMG_U32(7, struct ck_thread, rseq_sig, 0),
	IMG_U64(8, struct ck_thread, clear_tid, 0),
	IMG_U64(9, struct ck_thread, robust_list, 0),
	IMG_U64(10, struct ck_thread, robust_len, 0),
	IMG_U64(11, struct ck_thread, ss_sp, 0),
	IMG_U64(12, struct ck_thread, ss_size, 0),
	IMG_I32(13, struct ck_thread, ss_flags, 0),
	IMG_STR(14, struct ck_thread, comm, 15, 0),
	IMG_U32(15, struct ck_thread, seccomp_id, 0),
	/* Registers: tags 32..58, in struct user_regs_struct order. */
	CK_GREGS(REG_FIELD)
};
#undef REG_FIELD
const struct img_schema ck_thread_schema =
	IMG_SCHEMA(CK_REC_THREAD, "thread", thread_fields, struct ck_thread);

static const struct img_field sigaction_fields[] = {
	IMG_U32(1, struct ck_sigaction, pid, R),	IMG_U32(2, struct ck_sigaction, sig, R),
	IMG_U64(3, struct ck_sigaction, handler, R), IMG_U64(4, struct ck_sigaction, flags, R),
	IMG_U64(5, struct ck_sigaction, restorer, 0), IMG_U64(6, struct ck_sigaction, mask, 0),
};
const struct img_schema ck_sigaction_schema =
	IMG_SCHEMA(CK_REC_SIGACTION, "sigaction", sigaction_fields, struct ck_sigaction);

static const struct img_field rlimit_fields[] = {
	IMG_U32(1, struct ck_rlimit, pid, R), IMG_U32(2, struct ck_rlimit, resource, R),
	IMG_U64(3, struct ck_rlimit, cur, R), IMG_U64(4, struct ck_rlimit, max, R),
};
const struct img_schema ck_rlimit_schema =
	IMG_SCHEMA(CK_REC_RLIMIT, "rlimit", rlimit_fields, struct ck_rlimit);

static const struct img_field itimer_fields[] = {
	IMG_U32(1, struct ck_itimer, pid, R),
	IMG_U32(2, struct ck_itimer, which, R),
	IMG_U64(3, struct ck_itimer, value_sec, 0),
	IMG_U64(4, struct ck_itimer, value_usec, 0),
	IMG_U64(5, struct ck_itimer, interval_sec, 0),
	IMG_U64(6, struct ck_itimer, interval_usec, 0),
};
const struct img_schema ck_itimer_schema =
	IMG_SCHEMA(CK_REC_ITIMER, "itimer", itimer_fields, struct ck_itimer);

static const struct img_field timer_fields[] = {
	IMG_U32(1, struct ck_timer, pid, R),	    IMG_I32(2, struct ck_timer, id, R),
	IMG_I32(3, struct ck_timer, clock, R),	    IMG_I32(4, struct ck_timer, notify, R),
	IMG_I32(5, struct ck_timer, signo, 0),	    IMG_U32(6, struct ck_timer, notify_tid, 0),
	IMG_U64(7, struct ck_timer, sigval, 0),	    IMG_U64(8, struct ck_timer, value_sec, 0),
	IMG_U64(9, struct ck_timer, value_nsec, 0), IMG_U64(10, struct ck_timer, interval_sec, 0),
	IMG_U64(11, struct ck_timer, interval_nsec, 0),
};
const struct img_schema ck_timer_schema =
	IMG_SCHEMA(CK_REC_TIMER, "timer", timer_fields, struct ck_timer);

static const struct img_field siginfo_fields[] = {
	IMG_U32(1, struct ck_siginfo, pid, R),
	IMG_U32(2, struct ck_siginfo, tid, R),
	IMG_BYTES(3, struct ck_siginfo, info, info_len, 128, R),
};
const struct img_schema ck_siginfo_schema =
	IMG_SCHEMA(CK_REC_SIGINFO, "siginfo", siginfo_fields, struct ck_siginfo);

static const struct img_field fd_fields[] = {
	IMG_U32(1, struct ck_fd, pid, R),
	IMG_I32(2, struct ck_fd, fd, R),
	IMG_U32(3, struct ck_fd, file_id, R),
	IMG_BOOL(4, struct ck_fd, cloexec, 0),
};
const struct img_schema ck_fd_schema = IMG_SCHEMA(CK_REC_FD, "fd", fd_fields, struct ck_fd);

static const struct img_field shmem_fields[] = {
	IMG_U32(1, struct ck_shmem, id, R),
	IMG_U64(2, struct ck_shmem, size, R),
	IMG_U64(3, struct ck_shmem, dev, 0),
	IMG_U64(4, struct ck_shmem, ino, 0),
	IMG_STR(5, struct ck_shmem, name, 249, 0),
	IMG_U32(6, struct ck_shmem, seals, 0),
};
const struct img_schema ck_shmem_schema =
	IMG_SCHEMA(CK_REC_SHMEM, "shmem", shmem_fields, struct ck_shmem);

static const struct img_field tracker_fields[] = {
	IMG_U32(1, struct ck_tracker, pid, R),
	IMG_I32(2, struct ck_tracker, fd, R),
	IMG_U64(3, struct ck_tracker, ino, R),
};
const struct img_schema ck_tracker_schema =
	IMG_SCHEMA(CK_REC_TRACKER, "tracker", tracker_fields, struct ck_tracker);

static const struct img_field seccomp_fields[] = {
	IMG_U32(1, struct ck_seccomp, id, R),
	IMG_U32(2, struct ck_seccomp, parent, 0),
	IMG_U32(3, struct ck_seccomp, flags, 0),
	IMG_BYTES(4, struct ck_seccomp, insns, insns_len, CK_SECCOMP_MAX_INSNS * 8, R),
};
const struct img_schema ck_seccomp_schema =
	IMG_SCHEMA(CK_REC_SECCOMP, "seccomp", seccomp_fields, struct ck_seccomp);

static const struct img_field file_data_fields[] = {
	IMG_U32(1, struct ck_file_data, id, R),
	IMG_U32(2, struct ck_file_data, stream, R),
	IMG_U64(3, struct ck_file_data, offset, R),
	IMG_REF(4, struct ck_file_data, data, len, CK_FILE_DATA_CHUNK, R),
};
const struct img_schema ck_file_data_schema =
	IMG_SCHEMA(CK_REC_FILE_DATA, "file-data", file_data_fields, struct ck_file_data);

static const struct img_field pages_fields[] = {
	IMG_U32(1, struct ck_pages, pid, R),
	IMG_U64(2, struct ck_pages, addr, R),
	IMG_U32(3, struct ck_pages, npages, R),
	IMG_U32(4, struct ck_pages, flags, 0),
	IMG_REF(CK_PAGES_DATA_TAG, struct ck_pages, data, len, IMG_PAGES_MAX * IMG_PAGE_SIZE, 0),
};
const struct img_schema ck_pages_schema =
	IMG_SCHEMA(CK_REC_PAGES, "pages", pages_fields, struct ck_pages);
const struct img_schema ck_shmem_pages_schema =
	IMG_SCHEMA(CK_REC_SHMEM_PAGES, "shmem-pages", pages_fields, struct ck_pages);
