"""Answers first, then fills the work dir with files just under the file size limit until
something refuses (a full disk, not the limit of one file)."""
print("contained", flush=True)
chunk = b"x" * (256 * 1024)
total = 0
try:
    while total < 1 << 30:
        with open(f"fill-{total}", "wb") as f:
            f.write(chunk)
        total += len(chunk)
except OSError:
    pass
if total >= 1 << 30:
    print("ESCAPED wrote", total >> 20, "MiB")
