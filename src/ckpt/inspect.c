/* ckpt_inspect(): what an image holds, for people (text) and tools (JSON).
 * The image is loaded and validated exactly as a restore would. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"
#include "ckpt/image.h"

static uint64_t mapped_bytes(const struct ck_proc *p)
{
	uint64_t n = 0;
	for (size_t i = 0; i < p->nvmas; i++)
		n += p->vmas[i].end - p->vmas[i].start;
	return n;
}

static const char *describe_fd(const struct ck_image *img, const struct ck_fd *fd, char **own)
{
	const struct ck_file *f = ck_image_file(img, fd->file_id);
	*own = f && f->ops->describe ? f->ops->describe(f) : xstrdup("?");
	return *own;
}

static void text_proc(FILE *out, const struct ck_image *img, const struct ck_proc *p)
{
	const struct ck_task *t = &p->task;
	fprintf(out, "process %u (%s): parent %u, group %u, session %u, %zu thread%s, uid %u, "
		"gid %u\n", t->pid, t->comm ? t->comm : "?", t->ppid, t->pgid, t->sid, p->nthreads,
		p->nthreads == 1 ? "" : "s", p->creds.uid, p->creds.gid);
	fprintf(out, "  exe %s, cwd %s\n", p->mm.exe ? p->mm.exe : "?", t->cwd ? t->cwd : "?");
	fprintf(out, "  memory: %zu mappings, %llu KiB mapped\n", p->nvmas,
		(unsigned long long)(mapped_bytes(p) / 1024));
	for (size_t i = 0; i < p->nfds; i++) {
		_cleanup_free_ char *d = NULL;
		fprintf(out, "  fd %d: %s\n", p->fds[i].fd, describe_fd(img, &p->fds[i], &d));
	}
}

static void json_proc(FILE *out, const struct ck_image *img, const struct ck_proc *p)
{
	const struct ck_task *t = &p->task;
	_cleanup_free_ char *comm = cell_json_quote(t->comm ? t->comm : "");
	_cleanup_free_ char *exe = cell_json_quote(p->mm.exe ? p->mm.exe : "");
	_cleanup_free_ char *cwd = cell_json_quote(t->cwd ? t->cwd : "");
	fprintf(out, "{\"pid\":%u,\"ppid\":%u,\"pgid\":%u,\"sid\":%u,\"comm\":%s,\"exe\":%s,"
		"\"cwd\":%s,\"uid\":%u,\"gid\":%u,\"threads\":[", t->pid, t->ppid, t->pgid, t->sid,
		comm, exe, cwd, p->creds.uid, p->creds.gid);
	for (size_t i = 0; i < p->nthreads; i++)
		fprintf(out, "%s%u", i ? "," : "", p->threads[i].tid);
	fprintf(out, "],\"mappings\":%zu,\"mapped_bytes\":%llu,\"fds\":[", p->nvmas,
		(unsigned long long)mapped_bytes(p));
	for (size_t i = 0; i < p->nfds; i++) {
		_cleanup_free_ char *d = NULL;
		_cleanup_free_ char *q = cell_json_quote(describe_fd(img, &p->fds[i], &d));
		const struct ck_file *f = ck_image_file(img, p->fds[i].file_id);
		fprintf(out, "%s{\"fd\":%d,\"kind\":\"%s\",\"file\":%u,\"what\":%s}", i ? "," : "",
			p->fds[i].fd, f ? f->ops->name : "?", p->fds[i].file_id, q);
	}
	fprintf(out, "]}");
}

/* What the restore's caller must hand in (ckpt_restore_opts.external). */
static void externals(FILE *out, const struct ck_image *img, bool json)
{
	size_t n = 0;
	for (size_t i = 0; i < img->nfiles; i++) {
		const struct ck_file *f = &img->files[i];
		const char *key = f->ops->external ? f->ops->external(f) : NULL;
		if (!key)
			continue;
		_cleanup_free_ char *q = cell_json_quote(key);
		if (json)
			fprintf(out, "%s%s", n ? "," : "", q);
		else
			fprintf(out, "%s%s", n ? ", " : "from outside (to hand in): ", key);
		n++;
	}
	if (!json && n)
		fputc('\n', out);
}

static void emit(FILE *out, const struct ck_image *img, bool json, off_t pages_size)
{
	const struct ck_inventory *inv = &img->inv;
	if (!json) {
		fprintf(out, "image by %s on Linux %s, %s%s\n", inv->engine ? inv->engine : "?",
			inv->kernel ? inv->kernel : "?",
			inv->flags & CK_INV_PREDUMP ? "pre-dump (memory only)" : "full dump",
			inv->parent ? ", with a parent image" : "");
		fprintf(out, "%zu process%s, %zu open files, %zu shared memory objects, %llu pages "
			"(%lld bytes in pages.img), %llu pages in the parent\n", img->nprocs,
			img->nprocs == 1 ? "" : "es", img->nfiles, img->nshmems,
			(unsigned long long)inv->pages_written, (long long)pages_size,
			(unsigned long long)inv->pages_parent);
		if (inv->netlock)
			fprintf(out, "network lock: nftables table inet %s\n", inv->netlock);
		if (img->nseccomps)
			fprintf(out, "%zu seccomp filters\n", img->nseccomps);
		externals(out, img, false);
		for (size_t i = 0; i < img->nprocs; i++)
			text_proc(out, img, &img->procs[i]);
		return;
	}
	_cleanup_free_ char *netlock = cell_json_quote(inv->netlock ? inv->netlock : "");
	_cleanup_free_ char *engine = cell_json_quote(inv->engine ? inv->engine : "");
	_cleanup_free_ char *kernel = cell_json_quote(inv->kernel ? inv->kernel : "");
	_cleanup_free_ char *parent = cell_json_quote(inv->parent ? inv->parent : "");
	fprintf(out, "{\"format\":%d,\"engine\":%s,\"kernel\":%s,\"created\":%llu,"
		"\"pre_dump\":%s,\"parent\":%s,\"pages\":%llu,\"pages_in_parent\":%llu,"
		"\"pages_bytes\":%lld,\"files\":%zu,\"seccomp_filters\":%zu,\"netlock\":%s,"
		"\"external\":[", IMG_VERSION_MAJOR, engine, kernel, (unsigned long long)inv->created,
		inv->flags & CK_INV_PREDUMP ? "true" : "false", parent,
		(unsigned long long)inv->pages_written, (unsigned long long)inv->pages_parent,
		(long long)pages_size, img->nfiles, img->nseccomps, netlock);
	externals(out, img, true);
	fprintf(out, "],\"processes\":[");
	for (size_t i = 0; i < img->nprocs; i++) {
		if (i)
			fputc(',', out);
		json_proc(out, img, &img->procs[i]);
	}
	fprintf(out, "]}\n");
}

int ckpt_inspect(const char *image_dir, bool json, char **ret, struct cell_err **err)
{
	_cleanup_close_ int dirfd = open(image_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cell_err_sys(err, "image directory %s", image_dir);
	_cleanup_ck_image_ struct ck_image *img = NULL;
	int k = ck_image_load(dirfd, &img, err);
	if (k < 0)
		return cell_err_wrap(err, "inspect %s", image_dir);
	struct stat st = { 0 };
	fstatat(dirfd, "pages.img", &st, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	if (!out)
		return cell_err_sys(err, "open_memstream");
	emit(out, img, json, st.st_size);
	fclose(out);
	*ret = buf;
	return 0;
}
