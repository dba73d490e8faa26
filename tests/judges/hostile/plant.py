"""Leaves traps in the work dir for the judge: symlinks to the host paths given as arguments
(a file as "secret.txt", a file as "input.txt" and "output.txt", a directory as "sub"), and a
FIFO "fifo.txt". Reading through the symlinks from inside must fail too; prints what it could
read."""
import os
import sys

shadow, victim, victim_dir = sys.argv[1], sys.argv[2], sys.argv[3]
os.symlink(victim_dir, "sub")
os.symlink(shadow, "secret.txt")
os.symlink(victim, "input.txt")
os.symlink(victim, "output.txt")
os.mkfifo("fifo.txt")
for name in ("secret.txt", "input.txt"):
    try:
        with open(name, "rb") as f:
            print(name, f.read(20))
    except OSError:
        pass
