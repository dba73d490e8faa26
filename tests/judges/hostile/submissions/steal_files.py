"""Reads every path given (one a line), walking directories; prints whatever it could read."""
import os
import sys

seen = 0


def grab(path, depth=0):
    global seen
    seen += 1
    if seen > 500:
        return
    try:
        if os.path.isdir(path):
            names = os.listdir(path)
            print("ESCAPED listed", path, names[:20])
            if depth < 3:
                for name in names:
                    grab(os.path.join(path, name), depth + 1)
        else:
            with open(path, "rb") as f:
                print("ESCAPED read", path, f.read(200))
    except OSError:
        pass


for line in sys.stdin.read().splitlines():
    if line.strip():
        grab(line.strip())
print("contained")
