/* poll, ppoll, select and pselect6 on top of one host ppoll(). */
#include "vm/guest/sys.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "vm/guest/io.h"

struct gpollfd {
	int32_t fd;
	int16_t events, revents;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wait on the guest fds; revents filled in.  timeout_ns < 0: forever. */
static long wait_fds(struct lg_task *t, struct gpollfd *g, unsigned n, int64_t timeout_ns)
{
	_cleanup_free_ struct pollfd *h = xcalloc(n ? n : 1, sizeof(*h));
	_cleanup_free_ struct lg_file **files = xcalloc(n ? n : 1, sizeof(*files));
	long ready = 0;
	for (unsigned i = 0; i < n; i++) {
		g[i].revents = 0;
		h[i].fd = -1;
		if (g[i].fd < 0)
			continue;
		files[i] = lg_fd_get(t->files, g[i].fd);
		if (!files[i]) {
			g[i].revents = POLLNVAL;
			ready++;
			continue;
		}
		h[i].fd = files[i]->hostfd;
		h[i].events = g[i].events;
	}
	int64_t deadline = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;
	long r = 0;
	for (;;) {
		int64_t left = ready ? 0 : (deadline < 0 ? -1 : deadline - now_ns());
		if (left < -1 || (deadline >= 0 && left < 0))
			left = 0;
		r = lg_task_sleep(t, h, n, left);
		if (r >= 0)
			break;
		if (lg_signal_pending(t)) {
			r = -LG_ERESTARTNOHAND;
			break;
		}
	}
	if (r >= 0) {
		r = ready;
		for (unsigned i = 0; i < n; i++)
			if (files[i]) {
				g[i].revents = h[i].revents;
				if (h[i].revents)
					r++;
			}
	}
	for (unsigned i = 0; i < n; i++)
		lg_file_put(files[i]);
	return r;
}

static long do_poll(struct lg_task *t, uint64_t ufds, uint64_t nfds, int64_t timeout_ns)
{
	if (nfds > lg_rlimit_nofile(t))
		return -EINVAL; /* Linux: more than RLIMIT_NOFILE */
	_cleanup_free_ struct gpollfd *g = xcalloc(nfds ? nfds : 1, sizeof(*g));
	if (lg_copy_from(t->mm, g, ufds, nfds * sizeof(*g)) < 0)
		return -EFAULT;
	long r = wait_fds(t, g, (unsigned)nfds, timeout_ns);
	if (r >= 0 && lg_copy_to(t->mm, ufds, g, nfds * sizeof(*g)) < 0)
		return -EFAULT;
	return r;
}

LG_SYS(poll)
{
	int ms = (int)a[2];
	return do_poll(t, a[0], a[1], ms < 0 ? -1 : (int64_t)ms * 1000000);
}

/* ppoll/pselect6/rt_sigsuspend: a mask for the wait, the old one back
 * once a handler has run (lg_signal_deliver restores it). */
int lg_temp_sigmask(struct lg_task *t, uint64_t umask, uint64_t size)
{
	if (!umask)
		return 0;
	if (size != 8)
		return -EINVAL;
	uint64_t m;
	if (lg_copy_from(t->mm, &m, umask, 8) < 0)
		return -EFAULT;
	pthread_mutex_lock(&t->lg->lock);
	t->saved_blocked = t->blocked;
	t->restore_blocked = true;
	t->blocked = m & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
	pthread_mutex_unlock(&t->lg->lock);
	return 0;
}

static int read_timespec(struct lg_task *t, uint64_t va, int64_t *ret_ns)
{
	if (!va) {
		*ret_ns = -1;
		return 0;
	}
	struct timespec ts;
	if (lg_copy_from(t->mm, &ts, va, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
		return -EINVAL;
	*ret_ns = ts.tv_sec > INT64_MAX / 1000000000 - 1 ? INT64_MAX / 2
			: ts.tv_sec * 1000000000 + ts.tv_nsec;
	return 0;
}

LG_SYS(ppoll)
{
	int64_t ns;
	int r = read_timespec(t, a[2], &ns);
	if (r < 0 || (r = lg_temp_sigmask(t, a[3], a[4])) < 0)
		return r;
	return do_poll(t, a[0], a[1], ns);
}

/* select(2) as poll: nfds bits of up to three fd_sets. */
static long do_select(struct lg_task *t, uint64_t nfds, uint64_t sets[3], int64_t timeout_ns)
{
	if ((int64_t)nfds < 0 || nfds > LG_FD_SETSIZE)
		return -EINVAL;
	size_t words = (nfds + 63) / 64;
	uint64_t in[3][LG_FD_SETSIZE / 64] = { { 0 } }, out[3][LG_FD_SETSIZE / 64] = { { 0 } };
	for (int k = 0; k < 3; k++)
		if (sets[k] && lg_copy_from(t->mm, in[k], sets[k], words * 8) < 0)
			return -EFAULT;
	static const short ev[3] = { POLLIN, POLLOUT, POLLPRI };
	_cleanup_free_ struct gpollfd *g = xcalloc(nfds ? nfds : 1, sizeof(*g));
	unsigned n = 0;
	for (unsigned fd = 0; fd < nfds; fd++) {
		short e = 0;
		for (int k = 0; k < 3; k++)
			if (in[k][fd / 64] & (1ULL << (fd % 64)))
				e |= ev[k];
		if (e)
			g[n++] = (struct gpollfd){ .fd = (int)fd, .events = e };
	}
	long r = wait_fds(t, g, n, timeout_ns);
	if (r < 0)
		return r;
	long count = 0;
	for (unsigned i = 0; i < n; i++) {
		short re = g[i].revents;
		if (re & POLLNVAL)
			return -EBADF;
		bool hit[3] = { re & (POLLIN | POLLHUP | POLLERR), re & (POLLOUT | POLLERR), re & POLLPRI };
		for (int k = 0; k < 3; k++)
			if (hit[k] && (g[i].events & ev[k])) {
				out[k][g[i].fd / 64] |= 1ULL << (g[i].fd % 64);
				count++;
			}
	}
	for (int k = 0; k < 3; k++)
		if (sets[k] && lg_copy_to(t->mm, sets[k], out[k], words * 8) < 0)
			return -EFAULT;
	return count;
}

LG_SYS(select)
{
	int64_t ns = -1;
	if (a[4]) {
		struct timeval tv;
		if (lg_copy_from(t->mm, &tv, a[4], sizeof(tv)) < 0)
			return -EFAULT;
		if (tv.tv_sec < 0 || tv.tv_usec < 0)
			return -EINVAL;
		ns = tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
	}
	uint64_t sets[3] = { a[1], a[2], a[3] };
	return do_select(t, a[0], sets, ns);
}

LG_SYS(pselect6)
{
	int64_t ns;
	int r = read_timespec(t, a[4], &ns);
	if (r < 0)
		return r;
	if (a[5]) {
		uint64_t ss[2];
		if (lg_copy_from(t->mm, ss, a[5], sizeof(ss)) < 0)
			return -EFAULT;
		if ((r = lg_temp_sigmask(t, ss[0], ss[1])) < 0)
			return r;
	}
	uint64_t sets[3] = { a[1], a[2], a[3] };
	return do_select(t, a[0], sets, ns);
}
