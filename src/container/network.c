/* A container's place on a cell network, asked for by annotations:
 *
 *   cell.network   network name ("none" and "host": no cell network)
 *   cell.ip        the address wanted, else the next free one
 *   cell.ports     "HOSTPORT:CTRPORT[/tcp|/udp],..." published on the host
 *   cell.net-rate  a rate cap both ways, "10mbit"
 *
 * Only for a config with a new network namespace: one given by path (podman,
 * containerd) is the caller's to set up.  Two steps around the clone:
 * network_prepare() takes the lease, publishes the ports and writes the
 * container's /etc files (as detached mounts the init inherits and attaches
 * with network_mount_etc()); network_configure() makes the veth pair in the
 * init's namespace before the init goes on.  Each resource enters the ledger first; the
 * undoers at the end take it back (see cleanup.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container/inroot.h"
#include "container/internal.h"
#include "net/net.h"

#define ETC_FILES 3

struct net_plan {
	struct net_network *net;
	char *root;     /* absolute state root, for the lease undoer */
	char *netns_id; /* cell's network namespace */
	uint32_t ip;
	char host_if[16];
	struct net_port *ports;
	size_t n_ports;
	uint64_t rate;
	int etc_fds[ETC_FILES];
};

void network_plan_free(struct net_plan *np)
{
	if (!np)
		return;
	for (int i = 0; i < ETC_FILES; i++)
		if (np->etc_fds[i] >= 0)
			close(np->etc_fds[i]);
	net_network_free(np->net);
	free(np->root);
	free(np->netns_id);
	free(np->ports);
	free(np);
}

static const char *annotation(const struct oci_spec *s, const char *key)
{
	for (size_t i = 0; i < s->n_annotations; i++)
		if (strcmp(s->annotations[i].key, key) == 0)
			return s->annotations[i].value;
	return NULL;
}

/* The annotations, checked before anything exists. */
static int read_request(struct create_plan *p, struct net_plan *np, struct cell_err **err)
{
	const char *ip = annotation(p->spec, "cell.ip");
	const char *ports = annotation(p->spec, "cell.ports");
	const char *rate = annotation(p->spec, "cell.net-rate");
	int r;
	if (ip && net_ip_parse(ip, &np->ip) < 0)
		return cell_err(err, 0, "annotations[\"cell.ip\"]: \"%s\" is not an IPv4 address", ip);
	if (ports && *ports && (r = net_ports_parse(ports, &np->ports, &np->n_ports, err)) < 0)
		return cell_err_wrap(err, "annotations[\"cell.ports\"]");
	if (rate && (r = net_rate_parse(rate, &np->rate, err)) < 0)
		return cell_err_wrap(err, "annotations[\"cell.net-rate\"]");
	return 0;
}

/* Which container a published port goes to, for the error message. */
static char *port_owner(struct net_store *s, uint32_t ip)
{
	struct net_network **nets = NULL;
	size_t n = 0;
	char *owner = NULL;
	struct cell_err *e = NULL;
	if (net_store_list(s, &nets, &n, &e) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		struct net_lease *l = NULL;
		size_t nl = 0;
		if (!owner && net_lease_list(s, nets[i], &l, &nl, &e) == 0)
			for (size_t k = 0; k < nl && !owner; k++)
				if (l[k].ip == ip)
					owner = xstrdup(l[k].owner);
		net_leases_free(l, nl);
		net_network_free(nets[i]);
	}
	free(nets);
	cell_err_free(e);
	return owner;
}

static int port_taken(struct net_store *s, const struct net_port *pt, uint32_t to,
		      struct cell_err **err)
{
	_cleanup_free_ char *who = port_owner(s, to);
	return cell_err(err, EADDRINUSE, "annotations[\"cell.ports\"]: port %u/%s is already "
			"published%s%s%s", pt->host_port, net_proto_name(pt->proto),
			who ? " by container \"" : "", who ? who : "", who ? "\"" : "");
}

/* Asked first, without changing anything: a taken port must fail before
 * the first use of a network makes its bridge and table. */
static int check_ports(struct net_plan *np, struct net_store *s, struct cell_err **err)
{
	for (size_t i = 0; i < np->n_ports; i++) {
		uint32_t to;
		int r = net_port_owner(&np->ports[i], &to, err);
		if (r == 0)
			return port_taken(s, &np->ports[i], to, err);
		if (r != -ENOENT)
			return r;
	}
	return 0;
}

static int publish(struct create_plan *p, struct net_plan *np, struct net_store *s,
		   struct cell_err **err)
{
	char ip[NET_IP_STRLEN], host[8], ctr[8];
	for (size_t i = 0; i < np->n_ports; i++) {
		const struct net_port *pt = &np->ports[i];
		snprintf(host, sizeof(host), "%u", pt->host_port);
		snprintf(ctr, sizeof(ctr), "%u", pt->ctr_port);
		char *args[] = { np->netns_id, (char *)net_proto_name(pt->proto), host,
				 (char *)net_ip_str(np->ip, ip), ctr, NULL };
		uint32_t to = 0;
		int r = ledger_append(&p->dir, "net-port", args, err);
		if (r == 0)
			r = net_port_publish(pt, np->ip, &to, err);
		if (r == -EADDRINUSE)
			return port_taken(s, pt, to, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Lease, then the network itself, then the ports: a bad address or a
 * taken port fails before the bridge or the table of a first use exist. */
static int take_place(struct create_plan *p, struct net_plan *np, const char *name,
		      struct cell_err **err)
{
	struct net_store s = { .dirfd = -1, .lockfd = -1 };
	int r = net_store_open(p->ctx->root, &s, err);
	if (r < 0)
		return r;
	np->root = xstrdup(s.root);
	char *args[] = { np->root, (char *)name, (char *)p->opts->id, NULL };
	if ((r = net_store_get(&s, name, &np->net, err)) < 0 ||
	    (r = ledger_append(&p->dir, "net-lease", args, err)) < 0 ||
	    (r = net_lease_take(&s, np->net, np->ip, p->opts->id, &np->ip, err)) < 0)
		goto out;
	if ((r = check_ports(np, &s, err)) < 0 || (r = net_network_up(np->net, err)) < 0 ||
	    (r = publish(p, np, &s, err)) < 0)
		goto out;
	net_host_ifname(np->ip, np->host_if);
out:
	net_store_close(&s);
	return r;
}

static const char *const etc_names[ETC_FILES] = { "hosts", "hostname", "resolv.conf" };

static bool spec_mounts(const struct oci_spec *spec, const char *dest)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (strcmp(spec->mounts[i].destination, dest) == 0)
			return true;
	return false;
}

/* A detached bind mount of one file, for the init to attach (see
 * network_mount_etc): the init may not be allowed into the state directory
 * (its user namespace), and a bind by path would need that. */
static int detach_file(struct create_plan *p, const char *name, struct cell_err **err)
{
	int fd = open_tree(p->dir.fd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open_tree %s/%s", p->dir.path, name);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					       MOUNT_ATTR_NOEXEC };
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int r = cell_err_sys(err, "mount_setattr %s/%s", p->dir.path, name);
		close(fd);
		return r;
	}
	return fd;
}

/* hosts, hostname and resolv.conf in the state directory, to be mounted
 * over the rootfs's own when it has an /etc and the config mounts none. */
static int write_etc(struct create_plan *p, struct net_plan *np, struct cell_err **err)
{
	_cleanup_free_ char *etc = xasprintf("%s/etc", p->rootfs);
	struct stat st;
	if (lstat(etc, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	char host[64];
	snprintf(host, sizeof(host), "%s", p->spec->hostname ? p->spec->hostname : p->opts->id);
	_cleanup_free_ char *resolv_host = NULL;
	struct cell_err *e = NULL;
	if (cell_read_file("/etc/resolv.conf", 1 << 16, &resolv_host, NULL, &e) < 0)
		cell_debug("no /etc/resolv.conf to copy: %s", e->msg);
	cell_err_free(e);
	char *texts[ETC_FILES] = { net_hosts_text(host, np->ip, np->net->gateway),
				   xasprintf("%s\n", host), net_resolv_text(resolv_host) };
	int r = 0;
	for (int i = 0; i < ETC_FILES; i++) {
		_cleanup_free_ char *dest = xasprintf("/etc/%s", etc_names[i]);
		if (r == 0 && !spec_mounts(p->spec, dest) &&
		    (r = cell_write_file_atomic_at(p->dir.fd, etc_names[i], texts[i],
						   strlen(texts[i]), 0644, err)) == 0 &&
		    (r = detach_file(p, etc_names[i], err)) >= 0) {
			np->etc_fds[i] = r;
			r = 0;
		}
		free(texts[i]);
	}
	return r;
}

int network_mount_etc(const struct create_plan *p, int rootfd, struct cell_err **err)
{
	for (int i = 0; p->net && i < ETC_FILES; i++) {
		if (p->net->etc_fds[i] < 0)
			continue;
		_cleanup_free_ char *dest = xasprintf("/etc/%s", etc_names[i]);
		_cleanup_close_ int target = inroot_mkfile(rootfd, dest, 0644);
		if (target < 0)
			return cell_err(err, -target, "network: %s", dest);
		if (move_mount(p->net->etc_fds[i], "", target, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return cell_err_sys(err, "network: mount %s", dest);
	}
	return 0;
}

int network_prepare(struct create_plan *p, struct cell_err **err)
{
	const char *name = annotation(p->spec, "cell.network");
	bool none = !name || strcmp(name, "none") == 0 || strcmp(name, "host") == 0;
	static const char *const needy[] = { "cell.ip", "cell.ports", "cell.net-rate" };
	for (size_t i = 0; none && i < ARRAY_SIZE(needy); i++)
		if (annotation(p->spec, needy[i]))
			return cell_err(err, 0, "annotations[\"%s\"] needs a network, and "
					"annotations[\"cell.network\"] is %s%s%s", needy[i],
					name ? "\"" : "not set", name ? name : "", name ? "\"" : "");
	if (none || p->ns.join_fd[OCI_NS_NETWORK] >= 0)
		return 0;
	if (!p->ns.is_new[OCI_NS_NETWORK])
		return cell_err(err, 0, "annotations[\"cell.network\"]: network \"%s\" needs a new "
				"network namespace, and linux.namespaces has none", name);
	struct net_plan *np = xcalloc(1, sizeof(*np));
	for (int i = 0; i < ETC_FILES; i++)
		np->etc_fds[i] = -1;
	p->net = np;
	np->netns_id = net_netns_id();
	int r = read_request(p, np, err);
	if (r == 0 && (r = take_place(p, np, name, err)) == 0)
		r = write_etc(p, np, err);
	if (r < 0)
		return cell_err_wrap(err, "network \"%s\"", name);
	char ip[NET_IP_STRLEN];
	cell_debug("container \"%s\": %s on network \"%s\"", p->opts->id, net_ip_str(np->ip, ip),
		   name);
	return 0;
}

int network_configure(struct create_plan *p, struct cell_err **err)
{
	struct net_plan *np = p->net;
	if (!np)
		return 0;
	_cleanup_free_ char *path = xasprintf("/proc/%d/ns/net", (int)p->pid);
	_cleanup_close_ int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return cell_err_sys(err, "open %s", path);
	struct net_attach a = { .net = np->net, .ip = np->ip, .netns_fd = nsfd,
				.host_if = np->host_if, .rate = np->rate };
	char *args[] = { np->netns_id, np->host_if, NULL };
	int r;
	if ((r = ledger_append(&p->dir, "net-veth", args, err)) < 0 ||
	    (r = net_veth_add(&a, err)) < 0 || (r = net_inside_configure(&a, err)) < 0)
		return cell_err_wrap(err, "network \"%s\"", np->net->name);
	if (np->rate && ((r = ledger_append(&p->dir, "net-qdisc", args, err)) < 0 ||
			 (r = net_rate_apply(&a, err)) < 0))
		return cell_err_wrap(err, "network \"%s\"", np->net->name);
	return 0;
}

/* ---- undoers (rows of cleanup.c's table) -------------------------------- */

/* Kernel objects are undone only in the network namespace they were made
 * in: elsewhere the same name may be someone else's. */
static bool here(const char *netns, const char *what)
{
	if (net_netns_is_current(netns))
		return true;
	cell_warn("%s was made in network namespace %s, not this one: left alone", what, netns);
	return false;
}

int network_undo_lease(char *const *args, struct cell_err **err)
{
	if (cell_strv_len(args) != 3)
		return cell_err(err, 0, "malformed net-lease entry");
	struct net_store s = { .dirfd = -1, .lockfd = -1 };
	int r = net_store_open(args[0], &s, err);
	if (r < 0)
		return r;
	r = net_lease_release(&s, args[1], args[2], err);
	net_store_close(&s);
	return r;
}

int network_undo_veth(char *const *args, struct cell_err **err)
{
	if (cell_strv_len(args) != 2)
		return cell_err(err, 0, "malformed net-veth entry");
	return here(args[0], args[1]) ? net_link_remove(args[1], "veth", err) : 0;
}

int network_undo_qdisc(char *const *args, struct cell_err **err)
{
	if (cell_strv_len(args) != 2)
		return cell_err(err, 0, "malformed net-qdisc entry");
	return here(args[0], args[1]) ? net_qdisc_remove(args[1], err) : 0;
}

int network_undo_port(char *const *args, struct cell_err **err)
{
	struct net_port p;
	uint32_t ip;
	if (cell_strv_len(args) != 5 || net_ip_parse(args[3], &ip) < 0)
		return cell_err(err, 0, "malformed net-port entry");
	_cleanup_free_ char *spec = xasprintf("%s:%s/%s", args[2], args[4], args[1]);
	if (net_port_parse(spec, &p, err) < 0)
		return cell_err_wrap(err, "malformed net-port entry");
	return here(args[0], spec) ? net_port_withdraw(&p, ip, err) : 0;
}
