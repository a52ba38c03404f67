/* Network definitions under ROOT/.net, behind one lock.  Every change to
 * definitions or leases happens with the lock held, so concurrent `run`s
 * and `network create`s see each other's results whole. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "net/internal.h"

#define STORE_DIR ".net"
#define LOCK_FILE ".lock"

int net_store_open(const char *root, struct net_store *ret, struct cell_err **err)
{
	char abs[PATH_MAX];
	int r = cell_mkdir_p(root, 0700, err);
	if (r < 0)
		return cell_err_wrap(err, "state root");
	if (!realpath(root, abs))
		return cell_err_sys(err, "state root %s", root);
	_cleanup_free_ char *path = xasprintf("%s/" STORE_DIR, abs);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return cell_err_sys(err, "create %s", path);
	_cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cell_err_sys(err, "open %s", path);
	_cleanup_close_ int lockfd = openat(dirfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0)
		return cell_err_sys(err, "open %s/" LOCK_FILE, path);
	while (flock(lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return cell_err_sys(err, "lock %s/" LOCK_FILE, path);
	ret->root = xstrdup(abs);
	ret->path = TAKE_PTR(path);
	ret->dirfd = TAKE_FD(dirfd);
	ret->lockfd = TAKE_FD(lockfd);
	return 0;
}

void net_store_close(struct net_store *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the lock */
	free(s->root);
	free(s->path);
	s->dirfd = s->lockfd = -1;
	s->root = s->path = NULL;
}

static int implicit_default(struct net_network **ret, struct cell_err **err)
{
	int r = net_network_new(NET_DEFAULT_NAME, NET_DEFAULT_SUBNET, NULL, true, false, ret, err);
	if (r == 0)
		(*ret)->implicit = true;
	return r;
}

int net_store_get(struct net_store *s, const char *name, struct net_network **ret,
		  struct cell_err **err)
{
	int r = net_name_check(name, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *file = xasprintf("%s.json", name);
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct cell_err *e = NULL;
	r = cell_read_file_at(s->dirfd, file, NET_DEF_MAX_BYTES, &text, &len, &e);
	if (r == -ENOENT) {
		cell_err_free(e);
		if (strcmp(name, NET_DEFAULT_NAME) == 0)
			return implicit_default(ret, err);
		return cell_err(err, ENOENT, "network \"%s\" does not exist", name);
	}
	if (r < 0) {
		cell_err_free(*err);
		*err = e;
		return r;
	}
	_cleanup_free_ char *what = xasprintf("%s/%s", s->path, file);
	_cleanup_(net_network_freep) struct net_network *n = NULL;
	if ((r = net_network_parse(text, len, what, &n, err)) < 0)
		return r;
	if (strcmp(n->name, name) != 0)
		return cell_err(err, 0, "%s: name: \"%s\" is not \"%s\"", what, n->name, name);
	*ret = TAKE_PTR(n);
	return 0;
}

static int cmp_net(const void *a, const void *b)
{
	return strcmp((*(struct net_network *const *)a)->name, (*(struct net_network *const *)b)->name);
}

static void nets_free(struct net_network **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		net_network_free(v[i]);
	free(v);
}

int net_store_list(struct net_store *s, struct net_network ***ret, size_t *ret_n,
		   struct cell_err **err)
{
	_cleanup_close_ int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(TAKE_FD(fd)) : NULL;
	if (!d)
		return cell_err_sys(err, "read %s", s->path);
	struct net_network **v = NULL;
	size_t n = 0;
	bool have_default = false;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || !cell_str_has_suffix(de->d_name, ".json"))
			continue;
		_cleanup_free_ char *name = strndup(de->d_name, len - 5);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		if ((r = net_store_get(s, name, &v[n], err)) == 0)
			have_default |= strcmp(v[n++]->name, NET_DEFAULT_NAME) == 0;
	}
	if (r == 0 && !have_default) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		if ((r = implicit_default(&v[n], err)) == 0)
			n++;
	}
	if (r < 0) {
		nets_free(v, n);
		return r;
	}
	qsort(v, n, sizeof(*v), cmp_net);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The new definition against every other one, and against the host. */
static int check_new(struct net_store *s, const struct net_network *n, struct net_network **all,
		     size_t count, struct cell_err **err)
{
	char a[NET_IP_STRLEN + 3], b[NET_IP_STRLEN + 3];
	for (size_t i = 0; i < count; i++) {
		const struct net_network *o = all[i];
		if (strcmp(o->name, n->name) == 0)
			continue;
		if (net_cidr_overlaps(&o->subnet, &n->subnet))
			return cell_err(err, 0, "subnet %s overlaps network \"%s\" (%s)",
					net_cidr_str(&n->subnet, a), o->name, net_cidr_str(&o->subnet, b));
		if (strcmp(o->bridge, n->bridge) == 0)
			return cell_err(err, 0, "bridge %s is network \"%s\"'s", n->bridge, o->name);
	}
	return net_host_conflict(&n->subnet, n->bridge, err);
}

int net_store_add(struct net_store *s, const struct net_network *n, struct cell_err **err)
{
	_cleanup_free_ char *file = xasprintf("%s.json", n->name);
	if (faccessat(s->dirfd, file, F_OK, 0) == 0)
		return cell_err(err, EEXIST, "network \"%s\" already exists", n->name);
	struct net_network **all = NULL;
	size_t count = 0;
	int r = net_store_list(s, &all, &count, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < count && r == 0; i++) {
		if (strcmp(all[i]->name, n->name) != 0)
			continue;
		/* Only the implicit default can be here: redefining it is how its
		 * subnet is chosen, as long as no container uses it. */
		struct net_lease *l = NULL;
		size_t nl = 0;
		r = net_lease_list(s, all[i], &l, &nl, err);
		if (r == 0 && nl > 0)
			r = cell_err(err, EBUSY, "network \"%s\" is in use by container \"%s\"%s",
				     n->name, l[0].owner, nl > 1 ? " and others" : "");
		if (r == 0)
			r = net_network_down(all[i], err);
		net_leases_free(l, nl);
	}
	if (r == 0)
		r = check_new(s, n, all, count, err);
	nets_free(all, count);
	if (r < 0)
		return r;
	_cleanup_free_ char *json = net_network_json(n, true);
	_cleanup_free_ char *text = xasprintf("%s\n", json);
	return cell_write_file_atomic_at(s->dirfd, file, text, strlen(text), 0600, err);
}

int net_store_remove(struct net_store *s, const char *name, struct cell_err **err)
{
	_cleanup_(net_network_freep) struct net_network *n = NULL;
	int r = net_store_get(s, name, &n, err);
	if (r < 0)
		return r;
	struct net_lease *l = NULL;
	size_t count = 0;
	if ((r = net_lease_list(s, n, &l, &count, err)) < 0)
		return r;
	if (count > 0) {
		_cleanup_free_ char *who = xstrdup("");
		for (size_t i = 0; i < count && i < 5; i++) {
			char *t = xasprintf("%s%s\"%s\"", who, i ? ", " : "", l[i].owner);
			free(who);
			who = t;
		}
		r = cell_err(err, EBUSY, "network \"%s\" is in use by container%s %s%s", name,
			     count > 1 ? "s" : "", who, count > 5 ? ", ..." : "");
		net_leases_free(l, count);
		return r;
	}
	net_leases_free(l, count);
	if ((r = net_network_down(n, err)) < 0)
		return r;
	_cleanup_free_ char *file = xasprintf("%s.json", name);
	if (unlinkat(s->dirfd, file, 0) < 0 && errno != ENOENT)
		return cell_err_sys(err, "remove %s/%s", s->path, file);
	/* The lease directory holds at most the search hint now. */
	_cleanup_free_ char *next = xasprintf("%s/.next", name);
	unlinkat(s->dirfd, next, 0);
	if (unlinkat(s->dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return cell_err_sys(err, "remove %s/%s", s->path, name);
	return 0;
}
