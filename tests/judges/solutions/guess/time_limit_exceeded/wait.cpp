#include <iostream>
#include <string>
int main() {
    std::string answer;
    std::cin >> answer;  // waits for the judge to speak first: both wait, forever
    std::cout << 500 << std::endl;
}
