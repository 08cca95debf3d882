/*
 * The header's contract, tested from C11 + POSIX: every status each function
 * lists (and the outputs it leaves on failure), the boundary-condition
 * statements about shapes and knots, rebuilding periodic splines from their
 * parts, bounded prefilter scratch on degenerate grids, thread control,
 * fork(), short messages, refused knot spacings, and internal errors that
 * stay silent.
 *
 * Oracles come from outside the library: scipy's knot formulas written out,
 * polynomial reproduction, closed-form derivatives of a single B-spline
 * span, the 1D stencil b = [1/6, 2/3, 1/6] re-applied to prefilter output,
 * the process's peak RSS from /proc.
 *
 * Build (see capi/ci.sh):
 *   gcc -std=c11 -Wall -Wextra -Werror -Iinclude capi/tests/test_contract.c \
 *       target/release/libbsfit.a -lpthread -ldl -lm -o test_contract
 */
#define _GNU_SOURCE
#include "bsfit.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Raises an internal error on purpose (the library's test hook; not in the header). */
bsfit_status bsfit_debug_panic(int32_t where_);

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        ++checks;                                                              \
        if (!(cond)) {                                                         \
            ++failures;                                                        \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);             \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

#define EXPECT(call, want)                                                     \
    do {                                                                       \
        bsfit_status st_ = (call);                                             \
        CHECK(st_ == (want), "%s: got %s (%s), want %s", #call,                \
              bsfit_status_name(st_), bsfit_last_error_message(),              \
              bsfit_status_name(want));                                        \
        if ((want) != BSFIT_STATUS_OK) {                                       \
            CHECK(bsfit_last_error_message()[0] != '\0', "empty message");     \
        }                                                                      \
    } while (0)

#define OK(call) EXPECT(call, BSFIT_STATUS_OK)

static int contains(const char *haystack, const char *needle) {
    return strstr(haystack, needle) != NULL;
}

/* A pointer one byte past `p`: misaligned for every type but char. */
#define MISALIGN(type, p) ((type)(void *)((char *)(p) + 1))

static int all_nan(const double *v, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!isnan(v[i])) return 0;
    return 1;
}

static void fill(double *v, size_t n, double x) {
    for (size_t i = 0; i < n; ++i) v[i] = x;
}

/* SplitMix64 in [lo, hi). */
static uint64_t rng_state = 99;
static double urand(double lo, double hi) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

/* A 2D grid (6 x 5, non-uniform) with f(x, y) = x^3 - x y + y^2 / 2. */
static const double GX[] = {-1.0, -0.4, 0.1, 0.7, 1.3, 2.0};
static const double GY[] = {0.0, 0.5, 1.5, 2.0, 3.0};
static const double *const GSITES[2] = {GX, GY};
static const size_t GLENS[2] = {6, 5};
static double gf(double x, double y) { return x * x * x - x * y + 0.5 * y * y; }
static void grid_values(double *v) {
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 5; ++j) v[5 * i + j] = gf(GX[i], GY[j]);
}

/* ------------------------------------------------------------------------ */
/* D2: shapes, knot counts and knot patterns under every boundary condition */
/* ------------------------------------------------------------------------ */

/* scipy's make_interp_spline knots for sites x (n of them) and condition
 * `end` on both ends; returns their number. */
static size_t scipy_knots(const double *x, size_t n, bsfit_end end, double *t) {
    size_t m = 0;
    if (end == BSFIT_END_NOT_A_KNOT) {
        for (int i = 0; i < 4; ++i) t[m++] = x[0];
        for (size_t i = 2; i + 2 < n; ++i) t[m++] = x[i];
        for (int i = 0; i < 4; ++i) t[m++] = x[n - 1];
    } else if (end == BSFIT_END_PERIODIC) {
        /* x with three knots added at each end by periodic extension. */
        m = n + 6;
        for (size_t i = 0; i < n; ++i) t[i + 3] = x[i];
        for (int i = 0; i < 3; ++i) {
            t[2 - i] = t[3 - i] - (x[n - 1 - i] - x[n - 2 - i]);
            t[n + 3 + i] = t[n + 2 + i] + (x[i + 1] - x[i]);
        }
    } else {
        for (int i = 0; i < 4; ++i) t[m++] = x[0];
        for (size_t i = 1; i + 1 < n; ++i) t[m++] = x[i];
        for (int i = 0; i < 4; ++i) t[m++] = x[n - 1];
    }
    return m;
}

static void test_d2_shapes_and_knots(void) {
    const bsfit_end ends[] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_NATURAL, BSFIT_END_CLAMPED,
                              BSFIT_END_PERIODIC, BSFIT_END_DERIV1, BSFIT_END_DERIV2};
    for (size_t e = 0; e < sizeof ends / sizeof ends[0]; ++e) {
        /* Axis 0 takes the condition, axis 1 stays not-a-knot. */
        const bsfit_end left[2] = {ends[e], BSFIT_END_NOT_A_KNOT};
        const bsfit_end right[2] = {ends[e], BSFIT_END_NOT_A_KNOT};
        bsfit_fitter *f = NULL;
        OK(bsfit_fitter_new_bc(2, GSITES, GLENS, left, right, &f));
        if (!f) continue;
        double v[30];
        grid_values(v);
        if (ends[e] == BSFIT_END_PERIODIC)
            for (int j = 0; j < 5; ++j) v[25 + j] = v[j];
        size_t n_left = 9, n_right = 9;
        OK(bsfit_fitter_end_values_len(f, &n_left, &n_right));
        size_t want_l = ends[e] >= BSFIT_END_DERIV1 ? 5 : 0;
        CHECK(n_left == want_l && n_right == want_l, "end %d: end values %zu %zu", (int)ends[e],
              n_left, n_right);
        double dl[5] = {0}, dr[5] = {0};
        bsfit_spline *s = NULL;
        OK(bsfit_fitter_fit_ends(f, v, 30, dl, n_left, dr, n_right, &s));
        if (!s) {
            bsfit_fitter_free(f);
            continue;
        }
        size_t extra = ends[e] == BSFIT_END_NOT_A_KNOT ? 0 : 2;
        size_t shape[2] = {0}, fshape[2] = {0}, cshape[2] = {0}, len = 0, clen = 0, ncoef = 0;
        OK(bsfit_spline_shape(s, shape, 2));
        OK(bsfit_fitter_shape(f, fshape, 2));
        OK(bsfit_fitter_coefs_shape(f, cshape, 2));
        OK(bsfit_fitter_len(f, &len));
        OK(bsfit_fitter_coefs_len(f, &clen));
        OK(bsfit_spline_coefs_len(s, &ncoef));
        CHECK(shape[0] == 6 + extra && shape[1] == 5, "end %d: spline shape %zu x %zu",
              (int)ends[e], shape[0], shape[1]);
        CHECK(cshape[0] == shape[0] && cshape[1] == shape[1], "fitter coefs shape");
        CHECK(fshape[0] == 6 && fshape[1] == 5 && len == 30, "fitter shape / len = grid points");
        CHECK(clen == (6 + extra) * 5 && ncoef == clen, "coefs_len %zu %zu", clen, ncoef);
        for (size_t k = 0; k < 2; ++k) {
            size_t nk = 0;
            OK(bsfit_spline_knots_len(s, k, &nk));
            CHECK(nk == shape[k] + 4, "end %d axis %zu: knots_len %zu = coefficients + 4",
                  (int)ends[e], k, nk);
            double t[16], want[16];
            OK(bsfit_spline_knots(s, k, t, 16));
            size_t m = scipy_knots(GSITES[k], GLENS[k], k == 0 ? ends[e] : BSFIT_END_NOT_A_KNOT, want);
            CHECK(m == nk, "scipy count %zu vs %zu", m, nk);
            for (size_t i = 0; i < m && i < nk; ++i)
                CHECK(fabs(t[i] - want[i]) <= 1e-15 * (1 + fabs(want[i])),
                      "end %d axis %zu: t[%zu] = %.17g, scipy %.17g", (int)ends[e], k, i, t[i],
                      want[i]);
        }
        /* The fitter reports its conditions and sites. */
        bsfit_end gl[2], gr[2];
        OK(bsfit_fitter_ends(f, gl, gr, 2));
        CHECK(gl[0] == ends[e] && gr[0] == ends[e] && gl[1] == BSFIT_END_NOT_A_KNOT,
              "ends %d %d", (int)gl[0], (int)gr[0]);
        double sx[6];
        OK(bsfit_fitter_sites(f, 0, sx, 6));
        CHECK(memcmp(sx, GX, sizeof sx) == 0, "sites");
        /* Domain and periodic flags. */
        double dom[4];
        bool per[2] = {true, true};
        OK(bsfit_spline_domain(s, dom, 4));
        OK(bsfit_spline_periodic(s, per, 2));
        CHECK(dom[0] == GX[0] && dom[1] == GX[5] && dom[2] == GY[0] && dom[3] == GY[4],
              "domain %g %g %g %g", dom[0], dom[1], dom[2], dom[3]);
        CHECK(per[0] == (ends[e] == BSFIT_END_PERIODIC) && !per[1], "periodic flags");
        bsfit_spline_free(s);
        bsfit_fitter_free(f);
    }
}

/* ------------------------------------------------------------------------ */
/* D1: a periodic spline rebuilt from its own parts                         */
/* ------------------------------------------------------------------------ */

static void test_d1_periodic_rebuild(void) {
    const bsfit_end left[2] = {BSFIT_END_PERIODIC, BSFIT_END_NATURAL};
    const bsfit_end right[2] = {BSFIT_END_PERIODIC, BSFIT_END_CLAMPED};
    double v[30];
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 5; ++j)
            v[5 * i + j] = cos(6.283185307179586 * (GX[i] + 1.0) / 3.0) * (1.0 + GY[j]);
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new_bc(2, GSITES, GLENS, left, right, &f));
    bsfit_spline *s = NULL;
    OK(bsfit_fitter_fit(f, v, 30, &s));
    if (!s) return;
    double knots[2][16], coefs[64];
    size_t klens[2], ncoef = 0;
    const double *kp[2] = {knots[0], knots[1]};
    bool periodic[2];
    for (size_t k = 0; k < 2; ++k) {
        OK(bsfit_spline_knots_len(s, k, &klens[k]));
        OK(bsfit_spline_knots(s, k, knots[k], 16));
    }
    OK(bsfit_spline_coefs_len(s, &ncoef));
    OK(bsfit_spline_coefs(s, coefs, 64));
    OK(bsfit_spline_periodic(s, periodic, 2));
    CHECK(periodic[0] && !periodic[1], "periodic flags %d %d", periodic[0], periodic[1]);
    /* The plain constructor refuses the unclamped periodic knots... */
    bsfit_spline *r = NULL;
    EXPECT(bsfit_spline_from_parts(2, kp, klens, coefs, ncoef, &r), BSFIT_STATUS_INVALID_DATA);
    /* ...and the periodic one rebuilds the same spline, wrapping included. */
    OK(bsfit_spline_from_parts_periodic(2, kp, klens, periodic, coefs, ncoef, &r));
    for (int trial = 0; trial < 200 && r; ++trial) {
        double x[2] = {urand(-7.0, 8.0), urand(0.0, 3.0)}, a = 0, b = 1;
        size_t o[2] = {(size_t)(trial % 3), (size_t)(trial / 3 % 2)};
        OK(bsfit_spline_eval_deriv(s, x, o, 2, &a));
        OK(bsfit_spline_eval_deriv(r, x, o, 2, &b));
        CHECK(a == b, "rebuilt periodic spline differs at (%g, %g): %.17g vs %.17g", x[0], x[1], a, b);
    }
    /* Period 3 along axis 0. */
    double p0[2] = {0.3, 1.1}, p1[2] = {0.3 + 3.0 * 4, 1.1}, a = 0, b = 1;
    OK(bsfit_spline_eval(r, p0, 2, &a));
    OK(bsfit_spline_eval(r, p1, 2, &b));
    CHECK(fabs(a - b) < 1e-12, "wrap %.17g %.17g", a, b);
    bool back[2] = {false, true};
    OK(bsfit_spline_periodic(r, back, 2));
    CHECK(back[0] && !back[1], "rebuilt flags");
    /* Errors of the periodic constructor; out untouched. */
    bsfit_spline *keep = (bsfit_spline *)(void *)&keep;
    EXPECT(bsfit_spline_from_parts_periodic(2, kp, klens, NULL, coefs, ncoef, &keep),
           BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_from_parts_periodic(2, kp, klens, periodic, MISALIGN(const double *, coefs),
                                            ncoef, &keep),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_from_parts_periodic(0, kp, klens, periodic, coefs, ncoef, &keep),
           BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_spline_from_parts_periodic(2, kp, klens, periodic, coefs, ncoef - 1, &keep),
           BSFIT_STATUS_INVALID_DATA);
    knots[0][1] = knots[0][0] - 1.0; /* outer knots decrease */
    EXPECT(bsfit_spline_from_parts_periodic(2, kp, klens, periodic, coefs, ncoef, &keep),
           BSFIT_STATUS_INVALID_DATA);
    CHECK(keep == (bsfit_spline *)(void *)&keep, "out written on failure");
    bsfit_spline_free(r);
    bsfit_spline_free(s);
    bsfit_fitter_free(f);
}

/* ------------------------------------------------------------------------ */
/* D8: knot spacings the evaluation cannot resolve are refused              */
/* ------------------------------------------------------------------------ */

static void test_d8_tiny_knot_spacing(void) {
    /* One span of width h next to one of width 1: s'(0) = 3 (c1 - c0) / h. */
    double t[9] = {0, 0, 0, 0, 2.3e-308, 1, 1, 1, 1};
    const double *kp[1] = {t};
    const size_t kl[1] = {9};
    double c[5] = {1, 2, 3, 4, 5};
    bsfit_spline *s = NULL;
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 5, &s), BSFIT_STATUS_INVALID_DATA);
    CHECK(contains(bsfit_last_error_message(), "t[4] - t[3] = 2.3e-308") &&
              contains(bsfit_last_error_message(), "2^-300"),
          "%s", bsfit_last_error_message());
    CHECK(s == NULL, "out written on failure");
    /* Spacings down to 2^-290 of the extent are accepted and exact, also
     * where the plain products overflow (coefficients ~1e221 over h): the
     * derivatives of the first span in closed form. */
    const double h = ldexp(1.0, -290), base = 1e221;
    t[4] = h;
    double cc[5] = {base, base * 1.001, base * 0.5, base, base};
    OK(bsfit_spline_from_parts(1, kp, kl, cc, 5, &s));
    if (!s) return;
    double x = 0.0, d1 = 0, d0 = 0;
    size_t o1 = 1, o0 = 0;
    OK(bsfit_spline_eval_deriv(s, &x, &o1, 1, &d1));
    OK(bsfit_spline_eval_deriv(s, &x, &o0, 1, &d0));
    double want = 3.0 * (cc[1] - cc[0]) / h;
    CHECK(isfinite(want) && fabs(d1 - want) <= 1e-12 * fabs(want), "s'(0) = %.17g, exact %.17g",
          d1, want);
    CHECK(d0 == base, "s(0) = %.17g", d0);
    bsfit_spline_free(s);
    /* The same refusal through the periodic constructor. */
    t[4] = 1e-200;
    bool per[1] = {false};
    EXPECT(bsfit_spline_from_parts_periodic(1, kp, kl, per, c, 5, &s), BSFIT_STATUS_INVALID_DATA);
}

/* ------------------------------------------------------------------------ */
/* D5: huge sites: a listed status, a short message                          */
/* ------------------------------------------------------------------------ */

static void test_d5_huge_sites(void) {
    const double x[5] = {-1e308, -5e307, 0.0, 5e307, 1e308};
    const double *sites[1] = {x};
    const size_t lens[1] = {5};
    const double v[5] = {1, 2, 3, 4, 5};
    bsfit_spline *s = NULL;
    EXPECT(bsfit_spline_fit(1, sites, lens, v, &s), BSFIT_STATUS_INVALID_ARGUMENT);
    const char *msg = bsfit_last_error_message();
    CHECK(strlen(msg) < 160 && contains(msg, "1e308") && contains(msg, "axis 0"), "%zu chars: %s",
          strlen(msg), msg);
    bsfit_fitter *f = NULL;
    EXPECT(bsfit_fitter_new(1, sites, lens, &f), BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(strlen(bsfit_last_error_message()) < 160, "%s", bsfit_last_error_message());
}

/* ------------------------------------------------------------------------ */
/* D6: the refit's output on every error: NaN, one rule                      */
/* ------------------------------------------------------------------------ */

static void test_d6_refit_output_on_error(void) {
    double v[30], c[64];
    grid_values(v);
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new(2, GSITES, GLENS, &f));
    if (!f) return;
#define NAN_AFTER(call, want)                                                  \
    do {                                                                       \
        fill(c, 64, 42.0);                                                     \
        EXPECT(call, want);                                                    \
        CHECK(all_nan(c, 64), "coefs not all NaN after %s", #call);            \
    } while (0)
    NAN_AFTER(bsfit_fitter_refit(NULL, v, 30, c, 64), BSFIT_STATUS_NULL_POINTER);
    NAN_AFTER(bsfit_fitter_refit(MISALIGN(bsfit_fitter *, f), v, 30, c, 64),
              BSFIT_STATUS_MISALIGNED_POINTER);
    NAN_AFTER(bsfit_fitter_refit(f, NULL, 30, c, 64), BSFIT_STATUS_NULL_POINTER);
    NAN_AFTER(bsfit_fitter_refit(f, MISALIGN(const double *, v), 29, c, 64),
              BSFIT_STATUS_MISALIGNED_POINTER);
    NAN_AFTER(bsfit_fitter_refit(f, v, 29, c, 64), BSFIT_STATUS_SHAPE_MISMATCH);
    CHECK(contains(bsfit_last_error_message(), "n_values = 29"), "%s", bsfit_last_error_message());
    fill(c, 64, 42.0);
    EXPECT(bsfit_fitter_refit(f, v, 30, c, 29), BSFIT_STATUS_BUFFER_TOO_SMALL);
    CHECK(all_nan(c, 29) && c[29] == 42.0, "only coefs[0 .. coefs_len] is written");
    v[7] = NAN;
    NAN_AFTER(bsfit_fitter_refit(f, v, 30, c, 64), BSFIT_STATUS_NON_FINITE_VALUE);
    grid_values(v);
    /* Alternating values near the largest double overflow the solve. */
    for (int i = 0; i < 30; ++i) v[i] = (i % 2 ? 1.7e308 : -1.7e308);
    NAN_AFTER(bsfit_fitter_refit(f, v, 30, c, 64), BSFIT_STATUS_NON_FINITE_RESULT);
    NAN_AFTER(bsfit_fitter_refit_ends(f, v, 30, NULL, 0, NULL, 0, c, 64), BSFIT_STATUS_NON_FINITE_RESULT);
    grid_values(v);
    NAN_AFTER(bsfit_fitter_refit_ends(f, v, 29, NULL, 0, NULL, 0, c, 64), BSFIT_STATUS_SHAPE_MISMATCH);
    NAN_AFTER(bsfit_fitter_refit_ends(f, v, 30, MISALIGN(const double *, v), 1, NULL, 0, c, 64),
              BSFIT_STATUS_MISALIGNED_POINTER);
    /* A NULL coefs is left alone (there is nothing to write). */
    EXPECT(bsfit_fitter_refit(f, v, 30, NULL, 64), BSFIT_STATUS_NULL_POINTER);
    /* ...and a misaligned one too. */
    EXPECT(bsfit_fitter_refit(f, v, 30, MISALIGN(double *, c), 8), BSFIT_STATUS_MISALIGNED_POINTER);
    bsfit_fitter_free(f);

    /* Periodic and explicit-end fitters. */
    const bsfit_end per[2] = {BSFIT_END_PERIODIC, BSFIT_END_NOT_A_KNOT};
    OK(bsfit_fitter_new_bc(2, GSITES, GLENS, per, per, &f));
    NAN_AFTER(bsfit_fitter_refit(f, v, 30, c, 64), BSFIT_STATUS_PERIODIC_MISMATCH);
    NAN_AFTER(bsfit_fitter_refit_ends(f, v, 30, NULL, 0, NULL, 0, c, 64), BSFIT_STATUS_PERIODIC_MISMATCH);
    bsfit_fitter_free(f);
    const bsfit_end d1[2] = {BSFIT_END_DERIV1, BSFIT_END_NOT_A_KNOT};
    OK(bsfit_fitter_new_bc(2, GSITES, GLENS, d1, d1, &f));
    double ends[5] = {0, 0, 0, 0, 0};
    NAN_AFTER(bsfit_fitter_refit(f, v, 30, c, 64), BSFIT_STATUS_END_VALUES_SHAPE);
    NAN_AFTER(bsfit_fitter_refit_ends(f, v, 30, ends, 4, ends, 5, c, 64), BSFIT_STATUS_END_VALUES_SHAPE);
    NAN_AFTER(bsfit_fitter_refit_ends(f, v, 30, NULL, 5, ends, 5, c, 64), BSFIT_STATUS_NULL_POINTER);
    ends[2] = INFINITY;
    NAN_AFTER(bsfit_fitter_refit_ends(f, v, 30, ends, 5, ends, 5, c, 64), BSFIT_STATUS_NON_FINITE_VALUE);
    ends[2] = 0;
    OK(bsfit_fitter_refit_ends(f, v, 30, ends, 5, ends, 5, c, 64));
    CHECK(!isnan(c[0]) && !isnan(c[39]) && isnan(c[40]),
          "a successful refit writes exactly coefs_len (40) values");
    /* The fits into new splines: out untouched on the same errors. */
    bsfit_spline *s = (bsfit_spline *)(void *)&s;
    EXPECT(bsfit_fitter_fit(f, v, 30, &s), BSFIT_STATUS_END_VALUES_SHAPE);
    EXPECT(bsfit_fitter_fit_ends(f, v, 30, ends, 5, ends, 3, &s), BSFIT_STATUS_END_VALUES_SHAPE);
    EXPECT(bsfit_fitter_fit_ends(f, v, 29, ends, 5, ends, 5, &s), BSFIT_STATUS_SHAPE_MISMATCH);
    ends[0] = NAN;
    EXPECT(bsfit_fitter_fit_ends(f, v, 30, ends, 5, ends, 5, &s), BSFIT_STATUS_NON_FINITE_VALUE);
    CHECK(s == (bsfit_spline *)(void *)&s, "out written on failure");
    bsfit_fitter_free(f);
#undef NAN_AFTER
}

/* ------------------------------------------------------------------------ */
/* Every listed status of the remaining functions                            */
/* ------------------------------------------------------------------------ */

static void test_statuses_of_every_function(void) {
    double v[30], buf[64];
    size_t n = 0, sz[8];
    grid_values(v);
    bsfit_spline *s = NULL, *keep = (bsfit_spline *)(void *)&keep;
    OK(bsfit_spline_fit(2, GSITES, GLENS, v, &s));
    if (!s) return;
    bsfit_spline *bad_s = MISALIGN(bsfit_spline *, s);

    /* bsfit_spline_fit */
    EXPECT(bsfit_spline_fit(2, GSITES, GLENS, MISALIGN(const double *, v), &keep),
           BSFIT_STATUS_MISALIGNED_POINTER);
    CHECK(contains(bsfit_last_error_message(), "`values` is not aligned"), "%s",
          bsfit_last_error_message());
    EXPECT(bsfit_spline_fit(2, GSITES, MISALIGN(const size_t *, GLENS), v, &keep),
           BSFIT_STATUS_MISALIGNED_POINTER);
    double huge[30];
    for (int i = 0; i < 30; ++i) huge[i] = (i % 2 ? 1.7e308 : -1.7e308);
    EXPECT(bsfit_spline_fit(2, GSITES, GLENS, huge, &keep), BSFIT_STATUS_NON_FINITE_RESULT);
    /* Sites too close together for their spread. */
    const double close_x[5] = {0.0, 1e-300, 1.0, 2.0, 3.0};
    const double *close_sites[2] = {close_x, GY};
    const size_t close_lens[2] = {5, 5};
    static double cv[25];
    EXPECT(bsfit_spline_fit(2, close_sites, close_lens, cv, &keep), BSFIT_STATUS_SINGULAR_MATRIX);
    CHECK(contains(bsfit_last_error_message(), "axis 0"), "%s", bsfit_last_error_message());
    bsfit_fitter *keepf = (bsfit_fitter *)(void *)&keepf;
    EXPECT(bsfit_fitter_new(2, close_sites, close_lens, &keepf), BSFIT_STATUS_SINGULAR_MATRIX);
    const bsfit_end nat2[2] = {BSFIT_END_NATURAL, BSFIT_END_NATURAL};
    EXPECT(bsfit_fitter_new_bc(2, close_sites, close_lens, nat2, nat2, &keepf),
           BSFIT_STATUS_SINGULAR_MATRIX);
    CHECK(keepf == (bsfit_fitter *)(void *)&keepf, "out written on failure");
    CHECK(keep == (bsfit_spline *)(void *)&keep, "out written on failure");

    /* from_parts */
    double t[10] = {0, 0, 0, 0, 1, 2, 3, 3, 3, 3}, c6[6] = {1, 2, 3, 4, 5, 6};
    const double *kp[1] = {t};
    size_t kl[1] = {10};
    EXPECT(bsfit_spline_from_parts(1, kp, kl, MISALIGN(const double *, c6), 6, &keep),
           BSFIT_STATUS_MISALIGNED_POINTER);

    /* Accessors: NULL, misaligned, buffer too small, axis out of range. */
    EXPECT(bsfit_spline_ndim(bad_s, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_ndim(s, MISALIGN(size_t *, sz)), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_shape(NULL, sz, 8), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_shape(bad_s, sz, 8), BSFIT_STATUS_MISALIGNED_POINTER);
    fill(buf, 64, -3.0);
    EXPECT(bsfit_spline_domain(s, buf, 3), BSFIT_STATUS_BUFFER_TOO_SMALL);
    CHECK(buf[0] == -3.0, "domain written on failure");
    EXPECT(bsfit_spline_domain(NULL, buf, 4), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_domain(s, NULL, 4), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_domain(bad_s, buf, 4), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_domain(s, MISALIGN(double *, buf), 4), BSFIT_STATUS_MISALIGNED_POINTER);
    bool flags[2] = {true, true};
    EXPECT(bsfit_spline_periodic(s, flags, 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    CHECK(flags[0], "periodic flags written on failure");
    EXPECT(bsfit_spline_periodic(NULL, flags, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_periodic(s, NULL, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_periodic(bad_s, flags, 2), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_knots_len(bad_s, 0, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_knots(s, 0, MISALIGN(double *, buf), 64), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_knots(NULL, 0, buf, 64), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_coefs_len(s, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_coefs_len(bad_s, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_coefs(bad_s, buf, 64), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_coefs(NULL, buf, 64), BSFIT_STATUS_NULL_POINTER);

    /* Evaluation. */
    double x[2] = {0.5, 1.0}, r = -1;
    size_t o[2] = {1, 1};
    EXPECT(bsfit_spline_eval(bad_s, x, 2, &r), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_eval(s, MISALIGN(const double *, x), 2, &r), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_eval_deriv(s, x, MISALIGN(const size_t *, o), 2, &r),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_eval_deriv(s, x, o, 2, MISALIGN(double *, buf)), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_grad(NULL, x, 2, buf, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_grad(s, x, 2, MISALIGN(double *, buf), 2), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_hessian(s, NULL, 2, buf, 4), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_hessian(s, x, 2, MISALIGN(double *, buf), 4), BSFIT_STATUS_MISALIGNED_POINTER);
    fill(buf, 64, -3.0);
    EXPECT(bsfit_spline_hessian(s, x, 2, buf, 3), BSFIT_STATUS_BUFFER_TOO_SMALL);
    CHECK(buf[0] == -3.0, "hessian written on failure");
    EXPECT(bsfit_spline_eval_many(s, x, 1, 2, NULL, true, MISALIGN(double *, buf), 1),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_eval_many(s, x, 1, 2, o, true, buf, 1), BSFIT_STATUS_OK);
    CHECK(fabs(buf[0] - (-1.0)) < 1e-12, "d2f/dxdy = -1: %g", buf[0]);
    EXPECT(bsfit_spline_eval_many(s, x, SIZE_MAX / 2, 2, NULL, true, buf, 1),
           BSFIT_STATUS_INVALID_ARGUMENT);

    /* Thread settings. */
    EXPECT(bsfit_spline_set_threads(NULL, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_set_threads(bad_s, 2), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_spline_set_threads(s, 1025), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_spline_get_threads(NULL, &n), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_get_threads(bad_s, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_set_threads(5000), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_get_threads(NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_get_threads(MISALIGN(size_t *, sz)), BSFIT_STATUS_MISALIGNED_POINTER);

    /* Fitter accessors. */
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new(2, GSITES, GLENS, &f));
    bsfit_fitter *bad_f = MISALIGN(bsfit_fitter *, f);
    EXPECT(bsfit_fitter_new(2, MISALIGN(const double *const *, GSITES), GLENS, &f),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_ndim(bad_f, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_len(bad_f, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_len(NULL, &n), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_coefs_len(bad_f, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_coefs_len(f, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_shape(f, sz, 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_fitter_shape(NULL, sz, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_shape(bad_f, sz, 2), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_coefs_shape(f, sz, 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_fitter_coefs_shape(f, NULL, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_coefs_shape(f, MISALIGN(size_t *, sz), 2), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_sites(f, 2, buf, 64), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_fitter_sites(f, 0, buf, 5), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_fitter_sites(NULL, 0, buf, 6), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_sites(f, 0, MISALIGN(double *, buf), 6), BSFIT_STATUS_MISALIGNED_POINTER);
    bsfit_end el[2], er[2];
    EXPECT(bsfit_fitter_ends(f, el, er, 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_fitter_ends(f, el, NULL, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_ends(f, MISALIGN(bsfit_end *, el), er, 2), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_end_values_len(f, &n, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_end_values_len(bad_f, &n, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_set_threads(NULL, 1), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_set_threads(bad_f, 1), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_set_threads(f, 2000), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_fitter_get_threads(NULL, &n), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_get_threads(bad_f, &n), BSFIT_STATUS_MISALIGNED_POINTER);
    /* Fits and splines from a fitter. */
    EXPECT(bsfit_fitter_fit(bad_f, v, 30, &keep), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_fit(f, huge, 30, &keep), BSFIT_STATUS_NON_FINITE_RESULT);
    EXPECT(bsfit_fitter_fit_ends(NULL, v, 30, NULL, 0, NULL, 0, &keep), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_fit_ends(f, v, 30, NULL, 0, NULL, 0, MISALIGN(bsfit_spline **, &keep)),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_fitter_fit_ends(f, huge, 30, NULL, 0, NULL, 0, &keep), BSFIT_STATUS_NON_FINITE_RESULT);
    EXPECT(bsfit_fitter_spline(bad_f, v, 30, &keep), BSFIT_STATUS_MISALIGNED_POINTER);
    CHECK(keep == (bsfit_spline *)(void *)&keep, "out written on failure");
    const bsfit_end per[2] = {BSFIT_END_PERIODIC, BSFIT_END_NOT_A_KNOT};
    bsfit_fitter *pf = NULL;
    OK(bsfit_fitter_new_bc(2, GSITES, GLENS, per, per, &pf));
    EXPECT(bsfit_fitter_fit(pf, v, 30, &keep), BSFIT_STATUS_PERIODIC_MISMATCH);
    EXPECT(bsfit_fitter_fit_ends(pf, v, 30, NULL, 0, NULL, 0, &keep), BSFIT_STATUS_PERIODIC_MISMATCH);
    bsfit_fitter_free(pf);
    /* A periodic axis needs 4 sites. */
    const size_t short_lens[2] = {3, 5};
    EXPECT(bsfit_fitter_new_bc(2, GSITES, short_lens, per, per, &pf), BSFIT_STATUS_AXIS_TOO_SHORT);
    EXPECT(bsfit_fitter_new_bc(2, GSITES, GLENS, MISALIGN(const bsfit_end *, per), per, &pf),
           BSFIT_STATUS_MISALIGNED_POINTER);
    const bsfit_end nak_nat[2] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_NOT_A_KNOT},
                    nat_nak[2] = {BSFIT_END_NATURAL, BSFIT_END_NOT_A_KNOT};
    EXPECT(bsfit_fitter_new_bc(2, GSITES, GLENS, nak_nat, nat_nak, &pf), BSFIT_STATUS_INVALID_BOUNDARY);
    double bad_x[6] = {0, 1, 1, 2, 3, 4};
    const double *bad_sites[2] = {bad_x, GY};
    EXPECT(bsfit_fitter_new_bc(2, bad_sites, GLENS, nak_nat, nak_nat, &pf),
           BSFIT_STATUS_NON_INCREASING_SITES);
    EXPECT(bsfit_fitter_new(2, bad_sites, GLENS, &pf), BSFIT_STATUS_NON_INCREASING_SITES);
    bad_x[2] = NAN;
    EXPECT(bsfit_fitter_new_bc(2, bad_sites, GLENS, nak_nat, nak_nat, &pf), BSFIT_STATUS_NON_FINITE_SITE);
    EXPECT(bsfit_fitter_new_bc(7, bad_sites, GLENS, nak_nat, nak_nat, &pf), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_fitter_new_bc(2, GSITES, GLENS, nak_nat, nak_nat, NULL), BSFIT_STATUS_NULL_POINTER);

    /* Prefilter: misaligned. */
    const bsfit_boundary b3[3] = {BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_MIRROR};
    EXPECT(bsfit_prefilter3d_f64(MISALIGN(const double *, v), 2, 3, 4, b3, buf, 64),
           BSFIT_STATUS_MISALIGNED_POINTER);
    CHECK(all_nan(buf, 64), "prefilter output NaN after a failure");
    EXPECT(bsfit_prefilter3d_f64(v, 2, 3, 4, MISALIGN(const bsfit_boundary *, b3), buf, 64),
           BSFIT_STATUS_MISALIGNED_POINTER);
    float ff[24] = {0}, fo[24];
    EXPECT(bsfit_prefilter3d_f32(ff, 2, 3, 4, b3, fo, 23), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_prefilter3d_f32(ff, 2, 0, 4, b3, fo, 24), BSFIT_STATUS_AXIS_TOO_SHORT);
    EXPECT(bsfit_prefilter3d_f32(ff, 2, 3, 4, b3, MISALIGN(float *, fo), 20), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_prefilter3d_f32(ff, SIZE_MAX, 3, 4, b3, fo, 24), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_prefilter3d_f32(ff, 2, 3, 4, NULL, fo, 24), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_prefilter3d_f64(v, 2, 3, 4, b3, NULL, 24), BSFIT_STATUS_NULL_POINTER);
    double nf[24];
    fill(nf, 24, 1.0);
    nf[3] = NAN;
    EXPECT(bsfit_prefilter3d_f64(nf, 2, 3, 4, b3, buf, 24), BSFIT_STATUS_NON_FINITE_VALUE);
    for (int i = 0; i < 24; ++i) nf[i] = (i % 2 ? 1.7e308 : -1.7e308);
    EXPECT(bsfit_prefilter3d_f64(nf, 2, 3, 4, b3, buf, 24), BSFIT_STATUS_NON_FINITE_RESULT);
    CHECK(all_nan(buf, 24), "NaN after overflow");

    /* The evaluation request: bsfit_spline_evaluate, _evaluate_grid,
     * _value_shape, _fit_vector. */
    {
        const double pq[4] = {0.5, 0.5, 1.0, 1.5};
        const size_t ord[4] = {0, 0, 1, 0};
        const uint32_t nanpol[2] = {BSFIT_POLICY_NAN, BSFIT_POLICY_NAN};
        const uint32_t errpol[2] = {BSFIT_POLICY_ERROR, BSFIT_POLICY_ERROR};
        const uint32_t badpol[2] = {6, 0};
        const double far[2] = {1e6, 0.5};
        OK(bsfit_spline_evaluate(s, pq, 2, 2, ord, 2, nanpol, buf, 4));
        EXPECT(bsfit_spline_evaluate(NULL, pq, 2, 2, ord, 2, NULL, buf, 4), BSFIT_STATUS_NULL_POINTER);
        EXPECT(bsfit_spline_evaluate(bad_s, pq, 2, 2, ord, 2, NULL, buf, 4),
               BSFIT_STATUS_MISALIGNED_POINTER);
        EXPECT(bsfit_spline_evaluate(s, MISALIGN(const double *, pq), 2, 2, ord, 2, NULL, buf, 4),
               BSFIT_STATUS_MISALIGNED_POINTER);
        EXPECT(bsfit_spline_evaluate(s, pq, 2, 3, ord, 2, NULL, buf, 4),
               BSFIT_STATUS_DIMENSION_MISMATCH);
        EXPECT(bsfit_spline_evaluate(s, pq, 2, 2, ord, 2, badpol, buf, 4),
               BSFIT_STATUS_INVALID_ARGUMENT);
        EXPECT(bsfit_spline_evaluate(s, pq, SIZE_MAX, 2, ord, 2, NULL, buf, 4),
               BSFIT_STATUS_INVALID_ARGUMENT);
        EXPECT(bsfit_spline_evaluate(s, pq, 2, 2, ord, 2, NULL, buf, 3), BSFIT_STATUS_BUFFER_TOO_SMALL);
        EXPECT(bsfit_spline_evaluate(s, far, 1, 2, ord, 2, errpol, buf, 4),
               BSFIT_STATUS_OUTSIDE_DOMAIN);
        const double *gq[2] = {pq, pq + 2};
        const size_t gl[2] = {2, 2};
        OK(bsfit_spline_evaluate_grid(s, gq, gl, 2, ord, 2, NULL, buf, 8));
        EXPECT(bsfit_spline_evaluate_grid(NULL, gq, gl, 2, ord, 2, NULL, buf, 8),
               BSFIT_STATUS_NULL_POINTER);
        EXPECT(bsfit_spline_evaluate_grid(s, gq, MISALIGN(const size_t *, gl), 2, ord, 2, NULL, buf, 8),
               BSFIT_STATUS_MISALIGNED_POINTER);
        EXPECT(bsfit_spline_evaluate_grid(s, gq, gl, 1, ord, 2, NULL, buf, 8),
               BSFIT_STATUS_DIMENSION_MISMATCH);
        EXPECT(bsfit_spline_evaluate_grid(s, gq, gl, 2, NULL, 2, NULL, buf, 8),
               BSFIT_STATUS_INVALID_ARGUMENT);
        EXPECT(bsfit_spline_evaluate_grid(s, gq, gl, 2, ord, 2, NULL, buf, 7),
               BSFIT_STATUS_BUFFER_TOO_SMALL);
        const double *gfar[2] = {far, pq};
        EXPECT(bsfit_spline_evaluate_grid(s, gfar, gl, 2, ord, 2, errpol, buf, 8),
               BSFIT_STATUS_OUTSIDE_DOMAIN);
        size_t vd = 0;
        OK(bsfit_spline_value_shape(s, &vd, sz, 8, NULL));
        EXPECT(bsfit_spline_value_shape(NULL, &vd, sz, 8, NULL), BSFIT_STATUS_NULL_POINTER);
        EXPECT(bsfit_spline_value_shape(s, MISALIGN(size_t *, &vd), sz, 8, NULL),
               BSFIT_STATUS_MISALIGNED_POINTER);
        EXPECT(bsfit_spline_value_shape(s, NULL, sz, 8, NULL), BSFIT_STATUS_NULL_POINTER);
        size_t vsv[1];
        const size_t vs3[1] = {3};
        double v3[90];
        for (int i = 0; i < 90; ++i) v3[i] = v[i / 3] * (1 + i % 3);
        bsfit_spline *s3 = NULL;
        OK(bsfit_spline_fit_vector(2, GSITES, GLENS, v3, vs3, 1, &s3));
        EXPECT(bsfit_spline_value_shape(s3, &vd, vsv, 0, NULL), BSFIT_STATUS_BUFFER_TOO_SMALL);
        OK(bsfit_spline_value_shape(s3, &vd, vsv, 1, NULL));
        CHECK(vd == 1 && vsv[0] == 3, "value shape");
        bsfit_spline_free(s3);
        const size_t vs1[1] = {1};
        EXPECT(bsfit_spline_fit_vector(2, GSITES, GLENS, v, NULL, 1, &keep), BSFIT_STATUS_NULL_POINTER);
        EXPECT(bsfit_spline_fit_vector(2, GSITES, GLENS, MISALIGN(const double *, v), vs1, 1, &keep),
               BSFIT_STATUS_MISALIGNED_POINTER);
        EXPECT(bsfit_spline_fit_vector(0, GSITES, GLENS, v, vs1, 1, &keep), BSFIT_STATUS_INVALID_ARGUMENT);
        const size_t short_lens[2] = {3, 5};
        EXPECT(bsfit_spline_fit_vector(2, GSITES, short_lens, v, vs1, 1, &keep),
               BSFIT_STATUS_AXIS_TOO_SHORT);
        const double nonfin_x[6] = {0.0, NAN, 1.0, 2.0, 3.0, 4.0};
        const double dup_x[6] = {0.0, 1.0, 1.0, 2.0, 3.0, 4.0};
        const double *nf_sites[2] = {nonfin_x, GSITES[1]};
        const double *dup_sites[2] = {dup_x, GSITES[1]};
        EXPECT(bsfit_spline_fit_vector(2, nf_sites, GLENS, v, vs1, 1, &keep), BSFIT_STATUS_NON_FINITE_SITE);
        EXPECT(bsfit_spline_fit_vector(2, dup_sites, GLENS, v, vs1, 1, &keep),
               BSFIT_STATUS_NON_INCREASING_SITES);
        double vnan[30];
        memcpy(vnan, v, sizeof vnan);
        vnan[7] = NAN;
        EXPECT(bsfit_spline_fit_vector(2, GSITES, GLENS, vnan, vs1, 1, &keep), BSFIT_STATUS_NON_FINITE_VALUE);
        double vhuge[30];
        for (int i = 0; i < 30; ++i) vhuge[i] = (i % 2 ? 1.7e308 : -1.7e308);
        EXPECT(bsfit_spline_fit_vector(2, GSITES, GLENS, vhuge, vs1, 1, &keep),
               BSFIT_STATUS_NON_FINITE_RESULT);
        EXPECT(bsfit_spline_fit_vector(2, close_sites, close_lens, cv, vs1, 1, &keep),
               BSFIT_STATUS_SINGULAR_MATRIX);
        CHECK(keep == (bsfit_spline *)(void *)&keep, "out written on failure");
    }

    bsfit_fitter_free(f);
    bsfit_spline_free(s);
}

/* ------------------------------------------------------------------------ */
/* Internal errors: a status and a message, nothing on stderr                */
/* ------------------------------------------------------------------------ */

static void test_d7_internal_errors_are_silent(void) {
    EXPECT(bsfit_debug_panic(0), BSFIT_STATUS_INTERNAL_ERROR);
    CHECK(contains(bsfit_last_error_message(), "deliberate panic") &&
              contains(bsfit_last_error_message(), "lib.rs:"),
          "%s", bsfit_last_error_message());
    EXPECT(bsfit_debug_panic(1), BSFIT_STATUS_INTERNAL_ERROR);
    CHECK(contains(bsfit_last_error_message(), "on a worker"), "%s", bsfit_last_error_message());
    /* The library remains usable. */
    double v[30];
    grid_values(v);
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(2, GSITES, GLENS, v, &s));
    bsfit_spline_free(s);
    /* The stderr check itself: main() runs the whole test with stderr
     * redirected to a file and fails if anything was written there. */
}

/* ------------------------------------------------------------------------ */
/* Thread control                                                            */
/* ------------------------------------------------------------------------ */

enum { BATCH = 20000 };

/* Batch values of the 2D spline at fixed random points. */
static void batch(const bsfit_spline *s, double *out) {
    static double pts[2 * BATCH];
    uint64_t keep = rng_state;
    rng_state = 7;
    for (int i = 0; i < BATCH; ++i) {
        pts[2 * i] = urand(-1.0, 2.0);
        pts[2 * i + 1] = urand(0.0, 3.0);
    }
    rng_state = keep;
    OK(bsfit_spline_eval_many(s, pts, BATCH, 2, NULL, true, out, BATCH));
}

static void test_thread_control(void) {
    size_t n = 0, dflt = 0;
    OK(bsfit_get_threads(&dflt));
    CHECK(dflt >= 1, "default threads %zu", dflt);
    double v[30];
    grid_values(v);
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(2, GSITES, GLENS, v, &s));
    if (!s) return;
    static double a[BATCH], b[BATCH], c[BATCH];
    OK(bsfit_set_threads(1));
    OK(bsfit_get_threads(&n));
    CHECK(n == 1, "threads %zu", n);
    batch(s, a);
    OK(bsfit_set_threads(3));
    batch(s, b);
    OK(bsfit_spline_set_threads(s, 2));
    OK(bsfit_spline_get_threads(s, &n));
    CHECK(n == 2, "spline threads %zu", n);
    batch(s, c);
    CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(a, c, sizeof a) == 0,
          "batch results depend on the thread count");
    OK(bsfit_spline_set_threads(s, 0));
    OK(bsfit_set_threads(0));
    OK(bsfit_get_threads(&n));
    CHECK(n == dflt, "default restored: %zu vs %zu", n, dflt);
    bsfit_spline_free(s);
}

/* ------------------------------------------------------------------------ */
/* D3: the prefilter's scratch on a 1 x 1 x 4194304 grid                     */
/* ------------------------------------------------------------------------ */

/* A field of /proc/self/status, in kB (-1 if missing). */
static long proc_status_kb(const char *field) {
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp) return -1;
    char line[256];
    long kb = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, field, len) == 0 && line[len] == ':') kb = atol(line + len + 1);
    fclose(fp);
    return kb;
}

/* Runs `body` in a child process (stdout shared); returns its exit status,
 * or 128 + the signal that ended it. `seconds` bounds its run time. */
static int in_child(void (*body)(void), unsigned seconds) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(seconds);
        failures = 0;
        body();
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void long_axis_prefilter(void) {
    enum { N = 4194304 };
    double *f = malloc(N * sizeof(double)), *c = malloc(N * sizeof(double));
    if (!f || !c) {
        CHECK(0, "malloc");
        return;
    }
    /* Both arrays touched (non-zero, so that no compiler turns the stores
     * into a calloc): the peak RSS then measures the call's own memory. */
    for (size_t i = 0; i < N; ++i) {
        f[i] = sin(0.001 * (double)i) + 0.25 * cos(0.37 * (double)i);
        c[i] = f[i];
    }
    OK(bsfit_set_threads(2));
    const bsfit_boundary bc[2][3] = {
        {BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_ZERO, BSFIT_BOUNDARY_MIRROR},
        {BSFIT_BOUNDARY_PERIODIC, BSFIT_BOUNDARY_PERIODIC, BSFIT_BOUNDARY_PERIODIC},
    };
    for (int t = 0; t < 2; ++t) {
        /* Reset the peak RSS to the current RSS (Linux >= 4.0). */
        FILE *cr = fopen("/proc/self/clear_refs", "w");
        int reset = cr && fputs("5", cr) >= 0;
        if (cr) fclose(cr);
        long rss = proc_status_kb("VmRSS");
        OK(bsfit_prefilter3d_f64(f, 1, 1, N, bc[t], c, N));
        long peak = proc_status_kb("VmHWM");
        /* Axis 0: n = 1 (weight 1, or 2/3 under Zero); axis 1 likewise; axis 2:
         * the 1D stencil under its boundary. */
        double w01 = (bc[t][0] == BSFIT_BOUNDARY_ZERO ? 2.0 / 3.0 : 1.0) *
                     (bc[t][1] == BSFIT_BOUNDARY_ZERO ? 2.0 / 3.0 : 1.0);
        double worst = 0;
        for (size_t i = 0; i < N; ++i) {
            size_t lo = i == 0 ? (bc[t][2] == BSFIT_BOUNDARY_PERIODIC ? N - 1 : 1) : i - 1;
            size_t hi = i == N - 1 ? (bc[t][2] == BSFIT_BOUNDARY_PERIODIC ? 0 : N - 2) : i + 1;
            double bcv = w01 * (c[lo] / 6.0 + 2.0 * c[i] / 3.0 + c[hi] / 6.0);
            double e = fabs(bcv - f[i]);
            if (e > worst) worst = e;
        }
        CHECK(worst < 1e-13, "boundary set %d: |B c - f| = %.3e", t, worst);
        double extra_mib = (double)(peak - rss) / 1024.0;
        printf("  1 x 1 x %d prefilter (boundary set %d): peak RSS above the data %.1f MiB%s\n", N, t,
               extra_mib, reset ? "" : " (peak not resettable here)");
        if (reset && rss > 0 && peak > 0)
            CHECK(extra_mib < 64.0, "scratch %.1f MiB", extra_mib);
    }
    free(f);
    free(c);
}

static void test_d3_prefilter_scratch(void) {
    int st = in_child(long_axis_prefilter, 120);
    CHECK(st == 0, "the long-axis prefilter child ended with %d", st);
}

/* ------------------------------------------------------------------------ */
/* D4: fork                                                                  */
/* ------------------------------------------------------------------------ */

/* Everything a child may do: fit, refit, batch-evaluate (on the pool),
 * prefilter; each checked against the polynomial. */
static void child_work(void) {
    double v[30], c[30];
    grid_values(v);
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(2, GSITES, GLENS, v, &s));
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new(2, GSITES, GLENS, &f));
    OK(bsfit_fitter_refit(f, v, 30, c, 30));
    static double out[BATCH];
    if (s) {
        batch(s, out);
        double x[2] = {0.3, 2.2}, r = 0;
        OK(bsfit_spline_eval(s, x, 2, &r));
        CHECK(fabs(r - gf(0.3, 2.2)) < 1e-12, "child eval %.17g", r);
        CHECK(isfinite(out[0]) && isfinite(out[BATCH - 1]), "child batch");
    }
    enum { P = 48 * 48 * 48 };
    static double pf[P], pc[P];
    for (int i = 0; i < P; ++i) pf[i] = sin(0.01 * i);
    const bsfit_boundary bc[3] = {BSFIT_BOUNDARY_PERIODIC, BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_ZERO};
    OK(bsfit_prefilter3d_f64(pf, 48, 48, 48, bc, pc, P));
    bsfit_fitter_free(f);
    bsfit_spline_free(s);
}

struct busy {
    volatile int stop;
    int calls;
};

/* Keeps the pool and the library's caches busy until told to stop. */
static void *busy_thread(void *arg) {
    struct busy *b = arg;
    enum { P = 40 * 40 * 40 };
    static double pf[P], pc[P];
    for (int i = 0; i < P; ++i) pf[i] = cos(0.02 * i);
    const bsfit_boundary bc[3] = {BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_MIRROR};
    double v[30];
    grid_values(v);
    while (!b->stop) {
        bsfit_prefilter3d_f64(pf, 40, 40, 40, bc, pc, P);
        bsfit_spline *s = NULL;
        bsfit_spline_fit(2, GSITES, GLENS, v, &s);
        bsfit_spline_free(s);
        b->calls++;
    }
    return NULL;
}

static void test_d4_fork(void) {
    /* The parent's pools exist and have run work before the fork. */
    OK(bsfit_set_threads(2));
    child_work();
    int st = in_child(child_work, 60);
    CHECK(st == 0, "child after fork ended with %d (hang: 142)", st);
    /* Sequential calls in the child (its own one-worker pools). */
    OK(bsfit_set_threads(1));
    child_work();
    st = in_child(child_work, 60);
    CHECK(st == 0, "sequential child ended with %d", st);
    /* fork() while another thread is inside bsfit calls. */
    OK(bsfit_set_threads(2));
    struct busy b = {0, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, busy_thread, &b) == 0, "pthread_create");
    for (int k = 0; k < 6; ++k) {
        st = in_child(child_work, 60);
        CHECK(st == 0, "child %d forked during calls ended with %d", k, st);
    }
    b.stop = 1;
    pthread_join(th, NULL);
    CHECK(b.calls > 0, "busy thread ran");
    /* And the parent still works. */
    child_work();
    OK(bsfit_set_threads(0));
}

/* ------------------------------------------------------------------------ */
/* THREADS_UNAVAILABLE: pools that cannot start                              */
/* ------------------------------------------------------------------------ */

static void threads_refused(void) {
    double v[30];
    grid_values(v);
    bsfit_spline *s = NULL;
    bsfit_fitter *f = NULL, *big = NULL;
    OK(bsfit_set_threads(1));
    OK(bsfit_spline_fit(2, GSITES, GLENS, v, &s));
    OK(bsfit_fitter_new(2, GSITES, GLENS, &f));
    /* A grid large enough for parallel refits (200 x 100 points). */
    static double bx[200], by[100], bv[200 * 100], bc[200 * 100];
    for (int i = 0; i < 200; ++i) bx[i] = i;
    for (int i = 0; i < 100; ++i) by[i] = i;
    for (int i = 0; i < 200 * 100; ++i) bv[i] = i % 7;
    const double *bs[2] = {bx, by};
    const size_t bl[2] = {200, 100};
    OK(bsfit_fitter_new(2, bs, bl, &big));
    if (!s || !f || !big) return;
    /* No new thread may start: every new pool fails. RLIMIT_NPROC binds a
     * process without privileges (root drops to "nobody" first). */
    if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
        printf("  THREADS_UNAVAILABLE: cannot drop privileges here; skipped\n");
        return;
    }
    struct rlimit lim = {0, 0};
    CHECK(setrlimit(RLIMIT_NPROC, &lim) == 0, "setrlimit");
    OK(bsfit_set_threads(1024));
    double out[4], x[2] = {0.1, 0.2};
    bsfit_spline *keep = NULL;
    bsfit_fitter *keepf = NULL;
    EXPECT(bsfit_spline_eval_many(s, x, 1, 2, NULL, true, out, 4), BSFIT_STATUS_THREADS_UNAVAILABLE);
    CHECK(contains(bsfit_last_error_message(), "1024 threads"), "%s", bsfit_last_error_message());
    EXPECT(bsfit_spline_fit(2, GSITES, GLENS, v, &keep), BSFIT_STATUS_THREADS_UNAVAILABLE);
    EXPECT(bsfit_spline_fit_vector(2, GSITES, GLENS, v, NULL, 0, &keep), BSFIT_STATUS_THREADS_UNAVAILABLE);
    EXPECT(bsfit_spline_evaluate(s, x, 1, 2, NULL, 1, NULL, out, 4), BSFIT_STATUS_THREADS_UNAVAILABLE);
    const double *gx1[2] = {x, x + 1};
    const size_t gl1[2] = {1, 1};
    EXPECT(bsfit_spline_evaluate_grid(s, gx1, gl1, 2, NULL, 1, NULL, out, 4),
           BSFIT_STATUS_THREADS_UNAVAILABLE);
    EXPECT(bsfit_fitter_new(2, GSITES, GLENS, &keepf), BSFIT_STATUS_THREADS_UNAVAILABLE);
    const bsfit_end nak[2] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_NOT_A_KNOT};
    EXPECT(bsfit_fitter_new_bc(2, GSITES, GLENS, nak, nak, &keepf), BSFIT_STATUS_THREADS_UNAVAILABLE);
    EXPECT(bsfit_fitter_refit(big, bv, 20000, bc, 20000), BSFIT_STATUS_THREADS_UNAVAILABLE);
    CHECK(all_nan(bc, 20000), "NaN after a refit that could not start");
    EXPECT(bsfit_fitter_refit_ends(big, bv, 20000, NULL, 0, NULL, 0, bc, 20000),
           BSFIT_STATUS_THREADS_UNAVAILABLE);
    EXPECT(bsfit_fitter_fit(big, bv, 20000, &keep), BSFIT_STATUS_THREADS_UNAVAILABLE);
    EXPECT(bsfit_fitter_fit_ends(big, bv, 20000, NULL, 0, NULL, 0, &keep),
           BSFIT_STATUS_THREADS_UNAVAILABLE);
    const bsfit_boundary b3[3] = {BSFIT_BOUNDARY_ZERO, BSFIT_BOUNDARY_ZERO, BSFIT_BOUNDARY_ZERO};
    EXPECT(bsfit_prefilter3d_f64(bv, 20, 10, 100, b3, bc, 20000), BSFIT_STATUS_THREADS_UNAVAILABLE);
    static float ff[20000], fo[20000];
    EXPECT(bsfit_prefilter3d_f32(ff, 20, 10, 100, b3, fo, 20000), BSFIT_STATUS_THREADS_UNAVAILABLE);
    CHECK(keep == NULL && keepf == NULL, "out written on failure");
    /* Single-point calls need no pool; a small sequential refit neither. */
    double r = 0, c[30];
    OK(bsfit_spline_eval(s, x, 2, &r));
    OK(bsfit_fitter_set_threads(f, 1));
    OK(bsfit_fitter_refit(f, v, 30, c, 30));
}

static void test_threads_unavailable(void) {
    int st = in_child(threads_refused, 60);
    CHECK(st == 0, "the thread-refusal child ended with %d", st);
}

int main(void) {
    /* Everything runs with stderr redirected to a file, which must stay empty. */
    char path[] = "/tmp/bsfit_stderr_XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    if (fd < 0 || saved < 0 || dup2(fd, 2) < 0) {
        printf("cannot redirect stderr\n");
        return 1;
    }
    setenv("RUST_BACKTRACE", "full", 1);
    printf("bsfit %s contract test\n", bsfit_version());
    test_d2_shapes_and_knots();
    test_d1_periodic_rebuild();
    test_d8_tiny_knot_spacing();
    test_d5_huge_sites();
    test_d6_refit_output_on_error();
    test_statuses_of_every_function();
    test_d7_internal_errors_are_silent();
    test_thread_control();
    test_d3_prefilter_scratch();
    test_d4_fork();
    test_threads_unavailable();
    fflush(stderr);
    dup2(saved, 2);
    off_t written = lseek(fd, 0, SEEK_END);
    if (written > 0) {
        /* Show what was written, for the diagnosis. */
        char text[4096];
        ssize_t got = pread(fd, text, sizeof text - 1, 0);
        text[got > 0 ? got : 0] = '\0';
        printf("stderr:\n%s\n", text);
    }
    close(fd);
    unlink(path);
    CHECK(written == 0, "%lld bytes written to stderr", (long long)written);
    if (failures) {
        printf("test_contract: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_contract: all %d checks passed\n", checks);
    return 0;
}
