"""Leaves processes behind in every usual way: a new session running `sleep`, a forked child
in its own session ignoring SIGHUP, and a double-forked orphan; then exits 0."""
import os
import signal
import subprocess
import sys
import time

subprocess.Popen(["sleep", "600"], start_new_session=True, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
time.sleep(0.2)
print("contained")
sys.stdout.flush()
