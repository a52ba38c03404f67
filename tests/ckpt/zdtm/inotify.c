/* Inotify: watches on a directory and on two files, with a gap in the
 * watch numbers (a watch removed in between), non-blocking; and an
 * instance without watches.  After the restore each watch must report its
 * events under its old number. */
#include <stdbool.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "zdtm.h"

static char dir[300], f1[320], f2[320], f3[320];

/* The next event, or fail. */
static void expect(int fd, int wd, uint32_t mask, const char *name)
{
	char buf[4096] __attribute__((aligned(8)));
	for (int i = 0; i < 200; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			usleep(5000);
			continue;
		}
		if (n < (ssize_t)sizeof(struct inotify_event))
			zdtm_fail("read inotify: %s", strerror(errno));
		const struct inotify_event *e = (const void *)buf;
		if (e->wd != wd || !(e->mask & mask) || (name && strcmp(e->name, name)))
			zdtm_fail("event wd %d mask %#x name %s, wanted wd %d mask %#x", e->wd, e->mask,
				  e->len ? e->name : "-", wd, mask);
		return;
	}
	zdtm_fail("no event for watch %d", wd);
}

static void touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1)
		zdtm_fail("write %s", p);
	close(fd);
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s.d", zdtm_verdict_path);
	snprintf(f1, sizeof(f1), "%s/one", dir);
	snprintf(f2, sizeof(f2), "%s/two", dir);
	snprintf(f3, sizeof(f3), "%s/three", dir);
	if (mkdir(dir, 0700))
		zdtm_fail("mkdir");
	touch(f1);
	touch(f2);
	touch(f3);
	int in = inotify_init1(IN_NONBLOCK);
	int empty = inotify_init1(IN_CLOEXEC);
	int wd_dir = inotify_add_watch(in, dir, IN_CREATE | IN_DELETE);
	int wd1 = inotify_add_watch(in, f1, IN_MODIFY);
	int gap = inotify_add_watch(in, f3, IN_ATTRIB);
	int wd2 = inotify_add_watch(in, f2, IN_CLOSE_WRITE);
	if (wd_dir != 1 || wd1 != 2 || gap != 3 || wd2 != 4 || empty < 0)
		zdtm_fail("watches %d %d %d %d", wd_dir, wd1, gap, wd2);
	inotify_rm_watch(in, gap);
	char drain[4096];
	while (read(in, drain, sizeof(drain)) > 0) /* the IN_IGNORED of the removal */
		;
	zdtm_ready();
	zdtm_wait();

	zdtm_check((fcntl(in, F_GETFL) & O_NONBLOCK) != 0);
	zdtm_check((fcntl(empty, F_GETFD) & FD_CLOEXEC) != 0);
	char nf[340];
	snprintf(nf, sizeof(nf), "%s/new", dir);
	touch(nf);
	expect(in, wd_dir, IN_CREATE, "new");
	int fd = open(f1, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, "y", 1) != 1)
		zdtm_fail("modify");
	close(fd);
	expect(in, wd1, IN_MODIFY, NULL);
	touch(f2);
	expect(in, wd2, IN_CLOSE_WRITE, NULL);
	/* The number removed before stays unused: the next one is 5. */
	zdtm_check(inotify_add_watch(in, f3, IN_ATTRIB) == 5);
	unlink(f1), unlink(f2), unlink(f3), unlink(nf), rmdir(dir);
	zdtm_pass();
}
