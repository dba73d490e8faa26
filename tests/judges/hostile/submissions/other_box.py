"""Looks for another submission: the paths given, and every process's working dir and root
(/proc/*/cwd, /proc/*/root/work); prints every file it could read there."""
import glob
import os
import sys

places = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
places += glob.glob("/proc/[0-9]*/cwd") + glob.glob("/proc/[0-9]*/root/work")
places += glob.glob("/proc/[0-9]*/root/tmp")
mine = os.path.realpath(".")
for place in places:
    try:
        if os.path.realpath(place) == mine:
            continue
        for name in os.listdir(place):
            path = os.path.join(place, name)
            try:
                with open(path, "rb") as f:
                    print("ESCAPED", path, f.read(200))
            except OSError:
                pass
    except OSError:
        pass
print("contained")
