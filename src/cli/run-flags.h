/* Flags of `run` (and `update`) that edit the container's config before it
 * is created: resource limits (--memory, --cpus, ...) into linux.resources,
 * network requests (--net, --ip, -p, ...) into annotations.  They apply to
 * a bundle's config.json and to a generated one alike.
 *
 * Each family owns an option table and a handler in its own file; option
 * values: resources 2000-2099, network 2100-2199. */
#ifndef CELL_CLI_RUN_FLAGS_H
#define CELL_CLI_RUN_FLAGS_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "base/err.h"

struct run_flags {
	json_object *resources;   /* an object merged into linux.resources, or NULL */
	json_object *annotations; /* an object merged into annotations, or NULL */
	bool network_none;        /* --net none: no network namespace setup */
	bool network_host;        /* --net host: share the host's network namespace */
};

/* run-flags-resources.c */
extern const struct option run_resource_options[];
/* 0 when taken, -ENOENT when c is not a resource flag, else an error
 * naming the flag and the bad value. */
int run_resource_option(struct run_flags *f, int c, const char *arg, struct cell_err **err);
/* Checks across flags, once all are taken (--cpu-quota needs --cpu-period,
 * --memory-swap not below --memory); run_flags_apply() calls it. */
int run_resource_check(const struct run_flags *f, struct cell_err **err);

/* run-flags-network.c */
extern const struct option run_network_options[];
int run_network_option(struct run_flags *f, int c, const char *arg, struct cell_err **err);
/* The default network for the human form of `run` (generated: a config
 * cell wrote), and for --ip, -p or --net-rate, unless --net or the
 * config's own annotations name one. */
void run_network_default(struct run_flags *f, json_object *cfg, bool generated);

/* run-flags.c: merge what the flags collected into cfg. */
int run_flags_apply(const struct run_flags *f, json_object *cfg, struct cell_err **err);
void run_flags_clear(struct run_flags *f);
/* How many entries (without the terminator) an option table has. */
size_t run_options_count(const struct option *o);

#endif
