/* pages.img written by a thread of its own, so that copying the next batch
 * of pages out of the tree (process_vm_readv, on one CPU) overlaps writing
 * the last one to the image (on the other): the dump's throughput is then
 * the slower of the two, not their sum.
 *
 * The dumper takes a buffer, fills it, adds the records that describe what
 * it holds (and records without data, such as "in the parent" ones), and
 * submits it; the thread writes the records in submission order and gives
 * the buffer back.  While the writer runs, nothing else writes pages.img. */
#ifndef CELL_CKPT_PAGEWRITER_H
#define CELL_CKPT_PAGEWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "ckpt/image.h"
#include "img/img.h"

#define CK_PW_BUF (8u << 20) /* bytes per buffer: two records of 4096 pages */
#define CK_PW_NBUF 4

struct ck_pw;

int ck_pw_start(struct img_writer *w, struct ck_pw **ret, struct cell_err **err);
/* The buffer being filled (CK_PW_BUF bytes): a free one is waited for if
 * need be.  NULL if the writer failed (*err says why). */
uint8_t *ck_pw_buffer(struct ck_pw *pw, struct cell_err **err);
/* A record (PAGES or SHMEM_PAGES per s) whose data is len bytes at off in
 * the current buffer; len 0 for a record without data. */
int ck_pw_record(struct ck_pw *pw, const struct img_schema *s, const struct ck_pages *p,
		 size_t off, size_t len, struct cell_err **err);
/* Hand the current buffer and its records to the thread. */
int ck_pw_submit(struct ck_pw *pw, struct cell_err **err);
/* Submit what is left, wait for all of it to be written, stop the thread;
 * the first error if any.  pw is freed. */
int ck_pw_finish(struct ck_pw *pw, struct cell_err **err);

#endif
