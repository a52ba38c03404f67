/* Capability sets through libcap.  See caps.h for the contract and order. */
#include "os/caps.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "base/log.h"

#define BIT(c) (1ull << (c))

int caps_last_cap(void)
{
	/* libcap probes PR_CAPBSET_READ, which needs no /proc: the init process
	 * calls this after pivot_root, possibly before /proc is mounted. */
	return (int)cap_max_bits() - 1;
}

static uint64_t kernel_mask(void)
{
	int last = caps_last_cap();
	return last >= 63 ? ~0ull : BIT(last + 1) - 1;
}

/* The part of mask the running kernel knows; the rest is skipped, as runc
 * does, so configs written for newer kernels keep working. */
static uint64_t known(uint64_t mask, const char *set)
{
	uint64_t extra = mask & ~kernel_mask();
	if (extra)
		cell_debug("process.capabilities.%s: skipping capabilities above cap_last_cap %d "
			   "(mask 0x%016llx)", set, caps_last_cap(), (unsigned long long)extra);
	return mask & kernel_mask();
}

/* "CAP_SYS_ADMIN", as the config spells it (libcap uses lower case). */
static void cap_name(int cap, char *buf, size_t size)
{
	char *n = cap_to_name((cap_value_t)cap);
	snprintf(buf, size, "%s", n ? n : "?");
	cap_free(n);
	for (char *p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

int caps_drop_bounding(const struct oci_caps *caps, struct cell_err **err)
{
	uint64_t keep = known(caps->bounding, "bounding");
	int last = caps_last_cap();

	for (int c = 0; c <= last; c++) {
		if (c < 64 && (keep & BIT(c)))
			continue;
		int r = cap_get_bound((cap_value_t)c);
		if (r < 0)
			return cell_err_sys(err, "read the bounding set (capability %d)", c);
		if (r == 0)
			continue;
		if (cap_drop_bound((cap_value_t)c) < 0) {
			char name[32];
			cap_name(c, name, sizeof(name));
			return cell_err_sys(err, "process.capabilities.bounding: drop %s", name);
		}
	}
	return 0;
}

int caps_keep_on_uid_switch(bool keep, struct cell_err **err)
{
	if (prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) < 0)
		return cell_err_sys(err, "prctl(PR_SET_KEEPCAPS, %d)", keep ? 1 : 0);
	return 0;
}

/* What this process holds now; the kernel's capset() rules are stated over it. */
struct cur_caps {
	uint64_t prm, inh, eff, bnd;
};

static int read_current(struct cur_caps *cur, struct cell_err **err)
{
	cap_t c = cap_get_proc();
	if (!c)
		return cell_err_sys(err, "capget");
	*cur = (struct cur_caps){ 0 };
	int last = caps_last_cap();
	for (int i = 0; i <= last && i < 64; i++) {
		cap_flag_value_t p = CAP_CLEAR, h = CAP_CLEAR, e = CAP_CLEAR;
		cap_get_flag(c, (cap_value_t)i, CAP_PERMITTED, &p);
		cap_get_flag(c, (cap_value_t)i, CAP_INHERITABLE, &h);
		cap_get_flag(c, (cap_value_t)i, CAP_EFFECTIVE, &e);
		cur->prm |= p == CAP_SET ? BIT(i) : 0;
		cur->inh |= h == CAP_SET ? BIT(i) : 0;
		cur->eff |= e == CAP_SET ? BIT(i) : 0;
		cur->bnd |= cap_get_bound((cap_value_t)i) > 0 ? BIT(i) : 0;
	}
	cap_free(c);
	return 0;
}

static int check_subset(uint64_t sub, uint64_t super, const char *field, const char *why,
			int errnum, struct cell_err **err)
{
	uint64_t bad = sub & ~super;
	if (!bad)
		return 0;
	char name[32];
	cap_name(__builtin_ctzll(bad), name, sizeof(name));
	return cell_err(err, errnum, "process.capabilities.%s: %s %s", field, name, why);
}

/* What capset() and PR_CAP_AMBIENT_RAISE will refuse whatever the process
 * holds (security/commoncap.c: cap_capset(), and the ambient invariant). */
static int check_config(const struct oci_caps *w, struct cell_err **err)
{
	int r;
	if ((r = check_subset(w->effective, w->permitted, "effective",
			      "is not in process.capabilities.permitted", 0, err)) < 0)
		return r;
	if ((r = check_subset(w->ambient, w->permitted & w->inheritable, "ambient",
			      "must also be in permitted and inheritable", 0, err)) < 0)
		return r;
	return check_subset(w->inheritable, w->bounding, "inheritable",
			    "is not in process.capabilities.bounding", 0, err);
}

static struct oci_caps known_caps(const struct oci_caps *caps)
{
	return (struct oci_caps){
		.bounding = known(caps->bounding, "bounding"),
		.effective = known(caps->effective, "effective"),
		.inheritable = known(caps->inheritable, "inheritable"),
		.permitted = known(caps->permitted, "permitted"),
		.ambient = known(caps->ambient, "ambient"),
	};
}

int caps_check(const struct oci_caps *caps, struct cell_err **err)
{
	struct oci_caps w = known_caps(caps);
	return check_config(&w, err);
}

/* The rules of cap_capset() that depend on what this process holds, checked
 * up front so the error names the field and the capability, not EPERM. */
static int check(const struct oci_caps *w, const struct cur_caps *cur, struct cell_err **err)
{
	int r;
	if ((r = check_config(w, err)) < 0)
		return r;
	if ((r = check_subset(w->permitted, cur->prm, "permitted",
			      "is not held by the runtime (not in its permitted set)", EPERM,
			      err)) < 0)
		return r;
	if ((r = check_subset(w->inheritable, cur->inh | cur->bnd, "inheritable",
			      "is not in the runtime's bounding set", EPERM, err)) < 0)
		return r;
	/* Without CAP_SETPCAP (gone after a switch away from uid 0) the new
	 * inheritable set is also bounded by the old permitted set. */
	if (!(cur->eff & BIT(CAP_SETPCAP)))
		return check_subset(w->inheritable, cur->inh | cur->prm, "inheritable",
				    "is not held by the runtime (not in its permitted set)", EPERM,
				    err);
	return 0;
}

static void fill(cap_t c, cap_flag_t flag, uint64_t mask)
{
	for (int i = 0; i < 64; i++) {
		cap_value_t v = (cap_value_t)i;
		if (mask & BIT(i))
			cap_set_flag(c, flag, 1, &v, CAP_SET);
	}
}

static int set_sets(const struct oci_caps *w, struct cell_err **err)
{
	cap_t c = cap_init();
	if (!c)
		return cell_err_sys(err, "cap_init");
	fill(c, CAP_PERMITTED, w->permitted);
	fill(c, CAP_EFFECTIVE, w->effective);
	fill(c, CAP_INHERITABLE, w->inheritable);
	int r = cap_set_proc(c);
	int saved = errno;
	cap_free(c);
	if (r < 0)
		return cell_err(err, saved, "process.capabilities: capset");
	return 0;
}

static int set_ambient(uint64_t ambient, struct cell_err **err)
{
	if (cap_reset_ambient() < 0) {
		/* Kernels before 4.3 have no ambient set; only an error if one is asked for. */
		if (errno == EINVAL && !ambient)
			return 0;
		return cell_err_sys(err, "process.capabilities.ambient: clear");
	}
	for (int i = 0; i < 64; i++) {
		if (!(ambient & BIT(i)))
			continue;
		if (cap_set_ambient((cap_value_t)i, CAP_SET) < 0) {
			char name[32];
			cap_name(i, name, sizeof(name));
			return cell_err_sys(err, "process.capabilities.ambient: raise %s", name);
		}
	}
	return 0;
}

int caps_apply(const struct oci_caps *caps, struct cell_err **err)
{
	struct oci_caps w = known_caps(caps);
	struct cur_caps cur = { 0 };
	int r;

	if ((r = read_current(&cur, err)) < 0 || (r = check(&w, &cur, err)) < 0)
		return r;
	if ((r = set_sets(&w, err)) < 0)
		return r;
	if ((r = caps_keep_on_uid_switch(false, err)) < 0)
		return r;
	return set_ambient(w.ambient, err);
}
