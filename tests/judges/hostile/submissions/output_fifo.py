"""Writes its answer, then replaces its own output file with a FIFO nobody writes to (a judge
that opens it blocks forever)."""
import os

print("contained", flush=True)
os.unlink("output.txt")
os.mkfifo("output.txt")
