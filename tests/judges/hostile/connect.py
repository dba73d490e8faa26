"""Tries TCP connections to every host:port given; prints each one that connected. Exit 0 if
none did."""
import socket
import sys

leaks = []
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            leaks.append(target)
    except OSError:
        pass
print("\n".join(leaks))
sys.exit(1 if leaks else 0)
