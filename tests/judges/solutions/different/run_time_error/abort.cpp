#include <cstdio>
#include <cstdlib>
int main() {
    long long a, b;
    while (std::scanf("%lld %lld", &a, &b) == 2) {
        if (a > 1000000 || b > 1000000) std::abort();
        std::printf("%lld\n", std::llabs(a - b));
    }
}
