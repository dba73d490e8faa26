/* Burns CPU on 8 threads at once (CPU time counts every thread). */
#include <pthread.h>

static void *spin(void *arg)
{
	for (volatile unsigned long x = 0;; x++)
		;
	return arg;
}

int main(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1 << 16);
	pthread_t threads[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&threads[i], &attr, spin, NULL);
	spin(NULL);
	return 0;
}
