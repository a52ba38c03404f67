/* What execve will run, decided inside the container before it is created,
 * so that a missing binary fails `create` (as runc does) rather than leaving
 * a container that dies on `start`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "container/internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static bool executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int resolve_exec(const struct oci_process *p, char **ret, struct cell_err **err)
{
	if (!p->args || !p->args[0])
		return cell_err(err, 0, "process.args: empty");
	const char *arg0 = p->args[0];
	if (strchr(arg0, '/')) {
		struct stat st;
		if (stat(arg0, &st) < 0)
			return cell_err_sys(err, "exec: \"%s\": stat %s", arg0, arg0);
		if (!S_ISREG(st.st_mode) || access(arg0, X_OK) < 0)
			return cell_err(err, EACCES, "exec: \"%s\"", arg0);
		*ret = xstrdup(arg0);
		return 0;
	}
	const char *path = env_get(p->env, "PATH");
	_cleanup_free_ char *dirs = xstrdup(path ? path : DEFAULT_PATH);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = xasprintf("%s/%s", *d ? d : ".", arg0);
		if (executable(cand)) {
			*ret = TAKE_PTR(cand);
			return 0;
		}
	}
	return cell_err(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", arg0);
}

/* HOME from the container's /etc/passwd when the config sets none, as
 * runc does; "/" when the user has no entry. */
void add_default_home(struct oci_process *p)
{
	if (env_get(p->env, "HOME"))
		return;
	const char *home = "/";
	char line[1024], found[1024];
	_cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *fields[7] = { 0 }, *s = line;
		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < 7 && s; i++)
			fields[i] = strsep(&s, ":");
		if (fields[2] && fields[5] && strtoul(fields[2], NULL, 10) == p->user.uid) {
			snprintf(found, sizeof(found), "%s", fields[5]);
			home = found;
			break;
		}
	}
	_cleanup_free_ char *kv = xasprintf("HOME=%s", home);
	cell_strv_push(&p->env, kv);
}
