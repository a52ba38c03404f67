/* The ledger: what cell is about to create, written before it creates it,
 * so that whatever kills cell (even SIGKILL between two syscalls) a later
 * command finds every resource to undo.  Undoing an entry whose resource
 * never came to be must therefore be harmless; that is the undoer's job. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "state/state.h"

#define LEDGER_FILE "ledger"
#define LEDGER_MAX (4u << 20)

static void escape_into(char **buf, size_t *len, size_t *cap, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*len + 4 >= *cap) {
			*cap = *cap * 2 + 16;
			*buf = xrealloc(*buf, *cap);
		}
		if (*p <= ' ' || *p == '%' || *p == 0x7f)
			*len += (size_t)sprintf(*buf + *len, "%%%02X", *p);
		else
			(*buf)[(*len)++] = (char)*p;
	}
}

int ledger_append(struct state_dir *dir, const char *kind, char *const *args,
		  struct cell_err **err)
{
	size_t len = 0, cap = 128;
	_cleanup_free_ char *line = xmalloc(cap);
	escape_into(&line, &len, &cap, kind);
	for (size_t i = 0; args && args[i]; i++) {
		if (len + 3 >= cap) {
			cap = cap * 2 + 16;
			line = xrealloc(line, cap);
		}
		line[len++] = ' ';
		/* A lone "%" (never the output of escaping) stands for "". */
		if (!*args[i])
			line[len++] = '%';
		escape_into(&line, &len, &cap, args[i]);
	}
	line = xrealloc(line, len + 2);
	line[len++] = '\n';
	_cleanup_close_ int fd =
		openat(dir->fd, LEDGER_FILE, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cell_err_sys(err, "open %s/%s", dir->path, LEDGER_FILE);
	/* One write of a short line with O_APPEND: a crash leaves it whole or absent. */
	int r = cell_write_all(fd, line, len);
	if (r < 0)
		return cell_err(err, -r, "write %s/%s", dir->path, LEDGER_FILE);
	return 0;
}

static char *unescape(const char *s)
{
	if (strcmp(s, "%") == 0)
		return xstrdup("");
	char *out = xmalloc(strlen(s) + 1), *o = out;
	for (; *s; s++) {
		unsigned int c;
		if (*s == '%' && sscanf(s + 1, "%2X", &c) == 1) {
			*o++ = (char)c;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

int ledger_read(struct state_dir *dir, struct ledger_entry **ret, size_t *ret_n,
		struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	struct cell_err *e = NULL;
	int r = cell_read_file_at(dir->fd, LEDGER_FILE, LEDGER_MAX, &text, NULL, &e);
	if (r == -ENOENT) {
		cell_err_free(e);
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0) {
		cell_err_free(*err);
		*err = e;
		return r;
	}
	struct ledger_entry *entries = NULL;
	size_t n = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *wsave = NULL, *word = strtok_r(line, " ", &wsave);
		if (!word)
			continue;
		entries = xrealloc(entries, (n + 1) * sizeof(*entries));
		struct ledger_entry *en = &entries[n++];
		en->kind = unescape(word);
		en->args = xcalloc(1, sizeof(char *));
		while ((word = strtok_r(NULL, " ", &wsave))) {
			_cleanup_free_ char *arg = unescape(word);
			cell_strv_push(&en->args, arg);
		}
	}
	*ret = entries;
	*ret_n = n;
	return 0;
}

void ledger_free(struct ledger_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(entries[i].kind);
		cell_strv_free(entries[i].args);
	}
	free(entries);
}
