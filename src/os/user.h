/* The identity of the process that becomes the container's (init, or the
 * process `cell exec` starts): process.user as struct oci_user.
 *
 * ORDER (see os/security.h for the whole sequence and why): after
 * caps_drop_bounding() and caps_keep_on_uid_switch(true), before caps_apply().
 * Within user_switch() the order is fixed: setgroups, setresgid, setresuid,
 * umask, because the first two need CAP_SETGID in the effective set, which
 * the kernel clears when the uid leaves 0.
 *
 * Ids are numbers in the process's user namespace: with a new user namespace
 * its uid_map and gid_map must be written before this is called. */
#ifndef CELL_OS_USER_H
#define CELL_OS_USER_H

#include "base/err.h"
#include "oci/spec.h"

/* Set supplementary groups (exactly user->additional_gids, so none are
 * inherited from the runtime), real/effective/saved gid and uid, and the
 * umask when one is given.
 *
 * In a user namespace whose /proc/self/setgroups is "deny" (a rootless
 * container mapping only the caller) setgroups(2) cannot be used: that is
 * not an error unless additionalGids were asked for, and then the message
 * says so.  An id the user namespace does not map fails naming the field
 * ("process.user.uid: 1234 is not mapped in this user namespace"). */
int user_switch(const struct oci_user *user, struct cell_err **err);

#endif
