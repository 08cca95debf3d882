/*
 * bsfit.hpp: a header-only C++17 layer over the C ABI of bsfit (bsfit.h).
 *
 *   bsfit::Spline   RAII handle of a fitted spline (move-only)
 *   bsfit::Fitter   RAII handle of a fit plan: allocation-free refits
 *   bsfit::Error    exception carrying the bsfit_status and the message
 *   bsfit::Span<T>  pointer + size view; converts from std::vector,
 *                   std::array and C arrays
 *   bsfit::prefilter3d, bsfit::set_threads, bsfit::threads, bsfit::version
 *
 * Every call that fails throws bsfit::Error (status() and what(), e.g.
 * "BSFIT_STATUS_NON_INCREASING_SITES: axis 1: sites must be strictly
 * increasing, ..."); functions that cannot fail are noexcept. The ownership,
 * thread, fork and memory rules are those of bsfit.h: a Spline may be
 * evaluated from many threads at once, a Fitter by one thread at a time.
 *
 *   #include "bsfit.hpp"
 *   std::vector<double> x = {0, 0.5, 1.5, 2, 3.5}, y = {-1, 0, 0.5, 1};
 *   std::vector<double> v(x.size() * y.size());  // row-major, y fastest
 *   ...
 *   bsfit::Spline s = bsfit::Spline::fit({x, y}, v);
 *   double f = s({1.2, 0.3});
 *   std::vector<double> g = s.grad({1.2, 0.3});
 *
 * Link with libbsfit (see README: CMake target bsfit::bsfit, pkg-config bsfit).
 */
#ifndef BSFIT_HPP
#define BSFIT_HPP

#include "bsfit.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bsfit {

/// A failed bsfit call: the status code and the library's message.
class Error : public std::runtime_error {
  public:
    Error(bsfit_status status, const std::string &message)
        : std::runtime_error(std::string(bsfit_status_name(status)) + ": " + message),
          status_(status) {}

    /// The status code (never BSFIT_STATUS_OK).
    bsfit_status status() const noexcept { return status_; }

    /// The status code's name, e.g. "BSFIT_STATUS_NULL_POINTER".
    const char *name() const noexcept { return bsfit_status_name(status_); }

  private:
    bsfit_status status_;
};

namespace detail {
/// Throws bsfit::Error unless `status` is BSFIT_STATUS_OK.
inline void check(bsfit_status status) {
    if (status != BSFIT_STATUS_OK) throw Error(status, bsfit_last_error_message());
}

/// The product of `lens`; throws Error(BSFIT_STATUS_INVALID_ARGUMENT) if it
/// overflows size_t.
template <class C> std::size_t product(const C &lens) {
    std::size_t p = 1;
    for (std::size_t n : lens) {
        if (n != 0 && p > SIZE_MAX / n)
            throw Error(BSFIT_STATUS_INVALID_ARGUMENT, "the grid's size overflows size_t");
        p *= n;
    }
    return p;
}

/// Throws Error(BSFIT_STATUS_SHAPE_MISMATCH) unless `got` values fill a grid of `want`.
inline void check_len(std::size_t got, std::size_t want, const char *what) {
    if (got != want)
        throw Error(BSFIT_STATUS_SHAPE_MISMATCH, std::to_string(got) + " " + what +
                                                     " for a grid of " + std::to_string(want) +
                                                     " points");
}
} // namespace detail

/// A contiguous view: a pointer and a number of elements (C++20's std::span,
/// for C++17). Converts from std::vector, std::array and C arrays; the
/// calls that take a point or orders also accept brace lists.
template <class T> class Span {
    using U = std::remove_const_t<T>;

  public:
    constexpr Span() noexcept = default;
    constexpr Span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    template <std::size_t N> constexpr Span(T (&a)[N]) noexcept : data_(a), size_(N) {}
    template <class A> Span(std::vector<U, A> &v) noexcept : data_(v.data()), size_(v.size()) {}
    template <class A, class V = T, std::enable_if_t<std::is_const_v<V>, int> = 0>
    Span(const std::vector<U, A> &v) noexcept : data_(v.data()), size_(v.size()) {}
    template <std::size_t N> Span(std::array<U, N> &a) noexcept : data_(a.data()), size_(N) {}
    template <std::size_t N, class V = T, std::enable_if_t<std::is_const_v<V>, int> = 0>
    Span(const std::array<U, N> &a) noexcept : data_(a.data()), size_(N) {}
    /// A writable view converts to a read-only one.
    template <class V = T, std::enable_if_t<std::is_const_v<V>, int> = 0>
    Span(Span<U> s) noexcept : data_(s.data()), size_(s.size()) {}

    constexpr T *data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr T *begin() const noexcept { return data_; }
    constexpr T *end() const noexcept { return data_ + size_; }
    constexpr T &operator[](std::size_t i) const noexcept { return data_[i]; }

  private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

namespace detail {
/// The per-axis arrays of a call (sites or knots) as the C ABI takes them.
struct Axes {
    std::vector<const double *> ptrs;
    std::vector<std::size_t> lens;

    Axes(std::initializer_list<Span<const double>> axes) { add(axes); }
    template <class A> Axes(const std::vector<std::vector<double, A>> &axes) { add(axes); }
    Axes(const std::vector<Span<const double>> &axes) { add(axes); }

    template <class C> void add(const C &axes) {
        for (const auto &a : axes) {
            Span<const double> s(a);
            ptrs.push_back(s.data());
            lens.push_back(s.size());
        }
    }
    std::size_t ndim() const noexcept { return ptrs.size(); }
};
} // namespace detail

/// The per-axis arrays of a fit or of a spline's parts: a brace list of
/// vectors or arrays ({x, y}), or a vector of vectors.
using Axes = detail::Axes;

/// A fitted cubic tensor-product spline of 1-6 dimensions (owns a
/// bsfit_spline; move-only). A moved-from or default-constructed Spline is
/// empty: its calls throw Error(BSFIT_STATUS_NULL_POINTER).
class Spline {
  public:
    Spline() noexcept = default;
    /// Takes ownership of a handle from the C API (may be NULL).
    explicit Spline(bsfit_spline *raw) noexcept : raw_(raw) {}
    Spline(Spline &&o) noexcept : raw_(std::exchange(o.raw_, nullptr)) {}
    Spline &operator=(Spline &&o) noexcept {
        if (this != &o) {
            bsfit_spline_free(raw_);
            raw_ = std::exchange(o.raw_, nullptr);
        }
        return *this;
    }
    Spline(const Spline &) = delete;
    Spline &operator=(const Spline &) = delete;
    ~Spline() { bsfit_spline_free(raw_); }

    /// The interpolating spline (not-a-knot ends) of row-major `values` on
    /// the grid sites[0] x ... x sites[ndim-1] (bsfit_spline_fit).
    static Spline fit(const Axes &sites, Span<const double> values) {
        detail::check_len(values.size(), detail::product(sites.lens), "values");
        bsfit_spline *s = nullptr;
        detail::check(bsfit_spline_fit(sites.ndim(), sites.ptrs.data(), sites.lens.data(),
                                       values.data(), &s));
        return Spline(s);
    }

    /// A spline from its knots and row-major coefficients (bsfit_spline_from_parts).
    static Spline from_parts(const Axes &knots, Span<const double> coefs) {
        bsfit_spline *s = nullptr;
        detail::check(bsfit_spline_from_parts(knots.ndim(), knots.ptrs.data(), knots.lens.data(),
                                              coefs.data(), coefs.size(), &s));
        return Spline(s);
    }

    /// from_parts with periodic axes (bsfit_spline_from_parts_periodic);
    /// `periodic` has one flag per axis, as periodic() returns them.
    static Spline from_parts_periodic(const Axes &knots, const std::vector<bool> &periodic,
                                      Span<const double> coefs) {
        std::unique_ptr<bool[]> flags(new bool[periodic.size() + 1]);
        for (std::size_t k = 0; k < periodic.size(); ++k) flags[k] = periodic[k];
        if (periodic.size() != knots.ndim())
            throw Error(BSFIT_STATUS_DIMENSION_MISMATCH,
                        std::to_string(periodic.size()) + " periodic flags for " +
                            std::to_string(knots.ndim()) + " axes");
        bsfit_spline *s = nullptr;
        detail::check(bsfit_spline_from_parts_periodic(knots.ndim(), knots.ptrs.data(),
                                                       knots.lens.data(), flags.get(),
                                                       coefs.data(), coefs.size(), &s));
        return Spline(s);
    }

    /// The C handle (still owned by this object).
    bsfit_spline *get() const noexcept { return raw_; }
    /// Gives up ownership of the C handle.
    bsfit_spline *release() noexcept { return std::exchange(raw_, nullptr); }
    explicit operator bool() const noexcept { return raw_ != nullptr; }

    std::size_t ndim() const {
        std::size_t n = 0;
        detail::check(bsfit_spline_ndim(raw_, &n));
        return n;
    }
    /// Coefficients per axis.
    std::vector<std::size_t> shape() const {
        std::vector<std::size_t> v(ndim());
        detail::check(bsfit_spline_shape(raw_, v.data(), v.size()));
        return v;
    }
    std::vector<double> knots(std::size_t axis) const {
        std::size_t n = 0;
        detail::check(bsfit_spline_knots_len(raw_, axis, &n));
        std::vector<double> t(n);
        detail::check(bsfit_spline_knots(raw_, axis, t.data(), t.size()));
        return t;
    }
    std::vector<double> coefs() const {
        std::size_t n = 0;
        detail::check(bsfit_spline_coefs_len(raw_, &n));
        std::vector<double> c(n);
        detail::check(bsfit_spline_coefs(raw_, c.data(), c.size()));
        return c;
    }
    /// [lo, hi] of every axis.
    std::vector<std::pair<double, double>> domain() const {
        std::vector<double> d(2 * ndim());
        detail::check(bsfit_spline_domain(raw_, d.data(), d.size()));
        std::vector<std::pair<double, double>> out;
        for (std::size_t k = 0; k < d.size(); k += 2) out.emplace_back(d[k], d[k + 1]);
        return out;
    }
    /// Which axes are periodic.
    std::vector<bool> periodic() const {
        std::size_t n = ndim();
        std::unique_ptr<bool[]> flags(new bool[n]);
        detail::check(bsfit_spline_periodic(raw_, flags.get(), n));
        return std::vector<bool>(flags.get(), flags.get() + n);
    }

    /// The value at `x` (ndim coordinates).
    double operator()(Span<const double> x) const { return eval(x); }
    double operator()(std::initializer_list<double> x) const { return eval(list(x)); }
    double eval(std::initializer_list<double> x) const { return eval(list(x)); }
    double deriv(std::initializer_list<double> x, std::initializer_list<std::size_t> orders) const {
        return deriv(list(x), list(orders));
    }
    std::vector<double> grad(std::initializer_list<double> x) const { return grad(list(x)); }
    std::vector<double> hessian(std::initializer_list<double> x) const { return hessian(list(x)); }
    double eval(Span<const double> x) const {
        double v = 0;
        detail::check(bsfit_spline_eval(raw_, x.data(), x.size(), &v));
        return v;
    }
    /// The mixed partial derivative with per-axis `orders` at `x`.
    double deriv(Span<const double> x, Span<const std::size_t> orders) const {
        if (orders.size() != x.size())
            throw Error(BSFIT_STATUS_DIMENSION_MISMATCH,
                        std::to_string(orders.size()) + " orders for a point of " +
                            std::to_string(x.size()) + " coordinates");
        double v = 0;
        detail::check(bsfit_spline_eval_deriv(raw_, x.data(), orders.data(), x.size(), &v));
        return v;
    }
    std::vector<double> grad(Span<const double> x) const {
        std::vector<double> g(x.size());
        detail::check(bsfit_spline_grad(raw_, x.data(), x.size(), g.data(), g.size()));
        return g;
    }
    /// Row-major ndim x ndim.
    std::vector<double> hessian(Span<const double> x) const {
        std::vector<double> h(x.size() * x.size());
        detail::check(bsfit_spline_hessian(raw_, x.data(), x.size(), h.data(), h.size()));
        return h;
    }

    /// Values at the row-major points (points.size() / ndim of them) into
    /// `out`; outside the domain NaN unless `extrapolate`.
    void eval_many(Span<const double> points, Span<double> out, bool extrapolate = true) const {
        many(points, nullptr, out, extrapolate);
    }
    /// One mixed partial derivative (per-axis `orders`) at many points.
    void eval_many(Span<const double> points, Span<const std::size_t> orders, Span<double> out,
                   bool extrapolate = true) const {
        if (orders.size() != ndim())
            throw Error(BSFIT_STATUS_DIMENSION_MISMATCH,
                        std::to_string(orders.size()) + " orders for a spline of " +
                            std::to_string(ndim()) + " dimensions");
        many(points, orders.data(), out, extrapolate);
    }
    std::vector<double> eval_many(Span<const double> points, bool extrapolate = true) const {
        std::vector<double> out(points.size() / std::max<std::size_t>(ndim(), 1));
        many(points, nullptr, out, extrapolate);
        return out;
    }

    /// Threads of this spline's batch evaluations (0: follow set_threads).
    void set_threads(std::size_t n) { detail::check(bsfit_spline_set_threads(raw_, n)); }
    std::size_t threads() const {
        std::size_t n = 0;
        detail::check(bsfit_spline_get_threads(raw_, &n));
        return n;
    }

  private:
    template <class T> static Span<const T> list(std::initializer_list<T> l) noexcept {
        return Span<const T>(l.begin(), l.size());
    }
    void many(Span<const double> points, const std::size_t *orders, Span<double> out,
              bool extrapolate) const {
        std::size_t d = ndim();
        if (points.size() % d != 0)
            throw Error(BSFIT_STATUS_DIMENSION_MISMATCH,
                        std::to_string(points.size()) + " coordinates are not points of " +
                            std::to_string(d) + " dimensions");
        detail::check(bsfit_spline_eval_many(raw_, points.data(), points.size() / d, d, orders,
                                             extrapolate, out.data(), out.size()));
    }

    bsfit_spline *raw_ = nullptr;
};

/// A fit plan for one grid (owns a bsfit_fitter; move-only): refits of new
/// values on the same grid allocate nothing. Use from one thread at a time.
class Fitter {
  public:
    Fitter() noexcept = default;
    /// Not-a-knot ends on every axis (bsfit_fitter_new).
    explicit Fitter(const Axes &sites) {
        detail::check(bsfit_fitter_new(sites.ndim(), sites.ptrs.data(), sites.lens.data(), &raw_));
    }
    /// A bsfit_end per end of every axis (bsfit_fitter_new_bc).
    Fitter(const Axes &sites, const std::vector<bsfit_end> &left,
           const std::vector<bsfit_end> &right) {
        if (left.size() != sites.ndim() || right.size() != sites.ndim())
            throw Error(BSFIT_STATUS_DIMENSION_MISMATCH,
                        "one left and one right end per axis are needed");
        detail::check(bsfit_fitter_new_bc(sites.ndim(), sites.ptrs.data(), sites.lens.data(),
                                          left.data(), right.data(), &raw_));
    }
    explicit Fitter(bsfit_fitter *raw) noexcept : raw_(raw) {}
    Fitter(Fitter &&o) noexcept : raw_(std::exchange(o.raw_, nullptr)) {}
    Fitter &operator=(Fitter &&o) noexcept {
        if (this != &o) {
            bsfit_fitter_free(raw_);
            raw_ = std::exchange(o.raw_, nullptr);
        }
        return *this;
    }
    Fitter(const Fitter &) = delete;
    Fitter &operator=(const Fitter &) = delete;
    ~Fitter() { bsfit_fitter_free(raw_); }

    bsfit_fitter *get() const noexcept { return raw_; }
    bsfit_fitter *release() noexcept { return std::exchange(raw_, nullptr); }
    explicit operator bool() const noexcept { return raw_ != nullptr; }

    std::size_t ndim() const { return read(bsfit_fitter_ndim); }
    /// Grid points: values per fit.
    std::size_t len() const { return read(bsfit_fitter_len); }
    /// Coefficients per fit.
    std::size_t coefs_len() const { return read(bsfit_fitter_coefs_len); }
    /// Sites per axis.
    std::vector<std::size_t> shape() const {
        std::vector<std::size_t> v(ndim());
        detail::check(bsfit_fitter_shape(raw_, v.data(), v.size()));
        return v;
    }
    /// Coefficients per axis.
    std::vector<std::size_t> coefs_shape() const {
        std::vector<std::size_t> v(ndim());
        detail::check(bsfit_fitter_coefs_shape(raw_, v.data(), v.size()));
        return v;
    }
    std::vector<double> sites(std::size_t axis) const {
        std::vector<std::size_t> n = shape();
        if (axis >= n.size())
            throw Error(BSFIT_STATUS_INVALID_ARGUMENT, "axis " + std::to_string(axis) + " of a " +
                                                           std::to_string(n.size()) +
                                                           "-dimensional grid");
        std::vector<double> x(n[axis]);
        detail::check(bsfit_fitter_sites(raw_, axis, x.data(), x.size()));
        return x;
    }
    /// The end conditions (left, right) of every axis.
    std::pair<std::vector<bsfit_end>, std::vector<bsfit_end>> ends() const {
        std::size_t n = ndim();
        std::vector<bsfit_end> l(n), r(n);
        detail::check(bsfit_fitter_ends(raw_, l.data(), r.data(), n));
        return {l, r};
    }
    /// End-derivative values each fit takes (left, right).
    std::pair<std::size_t, std::size_t> end_values_len() const {
        std::size_t l = 0, r = 0;
        detail::check(bsfit_fitter_end_values_len(raw_, &l, &r));
        return {l, r};
    }

    /// Solves for the coefficients of `values` into `coefs` (at least
    /// coefs_len() elements; NaN if the refit throws).
    void refit(Span<const double> values, Span<double> coefs) {
        detail::check(bsfit_fitter_refit(raw_, values.data(), values.size(), coefs.data(),
                                         coefs.size()));
    }
    /// refit with end-derivative values (see end_values_len()).
    void refit(Span<const double> values, Span<const double> left, Span<const double> right,
               Span<double> coefs) {
        detail::check(bsfit_fitter_refit_ends(raw_, values.data(), values.size(), left.data(),
                                              left.size(), right.data(), right.size(),
                                              coefs.data(), coefs.size()));
    }
    std::vector<double> refit(Span<const double> values) {
        std::vector<double> c(coefs_len());
        refit(values, c);
        return c;
    }
    /// A new spline fitted to `values`.
    Spline fit(Span<const double> values) {
        bsfit_spline *s = nullptr;
        detail::check(bsfit_fitter_fit(raw_, values.data(), values.size(), &s));
        return Spline(s);
    }
    Spline fit(Span<const double> values, Span<const double> left, Span<const double> right) {
        bsfit_spline *s = nullptr;
        detail::check(bsfit_fitter_fit_ends(raw_, values.data(), values.size(), left.data(),
                                            left.size(), right.data(), right.size(), &s));
        return Spline(s);
    }
    /// The spline with coefficients written by refit().
    Spline spline(Span<const double> coefs) const {
        bsfit_spline *s = nullptr;
        detail::check(bsfit_fitter_spline(raw_, coefs.data(), coefs.size(), &s));
        return Spline(s);
    }

    /// Threads of this fitter's refits (1: on the calling thread; 0: follow set_threads).
    void set_threads(std::size_t n) { detail::check(bsfit_fitter_set_threads(raw_, n)); }
    std::size_t threads() const { return read(bsfit_fitter_get_threads); }

  private:
    std::size_t read(bsfit_status (*f)(const bsfit_fitter *, std::size_t *)) const {
        std::size_t n = 0;
        detail::check(f(raw_, &n));
        return n;
    }

    bsfit_fitter *raw_ = nullptr;
};

/// The 3D prefilter (bsfit_prefilter3d_f64): the coefficients of the
/// samples `values` on a uniform shape[0] x shape[1] x shape[2] grid into
/// `out` (NaN if it throws).
inline void prefilter3d(Span<const double> values, std::array<std::size_t, 3> shape,
                        std::array<bsfit_boundary, 3> boundary, Span<double> out) {
    detail::check_len(values.size(), detail::product(shape), "samples");
    detail::check(bsfit_prefilter3d_f64(values.data(), shape[0], shape[1], shape[2],
                                        boundary.data(), out.data(), out.size()));
}
/// bsfit_prefilter3d_f32.
inline void prefilter3d(Span<const float> values, std::array<std::size_t, 3> shape,
                        std::array<bsfit_boundary, 3> boundary, Span<float> out) {
    detail::check_len(values.size(), detail::product(shape), "samples");
    detail::check(bsfit_prefilter3d_f32(values.data(), shape[0], shape[1], shape[2],
                                        boundary.data(), out.data(), out.size()));
}
/// The prefilter into a new vector.
inline std::vector<double> prefilter3d(Span<const double> values,
                                       std::array<std::size_t, 3> shape,
                                       std::array<bsfit_boundary, 3> boundary) {
    std::vector<double> out(values.size());
    prefilter3d(values, shape, boundary, Span<double>(out));
    return out;
}

/// Threads of the library's parallel calls in this process (0: the default).
inline void set_threads(std::size_t n) { detail::check(bsfit_set_threads(n)); }
/// The thread count in force.
inline std::size_t threads() {
    std::size_t n = 0;
    detail::check(bsfit_get_threads(&n));
    return n;
}
/// The library's version, e.g. "0.1.0".
inline const char *version() noexcept { return bsfit_version(); }
/// Returns the one-shot calls' cached memory (bsfit_release_cached_memory).
inline void release_cached_memory() noexcept { bsfit_release_cached_memory(); }

} // namespace bsfit

#endif // BSFIT_HPP
