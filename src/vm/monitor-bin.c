/* cell-vm-monitor: the VM monitor as its own small (statically linked)
 * executable, exec'd by vm_launch()'s child.  See monitor-exec.c. */
#include "vm/monitor.h"

int main(int argc, char **argv)
{
	return monitor_exec_main(argc, argv);
}
