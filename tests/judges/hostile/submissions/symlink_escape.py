"""Symlinks from the work dir to host paths (read: the first line's file; write: the other
lines' directories, with the file name given first); reads and writes through them."""
import os
import sys

name, secret, *dirs = sys.stdin.read().split()
for target, link in ((secret, "secret-link"), ("/etc/shadow", "shadow-link")):
    os.symlink(target, link)
    try:
        with open(link, "rb") as f:
            print("ESCAPED read", target, f.read(200))
    except OSError:
        pass
    try:
        os.link(target, link + "-hard")
        print("ESCAPED hard link", target)
    except OSError:
        pass
for index, directory in enumerate(dirs):
    link = f"dir-link-{index}"
    os.symlink(directory, link)
    try:
        with open(os.path.join(link, name), "xb") as f:
            f.write(b"x")
        print("wrote through", link, "to", directory)
    except OSError:
        pass
print("contained")
