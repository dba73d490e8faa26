/* Forks forever; every child does the same, failed forks are simply retried. */
#include <unistd.h>

int main(void)
{
	for (;;)
		fork();
}
