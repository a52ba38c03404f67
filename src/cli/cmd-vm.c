/* cell vm run|list|stop|kill|stats|pause|resume: microVMs on cell's own
 * monitor (src/vm).
 *
 *   cell vm run [--name ID] [-d] [--memory SIZE] [--vcpus N] [--hugepages]
 *               --rootfs DIR [--cwd DIR] [--env K=V]... -- PROGRAM [ARGS]
 *   cell vm run [...] --kernel FILE [--initrd FILE] [--cmdline STRING]
 *
 * In the foreground the exit status is the program's; a program killed by a
 * signal kills cell with the same signal, as if it had run natively. */
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/run-vm.h"
#include "vm/vm.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* As the program ended: its exit code, or its signal raised on ourselves
 * so that our caller's wait status says the same. */
static int finish(const struct vm_result *r)
{
	int code = run_vm_exit_status(r);
	if (r->vm_failed || r->exited)
		return code;
	fflush(stdout);
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	signal(r->signal, SIG_DFL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, r->signal);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(r->signal);
	return code;
}

struct run_opts {
	struct vm_launch l;
	char **env;
	bool have_rootfs;
};

static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "rootfs", required_argument, NULL, 'r' }, { "memory", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'c' },  { "cwd", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },    { "name", required_argument, NULL, 'n' },
		{ "detach", no_argument, NULL, 'd' },       { "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' }, { "cmdline", required_argument, NULL, 'l' },
		{ "hugepages", no_argument, NULL, 'H' },    { "no-sandbox", no_argument, NULL, 'S' },
		{ "cgroup-parent", required_argument, NULL, 'g' }, { 0 },
	};
	struct vm_launch *l = &o->l;
	uint64_t mem = 0;
	unsigned vcpus = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+r:m:c:w:e:n:dk:i:l:", opts, NULL)) != -1) {
		int64_t n;
		switch (c) {
		case 'r': l->guest.rootfs = optarg; o->have_rootfs = true; break;
		case 'm':
			if (cell_parse_size(optarg, &mem) < 0)
				return cli_usage_error("vm run", "--memory: bad size \"%s\"", optarg);
			break;
		case 'c':
			if (cell_parse_int64(optarg, 1, 64, &n) < 0)
				return cli_usage_error("vm run", "--vcpus: expected 1-64, got \"%s\"", optarg);
			vcpus = (unsigned)n;
			break;
		case 'w': l->guest.cwd = optarg; break;
		case 'e':
			if (!strchr(optarg, '='))
				return cli_usage_error("vm run", "--env: expected KEY=VALUE, got \"%s\"", optarg);
			cell_strv_push(&o->env, optarg);
			break;
		case 'n': l->id = optarg; break;
		case 'd': l->detach = true; break;
		case 'k': l->linux_.kernel = optarg; l->kind = VM_KIND_LINUX; break;
		case 'i': l->linux_.initrd = optarg; break;
		case 'l': l->linux_.cmdline = optarg; break;
		case 'H': l->guest.hugepages = l->linux_.hugepages = true; break;
		case 'S': l->no_sandbox = true; break;
		case 'g': l->cgroup_parent = optarg; break;
		default:
			return cli_usage_error("vm run", "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	l->guest.mem_size = l->linux_.mem_size = mem;
	l->guest.vcpus = l->linux_.vcpus = vcpus;
	if (l->kind == VM_KIND_LINUX) {
		if (o->have_rootfs || optind < argc)
			return cli_usage_error("vm run", "--kernel boots Linux: no --rootfs or program");
		return 0;
	}
	if (!o->have_rootfs)
		return cli_usage_error("vm run", "missing --rootfs DIR (or --kernel FILE)");
	if (optind >= argc)
		return cli_usage_error("vm run", "missing the program to run");
	if (!o->env)
		cell_strv_push(&o->env, DEFAULT_PATH);
	l->guest.env = o->env;
	l->guest.argv = argv + optind;
	return 0;
}

static int vm_run(struct cli_ctx *ctx, int argc, char **argv)
{
	struct run_opts o = { .l = { .root = ctx->root } };
	o.l.guest.stdio[0] = 0;
	o.l.guest.stdio[1] = 1;
	o.l.guest.stdio[2] = 2;
	o.l.linux_.console_fd = 1;
	int r = parse_run(argc, argv, &o);
	if (r) {
		cell_strv_free(o.env);
		return r;
	}
	struct cell_err *err = NULL;
	struct vm_instance *vi;
	if (vm_launch(&o.l, &vi, &err) < 0) {
		cell_strv_free(o.env);
		return cli_fail(err);
	}
	cell_strv_free(o.env);
	if (o.l.detach) {
		printf("%s\n", vm_instance_id(vi));
		vm_instance_free(vi);
		return 0;
	}
	int wstatus = cli_wait_forwarding(vm_instance_pid(vi), vm_instance_pidfd(vi));
	struct vm_result res;
	if (vm_instance_finish(vi, wstatus, &res, &err) < 0)
		return cli_fail(err);
	return finish(&res);
}

static int vm_list_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "quiet", no_argument, NULL, 'q' }, { 0 } };
	bool json = false, quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
		if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json = strcmp(optarg, "json") == 0;
		else if (c == 'q')
			quiet = true;
		else
			return cli_usage_error("vm list", "unknown option \"%s\"", argv[optind - 1]);
	}
	struct vm_info *v;
	size_t n;
	struct cell_err *err = NULL;
	if (vm_list(ctx->root, &v, &n, &err) < 0)
		return cli_fail(err);
	if (json) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(v[i].id));
			json_object_object_add(o, "status", json_object_new_string(v[i].status));
			json_object_object_add(o, "kind", json_object_new_string(v[i].kind));
			json_object_object_add(o, "pid", json_object_new_int(v[i].pid));
			json_object_object_add(o, "created", json_object_new_string(v[i].created));
			json_object_object_add(o, "what", json_object_new_string(v[i].what));
			if (v[i].result)
				json_object_object_add(o, "result", json_object_new_string(v[i].result));
			json_object_array_add(a, o);
		}
		printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
		json_object_put(a);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].id);
	} else {
		printf("%-20s %-8s %-6s %-8s %-30s %s\n", "ID", "STATUS", "KIND", "PID", "CREATED", "WHAT");
		for (size_t i = 0; i < n; i++)
			printf("%-20s %-8s %-6s %-8d %-30s %s%s%s%s\n", v[i].id, v[i].status, v[i].kind,
			       v[i].pid, v[i].created, v[i].what, v[i].result ? " (" : "",
			       v[i].result ? v[i].result : "", v[i].result ? ")" : "");
	}
	vm_info_free(v, n);
	return 0;
}

static int vm_stop_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "timeout", required_argument, NULL, 't' }, { 0 } };
	int64_t timeout = 10;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1)
		if (c != 't' || cell_parse_int64(optarg, 0, 3600, &timeout) < 0)
			return cli_usage_error("vm stop", "bad option \"%s\"", argv[optind - 1]);
	if (cli_expect_args("vm stop", argc, argv, optind, 1, "VM id"))
		return 1;
	struct cell_err *err = NULL;
	if (vm_stop(ctx->root, argv[optind], (int)timeout, &err) < 0)
		return cli_fail(err);
	return 0;
}

static int vm_kill_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		return cli_usage_error("vm kill", argc < 2 ? "missing VM id" : "unexpected argument \"%s\"",
				       argc > 3 ? argv[3] : "");
	int sig = SIGKILL;
	if (argc == 3 && (sig = cli_parse_signal(argv[2])) < 0)
		return cli_usage_error("vm kill", "unknown signal \"%s\"", argv[2]);
	struct cell_err *err = NULL;
	if (vm_kill(ctx->root, argv[1], sig, &err) < 0)
		return cli_fail(err);
	return 0;
}

static int vm_request(struct cli_ctx *ctx, int argc, char **argv, const char *verb, const char *req)
{
	if (cli_expect_args(verb, argc, argv, 1, 1, "VM id"))
		return 1;
	struct cell_err *err = NULL;
	char *ans = NULL;
	if (vm_control(ctx->root, argv[1], req, &ans, &err) < 0)
		return cli_fail(err);
	if (strcmp(verb, "vm stats") == 0) {
		struct json_object *o = json_tokener_parse(ans), *s;
		if (o && json_object_object_get_ex(o, "stats", &s))
			printf("%s\n", json_object_to_json_string_ext(s, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	}
	free(ans);
	return 0;
}

CLI_COMMAND(vm)
{
	if (argc < 2)
		return cli_usage_error("vm", "missing a verb (run, list, stop, kill, stats, pause, resume)");
	const char *v = argv[1];
	if (strcmp(v, "run") == 0)
		return vm_run(ctx, argc - 1, argv + 1);
	if (strcmp(v, "list") == 0 || strcmp(v, "ls") == 0)
		return vm_list_cmd(ctx, argc - 1, argv + 1);
	if (strcmp(v, "stop") == 0)
		return vm_stop_cmd(ctx, argc - 1, argv + 1);
	if (strcmp(v, "kill") == 0)
		return vm_kill_cmd(ctx, argc - 1, argv + 1);
	if (strcmp(v, "stats") == 0)
		return vm_request(ctx, argc - 1, argv + 1, "vm stats", "{\"cmd\":\"stats\"}");
	if (strcmp(v, "pause") == 0)
		return vm_request(ctx, argc - 1, argv + 1, "vm pause", "{\"cmd\":\"pause\"}");
	if (strcmp(v, "resume") == 0)
		return vm_request(ctx, argc - 1, argv + 1, "vm resume", "{\"cmd\":\"resume\"}");
	return cli_usage_error("vm", "unknown verb \"%s\"", v);
}
