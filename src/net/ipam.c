/* Address leases: one file per leased address, ROOT/.net/NET/A.B.C.D,
 * holding the container id.  Written whole (rename) with the store lock
 * held, so a lease file is either complete or absent, and two creates never
 * get the same address. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "net/internal.h"
#include "state/state.h"

#define NEXT_FILE ".next"

void net_leases_free(struct net_lease *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].owner);
	free(l);
}

static int lease_dir(struct net_store *s, const char *name, bool create, struct cell_err **err)
{
	if (create && mkdirat(s->dirfd, name, 0700) < 0 && errno != EEXIST)
		return cell_err_sys(err, "create %s/%s", s->path, name);
	int fd = openat(s->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && (errno != ENOENT || create))
		return cell_err_sys(err, "open %s/%s", s->path, name);
	return fd < 0 ? -ENOENT : fd;
}

/* The owner in a lease file, or NULL when it is not a container id. */
static char *read_owner(int dirfd, const char *file)
{
	_cleanup_free_ char *text = NULL;
	struct cell_err *e = NULL;
	if (cell_read_file_at(dirfd, file, STATE_ID_MAX + 2, &text, NULL, &e) < 0) {
		cell_err_free(e);
		return NULL;
	}
	text[strcspn(text, "\n")] = '\0';
	return state_check_id(text, NULL) == 0 ? TAKE_PTR(text) : NULL;
}

static int cmp_lease(const void *a, const void *b)
{
	uint32_t x = ((const struct net_lease *)a)->ip, y = ((const struct net_lease *)b)->ip;
	return x < y ? -1 : x > y;
}

/* Is the lease's container gone?  Its state directory exists from before
 * the lease is taken until after it is released. */
static bool stale(struct net_store *s, const char *owner)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", s->root, owner);
	struct stat st;
	return !owner || (stat(dir, &st) < 0 && errno == ENOENT);
}

static int scan(struct net_store *s, int fd, const struct net_network *n, struct net_lease **ret,
		size_t *ret_n, struct cell_err **err)
{
	_cleanup_close_ int dfd = dup(fd);
	_cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(TAKE_FD(dfd)) : NULL;
	if (!d)
		return cell_err_sys(err, "read %s/%s", s->path, n->name);
	struct net_lease *v = NULL;
	size_t count = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint32_t ip;
		if (de->d_name[0] == '.')
			continue;
		if (net_ip_parse(de->d_name, &ip) < 0 || !net_cidr_contains(&n->subnet, ip)) {
			/* A temporary file of a writer that died, or a lease from
			 * before the subnet was redefined: neither is anyone's. */
			unlinkat(fd, de->d_name, 0);
			continue;
		}
		char *owner = read_owner(fd, de->d_name);
		if (stale(s, owner)) {
			unlinkat(fd, de->d_name, 0);
			free(owner);
			continue;
		}
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count++] = (struct net_lease){ .ip = ip, .owner = owner };
	}
	if (count)
		qsort(v, count, sizeof(*v), cmp_lease);
	*ret = v;
	*ret_n = count;
	return 0;
}

int net_lease_list(struct net_store *s, const struct net_network *n, struct net_lease **ret,
		   size_t *ret_n, struct cell_err **err)
{
	_cleanup_close_ int fd = lease_dir(s, n->name, false, err);
	if (fd == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (fd < 0)
		return fd;
	return scan(s, fd, n, ret, ret_n, err);
}

static const struct net_lease *find(const struct net_lease *v, size_t n, uint32_t ip)
{
	struct net_lease key = { .ip = ip };
	return n ? bsearch(&key, v, n, sizeof(*v), cmp_lease) : NULL;
}

/* The next free address from the search hint on, round robin, so a
 * released address is not handed out again at once (ARP caches of peers
 * still point at the old owner's MAC for a while). */
static int pick(int fd, const struct net_network *n, const struct net_lease *v, size_t count,
		uint32_t *ret)
{
	uint32_t first = n->subnet.addr + 1, last = net_cidr_broadcast(&n->subnet) - 1;
	uint32_t size = last - first + 1, start = first;
	_cleanup_free_ char *hint = NULL;
	struct cell_err *e = NULL;
	if (cell_read_file_at(fd, NEXT_FILE, 32, &hint, NULL, &e) == 0) {
		uint32_t h;
		hint[strcspn(hint, "\n")] = '\0';
		if (net_ip_parse(hint, &h) == 0 && h >= first && h <= last)
			start = h;
	}
	cell_err_free(e);
	for (uint32_t i = 0; i < size; i++) {
		uint32_t ip = first + (start - first + i) % size;
		if (net_network_usable(n, ip) && !find(v, count, ip)) {
			*ret = ip;
			return 0;
		}
	}
	return -ENOSPC;
}

static int write_lease(struct net_store *s, int fd, const struct net_network *n, uint32_t ip,
		       const char *owner, struct cell_err **err)
{
	char name[NET_IP_STRLEN];
	net_ip_str(ip, name);
	_cleanup_free_ char *text = xasprintf("%s\n", owner);
	int r = cell_write_file_atomic_at(fd, name, text, strlen(text), 0600, err);
	if (r < 0)
		return cell_err_wrap(err, "lease %s in %s/%s", name, s->path, n->name);
	uint32_t next = ip + 1 >= net_cidr_broadcast(&n->subnet) ? n->subnet.addr + 1 : ip + 1;
	char hint[NET_IP_STRLEN + 1];
	snprintf(hint, sizeof(hint), "%s", net_ip_str(next, name));
	struct cell_err *e = NULL;
	cell_write_file_atomic_at(fd, NEXT_FILE, hint, strlen(hint), 0600, &e);
	cell_err_free(e); /* only a hint */
	return 0;
}

int net_lease_take(struct net_store *s, const struct net_network *n, uint32_t want,
		   const char *owner, uint32_t *ret, struct cell_err **err)
{
	char ip[NET_IP_STRLEN], sub[NET_IP_STRLEN + 3], gw[NET_IP_STRLEN];
	_cleanup_close_ int fd = lease_dir(s, n->name, true, err);
	if (fd < 0)
		return fd;
	struct net_lease *v = NULL;
	size_t count = 0;
	int r = scan(s, fd, n, &v, &count, err);
	if (r < 0)
		return r;
	const struct net_lease *held = want ? find(v, count, want) : NULL;
	uint32_t got = want;
	if (want && !net_network_usable(n, want))
		r = cell_err(err, 0, "address %s is not usable in network \"%s\" (subnet %s, "
			     "gateway %s)", net_ip_str(want, ip), n->name, net_cidr_str(&n->subnet, sub),
			     net_ip_str(n->gateway, gw));
	else if (held)
		r = cell_err(err, EADDRINUSE, "address %s in network \"%s\" is in use by container "
			     "\"%s\"", net_ip_str(want, ip), n->name, held->owner);
	else if (!want && pick(fd, n, v, count, &got) < 0)
		r = cell_err(err, ENOSPC, "network \"%s\" has no free address left (subnet %s)",
			     n->name, net_cidr_str(&n->subnet, sub));
	net_leases_free(v, count);
	if (r == 0)
		r = write_lease(s, fd, n, got, owner, err);
	if (r < 0)
		return r;
	*ret = got;
	return 0;
}

int net_lease_release(struct net_store *s, const char *name, const char *owner,
		      struct cell_err **err)
{
	_cleanup_close_ int fd = lease_dir(s, name, false, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	_cleanup_close_ int dfd = dup(fd);
	_cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(TAKE_FD(dfd)) : NULL;
	if (!d)
		return cell_err_sys(err, "read %s/%s", s->path, name);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *who = read_owner(fd, de->d_name);
		if (who && strcmp(who, owner) == 0 && unlinkat(fd, de->d_name, 0) < 0 &&
		    errno != ENOENT)
			return cell_err_sys(err, "remove lease %s/%s/%s", s->path, name, de->d_name);
	}
	return 0;
}
