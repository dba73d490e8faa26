/* Reads the password hashes and other root-only files; prints what it got. */
#include <stdio.h>

int main(void)
{
	static const char *paths[] = {"/etc/shadow", "/etc/gshadow", "/run/podium/etc/shadow",
		"/proc/1/root/etc/shadow", "/etc/sudoers", "/root/.ssh/id_rsa",
		"/root/.bash_history", "/etc/ssh/ssh_host_ed25519_key"};
	char buf[200];
	for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
		FILE *f = fopen(paths[i], "r");
		if (!f) continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = 0;
		printf("ESCAPED %s %s\n", paths[i], buf);
		fclose(f);
	}
	puts("contained");
	return 0;
}
