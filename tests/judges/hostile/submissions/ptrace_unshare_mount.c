/* Tries the kernel's ways out: ptrace, new namespaces, mounts, chroot, pivot_root, BPF, keys,
 * perf; prints what succeeded. */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	pid_t parent = getppid();
	if (ptrace(PTRACE_ATTACH, parent, 0, 0) == 0) puts("ESCAPED ptrace attach");
	if (ptrace(PTRACE_TRACEME, 0, 0, 0) == 0) puts("ESCAPED ptrace traceme");
	if (unshare(CLONE_NEWUSER) == 0) puts("ESCAPED unshare user");
	if (unshare(CLONE_NEWNS) == 0) puts("ESCAPED unshare mount");
	if (unshare(CLONE_NEWNET) == 0) puts("ESCAPED unshare net");
	if (mount("none", "/tmp", "tmpfs", 0, "") == 0) puts("ESCAPED mount tmpfs");
	if (mount("/", "/tmp", NULL, MS_BIND | MS_REC, NULL) == 0) puts("ESCAPED bind mount");
	if (mount(NULL, "/", NULL, MS_REMOUNT, NULL) == 0) puts("ESCAPED remount /");
	if (umount2("/proc", MNT_DETACH) == 0) puts("ESCAPED umount /proc");
	if (chroot(".") == 0) puts("ESCAPED chroot");
	if (syscall(SYS_pivot_root, ".", ".") == 0) puts("ESCAPED pivot_root");
	union bpf_attr attr = {0};
	if (syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr) >= 0) puts("ESCAPED bpf");
	if (syscall(SYS_add_key, "user", "podium", "x", 1, -2) >= 0) puts("ESCAPED add_key");
	if (syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0) >= 0) puts("ESCAPED perf");
	puts("contained");
	return 0;
}
