"""Tries to create a file in every directory given; prints each one that worked. Exit 0 if none
did."""
import os
import sys

leaks = []
for directory in sys.argv[1:]:
    try:
        with open(os.path.join(directory, "podium-was-here"), "wb") as f:
            f.write(b"x")
        leaks.append(directory)
    except OSError:
        pass
print("\n".join(leaks))
sys.exit(1 if leaks else 0)
