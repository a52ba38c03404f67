/* src/oci: golden errors for linux.* (namespaces, id mappings, devices,
 * sysctl, resources, seccomp). */
#include "oci-errors.h"

static void namespaces_ids(void)
{
	static const struct bad t[] = {
		{ LINUX("'namespaces':[{'type':'pid'},{'type':'ipc'},{'type':'foo'}]"),
		  "config.json: linux.namespaces[2].type: unknown namespace \"foo\"" },
		{ LINUX("'namespaces':[{'type':'pid'},{'type':'pid'}]"),
		  "config.json: linux.namespaces[1].type: duplicate namespace \"pid\"" },
		{ LINUX("'namespaces':[{'type':'network','path':'proc/1/ns/net'}]"),
		  "config.json: linux.namespaces[0].path: \"proc/1/ns/net\" is not an absolute "
		  "path" },
		{ LINUX("'namespaces':[{'path':'/proc/1/ns/net'}]"),
		  "config.json: linux.namespaces[0].type: required field is missing" },
		{ LINUX("'namespaces':['pid']"),
		  "config.json: linux.namespaces[0]: expected an object, got \"pid\"" },
		{ LINUX(MAPS), "config.json: linux.uidMappings: mappings need a user namespace in "
			       "linux.namespaces" },
		{ LINUX("'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
		  "config.json: linux.gidMappings: mappings need a user namespace" },
		{ LINUX(NS_USER),
		  "config.json: linux.uidMappings: a new user namespace needs uid and "
		  "gid mappings" },
		{ LINUX(NS_USER ",'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
		  "config.json: linux.gidMappings: a new user namespace needs uid and gid "
		  "mappings" },
		{ LINUX(NS_USER ",'uidMappings':[{'containerID':4294967295,'hostID':0,'size':2}]"),
		  "config.json: linux.uidMappings[0].size: range goes past ID 4294967295" },
		{ LINUX(NS_USER ",'uidMappings':[{'containerID':0,'hostID':'1000','size':1}]"),
		  "config.json: linux.uidMappings[0].hostID: expected an integer between 0 and "
		  "4294967295, got \"1000\"" },
		{ "{" V ",'hostname':'h'}",
		  "config.json: hostname: setting a hostname needs a new uts namespace" },
		{ "{" V ",'hostname':'h','linux':{'namespaces':[{'type':'uts','path':'/proc/1/ns/"
		  "uts'}]}}",
		  "config.json: hostname: setting a hostname needs a new uts namespace" },
		{ "{" V ",'domainname':'d','linux':{'namespaces':[{'type':'pid'}]}}",
		  "config.json: domainname: setting a domainname needs a new uts namespace" },
		{ "{" V
		  ",'hostname':'0123456789012345678901234567890123456789012345678901234567890123"
		  "4','linux':{'namespaces':[{'type':'uts'}]}}",
		  "config.json: hostname: longer than 64 bytes" },
		{ LINUX("'timeOffsets':{'monotonic':{'secs':1}}"),
		  "config.json: linux.timeOffsets: time offsets need a new time namespace" },
		{ LINUX("'namespaces':[{'type':'time','path':'/proc/1/ns/time'}],"
			"'timeOffsets':{'boottime':{'secs':1}}"),
		  "config.json: linux.timeOffsets: time offsets need a new time namespace" },
		{ LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{'secs':1}}"),
		  "config.json: linux.timeOffsets.realtime: unknown clock" },
		{ LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'monotonic':{'nanosecs':"
			"1000000000}}"),
		  "config.json: linux.timeOffsets.monotonic.nanosecs: expected an integer between "
		  "0 "
		  "and 999999999, got 1000000000" },
		{ LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'monotonic':5}"),
		  "config.json: linux.timeOffsets.monotonic: expected an object, got 5" },
	};
	CHECK_TABLE(t);
}

static void linux_misc(void)
{
	static const struct bad t[] = {
		{ LINUX("'devices':[{'type':'x','path':'/dev/x','major':1,'minor':1}]"),
		  "config.json: linux.devices[0].type: unknown device type \"x\" (c, b, u or p)" },
		{ LINUX("'devices':[{'type':'c','path':'dev/null','major':1,'minor':3}]"),
		  "config.json: linux.devices[0].path: \"dev/null\" is not an absolute path" },
		{ LINUX("'devices':[{'type':'c','path':'/dev/null','minor':3}]"),
		  "config.json: linux.devices[0].major: required field is missing" },
		{ LINUX("'devices':[{'type':'b','path':'/dev/sda','major':8,'minor':-1}]"),
		  "config.json: linux.devices[0].minor: expected an integer between 0 and 1048575, "
		  "got -1" },
		{ LINUX("'devices':[{'type':'c','path':'/dev/x','major':4096,'minor':0}]"),
		  "config.json: linux.devices[0].major: expected an integer between 0 and 4095, "
		  "got "
		  "4096" },
		{ LINUX("'devices':[{'type':'c','path':'/dev/x','major':1,'minor':1,'fileMode':"
			"28672}]"),
		  "config.json: linux.devices[0].fileMode: expected an integer between 0 and "
		  "4095" },
		{ LINUX("'devices':[{'type':'c','path':'/dev/x','major':1,'minor':1,'uid':-5}]"),
		  "config.json: linux.devices[0].uid: expected an integer between 0 and "
		  "4294967295" },
		{ LINUX("'devices':[{'path':'/dev/x'}]"),
		  "config.json: linux.devices[0].type: required field is missing" },
		{ LINUX("'sysctl':{'net..x':'1'},'namespaces':[{'type':'network'}]"),
		  "config.json: linux.sysctl[\"net..x\"]: not a sysctl name" },
		{ LINUX("'sysctl':{'../../etc/passwd':'1'}"),
		  "config.json: linux.sysctl[\"../../etc/passwd\"]: not a sysctl name" },
		{ LINUX("'sysctl':{'vm.swappiness':'1'}"),
		  "config.json: linux.sysctl[\"vm.swappiness\"]: not a namespaced sysctl: setting "
		  "it "
		  "would change the host" },
		{ LINUX("'sysctl':{'net.ipv4.ip_forward':'1'}"),
		  "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: needs a network namespace "
		  "in "
		  "linux.namespaces" },
		{ LINUX("'sysctl':{'kernel/shmmax':'1'}"),
		  "config.json: linux.sysctl[\"kernel/shmmax\"]: needs a ipc namespace" },
		{ LINUX("'sysctl':{'kernel.hostname':'x'}"),
		  "config.json: linux.sysctl[\"kernel.hostname\"]: needs a uts namespace" },
		{ LINUX("'sysctl':{'net.core.somaxconn':256},'namespaces':[{'type':'network'}]"),
		  "config.json: linux.sysctl[\"net.core.somaxconn\"]: expected a string, got 256" },
		{ LINUX("'rootfsPropagation':'bogus'"),
		  "config.json: linux.rootfsPropagation: unknown propagation \"bogus\"" },
		{ LINUX("'personality':{'domain':'SVR4'}"),
		  "config.json: linux.personality.domain: unknown execution domain \"SVR4\"" },
		{ LINUX("'personality':{}"),
		  "config.json: linux.personality.domain: required field is missing" },
		{ LINUX("'personality':{'domain':'LINUX','flags':[3]}"),
		  "config.json: linux.personality.flags[0]: expected a string, got 3" },
		{ LINUX("'maskedPaths':['/proc/kcore','proc/keys']"),
		  "config.json: linux.maskedPaths[1]: \"proc/keys\" is not an absolute path" },
		{ LINUX("'readonlyPaths':'/proc/sys'"),
		  "config.json: linux.readonlyPaths: expected an array of strings, got "
		  "\"/proc/sys\"" },
		{ LINUX("'cgroupsPath':'/a/../../b'"),
		  "config.json: linux.cgroupsPath: must not contain \"..\"" },
		{ LINUX("'cgroupsPath':'system.slice:..:x'"),
		  "config.json: linux.cgroupsPath: must not contain \"..\"" },
		{ LINUX("'mountLabel':1"),
		  "config.json: linux.mountLabel: expected a string, got 1" },
		{ LINUX("'intelRdt':'x'"), "config.json: linux.intelRdt: expected an object" },
	};
	CHECK_TABLE(t);
}

static void resources(void)
{
	static const struct bad t[] = {
		{ RES("'devices':[{'allow':true,'type':'x'}]"),
		  "config.json: linux.resources.devices[0].type: unknown device type \"x\" (a, b "
		  "or c)" },
		{ RES("'devices':[{'allow':true,'access':'rwx'}]"),
		  "config.json: linux.resources.devices[0].access: \"rwx\" is not a subset of "
		  "\"rwm\"" },
		{ RES("'devices':[{'allow':true,'access':'rr'}]"),
		  "config.json: linux.resources.devices[0].access: \"rr\" is not a subset" },
		{ RES("'devices':[{'access':'rwm'}]"),
		  "config.json: linux.resources.devices[0].allow: required field is missing" },
		{ RES("'devices':[{'allow':false,'major':-2}]"),
		  "config.json: linux.resources.devices[0].major: expected an integer between -1 "
		  "and "
		  "4095, got -2" },
		{ RES("'memory':{'limit':'1G'}"),
		  "config.json: linux.resources.memory.limit: expected an integer between -1 and "
		  "9223372036854775807, got \"1G\"" },
		{ RES("'memory':{'limit':9223372036854775808}"),
		  "config.json: linux.resources.memory.limit: expected an integer between -1 and "
		  "9223372036854775807, got 9223372036854775808" },
		{ RES("'memory':{'swappiness':101}"),
		  "config.json: linux.resources.memory.swappiness: must be between 0 and 100, got "
		  "101" },
		{ RES("'memory':{'disableOOMKiller':0}"),
		  "config.json: linux.resources.memory.disableOOMKiller: expected true or false" },
		{ RES("'cpu':{'shares':-1}"),
		  "config.json: linux.resources.cpu.shares: expected an integer between 0 and "
		  "18446744073709551615, got -1" },
		{ RES("'cpu':{'idle':2}"),
		  "config.json: linux.resources.cpu.idle: must be 0 or 1" },
		{ RES("'cpu':{'cpus':[0]}"),
		  "config.json: linux.resources.cpu.cpus: expected a string, got an array" },
		{ RES("'pids':{'limit':'max'}"),
		  "config.json: linux.resources.pids.limit: expected an integer" },
		{ RES("'blockIO':{'weight':70000}"),
		  "config.json: linux.resources.blockIO.weight: expected an integer between 0 and "
		  "65535, got 70000" },
		{ RES("'blockIO':{'weightDevice':[{'major':8,'minor':0}]}"),
		  "config.json: linux.resources.blockIO.weightDevice[0]: needs weight or "
		  "leafWeight" },
		{ RES("'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}"),
		  "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: required "
		  "field "
		  "is missing" },
		{ RES("'blockIO':{'throttleWriteIOPSDevice':[{'minor':0,'rate':1}]}"),
		  "config.json: linux.resources.blockIO.throttleWriteIOPSDevice[0].major: required "
		  "field is missing" },
		{ RES("'hugepageLimits':[{'pageSize':'2M','limit':1}]"),
		  "config.json: linux.resources.hugepageLimits[0].pageSize: \"2M\" is not a page "
		  "size" },
		{ RES("'hugepageLimits':[{'pageSize':'2MB'}]"),
		  "config.json: linux.resources.hugepageLimits[0].limit: required field is "
		  "missing" },
		{ RES("'network':{'classID':-1}"),
		  "config.json: linux.resources.network.classID: expected an integer between 0 and "
		  "4294967295, got -1" },
		{ RES("'network':{'priorities':[{'priority':1}]}"),
		  "config.json: linux.resources.network.priorities[0].name: required field is "
		  "missing" },
		{ RES("'rdma':{'mlx5_1':{'hcaHandles':'3'}}"),
		  "config.json: linux.resources.rdma.mlx5_1.hcaHandles: expected an integer" },
		{ RES("'rdma':{'mlx5_1':[]}"),
		  "config.json: linux.resources.rdma.mlx5_1: expected an object, got an array" },
		{ RES("'unified':{'../x.y':'1'}"),
		  "config.json: linux.resources.unified[\"../x.y\"]: not a cgroup v2 file name" },
		{ RES("'unified':{'memory.high':1}"),
		  "config.json: linux.resources.unified[\"memory.high\"]: expected a string, got "
		  "1" },
	};
	CHECK_TABLE(t);
}

static void seccomp(void)
{
	static const struct bad t[] = {
		{ SECCOMP("'defaultAction':'SCMP_ACT_FOO'"),
		  "config.json: linux.seccomp.defaultAction: unknown seccomp action "
		  "\"SCMP_ACT_FOO\"" },
		{ SECCOMP("'architectures':['SCMP_ARCH_X86']"),
		  "config.json: linux.seccomp.defaultAction: required field is missing" },
		{ SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86',"
			  "'SCMP_ARCH_Z80']"),
		  "config.json: linux.seccomp.architectures[1]: unknown seccomp architecture "
		  "\"SCMP_ARCH_Z80\"" },
		{ SC1("'names':['read'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':1,"
		      "'op':'SCMP_CMP_FOO'}]"),
		  "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "
		  "\"SCMP_CMP_FOO\"" },
		{ SC1("'names':['read'],'action':'SCMP_ACT_ALLOW','args':[{'index':6,'value':1,"
		      "'op':'SCMP_CMP_EQ'}]"),
		  "config.json: linux.seccomp.syscalls[0].args[0].index: expected an integer "
		  "between "
		  "0 and 5, got 6" },
		{ SC1("'names':['read'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,'op':'SCMP_"
		      "CMP_EQ'}]"),
		  "config.json: linux.seccomp.syscalls[0].args[0].value: required field is "
		  "missing" },
		{ SC1("'names':['read'],'action':'SCMP_ACT_ALLOW','errnoRet':1"),
		  "config.json: linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and "
		  "SCMP_ACT_TRACE take an errno" },
		{ SC1("'names':['read'],'action':'SCMP_ACT_KILL','errnoRet':1"),
		  "config.json: linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO" },
		{ SECCOMP("'defaultAction':'SCMP_ACT_LOG','defaultErrnoRet':1"),
		  "config.json: linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and "
		  "SCMP_ACT_TRACE "
		  "take an errno" },
		{ SC1("'names':[],'action':'SCMP_ACT_ALLOW'"),
		  "config.json: linux.seccomp.syscalls[0].names: must name at least one system "
		  "call" },
		{ SC1("'names':['read',''],'action':'SCMP_ACT_ALLOW'"),
		  "config.json: linux.seccomp.syscalls[0].names[1]: empty system call name" },
		{ SC1("'action':'SCMP_ACT_ALLOW'"),
		  "config.json: linux.seccomp.syscalls[0].names: required field is missing" },
		{ SC1("'names':['read']"),
		  "config.json: linux.seccomp.syscalls[0].action: required field is missing" },
		{ SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_BOGUS']"),
		  "config.json: linux.seccomp.flags[0]: unknown seccomp flag "
		  "\"SECCOMP_FILTER_FLAG_BOGUS\"" },
		{ SC1("'names':['mount'],'action':'SCMP_ACT_NOTIFY'"),
		  "config.json: linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs "
		  "seccomp.listenerPath" },
		{ SECCOMP("'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/s'"),
		  "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
		  "action" },
		{ SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','listenerMetadata':'m'"),
		  "config.json: linux.seccomp.listenerMetadata: needs seccomp.listenerPath" },
		{ SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'run/s.sock'"),
		  "config.json: linux.seccomp.listenerPath: \"run/s.sock\" is not an absolute "
		  "path" },
		{ SECCOMP("'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':65536"),
		  "config.json: linux.seccomp.defaultErrnoRet: expected an integer between 0 and "
		  "65535, got 65536" },
		{ LINUX("'seccomp':[]"),
		  "config.json: linux.seccomp: expected an object, got an array" },
	};
	CHECK_TABLE(t);
}

T_MAIN("oci-errors-linux", T_CASE(namespaces_ids), T_CASE(linux_misc), T_CASE(resources),
       T_CASE(seccomp))
