/* Writes 100 MiB to stderr. */
#include <string.h>
#include <unistd.h>

int main(void)
{
	static char buf[1 << 20];
	memset(buf, 'x', sizeof buf);
	for (int i = 0; i < 100; i++)
		if (write(2, buf, sizeof buf) < 0) return 1;
	return 0;
}
