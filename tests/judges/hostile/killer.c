/* Tries to take the supervisor down: signals to pid 1, the parent, everyone (-1), ptrace.
 * Prints what succeeded, one line each; exits 0. */
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(void)
{
	pid_t parent = getppid();
	if (kill(parent, SIGKILL) == 0) puts("killed parent");
	if (kill(1, SIGKILL) == 0) puts("killed 1");
	if (kill(1, SIGTERM) == 0) puts("terminated 1");
	if (ptrace(PTRACE_ATTACH, parent, 0, 0) == 0) puts("traced parent");
	signal(SIGTERM, SIG_IGN);
	if (kill(-1, SIGTERM) == 0) puts("signalled everyone");
	fflush(stdout);
	return 0;
}
