/* Pre-dump: memory copied while the tree runs, and dirty tracking armed for
 * the next dump (userfaultfd write-protect + PAGEMAP_SCAN). */
#include <errno.h>

#include "ckpt/internal.h"

int ck_predump_arm(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	(void)d;
	return cell_err(err, EOPNOTSUPP, "process %d: pre-dump is not implemented yet", t->pid);
}
