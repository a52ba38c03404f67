/* Capability sets of the process that becomes the container's (init, or the
 * process `cell exec` starts), applied with libcap right before execve.
 *
 * Input is process.capabilities as struct oci_caps: one bit per capability
 * number.  Bits above the running kernel's last capability
 * (/proc/sys/kernel/cap_last_cap) are skipped with a debug record, like runc,
 * so a config written for a newer kernel still runs.
 *
 * ORDER (see os/security.h for the whole sequence and why):
 *
 *   caps_drop_bounding()       while still privileged: dropping from the bounding
 *                              set needs CAP_SETPCAP in the effective set, which
 *                              the uid switch clears
 *   caps_keep_on_uid_switch()  PR_SET_KEEPCAPS, so a switch away from uid 0
 *                              keeps the permitted set
 *   user_switch()              os/user.h
 *   caps_apply()               capset() of permitted/effective/inheritable, then
 *                              the ambient set (the kernel only raises an ambient
 *                              cap that is already permitted and inheritable),
 *                              and PR_SET_KEEPCAPS cleared again
 *
 * With no process.capabilities in the config call none of these: a switch to
 * a non-zero uid then drops every capability, which is what the spec asks. */
#ifndef CELL_OS_CAPS_H
#define CELL_OS_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "oci/spec.h"

/* The highest capability number the running kernel knows. */
int caps_last_cap(void);

/* The checks of caps_apply() that need no process state, for the runtime
 * to run before it creates anything: effective within permitted, ambient
 * within permitted and inheritable, inheritable within bounding. */
int caps_check(const struct oci_caps *caps, struct cell_err **err);

/* Drop from the bounding set every capability not in caps->bounding. */
int caps_drop_bounding(const struct oci_caps *caps, struct cell_err **err);

/* Set or clear PR_SET_KEEPCAPS: keep the permitted set across setresuid()
 * away from uid 0.  The effective set is cleared by that switch regardless;
 * caps_apply() raises it again.  execve clears the flag. */
int caps_keep_on_uid_switch(bool keep, struct cell_err **err);

/* Make the permitted, effective and inheritable sets exactly the requested
 * ones, clear PR_SET_KEEPCAPS and make the ambient set exactly caps->ambient.
 * Inconsistent input fails before anything changes, naming the field and
 * the capability ("process.capabilities.effective: CAP_SYS_ADMIN is not in
 * permitted"), as does a capability this process does not hold itself (not
 * in its permitted set: e.g. CAP_SYS_RESOURCE on a host whose bounding set
 * lacks it, outside a user namespace). */
int caps_apply(const struct oci_caps *caps, struct cell_err **err);

#endif
