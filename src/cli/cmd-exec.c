/* cell exec [options] ID [COMMAND [ARGS...]]
 *   -p/--process FILE   the process as OCI JSON (instead of COMMAND)
 *   -e/--env K=V  --cwd DIR  -u/--user UID[:GID]  -g/--additional-gids GID
 *   -t/--tty  --console-socket S  -d/--detach  --pid-file F
 *   -c/--cap CAP  --no-new-privs  --preserve-fds N */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "container/container.h"
#include "container/tty.h"
#include "oci/spec.h"
#include "os/process.h"

enum { O_CONSOLE = 1000, O_PID_FILE, O_NNP, O_PRESERVE, O_CWD, O_IGNORED, O_IGNORED_ARG };

static int parse_user(const char *s, struct container_exec_opts *o)
{
	int64_t uid, gid = 0;
	_cleanup_free_ char *copy = xstrdup(s);
	char *colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	if (cell_parse_int64(copy, 0, UINT32_MAX, &uid) < 0 ||
	    (colon && cell_parse_int64(colon + 1, 0, UINT32_MAX, &gid) < 0))
		return -1;
	o->has_user = true;
	o->uid = (uint32_t)uid;
	o->gid = (uint32_t)gid;
	return 0;
}

static int load_process(const char *path, struct oci_process **ret, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = cell_read_file(path, OCI_SPEC_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return cell_err_wrap(err, "--process");
	return oci_process_parse(text, len, path, ret, err);
}

static int finish(struct container_exec_opts *o, struct container_execed *ex)
{
	int status;
	if (ex->pty_master >= 0) {
		struct cell_err *err = NULL;
		tty_relay(ex->pty_master, ex->pidfd, &err);
		cell_err_free(err);
		status = cli_wait_forwarding(ex->pid, ex->pidfd);
	} else {
		status = cli_wait_forwarding(ex->pid, ex->pidfd);
	}
	(void)o;
	return os_exit_status(status);
}

CLI_COMMAND(exec)
{
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },  { "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, O_CWD },     { "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "tty", no_argument, NULL, 't' },	       { "console-socket", required_argument, NULL, O_CONSOLE },
		{ "detach", no_argument, NULL, 'd' },	       { "pid-file", required_argument, NULL, O_PID_FILE },
		{ "cap", required_argument, NULL, 'c' },       { "no-new-privs", no_argument, NULL, O_NNP },
		{ "preserve-fds", required_argument, NULL, O_PRESERVE },
		{ "process-label", required_argument, NULL, O_IGNORED_ARG },
		{ "apparmor", required_argument, NULL, O_IGNORED_ARG },
		{ "cgroup", required_argument, NULL, O_IGNORED_ARG },
		{ "ignore-paused", no_argument, NULL, O_IGNORED },
		{ 0 },
	};
	struct container_exec_opts o = { 0 };
	_cleanup_strv_ char **env = NULL, **caps = NULL;
	uint32_t gids[64];
	const char *process_file = NULL;
	int64_t n;
	int c;
	while ((c = getopt_long(argc, argv, "+p:e:u:g:tdc:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': process_file = optarg; break;
		case 'e': cell_strv_push(&env, optarg); break;
		case O_CWD: o.cwd = optarg; break;
		case 'u':
			if (parse_user(optarg, &o) < 0)
				return cli_usage_error("exec", "--user: \"%s\" is not UID[:GID]", optarg);
			break;
		case 'g':
			if (o.n_additional_gids >= ARRAY_SIZE(gids) ||
			    cell_parse_int64(optarg, 0, UINT32_MAX, &n) < 0)
				return cli_usage_error("exec", "--additional-gids: bad gid \"%s\"", optarg);
			gids[o.n_additional_gids++] = (uint32_t)n;
			break;
		case 't': o.tty = true; break;
		case O_CONSOLE: o.console_socket = optarg; break;
		case 'd': o.detach = true; break;
		case O_PID_FILE: o.pid_file = optarg; break;
		case 'c': cell_strv_push(&caps, optarg); break;
		case O_NNP: o.no_new_privs = true; break;
		case O_PRESERVE:
			if (cell_parse_int64(optarg, 0, 65536, &n) < 0)
				return cli_usage_error("exec", "--preserve-fds: bad count \"%s\"", optarg);
			o.preserve_fds = (int)n;
			break;
		case O_IGNORED:
		case O_IGNORED_ARG:
			break;
		default:
			return cli_usage_error("exec", "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("exec", "missing container id");
	o.id = argv[optind];
	o.args = argv + optind + 1;
	o.env = env;
	o.add_caps = caps;
	o.additional_gids = gids;
	struct cell_err *err = NULL;
	struct oci_process *proc = NULL;
	if (process_file) {
		if (load_process(process_file, &proc, &err) < 0)
			return cli_fail(err);
		o.process = proc;
	} else if (!o.args[0]) {
		return cli_usage_error("exec", "missing command (or --process FILE)");
	}
	bool tty = proc ? proc->terminal : o.tty;
	o.keep_pty = tty && !o.console_socket;
	if (o.keep_pty && o.detach) {
		oci_process_free(proc);
		return cli_usage_error("exec", "--detach with a terminal needs --console-socket");
	}
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct container_execed ex;
	int r = container_exec(&cctx, &o, &ex, &err);
	oci_process_free(proc);
	if (r < 0)
		return cli_fail(err);
	if (o.detach) {
		close(ex.pidfd);
		return 0;
	}
	r = finish(&o, &ex);
	close(ex.pidfd);
	if (ex.pty_master >= 0)
		close(ex.pty_master);
	return r;
}
