/* Shared by the golden error tests of src/oci: JSON in single quotes (see
 * oci-test.h), shorthands that wrap a fragment into a minimal valid spec,
 * and a table check of (input, expected message substring) pairs. */
#ifndef CELL_TESTS_OCI_ERRORS_H
#define CELL_TESTS_OCI_ERRORS_H

#include <stdlib.h>
#include <string.h>

#include "oci-test.h"
#include "t.h"

static char msg[4096];

/* JSON in single quotes (see oci-test.h); V and P make a minimal valid spec. */
#define V "'ociVersion':'1.2.0'"
#define P "'process':{'user':{'uid':0,'gid':0},'args':['sh'],'cwd':'/'}"
#define PROC(...) \
	"{" V ",'process':{'user':{'uid':0,'gid':0},'args':['sh'],'cwd':'/'," __VA_ARGS__ "}}"
#define USER(...) "{" V ",'process':{'args':['sh'],'cwd':'/','user':{" __VA_ARGS__ "}}}"
#define LINUX(...) "{" V ",'linux':{" __VA_ARGS__ "}}"
#define RES(...) LINUX("'resources':{" __VA_ARGS__ "}")
#define SECCOMP(...) LINUX("'seccomp':{" __VA_ARGS__ "}")
#define SC1(...) SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{" __VA_ARGS__ "}]")
#define NS_USER "'namespaces':[{'type':'user'}]"
#define MAPS                                                        \
	"'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]," \
	"'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]"

struct bad {
	const char *json;
	const char *want;
};

static inline int check_table(const struct bad *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct oci_spec *s = oci_t_parse(t[i].json, msg, sizeof(msg));
		if (s) {
			oci_spec_free(s);
			snprintf(t_why, sizeof(t_why), "case %zu parsed: %.900s", i, t[i].json);
			return -1;
		}
		if (!strstr(msg, t[i].want)) {
			snprintf(t_why, sizeof(t_why), "case %zu: \"%.400s\" lacks \"%.400s\"", i,
				 msg, t[i].want);
			return -1;
		}
	}
	return 0;
}

#define CHECK_TABLE(t)                                   \
	do {                                             \
		if (check_table(t, ARRAY_SIZE(t)) < 0) { \
			t_state = 1;                     \
			return;                          \
		}                                        \
	} while (0)

#endif
