/* setgroups/setresgid/setresuid/umask.  See user.h for the contract. */
#include "os/user.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* /proc/self/setgroups reads "deny" when the user namespace forbids
 * setgroups(2) (user_namespaces(7)); anything else, including no /proc,
 * means the EPERM had another cause. */
static bool setgroups_denied(void)
{
	_cleanup_free_ char *s = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	if (cell_read_file("/proc/self/setgroups", 64, &s, NULL, &e) < 0)
		return false;
	return strncmp(s, "deny", 4) == 0;
}

static int set_groups(const struct oci_user *u, struct cell_err **err)
{
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
	if (setgroups(u->n_additional_gids, (const gid_t *)u->additional_gids) == 0)
		return 0;
	int e = errno;
	if (e == EPERM && setgroups_denied()) {
		if (u->n_additional_gids == 0) {
			cell_debug("setgroups is denied in this user namespace; "
				   "supplementary groups left as they are");
			return 0;
		}
		return cell_err(err, 0,
				"process.user.additionalGids: setgroups(2) is denied in this user "
				"namespace (/proc/self/setgroups is \"deny\"), so supplementary "
				"groups cannot be set");
	}
	if (e == EINVAL && u->n_additional_gids > 0)
		return cell_err(err, e,
				"process.user.additionalGids: setgroups (%zu groups; an unmapped "
				"gid, or more than NGROUPS_MAX)", u->n_additional_gids);
	return cell_err(err, e, "process.user.additionalGids: setgroups");
}

int user_switch(const struct oci_user *u, struct cell_err **err)
{
	int r = set_groups(u, err);
	if (r < 0)
		return r;
	if (setresgid(u->gid, u->gid, u->gid) < 0) {
		if (errno == EINVAL)
			return cell_err(err, 0, "process.user.gid: %u is not mapped in this user "
					"namespace", u->gid);
		return cell_err_sys(err, "process.user.gid: setresgid(%u)", u->gid);
	}
	if (setresuid(u->uid, u->uid, u->uid) < 0) {
		if (errno == EINVAL)
			return cell_err(err, 0, "process.user.uid: %u is not mapped in this user "
					"namespace", u->uid);
		/* EAGAIN: RLIMIT_NPROC of the target uid; since Linux 3.1 that is
		 * reported at execve instead, but older kernels fail here. */
		return cell_err_sys(err, "process.user.uid: setresuid(%u)", u->uid);
	}
	if (u->has_umask)
		umask((mode_t)(u->umask & 0777));
	return 0;
}
