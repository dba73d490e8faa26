import sys

for line in sys.stdin:
    a, b = map(int, line.split())
    low, high = min(a, b), max(a, b)
    steps = 0
    while low < high:  # counts up to 10^15
        low += 1
        steps += 1
    print(steps)
