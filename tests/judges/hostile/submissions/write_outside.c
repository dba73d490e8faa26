/* Reads a file name, then directories (one a line), and tries to create that file in each of
 * them and in $HOME; prints where it could. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void try_dir(const char *dir, const char *name)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0) {
		printf("wrote %s\n", path);
		close(fd);
	}
}

int main(void)
{
	char name[256], dir[4096];
	if (scanf("%255s", name) != 1) return 1;
	while (scanf("%4095s", dir) == 1)
		try_dir(dir, name);
	if (getenv("HOME")) try_dir(getenv("HOME"), name);
	puts("contained");
	return 0;
}
