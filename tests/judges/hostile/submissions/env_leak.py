"""Prints its whole environment, and that of its parent."""
import os

for key, value in os.environ.items():
    print(f"{key}={value}")
for path in ("/proc/self/environ", f"/proc/{os.getppid()}/environ", "/proc/1/environ"):
    try:
        with open(path, "rb") as f:
            print(path, f.read(4000).replace(b"\0", b" "))
    except OSError:
        pass
print("contained")
