// 2^40 distinct instantiations: the compiler works until its time or memory limit.
template <class A, class B> struct Pair {};

template <class T, int N> struct Bomb {
	static const long value = Bomb<Pair<T, int>, N - 1>::value + Bomb<Pair<T, long>, N - 1>::value;
};
template <class T> struct Bomb<T, 0> {
	static const long value = 1;
};

int main() { return Bomb<int, 40>::value == 0; }
