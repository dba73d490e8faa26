"""Tries to kill its parent, pid 1 and everyone it may signal; prints what succeeded."""
import os
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
for what, call in (("parent", lambda: os.kill(os.getppid(), signal.SIGKILL)),
                   ("pid 1", lambda: os.kill(1, signal.SIGKILL)),
                   ("parent group", lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)),
                   ("everyone", lambda: os.kill(-1, signal.SIGKILL))):
    try:
        call()
        print("ESCAPED killed", what)
    except OSError:
        pass
print("contained")
