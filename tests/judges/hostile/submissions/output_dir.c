/* Writes its answer, then replaces its own output file with a locked directory. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	puts("contained");
	fflush(stdout);
	unlink("output.txt");
	mkdir("output.txt", 0755);
	mkdir("output.txt/inner", 0755);
	chmod("output.txt/inner", 0);
	chmod("output.txt", 0);
	return 0;
}
