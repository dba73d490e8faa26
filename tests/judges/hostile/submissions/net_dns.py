"""Resolves names and asks public and local DNS servers directly."""
import socket
import struct

leaks = []
for name in ("example.com", "deb.debian.org", "host.docker.internal", "gateway.docker.internal"):
    try:
        socket.getaddrinfo(name, 80)
        leaks.append(f"resolved {name}")
    except OSError:
        pass
query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(p)]) + p for p in (b"example", b"com")) + b"\0\0\1\0\1"
for server in ("8.8.8.8", "1.1.1.1", "127.0.0.53", "127.0.0.11", "10.0.2.3", "172.17.0.1"):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(query, (server, 53))
            s.recvfrom(512)
            leaks.append(f"dns {server}")
    except OSError:
        pass
for leak in leaks:
    print("ESCAPED", leak)
print("contained")
