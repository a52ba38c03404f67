/* src/oci: every validation names the input, the JSON path and what was
 * wrong.  Golden substrings: the words may grow, the place may not move. */
#include "oci-errors.h"

/* Raw bytes, not through the quote helper. */
static const char *raw_err(const char *json, size_t len)
{
	struct oci_spec *s = NULL;
	struct cell_err *err = NULL;
	if (oci_spec_parse(json, len, "config.json", &s, &err) == 0) {
		oci_spec_free(s);
		return "(parsed)";
	}
	snprintf(msg, sizeof(msg), "%s", err->msg);
	cell_err_free(err);
	return msg;
}

static void syntax(void)
{
	static const char multi[] = "{\n  \"ociVersion\": \"1.2.0\",\n    x\n}";
	T_ASSERT_CONTAINS(raw_err(multi, strlen(multi)),
			  "config.json: line 3, column 5: invalid JSON: ");
	static const char cut[] = "{\"ociVersion\": \"1.2.0\",";
	T_ASSERT_STR(raw_err(cut, strlen(cut)),
		     "config.json: line 1, column 24: invalid JSON: unexpected end of input");
	T_ASSERT_STR(raw_err("", 0), "config.json: line 1, column 1: invalid JSON: unexpected end "
				     "of input");
	T_ASSERT_STR(raw_err("  \n ", 4), "config.json: line 2, column 2: invalid JSON: unexpected "
					  "end of input");
	T_ASSERT_CONTAINS(raw_err("{} x", 4), "config.json: line 1, column 4: invalid JSON");
	T_ASSERT_CONTAINS(raw_err("{}{}", 4), "config.json: line 1, column 3: invalid JSON");
	T_ASSERT_STR(raw_err("{\"a\":\"b\0\"}", 10),
		     "config.json: line 1, column 8: invalid JSON: NUL byte");
	T_ASSERT_STR(raw_err("{'a':1}", 7), "config.json: line 1, column 2: invalid JSON: "
					    "single-quoted strings are not JSON");
	T_ASSERT_CONTAINS(raw_err("{\"a\":\"\xff\"}", 9), "config.json: line 1, column ");
	T_ASSERT_CONTAINS(msg, "invalid JSON: invalid utf-8");
	T_ASSERT_STR(raw_err("{\"x\": 18446744073709551616}", 27),
		     "config.json: line 1, column 7: invalid JSON: integer above "
		     "18446744073709551615");
	T_ASSERT_STR(raw_err("{\"x\": [-9223372036854775809]}", 29),
		     "config.json: line 1, column 8: invalid JSON: integer below "
		     "-9223372036854775808");
	T_ASSERT_STR(
		raw_err("{\"x\": \"99999999999999999999999\", \"y\": 1.99999999999999999999e99999}",
			67),
		"config.json: ociVersion: required field is missing");
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	T_ASSERT_CONTAINS(raw_err(deep, sizeof(deep)), "config.json: line 1, column ");
	T_ASSERT_CONTAINS(msg, "invalid JSON: nesting too deep");
	T_ASSERT_STR(raw_err("[]", 2), "config.json: expected an object, got an array");
	T_ASSERT_STR(raw_err("12", 2), "config.json: expected an object, got 12");
	T_ASSERT_STR(raw_err("null", 4), "config.json: expected an object, got null");
}

static void size_limit(void)
{
	size_t len = OCI_SPEC_MAX_BYTES + 1;
	char *big = xmalloc(len);
	memset(big, ' ', len);
	const char *m = raw_err(big, len);
	free(big);
	T_ASSERT_CONTAINS(m, "config.json: larger than 16777216 bytes");
}

static void top_level(void)
{
	static const struct bad t[] = {
		{ "{}", "config.json: ociVersion: required field is missing" },
		{ "{'ociVersion':1}", "config.json: ociVersion: expected a string, got 1" },
		{ "{'ociVersion':'2.0.0'}",
		  "config.json: ociVersion: unsupported version \"2.0.0\"" },
		{ "{'ociVersion':'0.6.0'}",
		  "config.json: ociVersion: unsupported version \"0.6.0\"" },
		{ "{'ociVersion':'abc'}", "config.json: ociVersion: \"abc\" is not a version" },
		{ "{'ociVersion':'1'}", "config.json: ociVersion: \"1\" is not a version" },
		{ "{" V ",'root':{}}", "config.json: root.path: required field is missing" },
		{ "{" V ",'root':{'path':''}}", "config.json: root.path: must not be empty" },
		{ "{" V ",'root':{'path':'r','readonly':'yes'}}",
		  "config.json: root.readonly: expected true or false, got \"yes\"" },
		{ "{" V ",'root':'rootfs'}",
		  "config.json: root: expected an object, got \"rootfs\"" },
		{ "{" V ",'process':[]}",
		  "config.json: process: expected an object, got an array" },
		{ "{" V ",'annotations':{'a':true}}",
		  "config.json: annotations.a: expected a string, got true" },
		{ "{" V ",'annotations':{'io.x/y':1}}",
		  "config.json: annotations[\"io.x/y\"]: expected a string, got 1" },
		{ "{" V ",'annotations':{'q\\'\\\\':null}}",
		  "config.json: annotations[\"q\\\"\\\\\"]: expected a string, got null" },
		{ "{" V ",'annotations':[]}", "config.json: annotations: expected an object" },
		{ "{" V ",'hostname':5}", "config.json: hostname: expected a string, got 5" },
		{ "{" V ",'linux':[]}", "config.json: linux: expected an object, got an array" },
	};
	CHECK_TABLE(t);
}

static void process(void)
{
	static const struct bad t[] = {
		{ "{" V ",'process':{'user':{'uid':0,'gid':0},'cwd':'/'}}",
		  "config.json: process.args: must be a non-empty array of strings" },
		{ "{" V ",'process':{'user':{'uid':0,'gid':0},'cwd':'/','args':[]}}",
		  "config.json: process.args: must be a non-empty array of strings" },
		{ "{" V ",'process':{'user':{'uid':0,'gid':0},'cwd':'/','args':['a',5]}}",
		  "config.json: process.args[1]: expected a string, got 5" },
		{ "{" V ",'process':{'user':{'uid':0,'gid':0},'cwd':'/','args':'sh'}}",
		  "config.json: process.args: expected an array of strings, got \"sh\"" },
		{ "{" V ",'process':{'user':{'uid':0,'gid':0},'args':['sh']}}",
		  "config.json: process.cwd: required field is missing" },
		{ "{" V ",'process':{'user':{'uid':0,'gid':0},'args':['sh'],'cwd':'tmp'}}",
		  "config.json: process.cwd: \"tmp\" is not an absolute path" },
		{ "{" V ",'process':{'user':{'uid':0,'gid':0},'args':['sh'],'cwd':'/a\\u0000b'}}",
		  "config.json: process.cwd: string contains a NUL character" },
		{ "{" V ",'process':{'args':['sh'],'cwd':'/'}}",
		  "config.json: process.user: required field is missing" },
		{ USER("'uid':'x','gid':0"), "config.json: process.user.uid: expected an integer "
					     "between 0 and 4294967295, got \"x\"" },
		{ USER("'uid':-1,'gid':0"), "config.json: process.user.uid: expected an integer "
					    "between 0 and 4294967295, got -1" },
		{ USER("'uid':4294967296,'gid':0"),
		  "process.user.uid: expected an integer between 0 "
		  "and 4294967295, got 4294967296" },
		{ USER("'uid':1.5,'gid':0"), "process.user.uid: expected an integer between 0 and "
					     "4294967295, got 1.5" },
		{ USER("'uid':[],'gid':0"), "process.user.uid: expected an integer between 0 and "
					    "4294967295, got an array" },
		{ USER("'gid':0"), "config.json: process.user.uid: required field is missing" },
		{ USER("'uid':0"), "config.json: process.user.gid: required field is missing" },
		{ USER("'uid':0,'gid':0,'umask':512"), "config.json: process.user.umask: expected "
						       "an integer between 0 and 511, got 512" },
		{ USER("'uid':0,'gid':0,'additionalGids':[1,null]"),
		  "config.json: process.user.additionalGids[1]: expected an integer between 0 and "
		  "4294967295, got null" },
		{ PROC("'terminal':'yes'"),
		  "config.json: process.terminal: expected true or false, got \"yes\"" },
		{ PROC("'env':['A=1','FOO']"),
		  "config.json: process.env[1]: \"FOO\" is not of the form KEY=value" },
		{ PROC("'env':['=x']"), "config.json: process.env[0]: \"=x\" is not of the form" },
		{ PROC("'capabilities':{'bounding':['CAP_FOO']}"),
		  "config.json: process.capabilities.bounding[0]: unknown capability \"CAP_FOO\"" },
		{ PROC("'capabilities':{'ambient':['CAP_KILL','cap_chown']}"),
		  "config.json: process.capabilities.ambient[1]: unknown capability "
		  "\"cap_chown\"" },
		{ PROC("'capabilities':{'effective':'CAP_KILL'}"),
		  "config.json: process.capabilities.effective: expected an array, got "
		  "\"CAP_KILL\"" },
		{ PROC("'capabilities':{'permitted':[1]}"),
		  "config.json: process.capabilities.permitted[0]: expected a string, got 1" },
		{ PROC("'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]"),
		  "config.json: process.rlimits[0].type: unknown resource limit \"RLIMIT_FOO\"" },
		{ PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,'hard':1},"
		       "{'type':'RLIMIT_CORE','soft':1,'hard':1},{'type':'RLIMIT_NOFILE','soft':1,'"
		       "hard':1}]"),
		  "config.json: process.rlimits[2].type: duplicate resource limit "
		  "\"RLIMIT_NOFILE\" "
		  "(also at process.rlimits[0])" },
		{ PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':10,'hard':5}]"),
		  "config.json: process.rlimits[0]: soft limit 10 is above hard limit 5" },
		{ PROC("'rlimits':[{'type':'RLIMIT_NOFILE','hard':5}]"),
		  "config.json: process.rlimits[0].soft: required field is missing" },
		{ PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':-1,'hard':5}]"),
		  "config.json: process.rlimits[0].soft: expected an integer between 0 and "
		  "18446744073709551615, got -1" },
		{ PROC("'oomScoreAdj':1001"),
		  "config.json: process.oomScoreAdj: expected an integer "
		  "between -1000 and 1000, got 1001" },
		{ PROC("'noNewPrivileges':1"),
		  "config.json: process.noNewPrivileges: expected true or false, got 1" },
		{ PROC("'apparmorProfile':{}"),
		  "config.json: process.apparmorProfile: expected a string, got an object" },
	};
	CHECK_TABLE(t);
}

static void process_extras(void)
{
	static const struct bad t[] = {
		{ PROC("'scheduler':{'policy':'SCHED_FOO'}"),
		  "config.json: process.scheduler.policy: unknown scheduling policy "
		  "\"SCHED_FOO\"" },
		{ PROC("'scheduler':{}"),
		  "config.json: process.scheduler.policy: required field is missing" },
		{ PROC("'scheduler':{'policy':'SCHED_OTHER','priority':5}"),
		  "config.json: process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a "
		  "priority" },
		{ PROC("'scheduler':{'policy':'SCHED_RR','priority':100}"),
		  "config.json: process.scheduler.priority: expected an integer between 0 and 99, "
		  "got 100" },
		{ PROC("'scheduler':{'policy':'SCHED_BATCH','nice':20}"),
		  "config.json: process.scheduler.nice: expected an integer between -20 and 19, "
		  "got "
		  "20" },
		{ PROC("'scheduler':{'policy':'SCHED_IDLE','flags':['SCHED_FLAG_X']}"),
		  "config.json: process.scheduler.flags[0]: unknown scheduler flag "
		  "\"SCHED_FLAG_X\"" },
		{ PROC("'ioPriority':{'class':'IOPRIO_CLASS_NONE','priority':0}"),
		  "config.json: process.ioPriority.class: unknown I/O priority class "
		  "\"IOPRIO_CLASS_NONE\"" },
		{ PROC("'ioPriority':{'class':'IOPRIO_CLASS_RT','priority':8}"),
		  "config.json: process.ioPriority.priority: expected an integer between 0 and 7, "
		  "got 8" },
		{ PROC("'ioPriority':{'class':'IOPRIO_CLASS_RT'}"),
		  "config.json: process.ioPriority.priority: required field is missing" },
		{ PROC("'execCPUAffinity':{'initial':'0-'}"),
		  "config.json: process.execCPUAffinity.initial: not a CPU list" },
		{ PROC("'execCPUAffinity':{'final':'3-1'}"),
		  "config.json: process.execCPUAffinity.final: not a CPU list" },
		{ PROC("'execCPUAffinity':{'final':'a'}"),
		  "config.json: process.execCPUAffinity.final: not a CPU list" },
		{ PROC("'consoleSize':{'height':10}"),
		  "config.json: process.consoleSize.width: required field is missing" },
		{ PROC("'consoleSize':{'height':10,'width':65536}"),
		  "config.json: process.consoleSize.width: expected an integer between 0 and "
		  "65535" },
	};
	CHECK_TABLE(t);
}

static void mounts_hooks(void)
{
	static const struct bad t[] = {
		{ "{" V ",'mounts':[{'destination':'/a'},{'destination':'tmp'}]}",
		  "config.json: mounts[1].destination: \"tmp\" is not an absolute path" },
		{ "{" V ",'mounts':[{'type':'tmpfs'}]}",
		  "config.json: mounts[0].destination: required field is missing" },
		{ "{" V ",'mounts':[{'destination':'/a','options':[1]}]}",
		  "config.json: mounts[0].options[0]: expected a string, got 1" },
		{ "{" V ",'mounts':{}}", "config.json: mounts: expected an array, got an object" },
		{ "{" V ",'mounts':['x']}",
		  "config.json: mounts[0]: expected an object, got \"x\"" },
		{ "{" V ",'mounts':[null]}",
		  "config.json: mounts[0]: expected an object, got null" },
		{ "{" V ",'mounts':[{'destination':'/a','source':7}]}",
		  "config.json: mounts[0].source: expected a string, got 7" },
		{ "{" V ",'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':0,"
		  "'size':0}]}]}",
		  "config.json: mounts[0].uidMappings[0].size: must be at least 1" },
		{ "{" V
		  ",'mounts':[{'destination':'/a','gidMappings':[{'containerID':0,'size':1}]}]}",
		  "config.json: mounts[0].gidMappings[0].hostID: required field is missing" },
		{ "{" V ",'mounts':[{'destination':'/a','options':['rbind','idmap']}]}",
		  "config.json: mounts[0].options: an idmapped mount needs uidMappings and "
		  "gidMappings or a user namespace" },
		{ "{" V ",'hooks':{'prestart':[{'path':'hook'}]}}",
		  "config.json: hooks.prestart[0].path: \"hook\" is not an absolute path" },
		{ "{" V ",'hooks':{'poststop':[{'path':'/h','timeout':-1}]}}",
		  "config.json: hooks.poststop[0].timeout: must be a positive number of seconds, "
		  "got "
		  "-1" },
		{ "{" V ",'hooks':{'poststart':[{'path':'/h','timeout':'5'}]}}",
		  "config.json: hooks.poststart[0].timeout: expected an integer" },
		{ "{" V ",'hooks':{'createRuntime':{}}}",
		  "config.json: hooks.createRuntime: expected an array, got an object" },
		{ "{" V ",'hooks':{'createContainer':[{'args':['x']}]}}",
		  "config.json: hooks.createContainer[0].path: required field is missing" },
		{ "{" V ",'hooks':{'startContainer':[{'path':'/h','env':['NOEQ']}]}}",
		  "config.json: hooks.startContainer[0].env[0]: \"NOEQ\" is not of the form "
		  "KEY=value" },
		{ "{" V ",'hooks':{'prestart':[{'path':'/h','args':'x'}]}}",
		  "config.json: hooks.prestart[0].args: expected an array of strings, got \"x\"" },
		{ "{" V ",'hooks':[]}", "config.json: hooks: expected an object, got an array" },
	};
	CHECK_TABLE(t);
}

/* Configs right at the edges that must parse. */
static void edges_that_parse(void)
{
	static const char *const good[] = {
		"{" V ",'process':{'user':{'uid':0,'gid':0},'commandLine':'cmd /c x','cwd':'/'}}",
		"{" V ",'process':{'user':{'uid':4294967295,'gid':0},'args':['sh'],'cwd':'/'}}",
		"{" V ",'hostname':'','linux':{}}",
		"{" V ",'hostname':'h','linux':{'namespaces':[{'type':'uts'}]}}",
		"{" V ",'linux':{'namespaces':[{'type':'user','path':'/proc/1/ns/user'}]}}",
		"{" V ",'linux':{" NS_USER "," MAPS "}}",
		"{" V ",'mounts':[{'destination':'/a','options':['idmap']}],'linux':{'namespaces':"
		"[{'type':'user','path':'/proc/1/ns/user'}]}}",
		"{" V ",'linux':{'sysctl':{'net.ipv4.ip_forward':'1'},'namespaces':[{'type':"
		"'network','path':'/run/netns/x'}]}}",
		"{" V ",'linux':{'resources':{'memory':{'swappiness':18446744073709551615}}}}",
		"{" V ",'linux':{'resources':{'devices':[{'allow':true,'access':''}]}}}",
		"{" V ",'linux':{'namespaces':[{'type':'time'}],'timeOffsets':{}}}",
		"{" V ",'linux':{'cgroupsPath':'/a..b/c..'}}",
		"{" V ",'hooks':{'poststop':[{'path':'/h','timeout':0}]}}",
		"{" V ",'process':{'user':{'uid':0,'gid':0},'args':['sh'],'cwd':'/','env':[]}}",
		"{" V ",'x':{'y':[1,2,'z',{'ociVersion':5}]}}",
		"  {" V "}  \n\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct oci_spec *s = oci_t_parse(good[i], msg, sizeof(msg));
		if (!s)
			T_FAIL("case %zu: %s", i, msg);
		oci_spec_free(s);
	}
	struct oci_spec *s = oci_t_parse("{" V ",'linux':{'resources':{'memory':{'swappiness':"
					 "18446744073709551615}}}}",
					 msg, sizeof(msg));
	T_ASSERT(s && !s->linux_.resources->memory.has_swappiness);
	oci_spec_free(s);
}

static void load_errors(void)
{
	struct oci_spec *s = NULL;
	struct cell_err *err = NULL;
	T_ASSERT(oci_spec_load("/nonexistent/config.json", &s, &err) < 0);
	snprintf(msg, sizeof(msg), "%s", err->msg);
	cell_err_free(err);
	T_ASSERT_STR(msg, "open /nonexistent/config.json: No such file or directory");
	err = NULL;
	char tmpl[] = "/tmp/cell-oci-XXXXXX";
	int fd = mkstemp(tmpl);
	T_ASSERT(fd >= 0);
	static const char body[] =
		"{\"ociVersion\": \"1.2.0\", \"mounts\": [{\"destination\": \"x\"}]}";
	T_ASSERT(write(fd, body, strlen(body)) == (ssize_t)strlen(body));
	close(fd);
	int r = oci_spec_load(tmpl, &s, &err);
	unlink(tmpl);
	T_ASSERT(r < 0 && s == NULL);
	snprintf(msg, sizeof(msg), "%s", err->msg);
	cell_err_free(err);
	_cleanup_free_ char *want = xasprintf("%s: mounts[0].destination: \"x\" is not an absolute "
					      "path",
					      tmpl);
	T_ASSERT_STR(msg, want);
}

T_MAIN("oci-errors", T_CASE(syntax), T_CASE(size_limit), T_CASE(top_level), T_CASE(process),
       T_CASE(process_extras), T_CASE(mounts_hooks), T_CASE(edges_that_parse), T_CASE(load_errors))
