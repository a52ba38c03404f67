/* Scope-bound cleanup, so that every acquired resource has one obvious owner.
 * Ownership leaves a scope only through TAKE_PTR()/TAKE_FD(). */
#ifndef CELL_BASE_CLEANUP_H
#define CELL_BASE_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cell_freep(void *p)
{
	free(*(void **)p);
}

static inline void cell_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cell_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cell_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* A NULL-terminated vector of strings, freed with its elements. */
static inline void cell_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void cell_strv_freep(char ***v)
{
	cell_strv_free(*v);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cell_freep)
#define _cleanup_close_ _cleanup_(cell_closep)
#define _cleanup_fclose_ _cleanup_(cell_fclosep)
#define _cleanup_closedir_ _cleanup_(cell_closedirp)
#define _cleanup_strv_ _cleanup_(cell_strv_freep)
#define _cleanup_err_ _cleanup_(cell_err_freep)

#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) take_tmp_ = (p); \
		(p) = NULL;                 \
		take_tmp_;                  \
	})

#define TAKE_FD(fd)                 \
	({                          \
		int take_fd_ = (fd); \
		(fd) = -1;          \
		take_fd_;           \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
