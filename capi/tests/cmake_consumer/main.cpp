// Built by capi/tests/cmake_consumer/CMakeLists.txt against an installed
// libbsfit: fits f(x, y) = x^2 y + y^3 and checks a value and a gradient.
#include <bsfit.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

int main() {
    std::vector<double> x = {0.0, 0.5, 1.5, 2.0, 3.5}, y = {-1.0, 0.0, 0.5, 1.0, 2.0};
    std::vector<double> v;
    for (double a : x)
        for (double b : y) v.push_back(a * a * b + b * b * b);
    try {
        bsfit::Spline s = bsfit::Spline::fit({x, y}, v);
        double f = s({1.2, 0.3});
        std::vector<double> g = s.grad({1.2, 0.3});
        bool ok = std::fabs(f - (1.44 * 0.3 + 0.027)) < 1e-12 && std::fabs(g[0] - 0.72) < 1e-12 &&
                  std::fabs(g[1] - (1.44 + 0.27)) < 1e-12 &&
                  std::strcmp(bsfit::version(), BSFIT_VERSION_STRING) == 0;
        std::printf("consumer: bsfit %s, f = %.6f: %s\n", bsfit::version(), f, ok ? "ok" : "WRONG");
        return ok ? 0 : 1;
    } catch (const bsfit::Error &e) {
        std::printf("consumer: %s\n", e.what());
        return 1;
    }
}
