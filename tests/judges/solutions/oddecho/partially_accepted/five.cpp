// @EXPECTED_SCORE@: 50
// Solves only the first subtask (exactly five words).
#include <iostream>
#include <string>
int main() {
    int n;
    std::cin >> n;
    for (int i = 0; i < n; i++) {
        std::string w;
        std::cin >> w;
        if (n != 5 || i % 2 == 0) std::cout << w << '\n';
    }
}
