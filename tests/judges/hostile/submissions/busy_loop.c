/* Burns CPU forever and ignores SIGXCPU, so only a real kill stops it. */
#include <signal.h>

int main(void)
{
	signal(SIGXCPU, SIG_IGN);
	for (volatile unsigned long x = 0;; x++)
		;
}
