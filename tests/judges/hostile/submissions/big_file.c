/* Writes one 100 MiB file in the work dir (not stdout). */
#include <stdio.h>
#include <string.h>

int main(void)
{
	static char buf[1 << 20];
	memset(buf, 'x', sizeof buf);
	FILE *f = fopen("big.bin", "wb");
	for (int i = 0; f && i < 100; i++)
		if (fwrite(buf, 1, sizeof buf, f) != sizeof buf) return 1;
	return f ? fclose(f) != 0 : 1;
}
