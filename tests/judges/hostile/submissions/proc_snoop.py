"""Reads the command line and environment of every process it can see; prints them all."""
import glob

for pid_dir in glob.glob("/proc/[0-9]*"):
    for what in ("cmdline", "environ"):
        try:
            with open(f"{pid_dir}/{what}", "rb") as f:
                print(pid_dir, what, f.read(2000).replace(b"\0", b" "))
        except OSError:
            pass
print("contained")
