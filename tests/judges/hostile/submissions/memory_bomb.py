"""Keeps 1 MiB after 1 MiB, forever."""
kept = []
while True:
    kept.append(bytearray(1 << 20))
