/* Allocates and touches 1 MiB after 1 MiB until an allocation fails (then writes through the
 * NULL, as careless code does). */
#include <stdlib.h>
#include <string.h>

int main(void)
{
	for (;;) {
		char *volatile p = malloc(1 << 20);
		memset(p, 1, 1 << 20);
	}
}
