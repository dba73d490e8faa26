"""Tries to read (or list) every path given; prints each one that worked. Exit 0 if none did."""
import os
import sys

leaks = []
for path in sys.argv[1:]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        leaks.append(path)
    except OSError:
        pass
print("\n".join(leaks))
sys.exit(1 if leaks else 0)
