/* Helpers shared by the src/oci unit tests. */
#ifndef CELL_TESTS_OCI_TEST_H
#define CELL_TESTS_OCI_TEST_H

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "oci/spec.h"

/* JSON written with single quotes in C source, made real. */
static inline char *oci_t_quotes(const char *s)
{
	char *j = xstrdup(s);
	for (char *p = j; *p; p++)
		if (*p == '\'')
			*p = '"';
	return j;
}

/* Parse s (single-quoted JSON); NULL on failure, with the message in msg. */
static inline struct oci_spec *oci_t_parse(const char *s, char *msg, size_t msg_size)
{
	char *j = oci_t_quotes(s);
	struct oci_spec *spec = NULL;
	struct cell_err *err = NULL;
	msg[0] = '\0';
	if (oci_spec_parse(j, strlen(j), "config.json", &spec, &err) < 0) {
		snprintf(msg, msg_size, "%s", err && err->msg ? err->msg : "(no message)");
		spec = NULL;
	}
	cell_err_free(err);
	free(j);
	return spec;
}

/* A seed-corpus file, parsed; NULL with msg set on failure. */
static inline struct oci_spec *oci_t_load(const char *file, char *msg, size_t msg_size)
{
	char *path = xasprintf("%s/%s", OCI_CORPUS, file);
	struct oci_spec *spec = NULL;
	struct cell_err *err = NULL;
	msg[0] = '\0';
	if (oci_spec_load(path, &spec, &err) < 0)
		snprintf(msg, msg_size, "%s", err && err->msg ? err->msg : "(no message)");
	cell_err_free(err);
	free(path);
	return spec;
}

#endif
