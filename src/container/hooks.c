#include "container/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "os/process.h"

#include <linux/sched.h>

#define OUTPUT_KEEP 2048

__attribute__((noreturn)) static void exec_hook(const struct oci_hook *h, int in, int out)
{
	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	syscall(SYS_close_range, 3, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	char *fallback[] = { h->path, NULL };
	char *noenv[] = { NULL };
	execve(h->path, h->args && h->args[0] ? h->args : fallback, h->env ? h->env : noenv);
	dprintf(STDERR_FILENO, "exec %s: %s", h->path, strerror(errno));
	_exit(127);
}

/* Feed the state, collect output, and wait for exit or the deadline. */
static int supervise(int pidfd, int *in, int out, int timeout, const char *state, char *keep,
		     size_t *kept, bool *timed_out)
{
	size_t state_len = strlen(state), sent = 0;
	uint64_t deadline = timeout > 0 ? cell_now_ns() + (uint64_t)timeout * 1000000000ULL : 0;
	bool exited = false;
	fcntl(*in, F_SETFL, O_NONBLOCK);
	while (!exited || out >= 0) {
		struct pollfd p[3] = { { .fd = pidfd, .events = POLLIN },
				       { .fd = out, .events = POLLIN },
				       { .fd = *in, .events = POLLOUT } };
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = cell_now_ns();
			if (now >= deadline) {
				*timed_out = true;
				return 0;
			}
			wait_ms = (int)((deadline - now) / 1000000) + 1;
		}
		if (exited)
			p[0].fd = -1;
		int r = poll(p, 3, wait_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		if (p[0].revents)
			exited = true;
		if (p[2].revents) {
			ssize_t n = write(*in, state + sent, state_len - sent);
			if (n > 0)
				sent += (size_t)n;
			/* All sent, or the hook closed its stdin: EOF for the hook. */
			if (sent == state_len || (n < 0 && errno != EAGAIN)) {
				close(*in);
				*in = -1;
			}
		}
		if (p[1].revents) {
			char buf[1024];
			ssize_t n = read(out, buf, sizeof(buf));
			if (n <= 0) {
				out = -1;
				continue;
			}
			for (ssize_t i = 0; i < n; i++) {
				if (*kept == OUTPUT_KEEP - 1) {
					memmove(keep, keep + 1, OUTPUT_KEEP - 2);
					(*kept)--;
				}
				keep[(*kept)++] = buf[i];
			}
		}
	}
	return 0;
}

static int run_one(const struct oci_hook *h, const char *what, const char *state,
		   struct cell_err **err)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return cell_err_sys(err, "%s: pipe", what);
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return cell_err_sys(err, "%s: pipe", what);
	}
	int pidfd = -1;
	pid_t pid = os_clone3(CLONE_PIDFD, &pidfd, NULL, 0);
	if (pid == 0)
		exec_hook(h, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	_cleanup_close_ int wfd = in[1], rfd = out[0], pfd = pidfd;
	if (pid < 0)
		return cell_err(err, -pid, "%s: fork", what);
	char keep[OUTPUT_KEEP] = "";
	size_t kept = 0;
	bool timed_out = false;
	int r = supervise(pfd, &wfd, rfd, h->timeout, state, keep, &kept, &timed_out);
	if (timed_out || r < 0)
		os_pidfd_send_signal(pfd, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	keep[kept] = '\0';
	while (kept > 0 && (keep[kept - 1] == '\n' || keep[kept - 1] == ' '))
		keep[--kept] = '\0';
	if (timed_out)
		return cell_err(err, ETIMEDOUT, "%s timed out after %d seconds", what, h->timeout);
	if (r < 0)
		return cell_err(err, -r, "%s", what);
	if (status != 0)
		return cell_err(err, 0, "%s exited with status %d%s%s", what, os_exit_status(status),
				kept ? ": " : "", keep);
	cell_debug("%s ran", what);
	return 0;
}

int hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
	      struct cell_err **err)
{
	const struct oci_hook_list *list = &spec->hooks[kind];
	for (size_t i = 0; i < list->n; i++) {
		_cleanup_free_ char *what = xasprintf("hook hooks.%s[%zu] (%s)",
						      oci_hook_kind_name(kind), i, list->hooks[i].path);
		int r = run_one(&list->hooks[i], what, state_json, err);
		if (r < 0)
			return r;
	}
	return 0;
}
