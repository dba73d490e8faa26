// A parameter pack of 268 million integers: the compiler runs out of memory at once.
#include <utility>

template <std::size_t... I> constexpr std::size_t sum(std::index_sequence<I...>)
{
	return (I + ... + 0);
}

int main() { return sum(std::make_index_sequence<268435452>{}) == 0; }
