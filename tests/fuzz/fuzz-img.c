/* The checkpoint image reader under arbitrary bytes: the input is read as
 * core.img (framing, every record's fields, the whole-image checks) and as
 * pages.img (framing and page records).  Whatever the bytes, the reader
 * must fail cleanly or load an image that passed every check. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ckpt/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int to_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-img", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void as_core(const uint8_t *data, size_t size)
{
	if (size < 1)
		return;
	/* The first byte says how many tasks the inventory announces. */
	struct ck_inventory inv = { .root_pid = 1, .ntasks = data[0] % 8 + 1, .page_size = 4096 };
	int fd = to_memfd(data + 1, size - 1);
	struct ck_image *img = NULL;
	struct cell_err *err = NULL;
	if (ck_image_load_core_fd(fd, &inv, &img, &err) == 0) {
		/* What the loader accepted holds together. */
		if (img->nprocs != inv.ntasks || img->procs[0].task.pid != 1)
			abort();
		for (size_t i = 0; i < img->nprocs; i++)
			for (size_t k = 1; k < img->procs[i].nvmas; k++)
				if (img->procs[i].vmas[k].start < img->procs[i].vmas[k - 1].end)
					abort();
	}
	ck_image_free(img);
	cell_err_free(err);
	close(fd);
}

static void as_pages(const uint8_t *data, size_t size)
{
	int fd = to_memfd(data, size);
	struct img_reader *r = NULL;
	struct cell_err *err = NULL;
	if (img_reader_from_fd(fd, "pages.img", IMG_KIND_PAGES, &r, &err) == 0) {
		struct img_rec rec;
		while (img_read(r, &rec, &err) > 0) {
			struct ck_pages pg;
			const struct img_schema *s = rec.type == CK_REC_PAGES ? &ck_pages_schema
									      : &ck_shmem_pages_schema;
			if (rec.type != CK_REC_PAGES && rec.type != CK_REC_SHMEM_PAGES)
				break;
			if (img_decode(&rec, s, &pg, &err) == 0 && pg.len > rec.len)
				abort();
		}
	}
	img_reader_free(r);
	cell_err_free(err);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_core(data, size);
	as_pages(data, size);
	return 0;
}
