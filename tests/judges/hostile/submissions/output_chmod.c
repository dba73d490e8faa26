/* Writes its answer, then makes its output file unreadable (mode 000) and immutable-looking. */
#include <stdio.h>
#include <sys/stat.h>

int main(void)
{
	puts("contained");
	fflush(stdout);
	fchmod(1, 0);
	chmod("output.txt", 0);
	chmod(".", 0555);
	return 0;
}
