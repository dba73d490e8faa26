/* Sleeps forever: no CPU used, only the wall-clock backstop stops it. */
#include <unistd.h>

int main(void)
{
	for (;;)
		pause();
}
