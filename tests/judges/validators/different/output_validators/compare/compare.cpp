// Output validator of "A Different Problem" (Kattis interface): one integer per input line,
// compared exactly as an integer (leading zeros, signs and extra tokens are wrong answers).
// Usage: compare input answer feedback_dir < team_output; exit 42 accepted, 43 wrong answer.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

static std::string feedback_dir;

static int verdict(int code, const std::string &message) {
    std::ofstream out(feedback_dir + "/judgemessage.txt");
    out << message << "\n";
    return code;
}

static bool integer(const std::string &token) {
    size_t start = token[0] == '-' ? 1 : 0;
    if (start == token.size()) return false;
    for (size_t i = start; i < token.size(); i++)
        if (!std::isdigit(static_cast<unsigned char>(token[i]))) return false;
    return token.size() - start == 1 || token[start] != '0';
}

int main(int argc, char **argv) {
    if (argc < 4) return 1;
    feedback_dir = argv[3];
    std::ifstream answer(argv[2]);
    std::string expected, got;
    int line = 0;
    while (answer >> expected) {
        line++;
        if (!(std::cin >> got))
            return verdict(43, "output ends after " + std::to_string(line - 1) + " numbers");
        if (!integer(got))
            return verdict(43, "number " + std::to_string(line) + ": not an integer: " +
                                   got.substr(0, 40));
        if (got != expected)
            return verdict(43, "number " + std::to_string(line) + ": expected " + expected +
                                   ", got " + got);
    }
    if (std::cin >> got) return verdict(43, "more output than expected: " + got.substr(0, 40));
    return verdict(42, std::to_string(line) + " numbers correct");
}
