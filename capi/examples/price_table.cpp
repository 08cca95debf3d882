// Black–Scholes price table through bsfit's C++ header (include/bsfit.hpp
// over the C API; C++17, no other dependencies).
//
// Tabulates the European call price C(m, tau, sigma, r) (strike 1, spot = m)
// on a non-uniform 4D grid, fits the interpolating cubic spline, evaluates
// price, delta = dC/dm, gamma = d2C/dm2 and vega = dC/dsigma at random points
// inside the domain, and compares them with the closed-form formulas. Each
// error must lie within the cubic-spline interpolation bound computed at that
// point from the analytic function itself (see `bound` below); the program
// exits with status 1 if any does not.
//
// Build (after `cargo build --release -p bsfit-capi`, from the repo root):
//   g++ -std=c++17 -O2 -Iinclude capi/examples/price_table.cpp
//       target/release/libbsfit.a -lpthread -ldl -lm -o price_table

#include "bsfit.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------
// Black–Scholes call, strike 1 (m = S/K), no dividends
// ---------------------------------------------------------------------------

constexpr double kPi = 3.14159265358979323846;
double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi); }
double d1(double m, double tau, double sigma, double r) {
    return (std::log(m) + (r + 0.5 * sigma * sigma) * tau) / (sigma * std::sqrt(tau));
}
double price(double m, double tau, double sigma, double r) {
    double a = d1(m, tau, sigma, r), b = a - sigma * std::sqrt(tau);
    return m * Phi(a) - std::exp(-r * tau) * Phi(b);
}
double delta(double m, double tau, double sigma, double r) { return Phi(d1(m, tau, sigma, r)); }
double gamma_(double m, double tau, double sigma, double r) {
    return phi(d1(m, tau, sigma, r)) / (m * sigma * std::sqrt(tau));
}
double vega(double m, double tau, double sigma, double r) {
    return m * phi(d1(m, tau, sigma, r)) * std::sqrt(tau);
}

using Fn = double (*)(double, double, double, double);
using Point = std::array<double, 4>;
double call(Fn f, const Point &x) { return f(x[0], x[1], x[2], x[3]); }

// ---------------------------------------------------------------------------
// The grid: moneyness finest at the money, maturities uniform in sqrt(tau)
// ---------------------------------------------------------------------------

constexpr double kLo[4] = {0.7, 0.05, 0.1, 0.0};   // m, tau, sigma, r
constexpr double kHi[4] = {1.3, 2.0, 0.6, 0.08};
constexpr size_t kShape[4] = {30, 20, 12, 8};

std::array<std::vector<double>, 4> make_axes() {
    std::array<std::vector<double>, 4> ax;
    auto lin = [](size_t n, size_t i) { return double(i) / double(n - 1); };
    for (size_t i = 0; i < kShape[0]; ++i)  // 1 + 0.3 sinh(2u)/sinh(2), u in [-1, 1]
        ax[0].push_back(1.0 + 0.3 * std::sinh(2.0 * (2.0 * lin(kShape[0], i) - 1.0)) / std::sinh(2.0));
    const double a = std::sqrt(kLo[1]), b = std::sqrt(kHi[1]);
    for (size_t i = 0; i < kShape[1]; ++i) ax[1].push_back(std::pow(a + (b - a) * lin(kShape[1], i), 2));
    for (int k = 2; k < 4; ++k)
        for (size_t i = 0; i < kShape[k]; ++i) ax[k].push_back(kLo[k] + (kHi[k] - kLo[k]) * lin(kShape[k], i));
    ax[0].front() = kLo[0];  // exact ends despite rounding
    ax[0].back() = kHi[0];
    ax[1].front() = kLo[1];
    ax[1].back() = kHi[1];
    return ax;
}

// SplitMix64: reproducible on every platform.
struct Rng {
    uint64_t s;
    double uniform(double lo, double hi) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        return lo + (hi - lo) * double(z >> 11) / 9007199254740992.0;
    }
};

// ---------------------------------------------------------------------------
// Error bound of cubic spline interpolation
// ---------------------------------------------------------------------------
//
// For the r-th derivative along axis a (r = 0: the value) at point p:
//   C_r h_a^(4-r) max|d4 C/dx_a^4|  +  sum_{k != a} C_0 h_k^4 max|d4 g/dx_k^4|
// with g = d^r C/dx_a^r the analytic greek, h the largest spacing near p, the
// maxima taken over the neighbouring cells, and the Hall–Meyer constants
// C_0 = 5/384, C_1 = 1/24, C_2 = 3/8 (sharp for complete cubic splines in 1D).
// A safety factor of 4 covers the not-a-knot ends and the other axes'
// Lebesgue constants (~1.5 each) in the tensor product.

constexpr double kC[3] = {5.0 / 384.0, 1.0 / 24.0, 3.0 / 8.0};
constexpr double kSafety = 4.0;

size_t cell(const std::vector<double> &a, double p) {
    size_t i = size_t(std::upper_bound(a.begin(), a.end(), p) - a.begin());
    return std::min(i == 0 ? 0 : i - 1, a.size() - 2);
}

// (h, max |d4 f/dx_axis^4|) near p: f is sampled along `axis` over the three
// cells on either side of p with a step of a quarter of the smallest spacing
// there, on 4 x 4 x 4 lines across the neighbouring cells of the other axes;
// the fourth divided differences estimate the fourth derivative.
std::pair<double, double> local_d4(Fn f, const std::array<std::vector<double>, 4> &axes,
                                   const Point &p, int axis) {
    const auto &a = axes[axis];
    size_t i = cell(a, p[axis]);
    size_t lo = i >= 3 ? i - 3 : 0, hi = std::min(i + 4, a.size() - 1);
    double h = 0, hmin = INFINITY;
    for (size_t j = lo; j < hi; ++j) {
        h = std::max(h, a[j + 1] - a[j]);
        hmin = std::min(hmin, a[j + 1] - a[j]);
    }
    size_t steps = size_t(std::ceil(4.0 * (a[hi] - a[lo]) / hmin));
    double step = (a[hi] - a[lo]) / double(steps);
    int others[3], no = 0;
    for (int k = 0; k < 4; ++k)
        if (k != axis) others[no++] = k;
    double d4max = 0;
    std::vector<double> line(steps + 1);
    for (int code = 0; code < 64; ++code) {
        Point x = p;
        for (int o = 0, c = code; o < 3; ++o, c /= 4) {
            const auto &b = axes[others[o]];
            size_t j = cell(b, p[others[o]]);
            double b0 = b[j >= 1 ? j - 1 : 0], b1 = b[std::min(j + 2, b.size() - 1)];
            x[others[o]] = b0 + (b1 - b0) * (c % 4) / 3.0;
        }
        for (size_t q = 0; q <= steps; ++q) {
            x[axis] = a[lo] + double(q) * step;
            line[q] = call(f, x);
        }
        for (size_t q = 0; q + 4 <= steps; ++q) {
            double d = line[q] - 4 * line[q + 1] + 6 * line[q + 2] - 4 * line[q + 3] + line[q + 4];
            d4max = std::max(d4max, std::fabs(d) / std::pow(step, 4));
        }
    }
    return {h, d4max};
}

struct Quantity {
    const char *name;
    std::array<size_t, 4> orders;
    Fn exact;
    int axis;   // the axis differentiated along (-1: none)
    int order;  // its order
};

}  // namespace

int main() try {
    const auto axes = make_axes();
    const bsfit::Axes sites = {axes[0], axes[1], axes[2], axes[3]};
    size_t total = 1;
    for (size_t n : kShape) total *= n;

    // The table, row-major (m slowest, r fastest).
    std::vector<double> table;
    table.reserve(total);
    for (double m : axes[0])
        for (double t : axes[1])
            for (double s : axes[2])
                for (double r : axes[3]) table.push_back(price(m, t, s, r));

    // One-shot fit (errors throw bsfit::Error, with the status and message).
    auto t0 = std::chrono::steady_clock::now();
    bsfit::Spline spline = bsfit::Spline::fit(sites, table);
    auto t1 = std::chrono::steady_clock::now();

    // A pricing engine refits on the same grid when prices move: the fitter
    // keeps the factorisations and scratch, and refits allocate nothing.
    bsfit::Fitter fitter(sites);
    std::vector<double> coefs(fitter.coefs_len());
    fitter.refit(table, coefs);
    auto t2 = std::chrono::steady_clock::now();
    fitter.refit(table, coefs);
    auto t3 = std::chrono::steady_clock::now();
    if (coefs != spline.coefs()) throw std::runtime_error("refit coefficients differ from the fit's");

    // Random points inside the domain, row-major n x 4.
    constexpr size_t kPoints = 200;
    Rng rng{2024};
    std::vector<Point> pts(kPoints);
    std::vector<double> flat;
    for (auto &p : pts) {
        for (int k = 0; k < 4; ++k) p[k] = rng.uniform(kLo[k], kHi[k]);
        flat.insert(flat.end(), p.begin(), p.end());
    }

    const Quantity quantities[] = {
        {"price  C", {0, 0, 0, 0}, price, -1, 0},
        {"delta  dC/dm", {1, 0, 0, 0}, delta, 0, 1},
        {"gamma  d2C/dm2", {2, 0, 0, 0}, gamma_, 0, 2},
        {"vega   dC/dsigma", {0, 0, 1, 0}, vega, 2, 1},
    };

    std::printf("bsfit %s: Black-Scholes call table %zux%zux%zux%zu = %zu values\n",
                bsfit::version(), kShape[0], kShape[1], kShape[2], kShape[3], total);
    std::printf("  fit %.3f ms, refit %.3f ms; %zu random points, errors vs closed form\n\n",
                std::chrono::duration<double, std::milli>(t1 - t0).count(),
                std::chrono::duration<double, std::milli>(t3 - t2).count(), kPoints);
    std::printf("  %-17s %11s %11s %11s %12s\n", "quantity", "max |err|", "RMS err",
                "max |exact|", "err / bound");

    bool ok = true;
    std::vector<double> got(kPoints);
    for (const auto &q : quantities) {
        // Batch evaluation of the derivative (outside the domain: NaN).
        spline.eval_many(flat, q.orders, got, false);
        double max_err = 0, sum_sq = 0, max_ref = 0, worst = 0;
        for (size_t i = 0; i < kPoints; ++i) {
            const Point &p = pts[i];
            double exact = call(q.exact, p), err = std::fabs(got[i] - exact);
            double bound = 0;
            for (int k = 0; k < 4; ++k) {
                if (k == q.axis) {
                    auto [h, d4] = local_d4(price, axes, p, k);
                    bound += kC[q.order] * std::pow(h, 4 - q.order) * d4;
                } else {
                    auto [h, d4] = local_d4(q.exact, axes, p, k);
                    bound += kC[0] * std::pow(h, 4) * d4;
                }
            }
            bound *= kSafety;
            if (!(err <= bound)) {
                ok = false;
                std::fprintf(stderr, "FAIL %s at (%g, %g, %g, %g): spline %.10g, exact %.10g, error %.3e > bound %.3e\n",
                             q.name, p[0], p[1], p[2], p[3], got[i], exact, err, bound);
            }
            max_err = std::max(max_err, err);
            sum_sq += err * err;
            max_ref = std::max(max_ref, std::fabs(exact));
            worst = std::max(worst, err / bound);
        }
        std::printf("  %-17s %11.3e %11.3e %11.3e %12.3f\n", q.name, max_err,
                    std::sqrt(sum_sq / kPoints), max_ref, worst);
    }

    // Single-point calls agree with the batch: gradient and Hessian.
    const Point &p = pts[0];
    std::vector<double> g = spline.grad(p), h = spline.hessian(p);
    double dd = spline.deriv(p, std::array<size_t, 4>{1, 0, 0, 0});
    double dg = spline.deriv(p, std::array<size_t, 4>{2, 0, 0, 0});
    if (std::fabs(g[0] - dd) > 1e-12 * (1 + std::fabs(dd)) || std::fabs(h[0] - dg) > 1e-12 * (1 + std::fabs(dg))) {
        std::fprintf(stderr, "FAIL gradient/Hessian disagree with eval_deriv\n");
        ok = false;
    }

    std::printf("\n  %s\n", ok ? "all errors within the interpolation bounds" : "BOUND VIOLATED");
    return ok ? 0 : 1;
} catch (const std::exception &e) {
    std::fprintf(stderr, "price_table: %s\n", e.what());
    return 2;
}
