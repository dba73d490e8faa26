"""Recurses 10^6 deep under Python's default recursion limit."""


def depth(n):
    return depth(n + 1) + 1 if n < 10**6 else 0


print(depth(0))
