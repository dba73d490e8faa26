/*
 * runguard: run one command under resource limits and report what it used (Podium judges).
 *
 *   runguard [options] -- COMMAND [ARG...]
 *
 *   --cpu SECONDS    CPU time of the command (fractional). Enforced twice: the supervisor samples
 *                    the command's CPU clock every POLL_MS and kills the run when it passes the
 *                    limit; RLIMIT_CPU (soft = ceil(limit), hard = soft + 1) is the per-process
 *                    backstop for every forked process. Reported as exceeded also when the total
 *                    CPU of all processes of the run is above the limit.
 *   --wall SECONDS   wall-clock limit (a sleeping program uses no CPU)
 *   --mem BYTES      RLIMIT_AS (address space) of every process; 0 = unlimited
 *   --rss BYTES      peak resident memory allowed (default: --mem). Sampled every POLL_MS (the
 *                    run is killed when above it) and checked against ru_maxrss at the end. Use
 *                    a larger --mem with --rss for runtimes that reserve much more address
 *                    space than they touch (the JVM, whose heap is capped by its own -Xmx).
 *   --nproc N        RLIMIT_NPROC (counted per user id; Podium's bwrap boxes get a fresh user
 *                    namespace each, so the count covers one run)
 *   --fsize BYTES    RLIMIT_FSIZE: largest file the command may write (stdout is a file)
 *   --nofile N       RLIMIT_NOFILE
 *   --stack BYTES    RLIMIT_STACK (default: --mem, or unlimited when --mem is 0)
 *   --stdin F, --stdout F, --stderr F
 *                    redirections: a path, or "fd:N" for a descriptor runguard inherited.
 *                    Default: /dev/null. Output files are created or truncated, never followed
 *                    through a symlink.
 *   --report F       where the JSON report goes: a path or "fd:N" (default: stdout)
 *   --no-seccomp     do not install the seccomp filter
 *   --exec-as UID:GID  launcher mode, alone: drop to these ids (no supplementary groups) and exec
 *                    the command directly, unsupervised. Podium starts bwrap this way when it
 *                    runs as root (Python's subprocess gives up vfork when asked to change ids).
 *
 * Started as PID 1 of a new pid namespace (bwrap --as-pid-1, as Podium does), runguard is also
 * the namespace's init: nothing inside can signal it, every orphan comes back to it, and when it
 * exits the kernel kills whatever is left in the namespace.
 *
 * The command runs in its own process group with the limits above, all other descriptors
 * closed, no-new-privileges set, core dumps off, and (on x86-64 and arm64) a seccomp filter that
 * denies a short list of system calls a judged program never needs: signalling or tracing the
 * supervisor, namespaces and mounts, kernel keyrings, BPF, perf, io_uring, userfaultfd, modules.
 * runguard is a child subreaper and marks itself non-dumpable (so it cannot be ptraced or read
 * through /proc/PID/mem by the command). When the command ends, or a limit is hit, runguard
 * kills its process group with SIGKILL, then every remaining descendant (orphans are reparented
 * to runguard, so a double-forked daemon is found and killed too), reaps them all, and writes:
 *
 *   {"exit_code": 0|null, "signal": null|N, "cpu_seconds": F, "wall_seconds": F,
 *    "memory_bytes": N, "cpu_exceeded": B, "wall_exceeded": B, "memory_exceeded": B,
 *    "output_bytes": N, "output_exceeded": B, "vm_peak_bytes": N, "seccomp": B,
 *    "exec_error": null|"...", "error": null|"..."}
 *
 * cpu_seconds is user + system time of every process of the run (RUSAGE_CHILDREN after all are
 * reaped); memory_bytes is the largest ru_maxrss among them; output_bytes is the size of the
 * stdout file. output_exceeded: a process died of SIGXFSZ, or stdout reached --fsize.
 *
 * memory_exceeded is a heuristic, because with RLIMIT_AS an allocation simply fails (malloc
 * returns NULL, C++ throws bad_alloc, Python raises MemoryError) and nothing records it:
 *   - peak RSS above --rss (sampled while running, or ru_maxrss at the end), or
 *   - the run failed (non-zero exit or a signal runguard did not send) and either the peak RSS
 *     reached 90% of --rss, or the sampled peak address space (VmPeak) reached 90% of --mem, or
 *     the signal was a SIGKILL nobody sent at the CPU hard limit (the kernel's OOM killer).
 * A program that dies right after one huge failed allocation leaves no trace in these peaks;
 * Podium's Python side then looks for an out-of-memory message in its stderr (MemoryError,
 * std::bad_alloc, java.lang.OutOfMemoryError, "Cannot allocate memory").
 *
 * Before the report, runguard undoes what the command may have done to the judge's view of its
 * output: the working dir gets its mode back, and the stdout file (a path) is again a regular,
 * readable file at its name holding what the command wrote, even if the command removed it,
 * replaced it with a symlink, FIFO or directory, or made it unreadable.
 *
 * Exit status of runguard: 0 when the report was written (whatever the command did), 2 for
 * usage or setup errors (also reported in "error" when the report could be opened).
 * Build: cc -O2 -static -o runguard runguard.c (judges/sandbox/runguard.py does it).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define POLL_MS 10        /* sampling period of CPU clock, RSS and VmPeak */
#define EXIT_SETUP 2

static struct {
	double cpu, wall;
	unsigned long long mem, rss, fsize, stack;
	long nproc, nofile;
	const char *in, *out, *err, *report;
	int seccomp;
} opt = {0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 1};

static int report_fd = 1;

/* ---- small helpers ------------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write a JSON string (quotes included), escaping what JSON requires. */
static void json_str(FILE *f, const char *s)
{
	if (!s) { fputs("null", f); return; }
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
		else if (c < 0x20) fprintf(f, "\\u%04x", c);
		else fputc(c, f);
	}
	fputc('"', f);
}

/* Report a setup error (as JSON when the report is open) and exit 2. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "runguard: %s\n", msg);
	if (report_fd >= 0) {
		FILE *f = fdopen(dup(report_fd), "w");
		if (f) {
			fputs("{\"error\": ", f);
			json_str(f, msg);
			fputs("}\n", f);
			fclose(f);
		}
	}
	exit(EXIT_SETUP);
}

static unsigned long long parse_bytes(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') die("bad %s: '%s'", what, s);
	return v;
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e6) die("bad %s: '%s'", what, s);
	return v;
}

/* Open a redirection: "fd:N" names an inherited descriptor, anything else is a path. Output
 * files are created/truncated without following a symlink; FIFOs and other odd files are
 * refused (O_NONBLOCK keeps a FIFO from blocking the open). The result is close-on-exec. */
static int open_redirect(const char *spec, int output)
{
	int fd;
	if (!spec) spec = "/dev/null";
	if (strncmp(spec, "fd:", 3) == 0) {
		fd = fcntl((int)parse_bytes(spec + 3, "descriptor"), F_DUPFD_CLOEXEC, 3);
		if (fd < 0) die("descriptor %s: %s", spec, strerror(errno));
		return fd;
	}
	int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	flags |= output ? O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW : O_RDONLY;
	fd = open(spec, flags, 0644);
	if (fd < 0) die("cannot open %s: %s", spec, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		die("%s is not a regular file or a device", spec);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* Peak address space (VmPeak) and peak RSS (VmHWM) of PID, in bytes, from /proc/PID/status. */
static void sample_memory(pid_t pid, unsigned long long *vm_peak, unsigned long long *hwm)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) return;
	buf[n] = 0;
	char *p;
	unsigned long long v;
	if ((p = strstr(buf, "VmPeak:")) && (v = strtoull(p + 7, NULL, 10) * 1024) > *vm_peak)
		*vm_peak = v;
	if ((p = strstr(buf, "VmHWM:")) && (v = strtoull(p + 6, NULL, 10) * 1024) > *hwm)
		*hwm = v;
}

/* The parent pid of PID, from /proc/PID/stat (the field after the command name), or -1. */
static pid_t parent_of(const char *pid)
{
	char path[300], buf[512];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');   /* the name may contain spaces and ')' */
	int ppid;
	char state;
	return p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 ? ppid : -1;
}

/* Kill the process group, then every remaining descendant, and reap them all. As a subreaper,
 * runguard inherits every orphan of the run, so "all descendants" are its children once their
 * parents are dead: kill the children we have, wait for one, look again, until none is left. */
static void kill_all(pid_t pgid)
{
	pid_t self = getpid();
	kill(-pgid, SIGKILL);
	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG | __WALL);
		if (r > 0) continue;
		if (r < 0) break;               /* ECHILD: nothing left */
		DIR *d = opendir("/proc");
		if (!d) die("cannot read /proc: %s", strerror(errno));
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
			if (parent_of(e->d_name) == self) {
				pid_t pid = atoi(e->d_name);
				kill(pid, SIGKILL);
				kill(-pid, SIGKILL);  /* harmless when it leads no group */
			}
		}
		closedir(d);
		waitpid(-1, NULL, __WALL);      /* block for one, then look again */
	}
}

/* ---- seccomp ------------------------------------------------------------------------------ */

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE_ARCH
#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
/* Low 32 bits of argument N (both supported architectures are little-endian). */
#define LOAD_ARG(n) LOAD(args[n])
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define DENY RET(SECCOMP_RET_ERRNO | EPERM)

/* System calls denied outright (EPERM). A judged program needs none of them. */
static const int denied[] = {
	__NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_kcmp,
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns,
	__NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_keyctl, __NR_add_key,
	__NR_request_key, __NR_kexec_load, __NR_init_module, __NR_finit_module,
	__NR_delete_module, __NR_reboot, __NR_swapon, __NR_swapoff, __NR_syslog, __NR_acct,
	__NR_quotactl, __NR_name_to_handle_at, __NR_open_by_handle_at,
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
#ifdef __NR_pidfd_open      /* signalling the supervisor through a pidfd or /proc/PID dirfd */
	__NR_pidfd_open, __NR_pidfd_send_signal, __NR_pidfd_getfd,
#endif
#ifdef __NR_io_uring_setup
	__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#endif
#ifdef __NR_open_tree
	__NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
#endif
#ifdef __NR_mount_setattr
	__NR_mount_setattr,
#endif
};

/* Install the filter in the child, just before exec. sup/supgrp: runguard's pid and group. */
static int install_seccomp(pid_t sup, pid_t supgrp)
{
	struct sock_filter f[160];
	int n = 0;
#define EMIT(...) (f[n++] = (struct sock_filter)__VA_ARGS__)
	EMIT(LOAD(arch));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0));
	EMIT(RET(SECCOMP_RET_KILL_PROCESS));    /* another ABI (i386, x32 below) could bypass */
	EMIT(LOAD(nr));
#ifdef __x86_64__
	EMIT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
	EMIT(RET(SECCOMP_RET_KILL_PROCESS));
#endif
	/* clone3 passes its flags in memory the filter cannot see: ENOSYS makes libc use clone. */
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 435, 0, 1));
	EMIT(RET(SECCOMP_RET_ERRNO | ENOSYS));
	for (size_t i = 0; i < sizeof denied / sizeof *denied; i++) {
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied[i], 0, 1));
		EMIT(DENY);
	}
	/* kill/tkill/rt_sigqueueinfo(pid, ...): not runguard, not -1 (everyone), not its group. */
	static const int by_pid[] = {__NR_kill, __NR_tkill, __NR_rt_sigqueueinfo,
				     __NR_tgkill, __NR_rt_tgsigqueueinfo};
	for (size_t i = 0; i < sizeof by_pid / sizeof *by_pid; i++) {
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, by_pid[i], 0, 6));
		EMIT(LOAD_ARG(0));
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sup, 2, 0));
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)-1, 1, 0));
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)-supgrp, 0, 1));
		EMIT(DENY);
		EMIT(RET(SECCOMP_RET_ALLOW));
	}
	/* Owners of SIGIO/SIGURG (F_SETOWN and friends) could aim a signal at the supervisor. */
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fcntl, 0, 4));
	EMIT(LOAD_ARG(1));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETOWN, 1, 0));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETOWN_EX, 0, 1));
	EMIT(DENY);
	EMIT(LOAD(nr));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 4));
	EMIT(LOAD_ARG(1));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8901 /* FIOSETOWN */, 1, 0));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8902 /* SIOCSPGRP */, 0, 1));
	EMIT(DENY);
	EMIT(RET(SECCOMP_RET_ALLOW));
#undef EMIT
	struct sock_fprog prog = {(unsigned short)n, f};
	/* SPEC_ALLOW: do not also opt the program into the kernel's forced Spectre mitigations
	 * (IBPB on every context switch: 0.2-1 ms per run in a VM). Ordinary processes do not get
	 * them either; older kernels without the flag get the plain filter. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) == 0)
		return 0;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
#endif

/* ---- after the run ------------------------------------------------------------------------ */

/* The command may have locked its working dir or its stdout file (chmod), or removed it or
 * left a symlink, FIFO or directory at its name. Put back the dir's mode and a regular, readable
 * stdout file holding what the command wrote (copied from runguard's descriptor), so that the
 * judge reads the program's output instead of failing on the program's mess. Best effort. */
static void restore_output(int out, const struct stat *cwd)
{
	struct stat held, named;
	if (cwd) chmod(".", cwd->st_mode & 07777);
	if (!opt.out || strncmp(opt.out, "fd:", 3) == 0 || fstat(out, &held) < 0 ||
	    !S_ISREG(held.st_mode))
		return;
	fchmod(out, 0644);
	if (lstat(opt.out, &named) == 0 && named.st_dev == held.st_dev && named.st_ino == held.st_ino)
		return;
	if (unlink(opt.out) < 0 && errno != ENOENT) {   /* a directory: set it aside */
		char aside[4200];
		for (int i = 0; i < 100; i++) {
			snprintf(aside, sizeof aside, "%s.replaced-%d-%d", opt.out, (int)getpid(), i);
			if (rename(opt.out, aside) == 0) break;
		}
	}
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", out);
	int src = open(self, O_RDONLY | O_CLOEXEC);
	int dst = open(opt.out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	for (off_t at = 0; src >= 0 && dst >= 0 && at < held.st_size;)
		if (sendfile(dst, src, &at, held.st_size - at) <= 0) break;
	if (src >= 0) close(src);
	if (dst >= 0) close(dst);
}

/* ---- the child ---------------------------------------------------------------------------- */

static void set_limit(int resource, rlim_t soft, rlim_t hard, const char *name)
{
	struct rlimit rl = {soft, hard};
	if (setrlimit(resource, &rl) < 0) {
		dprintf(2, "runguard: setrlimit %s: %s\n", name, strerror(errno));
		_exit(126);
	}
}

/* Set up the child and exec the command; never returns. Errors after the redirections go to
 * the command's stderr (so they reach the judge) with exit status 126/127, as a shell does. */
static void child(char **argv, int in, int out, int err, int exec_pipe, pid_t sup, pid_t supgrp)
{
	sigset_t none;
	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);   /* ignored signals survive exec */
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sup) _exit(126);                      /* runguard already died */

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(126);
	/* Every other descriptor (the report, inherited ones) closes at exec; the exec pipe is
	 * already close-on-exec and must stay open until then. */
	if (syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC, Linux 5.11 */) < 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	rlim_t cpu = opt.cpu > 0 ? (rlim_t)ceil(opt.cpu) : RLIM_INFINITY;
	set_limit(RLIMIT_CPU, cpu, cpu == RLIM_INFINITY ? cpu : cpu + 1, "cpu");
	if (opt.mem) set_limit(RLIMIT_AS, opt.mem, opt.mem, "as");
	if (opt.stack || opt.mem) set_limit(RLIMIT_STACK, opt.stack ? opt.stack : opt.mem,
					    opt.stack ? opt.stack : opt.mem, "stack");
	if (opt.nproc) set_limit(RLIMIT_NPROC, opt.nproc, opt.nproc, "nproc");
	if (opt.fsize) set_limit(RLIMIT_FSIZE, opt.fsize, opt.fsize, "fsize");
	if (opt.nofile) set_limit(RLIMIT_NOFILE, opt.nofile, opt.nofile, "nofile");
	set_limit(RLIMIT_CORE, 0, 0, "core");

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(126);
#ifdef NATIVE_ARCH
	if (opt.seccomp && install_seccomp(sup, supgrp) < 0) {
		dprintf(2, "runguard: seccomp: %s\n", strerror(errno));
		_exit(126);
	}
#else
	(void)supgrp;
#endif
	execvp(argv[0], argv);
	int e = errno;
	dprintf(2, "runguard: cannot execute %s: %s\n", argv[0], strerror(e));
	if (write(exec_pipe, &e, sizeof e) < 0) { /* the parent then only sees the exit status */ }
	_exit(e == ENOENT ? 127 : 126);
}

/* Launcher mode (--exec-as): become UID:GID for good, then exec. */
static int exec_as(const char *ids, char **argv)
{
	unsigned uid, gid;
	char end;
	if (sscanf(ids, "%u:%u%c", &uid, &gid, &end) != 2) die("bad --exec-as: '%s'", ids);
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		die("--exec-as %s: %s", ids, strerror(errno));
	if (getuid() != uid || geteuid() != uid || getgid() != gid) die("--exec-as: ids did not stick");
	execvp(argv[0], argv);
	die("cannot execute %s: %s", argv[0], strerror(errno));
}

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cpu", 1, 0, 'c'}, {"wall", 1, 0, 'w'}, {"mem", 1, 0, 'm'}, {"rss", 1, 0, 'r'},
		{"nproc", 1, 0, 'p'}, {"fsize", 1, 0, 'f'}, {"nofile", 1, 0, 'n'},
		{"stack", 1, 0, 's'}, {"stdin", 1, 0, 'I'}, {"stdout", 1, 0, 'O'},
		{"stderr", 1, 0, 'E'}, {"report", 1, 0, 'R'}, {"no-seccomp", 0, 0, 'S'},
		{"exec-as", 1, 0, 'X'}, {0, 0, 0, 0}};
	const char *exec_ids = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.cpu = parse_seconds(optarg, "--cpu"); break;
		case 'w': opt.wall = parse_seconds(optarg, "--wall"); break;
		case 'm': opt.mem = parse_bytes(optarg, "--mem"); break;
		case 'r': opt.rss = parse_bytes(optarg, "--rss"); break;
		case 'p': opt.nproc = (long)parse_bytes(optarg, "--nproc"); break;
		case 'f': opt.fsize = parse_bytes(optarg, "--fsize"); break;
		case 'n': opt.nofile = (long)parse_bytes(optarg, "--nofile"); break;
		case 's': opt.stack = parse_bytes(optarg, "--stack"); break;
		case 'I': opt.in = optarg; break;
		case 'O': opt.out = optarg; break;
		case 'E': opt.err = optarg; break;
		case 'R': opt.report = optarg; break;
		case 'S': opt.seccomp = 0; break;
		case 'X': exec_ids = optarg; break;
		default: die("usage: runguard [options] -- command [args...]");
		}
	}
	if (opt.report) {
		if (strncmp(opt.report, "fd:", 3) == 0) {
			report_fd = (int)parse_bytes(opt.report + 3, "--report");
			fcntl(report_fd, F_SETFD, FD_CLOEXEC);
		} else {
			report_fd = -1;
			report_fd = open(opt.report, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
					 O_CLOEXEC, 0600);
			if (report_fd < 0) die("cannot open report %s: %s", opt.report, strerror(errno));
		}
	}
	if (optind >= argc) die("no command given");
	if (exec_ids) return exec_as(exec_ids, argv + optind);
	if (!opt.rss) opt.rss = opt.mem;

	/* Supervisor set-up: subreaper (orphans come back to us), not ptrace-able, own group. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_DUMPABLE, 0);
	setpgid(0, 0);
	pid_t self = getpid(), selfgrp = getpgrp();
	int in = open_redirect(opt.in, 0);
	int out = open_redirect(opt.out, 1);
	int err = opt.err && opt.out && strcmp(opt.err, opt.out) == 0
		  ? dup(out) : open_redirect(opt.err, 1);
	int exec_pipe[2];
	if (pipe2(exec_pipe, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));

	/* SIGCHLD and the termination signals are taken synchronously with sigtimedwait. */
	sigset_t wait_set, old;
	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGCHLD);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGINT);
	sigaddset(&wait_set, SIGHUP);
	sigprocmask(SIG_BLOCK, &wait_set, &old);
	signal(SIGPIPE, SIG_IGN);
	struct stat cwd;
	int have_cwd = stat(".", &cwd) == 0;

	double start = now();
	pid_t pid = fork();
	if (pid < 0) die("fork: %s", strerror(errno));
	if (pid == 0) child(argv + optind, in, out, err, exec_pipe[1], self, selfgrp);
	setpgid(pid, pid);  /* also here, so that kill(-pid) works whoever runs first */
	close(exec_pipe[1]);
	int exec_errno = 0;
	if (read(exec_pipe[0], &exec_errno, sizeof exec_errno) != sizeof exec_errno) exec_errno = 0;
	close(exec_pipe[0]);
	close(in);
	close(err);

	clockid_t cpu_clock;
	int have_cpu_clock = clock_getcpuclockid(pid, &cpu_clock) == 0;
	int status = 0, killed = 0, cpu_exceeded = 0, wall_exceeded = 0, rss_exceeded = 0;
	int terminated = 0;
	unsigned long long vm_peak = 0, hwm = 0;
	for (;;) {
		pid_t r;
		int st, done = 0;
		while ((r = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
			if (r == pid) { status = st; done = 1; }
		if (done) break;
		double elapsed = now() - start;
		/* Sample the command while it runs (its /proc entry is gone once reaped). */
		sample_memory(pid, &vm_peak, &hwm);
		struct timespec cpu_ts = {0, 0};
		if (have_cpu_clock) clock_gettime(cpu_clock, &cpu_ts);
		double cpu_used = cpu_ts.tv_sec + cpu_ts.tv_nsec / 1e9;
		if (!killed) {
			if (opt.cpu > 0 && cpu_used > opt.cpu) cpu_exceeded = 1;
			else if (opt.wall > 0 && elapsed >= opt.wall) wall_exceeded = 1;
			else if (opt.rss && hwm > opt.rss) rss_exceeded = 1;
			if (cpu_exceeded || wall_exceeded || rss_exceeded) {
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				killed = 1;
			}
		}
		double timeout = POLL_MS / 1000.0;
		if (opt.wall > 0 && !killed && opt.wall - elapsed < timeout) timeout = opt.wall - elapsed;
		if (timeout < 0.0005) timeout = 0.0005;
		struct timespec ts = {0, (long)(timeout * 1e9)};
		siginfo_t info;
		int sig = sigtimedwait(&wait_set, &info, &ts);
		/* Stop when our parent (or, as a namespace's init, anyone outside it: si_pid 0) asks;
		 * the command's processes cannot stop us this way. */
		if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !killed &&
		    (info.si_pid == 0 || info.si_pid == getppid())) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = terminated = 1;
		}
	}
	double wall = now() - start;
	kill_all(pid);
	restore_output(out, have_cwd ? &cwd : NULL);

	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	unsigned long long rss = (unsigned long long)ru.ru_maxrss * 1024;
	if (hwm > rss) rss = hwm;
	struct stat st;
	unsigned long long output = fstat(out, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;

	int exited = WIFEXITED(status), sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (opt.cpu > 0 && (cpu > opt.cpu || sig == SIGXCPU)) cpu_exceeded = 1;
	/* A SIGKILL that runguard did not send, short of the RLIMIT_CPU hard limit: OOM killer. */
	int foreign_kill = sig == SIGKILL && !killed && !(opt.cpu > 0 && cpu >= ceil(opt.cpu));
	int failed = (exited && WEXITSTATUS(status) != 0) || (sig && !killed);
	int memory_exceeded = rss_exceeded || (opt.rss && rss > opt.rss) ||
		(failed && !cpu_exceeded &&
		 ((opt.rss && rss >= opt.rss / 10 * 9) || (opt.mem && vm_peak >= opt.mem / 10 * 9) ||
		  foreign_kill));
	int output_exceeded = sig == SIGXFSZ || (opt.fsize && output >= opt.fsize);

	FILE *f = fdopen(report_fd, "w");
	if (!f) die("report: %s", strerror(errno));
	char exec_error[300] = "";
	if (exec_errno)
		snprintf(exec_error, sizeof exec_error, "cannot execute %s: %s", argv[optind],
			 strerror(exec_errno));
	fprintf(f, "{\"exit_code\": ");
	if (exited) fprintf(f, "%d", WEXITSTATUS(status)); else fputs("null", f);
	fprintf(f, ", \"signal\": ");
	if (sig) fprintf(f, "%d", sig); else fputs("null", f);
	fprintf(f, ", \"cpu_seconds\": %.6f, \"wall_seconds\": %.6f, \"memory_bytes\": %llu, "
		"\"cpu_exceeded\": %s, \"wall_exceeded\": %s, \"memory_exceeded\": %s, "
		"\"output_bytes\": %llu, \"output_exceeded\": %s, \"vm_peak_bytes\": %llu, "
		"\"seccomp\": %s, \"exec_error\": ",
		cpu, wall, rss, cpu_exceeded ? "true" : "false", wall_exceeded ? "true" : "false",
		memory_exceeded ? "true" : "false", output, output_exceeded ? "true" : "false",
		vm_peak,
#ifdef NATIVE_ARCH
		opt.seccomp ? "true" : "false"
#else
		"false"
#endif
		);
	json_str(f, exec_errno ? exec_error : NULL);
	fputs(", \"error\": ", f);
	json_str(f, terminated ? "runguard was terminated" : NULL);
	fputs("}\n", f);
	if (fclose(f) != 0) return EXIT_SETUP;
	return terminated ? EXIT_SETUP : 0;
}
