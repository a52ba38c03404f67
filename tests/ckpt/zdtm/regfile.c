/* Regular files: offsets, flags (append, read-only), a directory fd,
 * /dev/null, and a file unlinked while open; the vDSO clock still works. */
#include <sys/stat.h>
#include <time.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	char path[256], gone[256];
	snprintf(path, sizeof(path), "%s.data", zdtm_verdict_path);
	snprintf(gone, sizeof(gone), "%s.unlinked", zdtm_verdict_path);
	int rw = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (rw < 0 || write(rw, "0123456789abcdef", 16) != 16)
		zdtm_fail("create %s", path);
	lseek(rw, 5, SEEK_SET);
	int ap = open(path, O_WRONLY | O_APPEND);
	int ro = open(path, O_RDONLY);
	lseek(ro, 11, SEEK_SET);
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	int null = open("/dev/null", O_WRONLY);
	int un = open(gone, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (ap < 0 || ro < 0 || dir < 0 || null < 0 || un < 0 || write(un, "ghost", 5) != 5)
		zdtm_fail("open");
	unlink(gone);
	int dup = dup2(rw, 20);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	zdtm_ready();
	zdtm_wait();

	char c;
	zdtm_check(lseek(rw, 0, SEEK_CUR) == 5);
	zdtm_check(read(dup, &c, 1) == 1 && c == '5'); /* shares rw's offset */
	zdtm_check(lseek(rw, 0, SEEK_CUR) == 6);
	zdtm_check(read(ro, &c, 1) == 1 && c == 'b');
	zdtm_check(fcntl(ap, F_GETFL) & O_APPEND);
	zdtm_check((fcntl(ro, F_GETFL) & O_ACCMODE) == O_RDONLY);
	zdtm_check(write(ap, "X", 1) == 1);
	struct stat st;
	zdtm_check(fstat(rw, &st) == 0 && st.st_size == 17);
	zdtm_check(fstat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	zdtm_check(write(null, "x", 1) == 1);
	char buf[8] = { 0 };
	zdtm_check(fstat(un, &st) == 0 && st.st_nlink == 0 && st.st_size == 5);
	zdtm_check(pread(un, buf, 5, 0) == 5 && !memcmp(buf, "ghost", 5));
	zdtm_check((fcntl(un, F_GETFL) & O_ACCMODE) == O_RDWR);
	zdtm_check(fcntl(dup, F_GETFD) == 0);
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	zdtm_check(t1.tv_sec >= t0.tv_sec);
	unlink(path);
	zdtm_pass();
}
