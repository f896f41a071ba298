// widget has C++ functions whose names demangle to namespaces, classes, templates, operators, lambdas and
// standard library types: the symbolize tests compare their names with nm -C's.
#include <map>
#include <string>
#include <vector>

namespace ns {
struct Widget {
	int n;
	explicit Widget(int v) : n(v) {}
	__attribute__((noinline)) int poke(int x, const std::vector<int> &v) const { return n + x + int(v.size()); }
	__attribute__((noinline)) Widget operator+(const Widget &o) const { return Widget(n + o.n); }
};

template <typename T> __attribute__((noinline)) T twice(T v) { return v + v; }

namespace {
__attribute__((noinline)) int hidden(std::map<std::string, int> &m) { return int(m.size()); }
} // namespace
} // namespace ns

int main(int argc, char **) {
	std::vector<int> v(argc);
	std::map<std::string, int> m;
	ns::Widget w(argc);
	auto f = [&](int y) __attribute__((noinline)) { return w.poke(y, v); };
	return f(1) + (w + w).n + ns::twice(argc) + int(ns::twice(1.5)) + ns::hidden(m);
}
