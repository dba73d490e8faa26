import sys

for line in sys.stdin:
    a, b = map(int, line.split())
    table = [0] * 1000
    print(table[abs(a - b)])  # IndexError for large differences
