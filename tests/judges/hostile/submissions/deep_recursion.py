"""Lifts the recursion limit and recurses forever."""
import sys

sys.setrecursionlimit(1 << 30)


def depth(n):
    return depth(n + 1) + 1


print(depth(0))
