/* rseq: glibc registered an area for the main thread; after the restore it
 * must be registered again (the kernel keeps cpu_id current in it), or
 * sched_getcpu() silently goes stale. */
#include <sched.h>
#include <stdint.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

#include "zdtm.h"

static struct rseq *area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static int cpu_now(void)
{
	unsigned cpu;
	syscall(SYS_getcpu, &cpu, NULL, NULL);
	return (int)cpu;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	if (__rseq_size == 0)
		zdtm_fail("glibc did not register rseq");
	uint32_t before = area()->cpu_id;
	(void)before;

	zdtm_ready();
	zdtm_wait();

	/* Registered: a second registration of the same area is EBUSY. */
	long r = syscall(SYS_rseq, area(), 32, 0, RSEQ_SIG);
	zdtm_check(r < 0 && errno == EBUSY);
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	for (int c = 0; c < ncpu && c < 4; c++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(c, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			continue;
		sched_yield();
		zdtm_check((int)area()->cpu_id == cpu_now());
		zdtm_check(sched_getcpu() == cpu_now());
	}
	zdtm_pass();
}
