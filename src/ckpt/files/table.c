/* The table of file kinds, in the order dump tries them. */
#include <stdlib.h>
#include <string.h>

#include "ckpt/files/files.h"

const struct ck_file_ops *const ck_file_kinds[] = {
	&ck_file_reg_ops,
	&ck_file_pipe_ops,
	&ck_file_eventfd_ops,
	&ck_file_signalfd_ops,
	&ck_file_timerfd_ops,
	&ck_file_epoll_ops,
	&ck_file_unix_ops,
	&ck_file_inet_ops,
	&ck_file_memfd_ops,
	&ck_file_inotify_ops,
	&ck_file_tty_ops,
	NULL,
};

const struct ck_file_ops *ck_file_kind_by_rec(uint16_t rec_type)
{
	for (size_t i = 0; ck_file_kinds[i]; i++)
		if (ck_file_kinds[i]->rec_type == rec_type)
			return ck_file_kinds[i];
	return NULL;
}

const char *ck_fdinfo_get(const char *fdinfo, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = fdinfo; p && *p;) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			p += kl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}
