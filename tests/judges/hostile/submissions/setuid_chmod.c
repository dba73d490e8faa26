/* Tries to become root or to loosen the system: setuid/setgid, chmod and chown of system
 * files, a setuid copy of itself; then locks parts of its work dir (the judge must still
 * clean up). Prints what succeeded. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	if (setuid(0) == 0) puts("ESCAPED setuid 0");
	if (setgid(0) == 0) puts("ESCAPED setgid 0");
	if (setresuid(0, 0, 0) == 0) puts("ESCAPED setresuid 0");
	if (seteuid(0) == 0) puts("ESCAPED seteuid 0");
	if (chmod("/usr/bin/su", 04777) == 0) puts("ESCAPED chmod su");
	if (chmod("/etc/passwd", 0666) == 0) puts("ESCAPED chmod passwd");
	if (chown("/usr/bin/env", 65534, 65534) == 0) puts("ESCAPED chown env");
	int fd = open("mine", O_WRONLY | O_CREAT, 0755);
	if (fd >= 0) close(fd);
	if (chown("mine", 0, 0) == 0) puts("ESCAPED chown to root");
	mkdir("locked", 0755);
	mkdir("locked/deeper", 0755);
	fd = open("locked/deeper/file", O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) close(fd);
	chmod("locked/deeper", 0);
	chmod("locked", 0);
	puts("contained");
	return 0;
}
