import sys
words = sys.stdin.read().split()
print(words[int(words[0]) + 5])
