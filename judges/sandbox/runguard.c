/*
 * runguard: run one command under resource limits and report what it used (Podium judges).
 *
 *   runguard [options] -- COMMAND [ARG...]
 *
 *   --cpu SECONDS    CPU time of the command (fractional). Enforced twice: the supervisor samples
 *                    the command's CPU clock every POLL_MS, and the CPU of all the run's
 *                    processes (live ones from /proc, reaped ones from RUSAGE_CHILDREN) every
 *                    GROUP_CPU_POLLS polls, and kills the run when it passes the
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
 *   --agent DIR [LIFETIME]  agent mode, alone: the main process of a Docker box, doing the
 *                    judge's runs and file operations in the work dir DIR over stdin/stdout
 *                    (see "agent mode" below).
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
#include <poll.h>
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
#define GROUP_CPU_POLLS 10 /* the CPU of every process of the run: every this many polls */
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

/* User + system seconds of a struct rusage. */
static double rusage_cpu(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + ru->ru_stime.tv_sec +
	       ru->ru_stime.tv_usec / 1e6;
}

/* The fields of /proc/PID/stat after the command name (which may contain spaces and ')'),
 * read into BUF; NULL when the process is gone. */
static const char *stat_fields(const char *pid, char *buf, size_t size)
{
	char path[300];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return NULL;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0) return NULL;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p ? p + 1 : NULL;
}

/* The parent pid of PID (the field after the state), or -1. */
static pid_t parent_of(const char *pid)
{
	char buf[1024];
	const char *fields = stat_fields(pid, buf, sizeof buf);
	int ppid;
	char state;
	return fields && sscanf(fields, " %c %d", &state, &ppid) == 2 ? ppid : -1;
}

/* CPU seconds (user + system) of every live process of the run: the command's process group
 * and the orphans reparented to runguard; reaped ones are in RUSAGE_CHILDREN. Read from
 * /proc/PID/stat (fields 14 and 15, in clock ticks). */
static double live_group_cpu(pid_t pgid)
{
	static long ticks;
	if (!ticks) ticks = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	pid_t self = getpid();
	double total = 0;
	DIR *d = opendir("/proc");
	if (!d) return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
		char buf[1024];
		const char *fields = stat_fields(e->d_name, buf, sizeof buf);
		char state;
		int ppid, pgrp;
		unsigned long utime, stime;
		if (!fields || sscanf(fields, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				      &state, &ppid, &pgrp, &utime, &stime) != 5)
			continue;
		if (pgrp == pgid || ppid == self) total += (double)(utime + stime) / ticks;
	}
	closedir(d);
	return total;
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
	/* kill/tkill/rt_sigqueueinfo(pid, ...): not runguard, not pid 1 (the namespace's init: the
	 * Docker box's agent, which ignores it, but the call would still succeed), not -1
	 * (everyone), not its group. */
	static const int by_pid[] = {__NR_kill, __NR_tkill, __NR_rt_sigqueueinfo,
				     __NR_tgkill, __NR_rt_tgsigqueueinfo};
	for (size_t i = 0; i < sizeof by_pid / sizeof *by_pid; i++) {
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, by_pid[i], 0, 7));
		EMIT(LOAD_ARG(0));
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sup, 3, 0));
		EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0));   /* the namespace's init */
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

/* ---- agent mode (the Docker backend) ------------------------------------------------------ */

/* runguard --agent DIR [LIFETIME]: the main process of a Docker box container, started as the
 * box's uid; DIR is the work dir (where runs run). It does what the judge asks over its stdin and stdout (the container's
 * attach stream), one request at a time, so that a run or a file operation needs no exec.
 * Messages both ways are a field count and then the fields, each a length and its bytes (all
 * counts and lengths 32-bit big-endian). Requests (the first field names it):
 *
 *   write NAME EXECUTABLE(0|1) DATA   create NAME anew (whatever is there is removed; a
 *                                     symlink, file or locked dir on the way becomes a real,
 *                                     open directory)                         -> ok
 *   read NAME LIMIT                   at most LIMIT bytes of a regular file  -> ok DATA
 *   ends NAME HEAD TAIL               its first HEAD and last TAIL bytes      -> ok HEAD TAIL
 *   prepare STDOUT STDERR             empty /tmp, remove what is at the names -> ok
 *   run HEAD TAIL STDIN STDOUT STDERR NENV ENV... ARGS...
 *                                     prepare, then fork and exec runguard ARGS (its options,
 *                                     "--", the command) with the environment ENV, its report
 *                                     on a pipe and its stderr in an anonymous file
 *                                     -> ok REPORT STDERR-HEAD STDERR-TAIL DIAGNOSTICS
 *
 * Names are relative to the work dir ("" = none); no symlink is followed on the way, and a
 * read refuses anything but a regular file. Failures answer CODE NAME MESSAGE, CODE one of
 * missing, notregular (symlinks, FIFOs, devices, directories), notdir (a symlink or a file on
 * the way), write, io. The agent first says "podium-agent 1 PID". It is non-dumpable (neither
 * ptrace nor /proc/1/fd reach its channel), sets no signal handler (as the pid namespace's init
 * it then gets no signal from inside it), ends at the end of its stdin or of LIFETIME seconds,
 * and reaps the orphans it inherits. The judge asks only between runs, when runguard has
 * killed every process of the program. */

#define AGENT_FIELD_MAX (1u << 20)   /* largest field but a file's data */
#define AGENT_FIELDS_MAX 65536u
#define AGENT_DEPTH 32               /* deeper directories are moved up to be removed */

static int agent_work = -1, agent_tmp = -1;
static unsigned char agent_in[1 << 16], agent_out[1 << 16];
static size_t agent_in_pos, agent_in_len, agent_out_len;
static unsigned agent_moved;

/* Up to MAX buffered bytes of the judge's channel (*at points to them); ends at end-of-file. */
static size_t agent_chunk(size_t max, unsigned char **at)
{
	while (agent_in_pos == agent_in_len) {
		ssize_t r = read(0, agent_in, sizeof agent_in);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) _exit(0);        /* the judge is gone */
		agent_in_pos = 0;
		agent_in_len = (size_t)r;
	}
	size_t take = agent_in_len - agent_in_pos;
	if (take > max) take = max;
	*at = agent_in + agent_in_pos;
	agent_in_pos += take;
	return take;
}

static void agent_take(void *dst, size_t n)
{
	unsigned char *p = dst, *at;
	while (n) {
		size_t got = agent_chunk(n, &at);
		memcpy(p, at, got);
		p += got;
		n -= got;
	}
}

static uint32_t agent_u32_in(void)
{
	unsigned char b[4];
	agent_take(b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A whole field, NUL-terminated (malloc'ed). */
static char *agent_field_in(void)
{
	uint32_t n = agent_u32_in();
	if (n > AGENT_FIELD_MAX) _exit(3);   /* not the judge's protocol */
	char *s = malloc((size_t)n + 1);
	if (!s) _exit(3);
	agent_take(s, n);
	s[n] = 0;
	return s;
}

static void agent_flush(void)
{
	for (size_t at = 0; at < agent_out_len;) {
		ssize_t w = write(1, agent_out + at, agent_out_len - at);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) _exit(0);
		at += (size_t)w;
	}
	agent_out_len = 0;
}

static void agent_put(const void *src, size_t n)
{
	const unsigned char *p = src;
	while (n) {
		if (agent_out_len == sizeof agent_out) agent_flush();
		size_t take = sizeof agent_out - agent_out_len;
		if (take > n) take = n;
		memcpy(agent_out + agent_out_len, p, take);
		agent_out_len += take;
		p += take;
		n -= take;
	}
}

static void agent_u32(uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
	agent_put(b, 4);
}

static void agent_field(const void *p, size_t n) { agent_u32((uint32_t)n); agent_put(p, n); }
static void agent_str(const char *s) { agent_field(s, strlen(s)); }

static void agent_fail(const char *code, const char *name, int err)
{
	agent_u32(3);
	agent_str(code);
	agent_str(name);
	agent_str(strerror(err));
	agent_flush();
}

static void agent_ok(void) { agent_u32(1); agent_str("ok"); agent_flush(); }

/* Open up a directory the program locked (it is the agent's own uid). */
static void agent_unlock(int dir, const char *name)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 0700) != 0700)
		fchmodat(dir, name, (st.st_mode & 07777) | 0700, 0);
}

static void agent_empty(int fd, int top, int depth);

/* Remove NAME in DIR, a directory with everything in it too; 0 (also when there was nothing) or
 * -1 with errno. */
static int agent_remove(int dir, const char *name)
{
	if (unlinkat(dir, name, 0) == 0 || errno == ENOENT) return 0;
	if (errno != EISDIR && errno != EPERM && errno != EACCES) return -1;
	agent_unlock(dir, name);
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	agent_empty(fd, fd, 0);
	close(fd);
	return unlinkat(dir, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

/* Empty the directory FD (best effort). Directories deeper than AGENT_DEPTH are moved up into
 * TOP, and emptied from there, so that few descriptors are open whatever the depth. */
static void agent_empty(int fd, int top, int depth)
{
	for (int pass = 0; pass < 10000; pass++) {
		int copy = dup(fd);
		DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
		if (!d) { if (copy >= 0) close(copy); return; }
		rewinddir(d);
		int seen = 0, gone = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
			seen++;
			if (unlinkat(fd, e->d_name, 0) == 0) { gone++; continue; }
			if (errno != EISDIR) continue;
			if (depth >= AGENT_DEPTH) {
				char aside[64];
				snprintf(aside, sizeof aside, ".podium-deep-%u", agent_moved++);
				if (renameat(fd, e->d_name, top, aside) == 0) gone++;
				continue;
			}
			agent_unlock(fd, e->d_name);
			int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) continue;
			agent_empty(sub, top, depth + 1);
			close(sub);
			if (unlinkat(fd, e->d_name, AT_REMOVEDIR) == 0) gone++;
		}
		closedir(d);
		if (!seen || !gone) return;
	}
}

/* The directory holding NAME's last component (*last), walked from the work dir without
 * following a symlink, opening up locked directories; -1 with errno (ENOENT: a directory is
 * missing; ENOTDIR: a symlink or a file is on the way) and *where = the failed prefix.
 * With create, what is in the way is replaced by a real directory. NAME is modified. */
static int agent_parent(char *name, char **last, int create, const char **where)
{
	int dir = openat(agent_work, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *part = name, *slash;
	*where = name;
	while (dir >= 0 && (slash = strchr(part, '/'))) {
		*slash = 0;
		int fd = -1;
		if (!*part || !strcmp(part, ".") || !strcmp(part, "..")) {
			errno = EINVAL;
		} else {
			fd = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 && errno == EACCES) {
				agent_unlock(dir, part);
				fd = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			}
			if (fd < 0 && create && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) {
				if (errno != ENOENT) unlinkat(dir, part, 0);
				if (mkdirat(dir, part, 0755) == 0 || errno == EEXIST)
					fd = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						    O_CLOEXEC);
			}
			if (fd < 0 && errno == ELOOP) errno = ENOTDIR;
		}
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
			fchmod(fd, (st.st_mode & 07777) | 0700);
		int saved = errno;
		close(dir);
		errno = saved;
		if (fd < 0) return -1;         /* NAME now ends at PART: *where */
		*slash = '/';
		dir = fd;
		part = slash + 1;
	}
	*last = part;
	if (dir >= 0 && (!*part || !strcmp(part, ".") || !strcmp(part, ".."))) {
		close(dir);
		errno = EINVAL;
		return -1;
	}
	return dir;
}

/* Answer a failed walk or open of NAME (ENOENT: missing, ENOTDIR: notdir, else io). */
static void agent_fail_open(const char *where, int err, int answer)
{
	if (answer) agent_fail(err == ENOENT ? "missing" : err == ENOTDIR ? "notdir" : "io", where, err);
}

/* A read-only descriptor of the regular file NAME, or -1 (after answering why not, with
 * ANSWER). */
static int agent_open_regular(const char *name, int answer)
{
	char *copy = strdup(name), *last;
	const char *where;
	if (!copy) _exit(3);
	int dir = agent_parent(copy, &last, 0, &where);
	if (dir < 0) {
		agent_fail_open(where, errno, answer);
		free(copy);
		return -1;
	}
	struct stat st;
	int fd = -1;
	if (fstatat(dir, last, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		agent_fail_open(name, errno, answer);
	} else if (!S_ISREG(st.st_mode)) {
		if (answer) agent_fail("notregular", name, EPERM);
	} else {
		int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
		fd = openat(dir, last, flags);
		if (fd < 0 && errno == EACCES && fchmodat(dir, last, (st.st_mode & 07777) | 0400, 0) == 0)
			fd = openat(dir, last, flags);
		if (fd < 0) agent_fail_open(name, errno, answer);
		else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			fd = -1;
			if (answer) agent_fail("notregular", name, EPERM);
		}
	}
	close(dir);
	free(copy);
	return fd;
}

/* Send N bytes of FD from OFFSET as one field (zeros if the file shrank meanwhile). */
static void agent_send_file(int fd, off_t offset, size_t n)
{
	static char buf[1 << 16];
	agent_u32((uint32_t)n);
	while (n) {
		ssize_t r = pread(fd, buf, n < sizeof buf ? n : sizeof buf, offset);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) { memset(buf, 0, sizeof buf); r = n < sizeof buf ? (ssize_t)n : (ssize_t)sizeof buf; }
		agent_put(buf, (size_t)r);
		offset += r;
		n -= (size_t)r;
	}
}

/* The first N bytes of FD as one field. */
static void agent_send_head(int fd, size_t n)
{
	struct stat st;
	size_t size = fd >= 0 && fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
	agent_send_file(fd, 0, size < n ? size : n);
}

/* The first HEAD and the last TAIL bytes of FD, as two fields. */
static void agent_send_ends(int fd, size_t head, size_t tail)
{
	struct stat st;
	size_t size = fd >= 0 && fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
	agent_send_file(fd, 0, size < head ? size : head);
	agent_send_file(fd, size > tail ? (off_t)(size - tail) : 0, size < tail ? size : tail);
}

static void agent_write(void)
{
	char *name = agent_field_in(), *executable = agent_field_in(), *last;
	uint32_t left = agent_u32_in();
	const char *where;
	int err = 0, fd = -1;
	char *copy = strdup(name);
	if (!copy) _exit(3);
	int dir = agent_parent(copy, &last, 1, &where);
	if (dir < 0) err = errno;
	else if (agent_remove(dir, last) < 0) err = errno, where = name;
	else if ((fd = openat(dir, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			      0600)) < 0)
		err = errno, where = name;
	else if (fchmod(fd, strcmp(executable, "1") ? 0644 : 0755) < 0)
		err = errno, where = name;
	if (err) where = strdup(where);
	while (left) {                          /* the data: always consumed */
		unsigned char *at;
		size_t got = agent_chunk(left, &at);
		left -= (uint32_t)got;
		while (!err && got) {
			ssize_t w = write(fd, at, got);
			if (w < 0 && errno == EINTR) continue;
			if (w < 0) { err = errno; where = strdup(name); break; }
			at += w;
			got -= (size_t)w;
		}
	}
	if (fd >= 0) close(fd);
	if (dir >= 0) close(dir);
	if (err) agent_fail("write", where ? where : name, err);
	else agent_ok();
	free(copy);
	free(name);
	free(executable);
}

/* Before a run: a fresh /tmp, nothing at the output names (none of the program's leftovers),
 * no symlink on the way to any of them. 0, or -1 after answering why. */
static int agent_prepare(const char *in, const char *out, const char *err)
{
	agent_empty(agent_tmp, agent_tmp, 0);
	const char *names[] = {out, err, in};
	for (int i = 0; i < 3; i++) {
		if (!*names[i]) continue;
		char *copy = strdup(names[i]), *last;
		const char *where;
		if (!copy) _exit(3);
		int dir = agent_parent(copy, &last, 0, &where), bad = 0;
		if (dir < 0 && errno != ENOENT) {      /* missing: runguard says so */
			agent_fail("notdir", names[i], ENOTDIR);
			bad = 1;
		} else if (dir >= 0 && i < 2 && agent_remove(dir, last) < 0) {
			agent_fail("io", names[i], errno);
			bad = 1;
		}
		if (dir >= 0) close(dir);
		free(copy);
		if (bad) return -1;
	}
	return 0;
}

static void agent_run(char **f, uint32_t n)
{
	/* f: run HEAD TAIL STDIN STDOUT STDERR NENV ENV... ARGS... */
	if (n < 8) _exit(3);
	size_t head = strtoul(f[1], NULL, 10), tail = strtoul(f[2], NULL, 10);
	uint32_t nenv = (uint32_t)strtoul(f[6], NULL, 10);
	if (nenv > n - 7) _exit(3);
	if (agent_prepare(f[3], f[4], f[5]) < 0) return;
	char **envp = calloc(nenv + 1, sizeof *envp), **args = calloc(n - 7 - nenv + 2, sizeof *args);
	if (!envp || !args) _exit(3);
	memcpy(envp, f + 7, nenv * sizeof *envp);
	args[0] = "runguard";
	memcpy(args + 1, f + 7 + nenv, (n - 7 - nenv) * sizeof *args);
	int diag = (int)syscall(SYS_memfd_create, "stderr", 1u /* MFD_CLOEXEC */);
	int report[2];
	if (diag < 0 || pipe2(report, O_CLOEXEC) < 0) {
		agent_fail("io", "", errno);
		if (diag >= 0) close(diag);
		free(envp);
		free(args);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(diag, 2) < 0 ||
		    dup2(report[1], 3) < 0)
			_exit(126);
		fcntl(2, F_SETFD, 0);
		fcntl(3, F_SETFD, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		execve("/proc/self/exe", args, envp);
		dprintf(2, "runguard --agent: cannot execute runguard: %s\n", strerror(errno));
		_exit(127);
	}
	close(report[1]);
	char buf[1 << 16];
	size_t got = 0;
	for (;;) {                       /* runguard's report: ends when runguard does */
		char rest[4096];
		ssize_t r = got < sizeof buf ? read(report[0], buf + got, sizeof buf - got)
					     : read(report[0], rest, sizeof rest);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		if (got < sizeof buf) got += (size_t)r;
	}
	close(report[0]);
	if (pid > 0) while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
	int err = diag;
	if (*f[5]) err = agent_open_regular(f[5], 0);  /* as the program left it, or nothing */
	agent_u32(5);
	agent_str("ok");
	agent_field(buf, got);
	agent_send_ends(err, head, tail);
	if (*f[5]) agent_send_head(diag, 4000);      /* runguard's own complaints */
	else agent_u32(0);                           /* they are in the stderr above */
	agent_flush();
	if (err >= 0 && err != diag) close(err);
	close(diag);
	free(envp);
	free(args);
}

static void agent_request(void)
{
	uint32_t n = agent_u32_in();
	if (n == 0 || n > AGENT_FIELDS_MAX) _exit(3);
	char *op = agent_field_in();
	if (!strcmp(op, "write") && n == 4) {
		free(op);
		agent_write();
		return;
	}
	char **f = calloc(n + 1, sizeof *f);
	if (!f) _exit(3);
	f[0] = op;
	for (uint32_t i = 1; i < n; i++) f[i] = agent_field_in();
	if (!strcmp(op, "read") && n == 3) {
		int fd = agent_open_regular(f[1], 1);
		if (fd >= 0) {
			agent_u32(2);
			agent_str("ok");
			agent_send_head(fd, strtoull(f[2], NULL, 10));
			agent_flush();
			close(fd);
		}
	} else if (!strcmp(op, "ends") && n == 4) {
		int fd = agent_open_regular(f[1], 1);
		if (fd >= 0) {
			agent_u32(3);
			agent_str("ok");
			agent_send_ends(fd, strtoul(f[2], NULL, 10), strtoul(f[3], NULL, 10));
			agent_flush();
			close(fd);
		}
	} else if (!strcmp(op, "prepare") && n == 3) {
		if (agent_prepare("", f[1], f[2]) == 0) agent_ok();
	} else if (!strcmp(op, "run")) {
		agent_run(f, n);
	} else {
		agent_fail("bad", op, EINVAL);
	}
	for (uint32_t i = 0; i < n; i++) free(f[i]);
	free(f);
}

static int agent(int argc, char **argv)
{
	report_fd = -1;                      /* die() must not write into the channel */
	prctl(PR_SET_DUMPABLE, 0);
	signal(SIGPIPE, SIG_IGN);            /* ignored, not handled: nothing to send it */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 3) die("usage: runguard --agent DIR [LIFETIME]");
	double lifetime = argc > 3 ? parse_seconds(argv[3], "--agent lifetime") : 0;
	double deadline = now() + lifetime;
	agent_work = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	agent_tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (agent_work < 0 || agent_tmp < 0 || fchdir(agent_work) < 0)
		die("--agent: cannot open %s or /tmp: %s", argv[2], strerror(errno));
	char pid[32];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	agent_u32(3);
	agent_str("podium-agent");
	agent_str("1");
	agent_str(pid);
	agent_flush();
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {}   /* orphans of execs */
		if (agent_in_pos == agent_in_len) {
			int ms = -1;
			if (lifetime > 0) {
				double left = deadline - now();
				if (left <= 0) return 0;
				ms = left > 3600 ? 3600000 : (int)(left * 1000) + 1;
			}
			struct pollfd p = {0, POLLIN, 0};
			if (poll(&p, 1, ms) <= 0) continue;
		}
		agent_request();
	}
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
	if (argc > 1 && strcmp(argv[1], "--agent") == 0) return agent(argc, argv);
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
	unsigned polls = 0;
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
		/* Every GROUP_CPU_POLLS polls, the CPU of all processes of the run (a program that
		 * forks spreads its CPU over processes the command's own clock does not see). */
		if (opt.cpu > 0 && !killed && ++polls % GROUP_CPU_POLLS == 0) {
			struct rusage reaped;
			getrusage(RUSAGE_CHILDREN, &reaped);
			double group = live_group_cpu(pid) + rusage_cpu(&reaped);
			if (group > cpu_used) cpu_used = group;
		}
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
	double cpu = rusage_cpu(&ru);
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
