/* src/oci: oci_resources_parse(), the linux.resources object alone that
 * `update -r FILE` reads.  Same checks as inside a config; errors name the
 * file and the path inside the object. */
#include "oci-test.h"
#include "t.h"

static char msg[4096];

static struct oci_resources *parse(const char *s)
{
	_cleanup_free_ char *j = oci_t_quotes(s);
	struct oci_resources *r = NULL;
	struct cell_err *err = NULL;
	msg[0] = '\0';
	if (oci_resources_parse(j, strlen(j), "res.json", &r, &err) < 0) {
		snprintf(msg, sizeof(msg), "%s", err && err->msg ? err->msg : "(no message)");
		r = NULL;
	}
	cell_err_free(err);
	return r;
}

static void fields(void)
{
	struct oci_resources *r = parse(
		"{'memory':{'limit':268435456,'swap':-1,'checkBeforeUpdate':true},"
		"'cpu':{'quota':50000,'period':100000,'shares':512,'cpus':'0-1'},"
		"'pids':{'limit':10},'blockIO':{'weight':300,'throttleWriteBpsDevice':"
		"[{'major':7,'minor':3,'rate':1048576}]},"
		"'hugepageLimits':[{'pageSize':'2MB','limit':0}],'unified':{'memory.high':'1G'}}");
	T_ASSERT(r);
	T_ASSERT(r->memory.has_limit && r->memory.limit == 268435456);
	T_ASSERT(r->memory.has_swap && r->memory.swap == -1);
	T_ASSERT(r->memory.has_check_before_update && r->memory.check_before_update);
	T_ASSERT(!r->memory.has_reservation);
	T_ASSERT(r->cpu.has_quota && r->cpu.quota == 50000);
	T_ASSERT(r->cpu.has_period && r->cpu.period == 100000);
	T_ASSERT(r->cpu.has_shares && r->cpu.shares == 512);
	T_ASSERT_STR(r->cpu.cpus, "0-1");
	T_ASSERT(r->pids.has_limit && r->pids.limit == 10);
	T_ASSERT(r->block_io.has_weight && r->block_io.weight == 300);
	T_ASSERT_INT(r->block_io.n_throttle_write_bps, 1);
	T_ASSERT_INT(r->block_io.throttle_write_bps[0].major, 7);
	T_ASSERT_INT(r->block_io.throttle_write_bps[0].rate, 1048576);
	T_ASSERT_INT(r->n_hugepage_limits, 1);
	T_ASSERT_INT(r->n_unified, 1);
	oci_resources_free(r);
	r = parse("{}");
	T_ASSERT(r && !r->memory.has_limit && !r->cpu.has_quota && !r->n_devices);
	oci_resources_free(r);
}

static void errors(void)
{
	static const struct {
		const char *json, *want;
	} t[] = {
		{ "[]", "res.json: expected an object, got an array" },
		{ "{'memory':{'limit':'1G'}}", "res.json: memory.limit: expected " },
		{ "{'memory':{'limit':-5}}", "res.json: memory.limit: " },
		{ "{'memory':{'swappiness':101}}", "res.json: memory.swappiness: must be between" },
		{ "{'cpu':{'idle':3}}", "res.json: cpu.idle: must be 0 or 1" },
		{ "{'pids':{'limit':true}}", "res.json: pids.limit: expected " },
		{ "{'blockIO':{'throttleReadBpsDevice':[{'major':8,'rate':1}]}}",
		  "res.json: blockIO.throttleReadBpsDevice[0].minor: required field is missing" },
		{ "{'hugepageLimits':[{'pageSize':'2QB','limit':1}]}",
		  "res.json: hugepageLimits[0].pageSize: \"2QB\" is not a page size" },
		{ "{'unified':{'../x':'1'}}", "res.json: unified[\"../x\"]: not a cgroup v2 file" },
		{ "{'memory':", "res.json: line 1, column " },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct oci_resources *r = parse(t[i].json);
		if (r) {
			oci_resources_free(r);
			T_FAIL("%s parsed", t[i].json);
		}
		T_ASSERT_CONTAINS(msg, t[i].want);
	}
}

static void default_name(void)
{
	struct oci_resources *r = NULL;
	struct cell_err *err = NULL;
	T_ASSERT(oci_resources_parse("{\"pids\":1}", 10, NULL, &r, &err) < 0 && !r);
	T_ASSERT_CONTAINS(err->msg, "resources.json: pids: expected an object");
	cell_err_free(err);
	oci_resources_free(NULL);
}

T_MAIN("oci-resources", T_CASE(fields), T_CASE(errors), T_CASE(default_name))
