/* Opens descriptors until the kernel refuses, then prints how many it got. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	long n = 0;
	while (n < 10000000 && open("/dev/null", O_RDONLY) >= 0)
		n++;
	while (n < 10000000 && dup(0) >= 0)
		n++;
	printf("%s %ld\n", n > 100000 ? "ESCAPED descriptors" : "contained", n);
	return 0;
}
