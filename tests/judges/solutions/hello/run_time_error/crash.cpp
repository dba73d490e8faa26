#include <cstdio>
int main() { int *p = nullptr; std::puts("Hello World!"); return *p; }
