/* rtnetlink sockets and the request/ack loop, on libmnl. */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "net/internal.h"

static int nl_setup(struct mnl_socket *sock, struct nl *nl, struct cell_err **err)
{
	if (!sock)
		return cell_err_sys(err, "open a netlink socket");
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = cell_err_sys(err, "bind a netlink socket");
		mnl_socket_close(sock);
		return r;
	}
	/* Extended acks give the kernel's reason in words; best effort. */
	int one = 1;
	mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->sock = sock;
	nl->portid = mnl_socket_get_portid(sock);
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

int nl_open(struct nl *nl, struct cell_err **err)
{
	return nl_setup(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC), nl, err);
}

struct open_in {
	int netns_fd;
	struct mnl_socket *sock;
	int error;
};

/* setns() changes only the calling thread's network namespace; a socket
 * belongs for life to the namespace it was created in. */
static void *open_in_thread(void *arg)
{
	struct open_in *o = arg;
	if (setns(o->netns_fd, CLONE_NEWNET) < 0) {
		o->error = errno;
		return NULL;
	}
	o->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!o->sock)
		o->error = errno;
	return NULL;
}

int nl_open_in(int netns_fd, struct nl *nl, struct cell_err **err)
{
	struct open_in o = { .netns_fd = netns_fd };
	pthread_t t;
	int r = pthread_create(&t, NULL, open_in_thread, &o);
	if (r != 0)
		return cell_err(err, r, "start a thread to enter the container's network namespace");
	pthread_join(t, NULL);
	if (o.error)
		return cell_err(err, o.error, "open a netlink socket in the container's network "
				"namespace");
	return nl_setup(o.sock, nl, err);
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

struct nlmsghdr *nl_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++nl->seq;
	return h;
}

int nl_talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	/* NLM_F_DUMP is two bits, and NLM_F_EXCL/NLM_F_REPLACE reuse them. */
	if ((req->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	/* Dump replies come in pages of up to 32 KiB (the kernel caps them so). */
	static const size_t cap = 32768;
	_cleanup_free_ char *buf = xmalloc(cap);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, cap);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		errno = 0;
		int r = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, nl->portid, cb, data);
		if (r < 0)
			return errno ? -errno : -EIO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}
