// Test of include/bsfit.hpp (C++17): RAII handles and move semantics, the
// exception type, span-like inputs, the fitter/refit loop, values and
// derivatives against a tensor-product polynomial, boundary conditions,
// periodic parts, the prefilter against its stencil, thread control.
//
// Build (see capi/ci.sh):
//   g++ -std=c++17 -Wall -Wextra -Werror -Iinclude capi/tests/test_cpp.cpp
//       target/release/libbsfit.a -lpthread -ldl -lm -o test_cpp

#include "bsfit.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace {

int failures = 0, checks = 0;

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        ++checks;                                                                        \
        if (!(cond)) {                                                                   \
            ++failures;                                                                  \
            std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                  \
            std::printf(__VA_ARGS__);                                                    \
            std::printf("\n");                                                           \
        }                                                                                \
    } while (0)

// Runs `f`, expecting bsfit::Error with `want`; returns its message.
template <class F> std::string expect_error(F &&f, bsfit_status want, const char *what) {
    try {
        f();
    } catch (const bsfit::Error &e) {
        CHECK(e.status() == want, "%s: got %s, want %s (%s)", what, e.name(),
              bsfit_status_name(want), e.what());
        CHECK(std::string(e.what()).rfind(bsfit_status_name(want), 0) == 0, "%s: what() = %s",
              what, e.what());
        return e.what();
    }
    CHECK(false, "%s: no exception", what);
    return "";
}

bool close(double a, double b, double tol) { return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b)); }

// f(x, y, z) = (x^3 - 2x) (1 + y^2) + z x y, a tensor-product cubic.
double f(double x, double y, double z) { return (x * x * x - 2 * x) * (1 + y * y) + z * x * y; }
double fx(double x, double y, double z) { return (3 * x * x - 2) * (1 + y * y) + z * y; }
double fy(double x, double y, double z) { return (x * x * x - 2 * x) * 2 * y + z * x; }
double fz(double x, double y, double) { return x * y; }
double fxy(double x, double y, double z) { return (3 * x * x - 2) * 2 * y + z; }

const std::vector<double> X = {-1.0, -0.5, 0.2, 0.9, 1.4, 2.0};
const std::vector<double> Y = {0.0, 0.3, 1.0, 1.6, 2.5};
const std::array<double, 4> Z = {-1.0, 0.0, 0.5, 2.0};

std::vector<double> grid(double scale = 1.0, double shift = 0.0) {
    std::vector<double> v;
    for (double x : X)
        for (double y : Y)
            for (double z : Z) v.push_back(scale * f(x, y, z) + shift);
    return v;
}

void test_fit_and_evaluate() {
    bsfit::Spline s = bsfit::Spline::fit({X, Y, Z}, grid());
    CHECK(s && s.ndim() == 3, "ndim");
    CHECK((s.shape() == std::vector<std::size_t>{6, 5, 4}), "shape");
    auto dom = s.domain();
    CHECK(dom.size() == 3 && dom[0].first == -1.0 && dom[0].second == 2.0, "domain");
    CHECK((s.periodic() == std::vector<bool>{false, false, false}), "periodic");
    for (int i = 0; i < 50; ++i) {
        double x = -1 + 3.0 * i / 49, y = 2.5 * ((i * 7) % 50) / 49.0, z = -1 + 3.0 * ((i * 13) % 50) / 49.0;
        const double p[3] = {x, y, z};
        CHECK(close(s(p), f(x, y, z), 1e-12), "value %g", s(p));
        CHECK(close(s.deriv({x, y, z}, {1, 1, 0}), fxy(x, y, z), 1e-10), "fxy");
        auto g = s.grad(std::array<double, 3>{x, y, z});
        CHECK(close(g[0], fx(x, y, z), 1e-10) && close(g[1], fy(x, y, z), 1e-10) &&
                  close(g[2], fz(x, y, z), 1e-10),
              "grad");
        auto h = s.hessian({x, y, z});
        CHECK(h.size() == 9 && close(h[1], fxy(x, y, z), 1e-10) && h[1] == h[3], "hessian");
    }
    // Batches: values, one partial, NaN outside with extrapolate = false.
    std::vector<double> pts = {0.1, 0.2, 0.3, 1.0, 1.0, 1.0, 5.0, 1.0, 1.0};
    std::vector<double> v = s.eval_many(pts, false);
    CHECK(v.size() == 3 && close(v[0], f(0.1, 0.2, 0.3), 1e-12) && std::isnan(v[2]), "eval_many");
    std::vector<double> d(3);
    s.eval_many(pts, std::array<std::size_t, 3>{1, 0, 0}, d);
    CHECK(close(d[1], fx(1, 1, 1), 1e-10), "eval_many partial");
    // Knots and coefficients rebuild the same spline.
    bsfit::Spline r = bsfit::Spline::from_parts({s.knots(0), s.knots(1), s.knots(2)}, s.coefs());
    CHECK(r({0.3, 0.7, 1.1}) == s({0.3, 0.7, 1.1}), "from_parts");
}

void test_errors_and_moves() {
    static_assert(!std::is_copy_constructible_v<bsfit::Spline>, "move-only");
    static_assert(!std::is_copy_assignable_v<bsfit::Fitter>, "move-only");
    static_assert(std::is_nothrow_move_constructible_v<bsfit::Spline>, "noexcept moves");
    std::vector<double> bad = {0.0, 1.0, 1.0, 2.0};
    std::string msg = expect_error([&] { bsfit::Fitter fit({bad, Y}); },
                                   BSFIT_STATUS_NON_INCREASING_SITES, "sites");
    CHECK(msg.find("axis 0") != std::string::npos, "%s", msg.c_str());
    bsfit::Spline s = bsfit::Spline::fit({X, Y, Z}, grid());
    expect_error([&] { s({1.0, 2.0}); }, BSFIT_STATUS_DIMENSION_MISMATCH, "point of 2");
    expect_error([&] { bsfit::Spline::fit({X, Y, Z}, std::vector<double>(10)); },
                 BSFIT_STATUS_SHAPE_MISMATCH, "values");
    expect_error([&] { s.knots(3); }, BSFIT_STATUS_INVALID_ARGUMENT, "axis");
    expect_error([&] { s.set_threads(100000); }, BSFIT_STATUS_INVALID_ARGUMENT, "threads");
    // Moves transfer ownership; a moved-from handle is empty and its calls throw.
    bsfit::Spline t = std::move(s);
    CHECK(t && !s && s.get() == nullptr, "moved");
    expect_error([&] { s.ndim(); }, BSFIT_STATUS_NULL_POINTER, "moved-from");
    bsfit::Spline u;
    u = std::move(t);
    CHECK(u && !t, "move assignment");
    bsfit_spline *raw = u.release();
    CHECK(raw != nullptr && !u, "release");
    bsfit::Spline back(raw);
    CHECK(back.ndim() == 3, "adopt");
}

void test_refit_loop() {
    bsfit::Fitter fit({X, Y, Z});
    CHECK(fit.len() == 120 && fit.coefs_len() == 120, "len");
    std::vector<double> c1(fit.coefs_len()), c2(fit.coefs_len());
    fit.refit(grid(), c1);
    // Linearity across refits: fit(a f + b) = a fit(f) + b (constants reproduce).
    for (int k = 1; k <= 100; ++k) {
        double a = 0.5 + k * 0.01, b = -k;
        fit.refit(grid(a, b), c2);
        for (std::size_t i = 0; i < c1.size(); i += 7)
            CHECK(close(c2[i], a * c1[i] + b, 1e-11), "refit %d coef %zu", k, i);
    }
    bsfit::Spline s = fit.spline(c2);
    CHECK(close(s({0.5, 0.5, 0.5}), (0.5 + 1.0) * f(0.5, 0.5, 0.5) - 100, 1e-11), "spline");
    // A failed refit throws and leaves NaN.
    std::vector<double> v = grid();
    v[5] = NAN;
    expect_error([&] { fit.refit(v, c2); }, BSFIT_STATUS_NON_FINITE_VALUE, "NaN value");
    CHECK(std::isnan(c2[0]) && std::isnan(c2.back()), "NaN after a failed refit");
    expect_error([&] { fit.refit(std::vector<double>(119), c2); }, BSFIT_STATUS_SHAPE_MISMATCH, "n");
    fit.set_threads(1);
    CHECK(fit.threads() == 1, "fitter threads");
    CHECK(fit.refit(grid()) == c1, "sequential refit");
}

void test_boundary_conditions() {
    // Axis 0 clamped-explicit: d1 on the left, d2 on the right; f's x-part is cubic.
    bsfit::Fitter fit({X, Y}, {BSFIT_END_DERIV1, BSFIT_END_NOT_A_KNOT},
                      {BSFIT_END_DERIV2, BSFIT_END_NOT_A_KNOT});
    auto [nl, nr] = fit.end_values_len();
    CHECK(nl == 5 && nr == 5, "end values %zu %zu", nl, nr);
    auto ends = fit.ends();
    CHECK(ends.first[0] == BSFIT_END_DERIV1 && ends.second[0] == BSFIT_END_DERIV2, "ends");
    CHECK((fit.coefs_shape() == std::vector<std::size_t>{8, 5}) && fit.sites(0) == X, "shapes");
    auto g = [](double x, double y) { return (x * x * x - 2 * x) * (1 + y * y); };
    std::vector<double> v, l, r;
    for (double x : X)
        for (double y : Y) v.push_back(g(x, y));
    for (double y : Y) {
        l.push_back((3 * X.front() * X.front() - 2) * (1 + y * y));
        r.push_back(6 * X.back() * (1 + y * y));
    }
    bsfit::Spline s = fit.fit(v, l, r);
    CHECK(close(s({0.37, 1.3}), g(0.37, 1.3), 1e-12), "explicit ends reproduce a cubic");
    std::vector<double> c(fit.coefs_len());
    fit.refit(v, l, r, c);
    CHECK(c == s.coefs(), "refit with ends");
    expect_error([&] { fit.refit(v, c); }, BSFIT_STATUS_END_VALUES_SHAPE, "missing ends");
    // Periodic: rebuilt from its parts.
    std::vector<double> w;
    for (double x : X)
        for (double y : Y) w.push_back(std::cos(2 * 3.141592653589793 * (x + 1) / 3) + y);
    bsfit::Fitter pf({X, Y}, {BSFIT_END_PERIODIC, BSFIT_END_NATURAL},
                     {BSFIT_END_PERIODIC, BSFIT_END_NATURAL});
    bsfit::Spline p = pf.fit(w);
    bsfit::Spline q = bsfit::Spline::from_parts_periodic({p.knots(0), p.knots(1)}, p.periodic(), p.coefs());
    CHECK(q({10.3, 1.0}) == p({10.3, 1.0}) && close(q({10.3, 1.0}), q({1.3, 1.0}), 1e-12), "periodic");
}

void test_prefilter() {
    const std::size_t n0 = 5, n1 = 6, n2 = 7;
    std::vector<double> fv(n0 * n1 * n2);
    for (std::size_t i = 0; i < fv.size(); ++i) fv[i] = std::sin(0.7 * i) + 0.1 * i;
    std::array<bsfit_boundary, 3> bc = {BSFIT_BOUNDARY_PERIODIC, BSFIT_BOUNDARY_MIRROR,
                                        BSFIT_BOUNDARY_ZERO};
    std::vector<double> c = bsfit::prefilter3d(fv, {n0, n1, n2}, bc);
    // B c, the stencil applied axis by axis under each boundary.
    std::array<std::size_t, 3> n = {n0, n1, n2};
    std::vector<double> bcv = c;
    for (int ax = 0; ax < 3; ++ax) {
        std::size_t stride = ax == 0 ? n1 * n2 : ax == 1 ? n2 : 1, m = n[ax];
        std::vector<double> out(bcv.size(), 0.0);
        for (std::size_t flat = 0; flat < bcv.size(); ++flat) {
            long i = long(flat / stride % m);
            std::size_t base = flat - std::size_t(i) * stride;
            const double w[3] = {1.0 / 6, 2.0 / 3, 1.0 / 6};
            for (int d = -1; d <= 1; ++d) {
                long j = i + d;
                if (j < 0 || j >= long(m)) {
                    if (bc[ax] == BSFIT_BOUNDARY_ZERO) continue;
                    j = bc[ax] == BSFIT_BOUNDARY_PERIODIC ? (j + long(m)) % long(m)
                                                         : (j < 0 ? -j : 2 * long(m) - 2 - j);
                }
                out[flat] += w[d + 1] * bcv[base + std::size_t(j) * stride];
            }
        }
        bcv = out;
    }
    double worst = 0;
    for (std::size_t i = 0; i < fv.size(); ++i) worst = std::max(worst, std::fabs(bcv[i] - fv[i]));
    CHECK(worst < 1e-12, "|B c - f| = %g", worst);
    std::vector<float> ff(fv.begin(), fv.end()), cf(ff.size());
    bsfit::prefilter3d(bsfit::Span<const float>(ff), {n0, n1, n2}, bc, bsfit::Span<float>(cf));
    CHECK(std::fabs(cf[3] - c[3]) < 1e-5 * std::max(1.0, std::fabs(c[3])), "f32");
    expect_error([&] { bsfit::prefilter3d(fv, {n0, n1, n2 + 1}, bc); }, BSFIT_STATUS_SHAPE_MISMATCH,
                 "samples");
}

void test_threads() {
    std::size_t dflt = bsfit::threads();
    bsfit::set_threads(2);
    CHECK(bsfit::threads() == 2, "threads");
    bsfit::Spline s = bsfit::Spline::fit({X, Y, Z}, grid());
    std::vector<double> pts(3 * 5000);
    for (std::size_t i = 0; i < pts.size(); ++i) pts[i] = std::fmod(0.37 * i, 2.0);
    std::vector<double> a = s.eval_many(pts);
    s.set_threads(1);
    CHECK(s.threads() == 1 && s.eval_many(pts) == a, "sequential batch");
    bsfit::set_threads(0);
    CHECK(bsfit::threads() == dflt, "default");
    char v[32];
    std::snprintf(v, sizeof v, "%d.%d.%d", BSFIT_VERSION_MAJOR, BSFIT_VERSION_MINOR, BSFIT_VERSION_PATCH);
    CHECK(std::strcmp(v, bsfit::version()) == 0, "version %s vs %s", v, bsfit::version());
}

} // namespace

int main() {
    test_fit_and_evaluate();
    test_errors_and_moves();
    test_refit_loop();
    test_boundary_conditions();
    test_prefilter();
    test_threads();
    bsfit::release_cached_memory();
    if (failures) {
        std::printf("test_cpp: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    std::printf("test_cpp: all %d checks passed\n", checks);
    return 0;
}
