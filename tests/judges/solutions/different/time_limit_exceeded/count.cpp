#include <cstdio>
int main() {
    long long a, b;
    while (std::scanf("%lld %lld", &a, &b) == 2) {
        volatile long long low = a < b ? a : b, high = a < b ? b : a, steps = 0;
        while (low < high) { low = low + 1; steps = steps + 1; }
        std::printf("%lld\n", (long long)steps);
    }
}
