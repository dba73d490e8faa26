/* Reads "ADDRESS PORT" lines and tries a TCP connection to each (500 ms each). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	char host[64];
	int port;
	while (scanf("%63s %d", host, &port) == 2) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
		if (inet_pton(AF_INET, host, &a.sin_addr) != 1) continue;
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (s < 0) continue;
		int r = connect(s, (struct sockaddr *)&a, sizeof a);
		if (r < 0 && errno == EINPROGRESS) {
			struct pollfd p = {s, POLLOUT, 0};
			int err = 1;
			socklen_t len = sizeof err;
			if (poll(&p, 1, 500) == 1)
				getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
			r = err == 0 ? 0 : -1;
		}
		if (r == 0) printf("ESCAPED tcp %s:%d\n", host, port);
		close(s);
	}
	puts("contained");
	return 0;
}
