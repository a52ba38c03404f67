#include "ckpt/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/image.h"

int ck_proc_read(int procfd, pid_t pid, const char *what, char **ret, size_t *ret_len,
		 struct cell_err **err)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/%s", (int)pid, what);
	return cell_read_file_at(procfd, path, 64 << 20, ret, ret_len, err);
}

int ck_proc_readlink(int procfd, pid_t pid, const char *what, char **ret, struct cell_err **err)
{
	_cleanup_free_ char *path = xasprintf("%d/%s", (int)pid, what);
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(procfd, path, buf, PATH_MAX);
	if (n < 0)
		return cell_err_sys(err, "readlink /proc/%s", path);
	buf[n] = '\0';
	*ret = xstrdup(buf);
	return 0;
}

/* "NSpid:\t6878\t777" -> the last number, and how many there are. */
static pid_t last_num(const char *v, int *ret_count)
{
	pid_t last = 0;
	int n = 0;
	const char *p = v;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		last = (pid_t)strtol(p, (char **)&p, 10);
		n++;
	}
	if (ret_count)
		*ret_count = n;
	return last;
}

static void four(const char *v, uint32_t out[4])
{
	const char *p = v;
	for (int i = 0; i < 4; i++)
		out[i] = (uint32_t)strtoul(p, (char **)&p, 10);
}

static void status_line(struct ck_pstatus *s, const char *key, const char *v)
{
	if (!strcmp(key, "State"))
		s->state = v[0];
	else if (!strcmp(key, "NSpid"))
		s->ns_pid = last_num(v, &s->ns_depth);
	else if (!strcmp(key, "NStgid"))
		s->ns_tgid = last_num(v, NULL);
	else if (!strcmp(key, "NSpgid"))
		s->ns_pgid = last_num(v, NULL);
	else if (!strcmp(key, "NSsid"))
		s->ns_sid = last_num(v, NULL);
	else if (!strcmp(key, "PPid"))
		s->ppid = (pid_t)atoi(v);
	else if (!strcmp(key, "TracerPid"))
		s->tracer = (pid_t)atoi(v);
	else if (!strcmp(key, "Uid"))
		four(v, s->uid);
	else if (!strcmp(key, "Gid"))
		four(v, s->gid);
	else if (!strcmp(key, "CapInh"))
		s->cap_inh = strtoull(v, NULL, 16);
	else if (!strcmp(key, "CapPrm"))
		s->cap_prm = strtoull(v, NULL, 16);
	else if (!strcmp(key, "CapEff"))
		s->cap_eff = strtoull(v, NULL, 16);
	else if (!strcmp(key, "CapBnd"))
		s->cap_bnd = strtoull(v, NULL, 16);
	else if (!strcmp(key, "CapAmb"))
		s->cap_amb = strtoull(v, NULL, 16);
	else if (!strcmp(key, "NoNewPrivs"))
		s->no_new_privs = atoi(v) != 0;
	else if (!strcmp(key, "Seccomp"))
		s->seccomp = atoi(v);
	else if (!strcmp(key, "Umask"))
		s->umask = (uint32_t)strtoul(v, NULL, 8);
	else if (!strcmp(key, "Threads"))
		s->threads = atoi(v);
	else if (!strcmp(key, "SigBlk"))
		s->sig_blk = strtoull(v, NULL, 16);
	else if (!strcmp(key, "SigPnd"))
		s->sig_pnd = strtoull(v, NULL, 16);
	else if (!strcmp(key, "ShdPnd"))
		s->shd_pnd = strtoull(v, NULL, 16);
	else if (!strcmp(key, "Groups")) {
		const char *p = v;
		while (*p) {
			char *end;
			unsigned long g = strtoul(p, &end, 10);
			if (end == p)
				break;
			s->groups = xrealloc(s->groups, (s->ngroups + 1) * sizeof(uint32_t));
			s->groups[s->ngroups++] = (uint32_t)g;
			p = end;
		}
	}
}

int ck_proc_status(int procfd, const char *path, struct ck_pstatus *ret, struct cell_err **err)
{
	_cleanup_free_ char *p = xasprintf("%s/status", path), *buf = NULL;
	int r = cell_read_file_at(procfd, p, 1 << 20, &buf, NULL, err);
	if (r < 0)
		return r;
	struct ck_pstatus s = { 0 };
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		status_line(&s, line, v);
	}
	*ret = s;
	return 0;
}

void ck_pstatus_free(struct ck_pstatus *s)
{
	free(s->groups);
	s->groups = NULL;
}

int ck_proc_stat(int procfd, pid_t pid, struct ck_pstat *ret, struct cell_err **err)
{
	_cleanup_free_ char *buf = NULL;
	int r = ck_proc_read(procfd, pid, "stat", &buf, NULL, err);
	if (r < 0)
		return r;
	/* comm may hold anything, even ')': fields start after the last one. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return cell_err(err, EINVAL, "/proc/%d/stat: unexpected format", pid);
	p += 2;
	uint64_t f[64] = { 0 };
	char state = *p;
	int n = 3; /* field numbers as proc(5) counts them: state is 3 */
	p++;
	while (*p && n < 63) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		n++;
		f[n] = strtoull(p, &p, 10);
	}
	if (n < 51)
		return cell_err(err, EINVAL, "/proc/%d/stat: only %d fields", pid, n);
	*ret = (struct ck_pstat){
		.state = state, .tty_nr = (uint32_t)f[7], .tpgid = (int32_t)f[8], .start_code = f[26], .end_code = f[27], .start_stack = f[28],
		.exit_signal = (uint32_t)f[38], .start_data = f[45], .end_data = f[46],
		.start_brk = f[47], .arg_start = f[48], .arg_end = f[49], .env_start = f[50],
		.env_end = f[51],
	};
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

int ck_proc_threads(int procfd, pid_t pid, pid_t **ret, size_t *ret_n, struct cell_err **err)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/task", (int)pid);
	int fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open /proc/%s", path);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cell_err_sys(err, "open /proc/%s", path);
	}
	_cleanup_free_ pid_t *v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = (pid_t)atoi(de->d_name);
	}
	qsort(v, n, sizeof(*v), cmp_pid);
	/* The leader first: its tid is the pid. */
	for (size_t i = 0; i < n; i++) {
		if (v[i] == pid) {
			memmove(v + 1, v, i * sizeof(*v));
			v[0] = pid;
			break;
		}
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int ck_proc_children(int procfd, pid_t pid, pid_t **ret, size_t *ret_n, struct cell_err **err)
{
	_cleanup_free_ pid_t *tids = NULL, *v = NULL;
	size_t nt, n = 0;
	int r = ck_proc_threads(procfd, pid, &tids, &nt, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < nt; i++) {
		_cleanup_free_ char *what = xasprintf("task/%d/children", (int)tids[i]), *buf = NULL;
		r = ck_proc_read(procfd, pid, what, &buf, NULL, err);
		if (r < 0)
			return r;
		for (char *p = buf; *p;) {
			char *end;
			long c = strtol(p, &end, 10);
			if (end == p)
				break;
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = (pid_t)c;
			p = end;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_pid);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static uint32_t vmflag(const char *f)
{
	static const struct {
		const char name[3];
		uint32_t bit;
	} map[] = {
		{ "dc", CK_VMA_DONTFORK },  { "wf", CK_VMA_WIPEONFORK }, { "dd", CK_VMA_DONTDUMP },
		{ "hg", CK_VMA_HUGEPAGE },  { "nh", CK_VMA_NOHUGEPAGE }, { "mg", CK_VMA_MERGEABLE },
		{ "lo", CK_VMA_LOCKED },    { "nr", CK_VMA_NORESERVE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcmp(f, map[i].name))
			return map[i].bit;
	return 0;
}

static int parse_map_line(char *line, struct ck_pvma *v)
{
	char perms[8];
	unsigned maj, min;
	unsigned long long start, end, off, ino;
	int pos = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj,
		   &min, &ino, &pos) < 7)
		return -EINVAL;
	*v = (struct ck_pvma){ .start = start, .end = end, .pgoff = off,
			       .dev = makedev(maj, min), .ino = ino };
	v->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	v->shared = perms[3] == 's';
	const char *name = line + pos;
	while (*name == ' ')
		name++;
	if (*name)
		v->name = xstrdup(name);
	return 0;
}

static void parse_vmflags(struct ck_pvma *v, char *flags)
{
	for (char *save = NULL, *f = strtok_r(flags, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
		v->vmflags |= vmflag(f);
		if (!strcmp(f, "gd"))
			v->growsdown = true;
		if (!strcmp(f, "uw"))
			v->uffd_wp = true;
	}
}

static int read_vmas(int procfd, pid_t pid, const char *file, struct ck_pvma **ret,
		     size_t *ret_n, struct cell_err **err)
{
	_cleanup_free_ char *buf = NULL;
	int r = ck_proc_read(procfd, pid, file, &buf, NULL, err);
	if (r < 0)
		return r;
	struct ck_pvma *v = NULL;
	size_t n = 0;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (cell_str_has_prefix(line, "VmFlags:")) {
			if (n)
				parse_vmflags(&v[n - 1], line + 8);
			continue;
		}
		/* Attribute lines are "Key:   value"; a mapping line starts
		 * with a hex address followed by '-'. */
		const char *dash = line;
		while (isxdigit((unsigned char)*dash))
			dash++;
		if (dash == line || *dash != '-')
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		if (parse_map_line(line, &v[n]) < 0) {
			ck_pvmas_free(v, n);
			return cell_err(err, EINVAL, "/proc/%d/%s: cannot parse \"%s\"", pid, file,
					line);
		}
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int ck_proc_vmas(int procfd, pid_t pid, struct ck_pvma **ret, size_t *ret_n,
		 struct cell_err **err)
{
	return read_vmas(procfd, pid, "smaps", ret, ret_n, err);
}

int ck_proc_maps(int procfd, pid_t pid, struct ck_pvma **ret, size_t *ret_n,
		 struct cell_err **err)
{
	return read_vmas(procfd, pid, "maps", ret, ret_n, err);
}

void ck_pvmas_free(struct ck_pvma *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}
