// One allocation of 16 GiB: it fails at once (std::bad_alloc), leaving no trace in the peaks.
#include <vector>

int main()
{
	std::vector<char> v(1ul << 34);
	return v[12345];
}
