/* Rate limits: a tbf root qdisc over rtnetlink (what `tc qdisc replace dev
 * X root tbf rate R burst B limit L` sends). */
#include <errno.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "base/util.h"
#include "net/internal.h"

/* A burst of 10 ms at the rate (at least 16 KiB, so a few full frames and
 * a TSO segment get through at once), and a queue of 50 ms more: enough for
 * TCP to keep the link busy without hiding the limit behind a deep buffer. */
static void tbf_sizes(uint64_t rate, uint32_t *burst, uint32_t *limit)
{
	uint64_t b = rate / 100, l;
	if (b < 16384)
		b = 16384;
	if (b > UINT32_MAX / 2)
		b = UINT32_MAX / 2;
	l = b + rate / 20;
	if (l > UINT32_MAX)
		l = UINT32_MAX;
	*burst = (uint32_t)b;
	*limit = (uint32_t)l;
}

int nl_tbf_set(struct nl *nl, int index, uint64_t rate)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);
	struct tcmsg *tc = mnl_nlmsg_put_extra_header(h, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = index;
	tc->tcm_parent = TC_H_ROOT;
	tc->tcm_handle = 0x10000; /* 1: */
	mnl_attr_put_strz(h, TCA_KIND, "tbf");
	uint32_t burst, limit;
	tbf_sizes(rate, &burst, &limit);
	/* With the link layer given, tbf needs no rate table: it computes
	 * transmission times itself (sch_tbf.c, psched_ratecfg_precompute). */
	struct tc_tbf_qopt q = {
		.rate = { .rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate,
			  .linklayer = TC_LINKLAYER_ETHERNET },
		.limit = limit,
	};
	struct nlattr *opts = mnl_attr_nest_start(h, TCA_OPTIONS);
	mnl_attr_put(h, TCA_TBF_PARMS, sizeof(q), &q);
	if (rate > UINT32_MAX)
		mnl_attr_put_u64(h, TCA_TBF_RATE64, rate);
	mnl_attr_put_u32(h, TCA_TBF_BURST, burst);
	mnl_attr_nest_end(h, opts);
	return nl_talk(nl, h, NULL, NULL);
}

int nl_qdisc_del_root(struct nl *nl, int index)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_DELQDISC, 0);
	struct tcmsg *tc = mnl_nlmsg_put_extra_header(h, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = index;
	tc->tcm_parent = TC_H_ROOT;
	return nl_talk(nl, h, NULL, NULL);
}
