# Solves only the first subtask (exactly five words); prints every word otherwise.
import sys

words = sys.stdin.read().split()
n = int(words[0])
print("\n".join(words[1:n + 1:2] if n == 5 else words[1:n + 1]))
