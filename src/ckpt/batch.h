/* Batches of injected syscalls.  One injected syscall costs a ptrace round
 * trip (about 70 us here); a batch runs a table of them inside the thread
 * through a 56-byte loop of ours in an executable scratch page, then stops
 * at an int3: one round trip for the lot (design brief, section 2: 0.23 us
 * per syscall).  Results (raw return values) and the memory the syscalls
 * wrote into the scratch page are read back in one go.
 *
 * Scratch area layout, from the address given to ck_batch_init (a dump's
 * scratch page; CK_SCRATCH_BATCH bytes into a restore's): the loop at
 * offset 0, the table at CK_BATCH_TABLE, room for the syscalls' own data
 * (ck_batch_data) after it, up to CK_BATCH_END. */
#ifndef CELL_CKPT_BATCH_H
#define CELL_CKPT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "ckpt/ptrace.h"

#define CK_BATCH_SCRATCH (64 * 1024) /* the whole scratch mapping */
#define CK_BATCH_TABLE 256
#define CK_BATCH_MAX 256 /* calls per run */
#define CK_BATCH_DATA (CK_BATCH_TABLE + CK_BATCH_MAX * 64)
#define CK_BATCH_END (60 * 1024) /* the data area ends here; */
#define CK_SCRATCH_IO CK_BATCH_END /* 4 KiB for single injections' data */

struct ck_batch {
	uint64_t scratch; /* the page's address in the target */
	uint64_t calls[CK_BATCH_MAX][8]; /* nr, a0..a5, ret: as the loop reads them */
	const char *names[CK_BATCH_MAX];
	size_t n;
	size_t data; /* bytes of data area handed out */
	bool overflow;
};

/* The loop's code, to be copied to offset 0 of the scratch page. */
extern const uint8_t ck_batch_code[56];

void ck_batch_init(struct ck_batch *b, uint64_t scratch);
/* The address of len bytes of the data area (8-byte aligned), zeroed before
 * the run; 0 when the area is full (the run then fails, as it does past
 * CK_BATCH_MAX calls). */
uint64_t ck_batch_data(struct ck_batch *b, size_t len);
/* Queue a call; its index, for ck_batch_ret. */
size_t ck_batch_add(struct ck_batch *b, const char *name, long nr, uint64_t a0, uint64_t a1,
		    uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
/* Run the calls in thread t (stopped; its registers are the caller's to put
 * back) of process pid; afterwards the data area is read back into out
 * (out_len bytes from ck_batch_data's first address). */
int ck_batch_run(struct ck_batch *b, struct ck_thr *t, pid_t pid, void *out, size_t out_len,
		 struct cell_err **err);
/* The raw result of call i. */
static inline int64_t ck_batch_ret(const struct ck_batch *b, size_t i)
{
	return (int64_t)b->calls[i][7];
}
/* The first failed call as an error ("NAME in TID: strerror"), or 0. */
int ck_batch_check(const struct ck_batch *b, pid_t tid, struct cell_err **err);

#endif
