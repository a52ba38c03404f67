/* cell vm run|list|stop|kill|stats: microVMs on cell's own monitor. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "vm/vm.h"

/* As the program ended: its exit code, or its signal raised on ourselves
 * so that our caller's wait status says the same. */
static int finish(const struct vm_result *r)
{
	if (r->vm_failed || (r->signal && r->report[0]))
		fprintf(stderr, "cell: vm: %s\n", r->report);
	if (r->vm_failed)
		return 1;
	if (r->exited)
		return r->code;
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	signal(r->signal, SIG_DFL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, r->signal);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(r->signal);
	return 128 + r->signal;
}

static int vm_run(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rootfs", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "cwd", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },
		{ 0 },
	};
	(void)ctx;
	struct vm_guest_config cfg = { .stdio = { 0, 1, 2 } };
	_cleanup_strv_ char **env = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+r:m:c:w:e:", opts, NULL)) != -1) {
		switch (c) {
		case 'r': cfg.rootfs = optarg; break;
		case 'm':
			if (cell_parse_size(optarg, &cfg.mem_size) < 0)
				return cli_usage_error("vm run", "--memory: bad size \"%s\"", optarg);
			break;
		case 'c': {
			int64_t n;
			if (cell_parse_int64(optarg, 1, 64, &n) < 0)
				return cli_usage_error("vm run", "--vcpus: expected 1-64, got \"%s\"", optarg);
			cfg.vcpus = (unsigned)n;
			break;
		}
		case 'w': cfg.cwd = optarg; break;
		case 'e': cell_strv_push(&env, optarg); break;
		default:
			return cli_usage_error("vm run", "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (!cfg.rootfs)
		return cli_usage_error("vm run", "missing --rootfs DIR");
	if (optind >= argc)
		return cli_usage_error("vm run", "missing the program to run");
	if (!env)
		cell_strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	cfg.env = env;
	cfg.argv = argv + optind;
	struct vm_result res = { 0 };
	struct cell_err *err = NULL;
	if (vm_guest_run(&cfg, &res, &err) < 0)
		return cli_fail(err);
	return finish(&res);
}

CLI_COMMAND(vm)
{
	if (argc < 2)
		return cli_usage_error("vm", "missing a verb (run, list, stop, kill, stats)");
	if (strcmp(argv[1], "run") == 0)
		return vm_run(ctx, argc - 1, argv + 1);
	return cli_usage_error("vm", "unknown verb \"%s\"", argv[1]);
}
