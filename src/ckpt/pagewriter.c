/* pages.img on a thread of its own (pagewriter.h). */
#include "ckpt/pagewriter.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct rec {
	const struct img_schema *s;
	struct ck_pages p;
	size_t off, len;
};

struct job {
	uint8_t *buf;
	struct rec *recs;
	size_t n, cap;
};

struct ck_pw {
	struct img_writer *w;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job jobs[CK_PW_NBUF];
	size_t head, tail; /* submitted: tail..head (mod NBUF); jobs[head] is being filled */
	bool stop;
	int error; /* -errno of the first failure, with its message */
	char msg[512];
};

static void *writer(void *arg)
{
	struct ck_pw *pw = arg;
	pthread_mutex_lock(&pw->lock);
	for (;;) {
		while (pw->tail == pw->head && !pw->stop)
			pthread_cond_wait(&pw->cond, &pw->lock);
		if (pw->tail == pw->head)
			break;
		struct job *j = &pw->jobs[pw->tail % CK_PW_NBUF];
		pthread_mutex_unlock(&pw->lock);
		struct cell_err *e = NULL;
		int r = 0;
		for (size_t i = 0; r == 0 && i < j->n; i++) {
			struct iovec iov = { j->buf + j->recs[i].off, j->recs[i].len };
			r = img_write_bulk(pw->w, j->recs[i].s, &j->recs[i].p, CK_PAGES_DATA_TAG, &iov,
					   iov.iov_len ? 1 : 0, &e);
		}
		/* The buffer is about to be reused: its records must be out. */
		if (r == 0)
			r = img_writer_flush(pw->w, &e);
		pthread_mutex_lock(&pw->lock);
		if (r < 0 && !pw->error) {
			pw->error = r;
			snprintf(pw->msg, sizeof(pw->msg), "%s", e ? e->msg : "write pages.img");
		}
		cell_err_free(e);
		j->n = 0;
		pw->tail++;
		pthread_cond_broadcast(&pw->cond);
	}
	pthread_mutex_unlock(&pw->lock);
	return NULL;
}

int ck_pw_start(struct img_writer *w, struct ck_pw **ret, struct cell_err **err)
{
	struct ck_pw *pw = xcalloc(1, sizeof(*pw));
	pw->w = w;
	pthread_mutex_init(&pw->lock, NULL);
	pthread_cond_init(&pw->cond, NULL);
	for (int i = 0; i < CK_PW_NBUF; i++)
		pw->jobs[i].buf = xmalloc(CK_PW_BUF);
	int r = pthread_create(&pw->thread, NULL, writer, pw);
	if (r != 0) {
		for (int i = 0; i < CK_PW_NBUF; i++)
			free(pw->jobs[i].buf);
		free(pw);
		return cell_err(err, r, "start the page writer");
	}
	*ret = pw;
	return 0;
}

static int failed(struct ck_pw *pw, struct cell_err **err)
{
	return cell_err(err, -pw->error, "%s", pw->msg);
}

uint8_t *ck_pw_buffer(struct ck_pw *pw, struct cell_err **err)
{
	pthread_mutex_lock(&pw->lock);
	/* jobs[head] is ours once the thread is done with what it held. */
	while (pw->head - pw->tail >= CK_PW_NBUF && !pw->error)
		pthread_cond_wait(&pw->cond, &pw->lock);
	uint8_t *b = pw->error ? NULL : pw->jobs[pw->head % CK_PW_NBUF].buf;
	if (!b)
		failed(pw, err);
	pthread_mutex_unlock(&pw->lock);
	return b;
}

int ck_pw_record(struct ck_pw *pw, const struct img_schema *s, const struct ck_pages *p,
		 size_t off, size_t len, struct cell_err **err)
{
	if (!ck_pw_buffer(pw, err))
		return -EIO;
	struct job *j = &pw->jobs[pw->head % CK_PW_NBUF];
	if (off + len > CK_PW_BUF)
		return cell_err(err, EINVAL, "a page record past its buffer");
	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 64;
		j->recs = xrealloc(j->recs, j->cap * sizeof(*j->recs));
	}
	j->recs[j->n++] = (struct rec){ .s = s, .p = *p, .off = off, .len = len };
	return 0;
}

int ck_pw_submit(struct ck_pw *pw, struct cell_err **err)
{
	pthread_mutex_lock(&pw->lock);
	int r = pw->error ? failed(pw, err) : 0;
	if (r == 0 && pw->jobs[pw->head % CK_PW_NBUF].n) {
		pw->head++;
		pthread_cond_broadcast(&pw->cond);
	}
	pthread_mutex_unlock(&pw->lock);
	return r;
}

int ck_pw_finish(struct ck_pw *pw, struct cell_err **err)
{
	if (!pw)
		return 0;
	int r = ck_pw_submit(pw, err);
	pthread_mutex_lock(&pw->lock);
	pw->stop = true;
	pthread_cond_broadcast(&pw->cond);
	pthread_mutex_unlock(&pw->lock);
	pthread_join(pw->thread, NULL);
	if (r == 0 && pw->error)
		r = failed(pw, err);
	for (int i = 0; i < CK_PW_NBUF; i++) {
		free(pw->jobs[i].buf);
		free(pw->jobs[i].recs);
	}
	pthread_mutex_destroy(&pw->lock);
	pthread_cond_destroy(&pw->cond);
	free(pw);
	return r;
}
