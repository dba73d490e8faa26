/* Recurses forever (no tail call: every frame is kept). */
#include <stdio.h>

static int depth(int n)
{
	volatile char frame[256];
	frame[n & 255] = (char)n;
	return depth(n + 1) + frame[(n * 7) & 255];
}

int main(void)
{
	printf("%d\n", depth(0));
	return 0;
}
