/*
 * C11 test of the sensitivities to the data: bsfit_fitter_data_weights and
 * bsfit_fitter_data_vjp.
 *
 * Oracles from outside the code under test: central finite differences of
 * refits through the C API itself (bsfit_fitter_refit[_ends] +
 * bsfit_fitter_spline + bsfit_spline_eval_deriv), the dense tensor of the
 * per-axis weights against the gradient with one-hot cotangents, and the
 * weights contracted with the values against the fitted spline.
 *
 * Build (see capi/ci.sh):
 *   gcc -std=c11 -Wall -Wextra -Werror -Iinclude capi/tests/test_sensitivity.c \
 *       target/release/libbsfit.a -lpthread -ldl -lm -o test_sensitivity
 */
#include "bsfit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        ++checks;                                                              \
        if (!(cond)) {                                                         \
            ++failures;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
        }                                                                      \
    } while (0)

#define EXPECT(call, want)                                                     \
    do {                                                                       \
        bsfit_status st_ = (call);                                             \
        CHECK(st_ == (want), "got %s (%s), want %s", bsfit_status_name(st_),   \
              bsfit_last_error_message(), bsfit_status_name(want));            \
    } while (0)

#define OK(call) EXPECT(call, BSFIT_STATUS_OK)

static uint64_t rng_state = 777;
static double urand(double lo, double hi) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

static double max_abs(const double *v, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; ++i) m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* A 2-D grid: axis 0 natural:clamped, axis 1 periodic. */
static const double X0[] = {0.0, 0.4, 1.1, 1.5, 2.6, 3.0};
static const double X1[] = {-1.0, -0.3, 0.2, 0.9, 1.4};
#define N0 6
#define N1 5
#define NV (N0 * N1)

/* sum_p g_p * d^o s(x_p) for the spline refitted to `v`. */
static double objective(bsfit_fitter *f, const double *v, const double *pts, size_t np,
                        const double *g, const size_t *orders) {
    size_t m = 0;
    OK(bsfit_fitter_coefs_len(f, &m));
    double *c = malloc(m * sizeof(double));
    bsfit_spline *s = NULL;
    OK(bsfit_fitter_refit(f, v, NV, c, m));
    OK(bsfit_fitter_spline(f, c, m, &s));
    double acc = 0.0;
    for (size_t p = 0; p < np; ++p) {
        double val = 0.0;
        OK(bsfit_spline_eval_deriv(s, pts + 2 * p, orders, 2, &val));
        acc += g[p] * val;
    }
    bsfit_spline_free(s);
    free(c);
    return acc;
}

static void test_finite_differences_2d(void) {
    const double *sites[2] = {X0, X1};
    const size_t lens[2] = {N0, N1};
    const bsfit_end left[2] = {BSFIT_END_NATURAL, BSFIT_END_PERIODIC};
    const bsfit_end right[2] = {BSFIT_END_CLAMPED, BSFIT_END_PERIODIC};
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new_bc(2, sites, lens, left, right, &f));
    double v[NV];
    for (size_t i = 0; i < N0; ++i) {
        for (size_t j = 0; j < N1; ++j) v[i * N1 + j] = urand(-2.0, 2.0);
        v[i * N1 + N1 - 1] = v[i * N1]; /* periodic: last repeats first */
    }
    enum { NP = 7 };
    double pts[2 * NP], g[NP];
    for (size_t p = 0; p < NP; ++p) {
        pts[2 * p] = urand(-0.4, 3.4); /* some outside: extrapolated */
        pts[2 * p + 1] = urand(-1.5, 2.0); /* some outside: wrapped */
        g[p] = urand(-1.0, 1.0);
    }
    for (size_t o0 = 0; o0 <= 2; ++o0) {
        size_t orders[2] = {o0, o0 == 2 ? 1 : 0};
        double grad[NV];
        OK(bsfit_fitter_data_vjp(f, pts, NP, 2, orders, g, 1, grad, NV, NULL, 0, NULL, 0));
        double tol = 1e-7 * max_abs(grad, NV);
        double h = 1e-6 * 2.0;
        for (size_t i = 0; i < N0; ++i) {
            for (size_t j = 0; j < N1; ++j) {
                /* A periodic node is stored twice: perturb both copies. */
                size_t a = i * N1 + j;
                size_t b = (j == 0) ? i * N1 + N1 - 1 : (j == N1 - 1 ? i * N1 : a);
                double w[NV];
                memcpy(w, v, sizeof v);
                w[a] += h;
                if (b != a) w[b] += h;
                double up = objective(f, w, pts, NP, g, orders);
                w[a] -= 2.0 * h;
                if (b != a) w[b] -= 2.0 * h;
                double down = objective(f, w, pts, NP, g, orders);
                double fd = (up - down) / (2.0 * h);
                double want = grad[a] + (b != a ? grad[b] : 0.0);
                CHECK(fabs(fd - want) <= tol, "orders %zu: value (%zu, %zu): fd %g grad %g",
                      o0, i, j, fd, want);
            }
            CHECK(grad[i * N1 + N1 - 1] == 0.0, "the periodic end is not read");
        }
    }
    bsfit_fitter_free(f);
}

/* Dense weights against one-hot gradients; weights . values = spline. */
static void test_weights_against_vjp(void) {
    const double *sites[2] = {X0, X1};
    const size_t lens[2] = {N0, N1};
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new(2, sites, lens, &f));
    double v[NV];
    for (size_t i = 0; i < NV; ++i) v[i] = urand(-1.0, 1.0);
    size_t m = 0;
    OK(bsfit_fitter_coefs_len(f, &m));
    double *c = malloc(m * sizeof(double));
    bsfit_spline *s = NULL;
    OK(bsfit_fitter_refit(f, v, NV, c, m));
    OK(bsfit_fitter_spline(f, c, m, &s));
    for (int t = 0; t < 5; ++t) {
        double x[2] = {urand(-0.5, 3.5), urand(-1.2, 1.6)};
        size_t orders[2] = {(size_t)(t % 3), (size_t)(t % 2)};
        double w[N0 + N1], ends[2] = {-1.0, -1.0};
        OK(bsfit_fitter_data_weights(f, x, 2, orders, w, N0 + N1, ends));
        CHECK(ends[0] == 0.0 && ends[1] == 0.0, "no end values: %g %g", ends[0], ends[1]);
        double one = 1.0, grad[NV];
        OK(bsfit_fitter_data_vjp(f, x, 1, 2, orders, &one, 1, grad, NV, NULL, 0, NULL, 0));
        double scale = max_abs(grad, NV), dot = 0.0, mag = 0.0;
        for (size_t i = 0; i < N0; ++i)
            for (size_t j = 0; j < N1; ++j) {
                double d = w[i] * w[N0 + j];
                CHECK(fabs(d - grad[i * N1 + j]) <= 1e-13 * scale, "dense %zu %zu", i, j);
                dot += d * v[i * N1 + j];
                mag += fabs(d * v[i * N1 + j]);
            }
        double val = 0.0;
        OK(bsfit_spline_eval_deriv(s, x, orders, 2, &val));
        CHECK(fabs(dot - val) <= 1e-12 * (mag > 1.0 ? mag : 1.0), "%g vs %g", dot, val);
        /* Two components: each the scalar gradient of its own cotangent. */
        double g2[2] = {0.5, -2.0}, grad2[2 * NV];
        OK(bsfit_fitter_data_vjp(f, x, 1, 2, orders, g2, 2, grad2, 2 * NV, NULL, 0, NULL, 0));
        for (size_t i = 0; i < NV; ++i) {
            CHECK(fabs(grad2[2 * i] - 0.5 * grad[i]) <= 1e-13 * scale, "component 0");
            CHECK(fabs(grad2[2 * i + 1] + 2.0 * grad[i]) <= 1e-13 * scale, "component 1");
        }
    }
    bsfit_spline_free(s);
    free(c);
    bsfit_fitter_free(f);
}

/* 1-D with explicit end derivatives: gradients of the end values. */
static void test_end_values_1d(void) {
    const double *sites[1] = {X0};
    const size_t lens[1] = {N0};
    const bsfit_end left[1] = {BSFIT_END_DERIV1};
    const bsfit_end right[1] = {BSFIT_END_DERIV2};
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new_bc(1, sites, lens, left, right, &f));
    double v[N0], ends[2] = {0.7, -1.3};
    for (size_t i = 0; i < N0; ++i) v[i] = urand(-1.0, 1.0);
    double pts[3] = {0.2, 1.9, 3.3}, g[3] = {1.0, -0.5, 0.25};
    size_t orders[1] = {1};
    double grad[N0], gl = NAN, gr = NAN;
    OK(bsfit_fitter_data_vjp(f, pts, 3, 1, orders, g, 1, grad, N0, &gl, 1, &gr, 1));
    size_t m = 0;
    OK(bsfit_fitter_coefs_len(f, &m));
    double c[N0 + 2];
    double h = 1e-6;
    double tol = 1e-7 * (max_abs(grad, N0) + fabs(gl) + fabs(gr));
    for (int e = 0; e < 2; ++e) {
        double fd = 0.0;
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            double d[2] = {ends[0], ends[1]};
            d[e] += sgn * h;
            OK(bsfit_fitter_refit_ends(f, v, N0, &d[0], 1, &d[1], 1, c, m));
            bsfit_spline *s = NULL;
            OK(bsfit_fitter_spline(f, c, m, &s));
            for (int p = 0; p < 3; ++p) {
                double val = 0.0;
                OK(bsfit_spline_eval_deriv(s, &pts[p], orders, 1, &val));
                fd += sgn * g[p] * val / (2.0 * h);
            }
            bsfit_spline_free(s);
        }
        double want = e == 0 ? gl : gr;
        CHECK(fabs(fd - want) <= tol, "end %d: fd %g grad %g", e, fd, want);
    }
    double w[N0], ew[2];
    OK(bsfit_fitter_data_weights(f, &pts[1], 1, orders, w, N0, ew));
    CHECK(ew[0] != 0.0 && ew[1] != 0.0, "end weights %g %g", ew[0], ew[1]);
    bsfit_fitter_free(f);
}

static void test_errors(void) {
    const double *sites[2] = {X0, X1};
    const size_t lens[2] = {N0, N1};
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new(2, sites, lens, &f));
    double x[2] = {1.0, 0.0}, w[N0 + N1], grad[NV], one = 1.0;
    EXPECT(bsfit_fitter_data_weights(NULL, x, 2, NULL, w, N0 + N1, NULL),
           BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_data_weights(f, x, 3, NULL, w, N0 + N1, NULL),
           BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_fitter_data_weights(f, x, 2, NULL, w, N0 + N1 - 1, NULL),
           BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_fitter_data_weights(f, NULL, 2, NULL, w, N0 + N1, NULL),
           BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_data_vjp(f, x, 1, 2, NULL, &one, 1, grad, NV - 1, NULL, 0, NULL, 0),
           BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_fitter_data_vjp(f, x, 1, 2, NULL, &one, 0, grad, NV, NULL, 0, NULL, 0),
           BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_fitter_data_vjp(f, x, 1, 1, NULL, &one, 1, grad, NV, NULL, 0, NULL, 0),
           BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_fitter_data_vjp(f, NULL, 1, 2, NULL, &one, 1, grad, NV, NULL, 0, NULL, 0),
           BSFIT_STATUS_NULL_POINTER);
    double e[N1];
    EXPECT(bsfit_fitter_data_vjp(f, x, 1, 2, NULL, &one, 1, grad, NV, e, N1, NULL, 0),
           BSFIT_STATUS_INVALID_ARGUMENT);
    /* No points: a zero gradient, nothing read. */
    for (size_t i = 0; i < NV; ++i) grad[i] = 1.0;
    OK(bsfit_fitter_data_vjp(f, NULL, 0, 2, NULL, NULL, 1, grad, NV, NULL, 0, NULL, 0));
    CHECK(max_abs(grad, NV) == 0.0, "zero gradient");
    bsfit_fitter_free(f);
}

int main(void) {
    printf("bsfit %s sensitivity test\n", bsfit_version());
    test_finite_differences_2d();
    test_weights_against_vjp();
    test_end_values_1d();
    test_errors();
    if (failures) {
        fprintf(stderr, "test_sensitivity: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_sensitivity: all %d checks passed\n", checks);
    return 0;
}
