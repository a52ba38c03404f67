/* Forced access to /proc/PID/mem (FOLL_FORCE), which dump and restore try
 * first for mappings without PROT_READ / PROT_WRITE and which hardened
 * kernels refuse (CONFIG_PROC_MEM_NO_FORCE): the test knob that makes it
 * refused here too, and the words for messages about it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ckpt/internal.h"

bool ck_no_force_knob(void)
{
	const char *nf = getenv("CELL_CKPT_NO_FORCE");
	return nf && *nf && strcmp(nf, "0") != 0;
}

const char *ck_prot_str(uint32_t prot, char buf[4])
{
	buf[0] = prot & PROT_READ ? 'r' : '-';
	buf[1] = prot & PROT_WRITE ? 'w' : '-';
	buf[2] = prot & PROT_EXEC ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

const char *ck_unforced_why(const char *access, int e, bool knob, char *buf, size_t n)
{
	snprintf(buf, n, "a forced %s of /proc/PID/mem was refused (%s%s)", access, strerror(e),
		 knob ? ", CELL_CKPT_NO_FORCE" : "");
	return buf;
}
