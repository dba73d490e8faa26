/* Detaches a grandchild (fork, setsid, fork) that ignores every catchable signal and appends
 * to "heartbeat" every 20 ms forever; the program exits 0 once the first beat is there. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	if (fork() == 0) {
		setsid();
		if (fork() != 0) _exit(0);
		for (int s = 1; s < NSIG; s++) signal(s, SIG_IGN);
		int fd = open("heartbeat", O_WRONLY | O_CREAT | O_APPEND, 0644);
		for (;;) {
			if (write(fd, ".", 1) < 0) _exit(1);
			usleep(20000);
		}
	}
	struct stat st;
	while (stat("heartbeat", &st) < 0 || st.st_size == 0)
		usleep(1000);
	puts("contained");
	return 0;
}
