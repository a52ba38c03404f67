/* File descriptor kinds: one file per kind (files/<kind>.c) with its record,
 * its dump and its restore side by side, listed in the explicit table in
 * files/table.c.  An fd no kind claims is refused at dump time with an error
 * naming the process, the fd and what it is.
 *
 * A kind's C struct starts with `uint32_t id` (tag 1 in its schema): the id
 * FD records refer to.  One record per open file description: fds sharing a
 * description (dup, fork, SCM_RIGHTS) share the id. */
#ifndef CELL_CKPT_FILES_FILES_H
#define CELL_CKPT_FILES_FILES_H

#include "ckpt/internal.h"

struct ck_file_ops {
	const char *name;
	uint16_t rec_type;
	const struct img_schema *schema;
	/* Dump: does this kind handle fi? */
	bool (*match)(const struct ck_fdinfo *fi);
	/* Dump: write the kind's record (with this id) to fi->d->core, or
	 * refuse with an error saying why. */
	int (*dump)(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err);
	/* Load: check the decoded record against the rest of the image. */
	int (*validate)(const struct ck_image *img, const struct ck_file *f,
			struct cell_err **err);
	/* Restore: create the file in task t, as fd *ret_fd there (any number;
	 * the caller moves it into place). */
	int (*restore)(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *f,
		       int *ret_fd, struct cell_err **err);
	/* Restore, optional: once every fd of every task is in place, in the
	 * task that created the file, with one of its numbers there. */
	int (*restore_late)(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *f,
			    int fd, struct cell_err **err);
	/* Optional: the name of a file the restore's caller must hand in
	 * (ckpt_restore_opts.external), or NULL. */
	const char *(*external)(const struct ck_file *f);
	/* Restore, optional: before anything is touched, may the restore go
	 * on with this file (options, what the caller handed over)? */
	int (*precheck)(const struct ck_restore *r, const struct ck_file *f,
			struct cell_err **err);
	/* Restore, optional: once every process is restored, just before they
	 * run, in the task that created the file, with one of its numbers. */
	int (*restore_final)(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *f,
			     int fd, struct cell_err **err);
	/* Inspect: a short description, malloc'd. */
	char *(*describe)(const struct ck_file *f);
};

extern const struct ck_file_ops *const ck_file_kinds[];
const struct ck_file_ops *ck_file_kind_by_rec(uint16_t rec_type);

/* The kinds. */
extern const struct ck_file_ops ck_file_reg_ops;
extern const struct ck_file_ops ck_file_pipe_ops;
extern const struct ck_file_ops ck_file_eventfd_ops;
extern const struct ck_file_ops ck_file_signalfd_ops;
extern const struct ck_file_ops ck_file_timerfd_ops;
extern const struct ck_file_ops ck_file_epoll_ops;
extern const struct ck_file_ops ck_file_unix_ops;
extern const struct ck_file_ops ck_file_inet_ops;
extern const struct ck_file_ops ck_file_memfd_ops;
extern const struct ck_file_ops ck_file_inotify_ops;
extern const struct ck_file_ops ck_file_tty_ops;

/* Record types of the kinds (CK_REC_FILE_FIRST..LAST). */
enum {
	CK_REC_FILE_REG = 64,
	CK_REC_FILE_PIPE = 65,
	CK_REC_FILE_EVENTFD = 66,
	CK_REC_FILE_TIMERFD = 67,
	CK_REC_FILE_SIGNALFD = 68,
	CK_REC_FILE_EPOLL = 69,
	CK_REC_FILE_INOTIFY = 70,
	CK_REC_FILE_UNIX = 71,
	CK_REC_FILE_INET = 72,
	CK_REC_FILE_TTY = 73,
	CK_REC_FILE_MEMFD = 74,
};

/* The device number a tty file had at dump time, or 0. */
uint64_t ck_tty_rdev(const struct ck_file *f);
/* The shared memory object a memfd file stands for, or 0. */
uint32_t ck_memfd_shmem(const struct ck_file *f);

/* Helpers for kinds. */
/* The "key:\tvalue" line of an fdinfo text, or NULL. */
const char *ck_fdinfo_get(const char *fdinfo, const char *key);
#endif
