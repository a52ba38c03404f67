/* eventfd, signalfd, timerfd and epoll: counters, masks, timers with
 * unread expirations, and an interest list that keeps working. */
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int ev = eventfd(5, EFD_NONBLOCK | EFD_SEMAPHORE);
	uint64_t big = 1ULL << 40;
	int ev2 = eventfd(0, 0);
	if (write(ev2, &big, 8) != 8)
		zdtm_fail("eventfd write");
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	int sfd = signalfd(-1, &m, SFD_NONBLOCK);
	raise(SIGUSR1);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = { .it_interval = { 0, 1000000 }, .it_value = { 0, 1000000 } };
	timerfd_settime(tfd, 0, &its, NULL);
	usleep(20000); /* some expirations pile up, unread */
	int slow = timerfd_create(CLOCK_REALTIME, 0);
	struct itimerspec s2 = { .it_value = { 500, 0 } };
	timerfd_settime(slow, 0, &s2, NULL);
	int p[2];
	if (pipe(p) < 0 || write(p[1], "x", 1) != 1)
		zdtm_fail("pipe");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e1 = { .events = EPOLLIN, .data.u64 = 0x1111 };
	struct epoll_event e2 = { .events = EPOLLIN | EPOLLET, .data.u64 = 0x2222 };
	struct epoll_event e3 = { .events = EPOLLOUT, .data.u64 = 0x3333 };
	if (sfd < 0 || tfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e1) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e2) || epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &e3))
		zdtm_fail("setup");

	zdtm_ready();
	zdtm_wait();

	uint64_t v;
	zdtm_check(read(ev, &v, 8) == 8 && v == 1); /* semaphore: one at a time */
	zdtm_check(fcntl(ev, F_GETFL) & O_NONBLOCK);
	zdtm_check(read(ev2, &v, 8) == 8 && v == big);
	struct signalfd_siginfo si;
	zdtm_check(read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1);
	zdtm_check(read(tfd, &v, 8) == 8 && v >= 10);
	usleep(5000); /* still periodic */
	zdtm_check(read(tfd, &v, 8) == 8 && v >= 1);
	struct itimerspec cur;
	timerfd_gettime(slow, &cur);
	zdtm_check(cur.it_value.tv_sec > 400 && cur.it_value.tv_sec <= 500);
	struct epoll_event out[8];
	int n = epoll_wait(ep, out, 8, 100);
	uint64_t seen = 0;
	for (int i = 0; i < n; i++)
		seen |= out[i].data.u64 == 0x1111 ? 1 : out[i].data.u64 == 0x2222 ? 2 :
			out[i].data.u64 == 0x3333 ? 4 : 8;
	zdtm_check(seen == 7);
	zdtm_check(fcntl(ep, F_GETFD) == FD_CLOEXEC);
	/* The registrations are keyed by the same fd numbers. */
	zdtm_check(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL) == 0);
	zdtm_check(epoll_ctl(ep, EPOLL_CTL_MOD, ev, &e1) == 0);
	zdtm_pass();
}
