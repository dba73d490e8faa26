#include <iostream>
#include <string>
int main() {
    std::string answer;
    for (int guess = 1000; guess > 990; guess--) {  // from the top: ten are not enough
        std::cout << guess << std::endl;
        if (!(std::cin >> answer) || answer == "correct") break;
    }
}
