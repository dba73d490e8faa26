/* Tries to take the supervisor down: signals to the parent, pid 1, everyone (-1), the parent's
 * group, ptrace; prints what succeeded; then answers. */
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(void)
{
	pid_t parent = getppid();
	signal(SIGTERM, SIG_IGN);
	if (kill(parent, SIGKILL) == 0) puts("ESCAPED killed parent");
	if (kill(1, SIGKILL) == 0) puts("ESCAPED killed 1");
	if (kill(1, SIGTERM) == 0) puts("ESCAPED terminated 1");
	if (kill(-getpgid(parent), SIGKILL) == 0) puts("ESCAPED killed the parent's group");
	if (ptrace(PTRACE_ATTACH, parent, 0, 0) == 0) puts("ESCAPED traced parent");
	if (kill(-1, SIGKILL) == 0) puts("ESCAPED killed everyone");
	puts("contained");
	return 0;
}
