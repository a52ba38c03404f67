/* The program bench/vm starts: natively, in the light guest, in a container. */
#include <unistd.h>

int main(void)
{
	static const char m[] = "hello\n";
	return write(1, m, sizeof(m) - 1) == sizeof(m) - 1 ? 0 : 1;
}
