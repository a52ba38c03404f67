/* futex(2): wait and wake, keyed by (address space, address).  Enough for
 * threads (pthread joins and mutexes) and CLONE_CHILD_CLEARTID. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <time.h>

#include "base/util.h"

struct lg_futex_waiter {
	struct lg_task *t;
	struct lg_mm *mm;
	uint64_t uaddr;
	uint32_t bitset;
	bool woken;
	struct lg_futex_waiter *next;
};

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long futex_wait(struct lg_task *t, uint64_t uaddr, uint32_t val, uint64_t utime,
		       uint32_t bitset, bool absolute, clockid_t clk)
{
	struct lg *lg = t->lg;
	int64_t deadline = -1;
	if (utime) {
		struct timespec ts;
		if (lg_copy_from(t->mm, &ts, utime, sizeof(ts)) < 0)
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		int64_t ns = ts.tv_sec * 1000000000 + ts.tv_nsec;
		deadline = absolute ? ns : now_ns(clk) + ns;
	}
	if (uaddr & 3)
		return -EINVAL;
	struct lg_futex_waiter w = { .t = t, .mm = t->mm, .uaddr = uaddr, .bitset = bitset };
	pthread_mutex_lock(&lg->futex_lock);
	uint32_t cur;
	if (lg_copy_from(t->mm, &cur, uaddr, sizeof(cur)) < 0) {
		pthread_mutex_unlock(&lg->futex_lock);
		return -EFAULT;
	}
	if (cur != val) {
		pthread_mutex_unlock(&lg->futex_lock);
		return -EAGAIN;
	}
	w.next = lg->futex_waiters;
	lg->futex_waiters = &w;
	pthread_mutex_unlock(&lg->futex_lock);
	long r = 0;
	for (;;) {
		pthread_mutex_lock(&lg->futex_lock);
		bool woken = w.woken;
		pthread_mutex_unlock(&lg->futex_lock);
		if (woken)
			break;
		int64_t left = deadline < 0 ? -1 : deadline - now_ns(clk);
		if (deadline >= 0 && left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		lg_task_sleep(t, NULL, 0, left);
		if (lg_signal_pending(t)) {
			r = -LG_ERESTARTSYS;
			break;
		}
	}
	pthread_mutex_lock(&lg->futex_lock);
	for (struct lg_futex_waiter **pp = &lg->futex_waiters; *pp; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	if (w.woken)
		r = 0;
	pthread_mutex_unlock(&lg->futex_lock);
	return r;
}

long lg_futex_wake(struct lg *lg, struct lg_mm *mm, uint64_t uaddr, int n, uint32_t bitset)
{
	long woke = 0;
	pthread_mutex_lock(&lg->futex_lock);
	for (struct lg_futex_waiter *w = lg->futex_waiters; w && woke < n; w = w->next)
		if (!w->woken && w->mm == mm && w->uaddr == uaddr && (w->bitset & bitset)) {
			w->woken = true;
			pthread_mutex_lock(&lg->lock);
			lg_task_kick(w->t);
			pthread_mutex_unlock(&lg->lock);
			woke++;
		}
	pthread_mutex_unlock(&lg->futex_lock);
	return woke;
}

LG_SYS(futex)
{
	int op = (int)a[1];
	int cmd = op & FUTEX_CMD_MASK;
	clockid_t clk = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(t, a[0], (uint32_t)a[2], a[3], FUTEX_BITSET_MATCH_ANY, false,
				  CLOCK_MONOTONIC);
	case FUTEX_WAIT_BITSET:
		if ((uint32_t)a[5] == 0)
			return -EINVAL;
		return futex_wait(t, a[0], (uint32_t)a[2], a[3], (uint32_t)a[5], true, clk);
	case FUTEX_WAKE:
		return lg_futex_wake(t->lg, t->mm, a[0], (int)a[2], FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAKE_BITSET:
		if ((uint32_t)a[5] == 0)
			return -EINVAL;
		return lg_futex_wake(t->lg, t->mm, a[0], (int)a[2], (uint32_t)a[5]);
	default:
		return -ENOSYS;
	}
}
