/*
 * Plain C11 test of the bsfit C ABI: every function, every error path.
 *
 * Oracles come from outside the library: exact reproduction of a
 * tensor-product cubic polynomial (and its analytic partial derivatives),
 * the not-a-knot knot formula, and the 27-point B-spline stencil re-applied
 * to the prefilter's coefficients (B c = f) with each boundary rule written
 * out here.
 *
 * Build (see capi/ci.sh):
 *   gcc -std=c11 -Wall -Wextra -Werror -Iinclude capi/tests/test_capi.c \
 *       target/release/libbsfit.a -lpthread -ldl -lm -o test_capi
 */
#include "bsfit.h"

#include <math.h>
#include <pthread.h>
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
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);             \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

/* Expects status `want` from `call` and, for an error, a non-empty message. */
#define EXPECT(call, want)                                                     \
    do {                                                                       \
        bsfit_status st_ = (call);                                             \
        CHECK(st_ == (want), "got %s (%s), want %s", bsfit_status_name(st_),   \
              bsfit_last_error_message(), bsfit_status_name(want));            \
        if ((want) != BSFIT_STATUS_OK) {                                       \
            CHECK(bsfit_last_error_message()[0] != '\0', "empty message");     \
        } else {                                                               \
            CHECK(bsfit_last_error_message()[0] == '\0',                      \
                  "message after success: %s", bsfit_last_error_message());    \
        }                                                                      \
    } while (0)

#define OK(call) EXPECT(call, BSFIT_STATUS_OK)

static int contains(const char *haystack, const char *needle) {
    return strstr(haystack, needle) != NULL;
}

/* SplitMix64 in [lo, hi). */
static uint64_t rng_state = 12345;
static double urand(double lo, double hi) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------------------ */
/* A 4D tensor-product cubic: f = p0(x0) p1(x1) p2(x2) p3(x3) + x0^3 x3      */
/* ------------------------------------------------------------------------ */

/* Each factor p_k(t) = a + b t + c t^2 + d t^3 and its derivatives. */
static const double P[4][4] = {
    {1.0, 1.0, -2.0, 0.5},
    {2.0, -1.0, 0.0, 1.0},
    {-3.0, 0.0, 1.0, 0.0},
    {1.0, 1.0, 0.0, 0.0},
};

static double poly_d(int k, double t, int order) {
    const double *p = P[k];
    switch (order) {
    case 0: return p[0] + t * (p[1] + t * (p[2] + t * p[3]));
    case 1: return p[1] + t * (2.0 * p[2] + 3.0 * t * p[3]);
    case 2: return 2.0 * p[2] + 6.0 * t * p[3];
    case 3: return 6.0 * p[3];
    default: return 0.0;
    }
}

static double mono_d(double t, int power, int order) {
    double c = 1.0;
    for (int i = 0; i < order; ++i) {
        if (power - i <= 0) return 0.0;
        c *= (double)(power - i);
    }
    return c * pow(t, power - order);
}

/* The mixed partial derivative of f with per-axis orders o. */
static double f4_d(const double *x, const size_t *o) {
    double a = 1.0;
    for (int k = 0; k < 4; ++k) a *= poly_d(k, x[k], (int)o[k]);
    double b = mono_d(x[0], 3, (int)o[0]) * mono_d(x[3], 1, (int)o[3]) *
               (o[1] == 0 ? 1.0 : 0.0) * (o[2] == 0 ? 1.0 : 0.0);
    return a + b;
}

static double f4(const double *x) {
    const size_t zero[4] = {0, 0, 0, 0};
    return f4_d(x, zero);
}

/* Non-uniform axes. */
static const double AX0[] = {-1.0, -0.7, -0.2, 0.1, 0.15, 0.5, 0.9, 1.0};
static const double AX1[] = {0.0, 0.3, 1.0, 1.2, 2.0};
static const double AX2[] = {-2.0, -1.5, -0.25, 0.0, 0.8, 1.0};
static const double AX3[] = {0.5, 0.75, 1.5, 3.0};
static const double *const SITES[4] = {AX0, AX1, AX2, AX3};
static const size_t LENS[4] = {8, 5, 6, 4};
#define NPTS (8 * 5 * 6 * 4)

static void grid_values(double *v) {
    size_t idx = 0;
    for (size_t i = 0; i < LENS[0]; ++i)
        for (size_t j = 0; j < LENS[1]; ++j)
            for (size_t k = 0; k < LENS[2]; ++k)
                for (size_t l = 0; l < LENS[3]; ++l) {
                    double x[4] = {AX0[i], AX1[j], AX2[k], AX3[l]};
                    v[idx++] = f4(x);
                }
}

static void random_point(double *x) {
    for (int k = 0; k < 4; ++k) x[k] = urand(SITES[k][0], SITES[k][LENS[k] - 1]);
}

/* |got - want| <= tol * max(1, |want|) */
static int close_to(double got, double want, double tol) {
    double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
    return fabs(got - want) <= tol * scale;
}

/* Rounding bound for a derivative of orders o: coefficients of size S (the
 * largest grid value) combine with weights scaled by 1/h^o per axis, where h
 * is the axis' smallest spacing; 1e-14 covers the ~4^4 terms' rounding. */
static double deriv_tol(const size_t *o, double scale) {
    double t = 1e-14 * scale;
    for (int k = 0; k < 4; ++k) {
        double hmin = INFINITY;
        for (size_t i = 1; i < LENS[k]; ++i) {
            double h = SITES[k][i] - SITES[k][i - 1];
            if (h < hmin) hmin = h;
        }
        for (size_t r = 0; r < o[k]; ++r) t /= hmin;
    }
    return t;
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* Largest |error| / tolerance seen by the derivative checks. */
static double worst_deriv_ratio = 0;

static int deriv_close(double got, const double *x, const size_t *o, double scale) {
    double err = fabs(got - f4_d(x, o)), tol = deriv_tol(o, scale);
    if (err / tol > worst_deriv_ratio) worst_deriv_ratio = err / tol;
    return err <= tol;
}

static void test_version_and_names(void) {
    const char *v = bsfit_version();
    CHECK(v != NULL && v[0] >= '0' && v[0] <= '9', "version %s", v ? v : "(null)");
    CHECK(strcmp(bsfit_status_name(BSFIT_STATUS_OK), "BSFIT_STATUS_OK") == 0, "name");
    CHECK(strcmp(bsfit_status_name(BSFIT_STATUS_INTERNAL_ERROR), "BSFIT_STATUS_INTERNAL_ERROR") == 0,
          "name");
    CHECK(strcmp(bsfit_status_name(10), "BSFIT_STATUS_UNKNOWN") == 0, "retired code");
    /* The header's version macros are the library's version. */
    char header_version[64];
    snprintf(header_version, sizeof header_version, "%d.%d.%d", BSFIT_VERSION_MAJOR,
             BSFIT_VERSION_MINOR, BSFIT_VERSION_PATCH);
    CHECK(strcmp(v, header_version) == 0 && strcmp(v, BSFIT_VERSION_STRING) == 0,
          "library %s, header %s", v, header_version);
    CHECK(strcmp(bsfit_status_name(-7), "BSFIT_STATUS_UNKNOWN") == 0, "unknown code");
    CHECK(BSFIT_OK == 0 && BSFIT_STATUS_OK == 0, "OK is 0");
    CHECK(bsfit_last_error_message() != NULL, "message never NULL");
}

/* One-shot fits above the cache's minimum size give the same coefficients
 * whether the dropped arrays are kept (reused) or released. */
static void test_release_cached_memory(void) {
    enum { A = 48, B = 40, C = 40, N = A * B * C };
    static double x[A], y[B], z[C], v[N], junk[N], first[N], again[N];
    for (int i = 0; i < A; i++) x[i] = i + 0.01 * i * i;
    for (int i = 0; i < B; i++) y[i] = 0.5 * i;
    for (int i = 0; i < C; i++) z[i] = 2.0 * i + 0.1 * (i % 3);
    for (int i = 0; i < N; i++) {
        v[i] = (double)((i * 7) % 13) - 6.0;
        junk[i] = 1e300;
    }
    const double *sites[3] = {x, y, z};
    const size_t lens[3] = {A, B, C};
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(3, sites, lens, v, &s));
    OK(bsfit_spline_coefs(s, first, N));
    bsfit_spline_free(s);
    for (int release = 0; release < 2; release++) {
        s = NULL;
        OK(bsfit_spline_fit(3, sites, lens, junk, &s));
        bsfit_spline_free(s);
        if (release) {
            bsfit_release_cached_memory();
            bsfit_release_cached_memory();
        }
        s = NULL;
        OK(bsfit_spline_fit(3, sites, lens, v, &s));
        OK(bsfit_spline_coefs(s, again, N));
        bsfit_spline_free(s);
        CHECK(memcmp(first, again, sizeof first) == 0, "release %d: same coefficients", release);
    }
}

static void test_polynomial_reproduction_4d(void) {
    static double values[NPTS];
    grid_values(values);
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(4, SITES, LENS, values, &s));
    if (!s) return;
    const double S = max_abs(values, NPTS);

    size_t ndim = 0, shape[6] = {0}, ncoef = 0;
    OK(bsfit_spline_ndim(s, &ndim));
    CHECK(ndim == 4, "ndim %zu", ndim);
    OK(bsfit_spline_shape(s, shape, 6));
    for (int k = 0; k < 4; ++k) CHECK(shape[k] == LENS[k], "shape[%d] = %zu", k, shape[k]);
    OK(bsfit_spline_coefs_len(s, &ncoef));
    CHECK(ncoef == NPTS, "coefs_len %zu", ncoef);

    /* Values, every mixed partial up to order 3 per axis (a sample), gradient,
     * Hessian: all exact for a tensor-product cubic. */
    double max_err = 0.0;
    for (int trial = 0; trial < 200; ++trial) {
        double x[4];
        random_point(x);
        double v = 0.0;
        OK(bsfit_spline_eval(s, x, 4, &v));
        CHECK(close_to(v, f4(x), 1e-12), "value %.17g vs %.17g", v, f4(x));
        double e = fabs(v - f4(x)) / (fabs(f4(x)) > 1 ? fabs(f4(x)) : 1);
        if (e > max_err) max_err = e;

        size_t o[4] = {(size_t)(trial % 4), (size_t)((trial / 4) % 4),
                       (size_t)((trial / 16) % 3), (size_t)((trial / 48) % 2)};
        double d = 0.0;
        OK(bsfit_spline_eval_deriv(s, x, o, 4, &d));
        CHECK(deriv_close(d, x, o, S), "d(%zu%zu%zu%zu) %.17g vs %.17g", o[0], o[1], o[2],
              o[3], d, f4_d(x, o));

        double g[4], h[16];
        OK(bsfit_spline_grad(s, x, 4, g, 4));
        OK(bsfit_spline_hessian(s, x, 4, h, 16));
        for (int i = 0; i < 4; ++i) {
            size_t oi[4] = {0, 0, 0, 0};
            oi[i] = 1;
            CHECK(deriv_close(g[i], x, oi, S), "grad[%d]", i);
            for (int j = 0; j < 4; ++j) {
                size_t oij[4] = {0, 0, 0, 0};
                oij[i] += 1;
                oij[j] += 1;
                CHECK(deriv_close(h[4 * i + j], x, oij, S), "hess[%d][%d] %.17g vs %.17g", i, j,
                      h[4 * i + j], f4_d(x, oij));
            }
        }
    }
    printf("  4D cubic reproduction: max relative error %.2e over 200 points\n", max_err);
    printf("  derivatives: worst error / rounding bound = %.2e\n", worst_deriv_ratio);

    /* Batch evaluation: values, one derivative, extrapolation on and off. */
    enum { NB = 1000 };
    static double pts[NB * 4], out[NB], out2[NB];
    for (int i = 0; i < NB; ++i) random_point(&pts[4 * i]);
    pts[0] = 1.5; /* outside axis 0's domain [-1, 1] */
    OK(bsfit_spline_eval_many(s, pts, NB, 4, NULL, true, out, NB));
    OK(bsfit_spline_eval_many(s, pts, NB, 4, NULL, false, out2, NB));
    for (int i = 0; i < NB; ++i) {
        /* The boundary pieces are the polynomial itself: extrapolation is exact too. */
        CHECK(close_to(out[i], f4(&pts[4 * i]), 1e-11), "batch %d", i);
        if (i == 0) CHECK(isnan(out2[i]), "outside with extrapolate=false: %g", out2[i]);
        else CHECK(out2[i] == out[i], "batch %d: %g vs %g", i, out2[i], out[i]);
    }
    const size_t o[4] = {1, 0, 2, 1};
    OK(bsfit_spline_eval_many(s, pts, NB, 4, o, true, out, NB));
    for (int i = 0; i < NB; ++i) CHECK(deriv_close(out[i], &pts[4 * i], o, S), "deriv batch %d", i);
    /* n == 0 is a no-op, even with NULL buffers. */
    OK(bsfit_spline_eval_many(s, NULL, 0, 4, NULL, true, NULL, 0));

    /* Knots: the not-a-knot vector x0 x0 x0 x0, x2 .. x(n-3), x(n-1) x4. */
    for (size_t k = 0; k < 4; ++k) {
        size_t nk = 0;
        OK(bsfit_spline_knots_len(s, k, &nk));
        CHECK(nk == LENS[k] + 4, "knots_len %zu", nk);
        double t[16];
        OK(bsfit_spline_knots(s, k, t, 16));
        size_t n = LENS[k];
        for (size_t i = 0; i < 4; ++i) {
            CHECK(t[i] == SITES[k][0], "t[%zu]", i);
            CHECK(t[n + i] == SITES[k][n - 1], "t[n+%zu]", i);
        }
        for (size_t i = 4; i < n; ++i) CHECK(t[i] == SITES[k][i - 2], "t[%zu]", i);
    }

    /* Rebuild from knots + coefficients: the same spline, bit for bit. */
    static double coefs[NPTS];
    double knots[4][12];
    size_t klens[4];
    const double *kptr[4];
    OK(bsfit_spline_coefs(s, coefs, NPTS));
    for (size_t k = 0; k < 4; ++k) {
        klens[k] = LENS[k] + 4;
        OK(bsfit_spline_knots(s, k, knots[k], 12));
        kptr[k] = knots[k];
    }
    bsfit_spline *r = NULL;
    OK(bsfit_spline_from_parts(4, kptr, klens, coefs, NPTS, &r));
    if (r) {
        for (int trial = 0; trial < 50; ++trial) {
            double x[4], a = 0, b = 1;
            random_point(x);
            OK(bsfit_spline_eval(s, x, 4, &a));
            OK(bsfit_spline_eval(r, x, 4, &b));
            CHECK(a == b, "rebuilt spline differs: %.17g vs %.17g", a, b);
        }
    }
    bsfit_spline_free(r);
    bsfit_spline_free(s);
}

/* Every dimension 1..6: a product of cubics q(t) = 1 + t/2 - t^2/5 + t^3/20
 * plus sum_k t_k^3 is reproduced, values and gradients. */
static double q3(double t, int order) {
    switch (order) {
    case 0: return 1.0 + t / 2.0 - t * t / 5.0 + t * t * t / 20.0;
    case 1: return 0.5 - 0.4 * t + 0.15 * t * t;
    default: return 0.0;
    }
}

static void test_every_dimension(void) {
    for (size_t d = 1; d <= 6; ++d) {
        double ax[6][6];
        const double *sites[6];
        size_t lens[6], total = 1;
        for (size_t k = 0; k < d; ++k) {
            lens[k] = 4 + (k % 3);
            for (size_t i = 0; i < lens[k]; ++i)
                ax[k][i] = (double)i + 0.3 * (double)(i * i) / (double)lens[k] - (double)k;
            sites[k] = ax[k];
            total *= lens[k];
        }
        double *values = malloc(total * sizeof(double));
        for (size_t flat = 0; flat < total; ++flat) {
            size_t rem = flat;
            double prod = 1.0, sum = 0.0;
            for (size_t k = d; k-- > 0;) {
                double t = ax[k][rem % lens[k]];
                rem /= lens[k];
                prod *= q3(t, 0);
                sum += t * t * t;
            }
            values[flat] = prod + sum;
        }
        bsfit_spline *s = NULL;
        OK(bsfit_spline_fit(d, sites, lens, values, &s));
        free(values);
        if (!s) continue;
        size_t nd = 0;
        OK(bsfit_spline_ndim(s, &nd));
        CHECK(nd == d, "ndim %zu vs %zu", nd, d);
        for (int trial = 0; trial < 20; ++trial) {
            double x[6], g[6], v = 0;
            for (size_t k = 0; k < d; ++k) x[k] = urand(ax[k][0], ax[k][lens[k] - 1]);
            OK(bsfit_spline_eval(s, x, d, &v));
            OK(bsfit_spline_grad(s, x, d, g, 6));
            double prod = 1.0, sum = 0.0;
            for (size_t k = 0; k < d; ++k) {
                prod *= q3(x[k], 0);
                sum += x[k] * x[k] * x[k];
            }
            CHECK(close_to(v, prod + sum, 1e-12), "%zuD value %.17g vs %.17g", d, v, prod + sum);
            for (size_t a = 0; a < d; ++a) {
                double ga = 3.0 * x[a] * x[a];
                double pa = 1.0;
                for (size_t k = 0; k < d; ++k) pa *= q3(x[k], k == a ? 1 : 0);
                CHECK(close_to(g[a], pa + ga, 1e-11), "%zuD grad[%zu] %.17g vs %.17g", d, a, g[a],
                      pa + ga);
            }
        }
        bsfit_spline_free(s);
    }
}

/* Evaluates one shared spline from several threads at once. */
struct thread_job {
    const bsfit_spline *s;
    uint64_t seed;
    int bad;
};

static void *eval_thread(void *arg) {
    struct thread_job *job = arg;
    uint64_t state = job->seed;
    for (int i = 0; i < 2000; ++i) {
        double x[4];
        for (int k = 0; k < 4; ++k) {
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            double u = (double)(z >> 11) / 9007199254740992.0;
            x[k] = SITES[k][0] + u * (SITES[k][LENS[k] - 1] - SITES[k][0]);
        }
        double v = 0;
        if (bsfit_spline_eval(job->s, x, 4, &v) != BSFIT_STATUS_OK || !close_to(v, f4(x), 1e-12))
            job->bad++;
        /* Errors are per thread: this one must not disturb the others. */
        if (bsfit_spline_eval(job->s, x, 3, &v) != BSFIT_STATUS_DIMENSION_MISMATCH ||
            !contains(bsfit_last_error_message(), "expected 4 dimensions, got 3"))
            job->bad++;
    }
    return NULL;
}

static void test_threads_share_a_spline(void) {
    static double values[NPTS];
    grid_values(values);
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(4, SITES, LENS, values, &s));
    if (!s) return;
    pthread_t th[4];
    struct thread_job jobs[4];
    for (int i = 0; i < 4; ++i) {
        jobs[i] = (struct thread_job){s, 1000u + (uint64_t)i, 0};
        CHECK(pthread_create(&th[i], NULL, eval_thread, &jobs[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 4; ++i) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].bad == 0, "thread %d: %d bad results", i, jobs[i].bad);
    }
    bsfit_spline_free(s);
}

/* A pointer value the library must leave in place when a call fails. */
static char sentinel_byte;
#define SENTINEL_SPLINE ((bsfit_spline *)(void *)&sentinel_byte)
#define SENTINEL_FITTER ((bsfit_fitter *)(void *)&sentinel_byte)

static void test_fit_errors(void) {
    static double values[NPTS];
    grid_values(values);
    bsfit_spline *s = SENTINEL_SPLINE;

    /* NULL pointers. */
    const double *with_null[4] = {AX0, NULL, AX2, AX3};
    EXPECT(bsfit_spline_fit(4, NULL, LENS, values, &s), BSFIT_STATUS_NULL_POINTER);
    CHECK(contains(bsfit_last_error_message(), "sites"), "%s", bsfit_last_error_message());
    EXPECT(bsfit_spline_fit(4, with_null, LENS, values, &s), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_fit(4, SITES, NULL, values, &s), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_fit(4, SITES, LENS, NULL, &s), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_fit(4, SITES, LENS, values, NULL), BSFIT_STATUS_NULL_POINTER);

    /* ndim outside 1..6. */
    EXPECT(bsfit_spline_fit(0, SITES, LENS, values, &s), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_spline_fit(7, SITES, LENS, values, &s), BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(contains(bsfit_last_error_message(), "ndim = 7"), "%s", bsfit_last_error_message());

    /* Zero and too-short axes. */
    size_t lens[4] = {8, 0, 6, 4};
    EXPECT(bsfit_spline_fit(4, SITES, lens, values, &s), BSFIT_STATUS_AXIS_TOO_SHORT);
    CHECK(contains(bsfit_last_error_message(), "axis 1 has 0 sites"), "%s",
          bsfit_last_error_message());
    lens[1] = 3;
    EXPECT(bsfit_spline_fit(4, SITES, lens, values, &s), BSFIT_STATUS_AXIS_TOO_SHORT);

    /* A grid size that overflows size_t. */
    size_t huge[4] = {SIZE_MAX / 4, 8, 6, 4};
    EXPECT(bsfit_spline_fit(4, SITES, huge, values, &s), BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(contains(bsfit_last_error_message(), "overflow"), "%s", bsfit_last_error_message());

    /* Non-increasing and non-finite sites. */
    double bad_ax[5] = {0.0, 0.3, 1.0, 1.0, 2.0};
    const double *bad_sites[4] = {AX0, bad_ax, AX2, AX3};
    EXPECT(bsfit_spline_fit(4, bad_sites, LENS, values, &s), BSFIT_STATUS_NON_INCREASING_SITES);
    CHECK(contains(bsfit_last_error_message(), "axis 1") &&
              contains(bsfit_last_error_message(), "x[3]"),
          "%s", bsfit_last_error_message());
    bad_ax[3] = 0.5; /* decreasing */
    EXPECT(bsfit_spline_fit(4, bad_sites, LENS, values, &s), BSFIT_STATUS_NON_INCREASING_SITES);
    bad_ax[3] = NAN;
    EXPECT(bsfit_spline_fit(4, bad_sites, LENS, values, &s), BSFIT_STATUS_NON_FINITE_SITE);
    CHECK(contains(bsfit_last_error_message(), "site 3"), "%s", bsfit_last_error_message());
    bad_ax[3] = INFINITY;
    EXPECT(bsfit_spline_fit(4, bad_sites, LENS, values, &s), BSFIT_STATUS_NON_FINITE_SITE);

    /* Non-finite values, with the multi-index in the message. */
    values[1 * 120 + 2 * 24 + 3 * 4 + 1] = NAN;
    EXPECT(bsfit_spline_fit(4, SITES, LENS, values, &s), BSFIT_STATUS_NON_FINITE_VALUE);
    CHECK(contains(bsfit_last_error_message(), "[1, 2, 3, 1]"), "%s",
          bsfit_last_error_message());
    values[1 * 120 + 2 * 24 + 3 * 4 + 1] = -INFINITY;
    EXPECT(bsfit_spline_fit(4, SITES, LENS, values, &s), BSFIT_STATUS_NON_FINITE_VALUE);

    CHECK(s == SENTINEL_SPLINE, "out written on failure");

    /* The same checks guard the fitter. */
    bsfit_fitter *f = SENTINEL_FITTER;
    EXPECT(bsfit_fitter_new(4, NULL, LENS, &f), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_new(4, SITES, LENS, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_new(9, SITES, LENS, &f), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_fitter_new(4, bad_sites, LENS, &f), BSFIT_STATUS_NON_FINITE_SITE);
    EXPECT(bsfit_fitter_new(4, SITES, huge, &f), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_fitter_new(4, SITES, lens, &f), BSFIT_STATUS_AXIS_TOO_SHORT);
    CHECK(f == SENTINEL_FITTER, "out written on failure");
}

static void test_eval_errors(void) {
    static double values[NPTS];
    grid_values(values);
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(4, SITES, LENS, values, &s));
    if (!s) return;
    double x[4] = {0.0, 1.0, 0.5, 1.0}, v = -42.0, buf[16];
    size_t o[4] = {1, 0, 0, 0}, n = 99;

    EXPECT(bsfit_spline_eval(NULL, x, 4, &v), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_eval(s, NULL, 4, &v), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_eval(s, x, 4, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_eval(s, x, 3, &v), BSFIT_STATUS_DIMENSION_MISMATCH);
    CHECK(contains(bsfit_last_error_message(), "expected 4 dimensions, got 3"), "%s",
          bsfit_last_error_message());
    EXPECT(bsfit_spline_eval(s, x, 0, &v), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_spline_eval_deriv(s, x, NULL, 4, &v), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_eval_deriv(s, x, o, 5, &v), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_spline_eval_deriv(NULL, x, o, 4, &v), BSFIT_STATUS_NULL_POINTER);
    CHECK(v == -42.0, "out written on failure");

    EXPECT(bsfit_spline_grad(s, x, 4, buf, 3), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_spline_grad(s, x, 4, NULL, 4), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_grad(s, x, 2, buf, 4), BSFIT_STATUS_DIMENSION_MISMATCH);
    /* ndim beyond 6 is a mismatch too (the point is not read). */
    EXPECT(bsfit_spline_grad(s, x, 7, buf, 16), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_spline_eval(s, x, 1000, &v), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_spline_eval_deriv(s, x, o, SIZE_MAX, &v), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_spline_hessian(s, x, 4, buf, 15), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_spline_hessian(s, x, 3, buf, 16), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_spline_hessian(NULL, x, 4, buf, 16), BSFIT_STATUS_NULL_POINTER);

    EXPECT(bsfit_spline_eval_many(s, x, 1, 3, NULL, true, buf, 1), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_spline_eval_many(s, x, 1, 4, NULL, true, buf, 0), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_spline_eval_many(s, NULL, 1, 4, NULL, true, buf, 1), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_eval_many(s, x, 1, 4, NULL, true, NULL, 1), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_eval_many(s, x, SIZE_MAX, 4, NULL, true, buf, 1),
           BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_spline_eval_many(NULL, x, 1, 4, NULL, true, buf, 1), BSFIT_STATUS_NULL_POINTER);

    EXPECT(bsfit_spline_ndim(NULL, &n), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_ndim(s, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_shape(s, (size_t *)buf, 3), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_spline_shape(s, NULL, 4), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_knots_len(s, 4, &n), BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(contains(bsfit_last_error_message(), "axis 4"), "%s", bsfit_last_error_message());
    EXPECT(bsfit_spline_knots_len(s, 0, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_knots(s, 0, buf, 11), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_spline_knots(s, 7, buf, 16), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_spline_knots(s, 0, NULL, 16), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_coefs_len(NULL, &n), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_coefs(s, buf, 16), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_spline_coefs(s, NULL, NPTS), BSFIT_STATUS_NULL_POINTER);
    CHECK(n == 99, "out written on failure");
    bsfit_spline_free(s);
}

static void test_from_parts_errors(void) {
    /* A valid 1D spline: 6 coefficients on 10 knots. */
    double t[10] = {0, 0, 0, 0, 1, 2, 3, 3, 3, 3};
    const double *kp[1] = {t};
    size_t kl[1] = {10};
    double c[6] = {1, 2, 3, 4, 5, 6};
    bsfit_spline *s = NULL;
    OK(bsfit_spline_from_parts(1, kp, kl, c, 6, &s));
    if (s) {
        /* Clamped ends interpolate the end coefficients. */
        double x = 0.0, v = 0.0;
        OK(bsfit_spline_eval(s, &x, 1, &v));
        CHECK(fabs(v - 1.0) < 1e-15, "s(0) = %g", v);
        x = 3.0;
        OK(bsfit_spline_eval(s, &x, 1, &v));
        CHECK(fabs(v - 6.0) < 1e-15, "s(3) = %g", v);
        bsfit_spline_free(s);
    }
    s = SENTINEL_SPLINE;
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 5, &s), BSFIT_STATUS_INVALID_DATA);
    CHECK(contains(bsfit_last_error_message(), "5 coefficients"), "%s", bsfit_last_error_message());
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 0, &s), BSFIT_STATUS_INVALID_DATA);
    c[2] = NAN;
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 6, &s), BSFIT_STATUS_INVALID_DATA);
    c[2] = 3;
    t[1] = 0.5; /* ends not clamped */
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 6, &s), BSFIT_STATUS_INVALID_DATA);
    CHECK(contains(bsfit_last_error_message(), "clamped"), "%s", bsfit_last_error_message());
    t[1] = 0;
    t[5] = 0.5; /* interior knots decrease */
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 6, &s), BSFIT_STATUS_INVALID_DATA);
    t[5] = 2;
    t[4] = INFINITY;
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 6, &s), BSFIT_STATUS_INVALID_DATA);
    t[4] = 1;
    kl[0] = 7; /* too few knots */
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 3, &s), BSFIT_STATUS_INVALID_DATA);
    kl[0] = 0;
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 6, &s), BSFIT_STATUS_INVALID_DATA);
    kl[0] = 10;
    EXPECT(bsfit_spline_from_parts(0, kp, kl, c, 6, &s), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_spline_from_parts(7, kp, kl, c, 6, &s), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_spline_from_parts(1, NULL, kl, c, 6, &s), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_from_parts(1, kp, NULL, c, 6, &s), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_from_parts(1, kp, kl, NULL, 6, &s), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_from_parts(1, kp, kl, c, 6, NULL), BSFIT_STATUS_NULL_POINTER);
    CHECK(s == SENTINEL_SPLINE, "out written on failure");
    /* Still valid after all that. */
    OK(bsfit_spline_from_parts(1, kp, kl, c, 6, &s));
    bsfit_spline_free(s);
}

static void test_fitter(void) {
    static double values[NPTS], values2[NPTS], c1[NPTS], c2[NPTS], c3[NPTS];
    grid_values(values);
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new(4, SITES, LENS, &f));
    if (!f) return;
    size_t nd = 0, len = 0;
    OK(bsfit_fitter_ndim(f, &nd));
    OK(bsfit_fitter_len(f, &len));
    CHECK(nd == 4 && len == NPTS, "ndim %zu len %zu", nd, len);

    /* Refit into a buffer == the one-shot fit's coefficients. */
    bsfit_spline *s = NULL;
    OK(bsfit_spline_fit(4, SITES, LENS, values, &s));
    OK(bsfit_fitter_refit(f, values, NPTS, c1, NPTS));
    OK(bsfit_spline_coefs(s, c2, NPTS));
    for (size_t i = 0; i < NPTS; ++i) CHECK(close_to(c1[i], c2[i], 1e-14), "coef %zu", i);

    /* Linearity over refits: fit(2 f + 1) = 2 fit(f) + fit(1), and a constant
     * is reproduced by constant coefficients. */
    for (size_t i = 0; i < NPTS; ++i) values2[i] = 2.0 * values[i] + 1.0;
    OK(bsfit_fitter_refit(f, values2, NPTS, c3, NPTS));
    for (size_t i = 0; i < NPTS; ++i) CHECK(close_to(c3[i], 2.0 * c1[i] + 1.0, 1e-12), "linearity %zu", i);

    /* A fitted spline and a spline from refit coefficients evaluate alike. */
    bsfit_spline *a = NULL, *b = NULL;
    OK(bsfit_fitter_fit(f, values2, NPTS, &a));
    OK(bsfit_fitter_spline(f, c3, NPTS, &b));
    for (int trial = 0; trial < 50 && a && b; ++trial) {
        double x[4], va = 0, vb = 1;
        random_point(x);
        OK(bsfit_spline_eval(a, x, 4, &va));
        OK(bsfit_spline_eval(b, x, 4, &vb));
        CHECK(va == vb && close_to(va, 2.0 * f4(x) + 1.0, 1e-12), "%g %g", va, vb);
    }
    bsfit_spline_free(a);
    bsfit_spline_free(b);

    /* Errors. */
    bsfit_spline *out = SENTINEL_SPLINE;
    EXPECT(bsfit_fitter_refit(f, values, NPTS - 1, c1, NPTS), BSFIT_STATUS_SHAPE_MISMATCH);
    EXPECT(bsfit_fitter_refit(f, values, 0, c1, NPTS), BSFIT_STATUS_SHAPE_MISMATCH);
    EXPECT(bsfit_fitter_refit(f, values, NPTS, c1, NPTS - 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_fitter_refit(f, NULL, NPTS, c1, NPTS), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_refit(f, values, NPTS, NULL, NPTS), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_refit(NULL, values, NPTS, c1, NPTS), BSFIT_STATUS_NULL_POINTER);
    /* A failed refit leaves NaN, whatever the error. */
    for (size_t i = 0; i < NPTS; ++i) CHECK(isnan(c1[i]), "coefs[%zu] = %g after a failed refit", i, c1[i]);
    OK(bsfit_fitter_refit(f, values, NPTS, c1, NPTS));
    values2[17] = NAN;
    EXPECT(bsfit_fitter_refit(f, values2, NPTS, c3, NPTS), BSFIT_STATUS_NON_FINITE_VALUE);
    int all_nan = 1;
    for (size_t i = 0; i < NPTS; ++i) all_nan &= isnan(c3[i]);
    CHECK(all_nan, "a failed refit leaves NaN, not a half-solved buffer");
    EXPECT(bsfit_fitter_fit(f, values2, NPTS, &out), BSFIT_STATUS_NON_FINITE_VALUE);
    EXPECT(bsfit_fitter_fit(f, values, NPTS - 2, &out), BSFIT_STATUS_SHAPE_MISMATCH);
    EXPECT(bsfit_fitter_fit(f, values, NPTS, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_fit(NULL, values, NPTS, &out), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_spline(f, c1, NPTS - 1, &out), BSFIT_STATUS_SHAPE_MISMATCH);
    EXPECT(bsfit_fitter_spline(f, c3, NPTS, &out), BSFIT_STATUS_INVALID_DATA);
    EXPECT(bsfit_fitter_spline(f, NULL, NPTS, &out), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_spline(NULL, c1, NPTS, &out), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_ndim(NULL, &nd), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_len(f, NULL), BSFIT_STATUS_NULL_POINTER);
    CHECK(out == SENTINEL_SPLINE, "out written on failure");

    /* The fitter still works after errors. */
    OK(bsfit_fitter_refit(f, values, NPTS, c3, NPTS));
    for (size_t i = 0; i < NPTS; ++i) CHECK(c3[i] == c1[i], "refit after errors %zu", i);
    bsfit_spline_free(s);
    bsfit_fitter_free(f);
    bsfit_fitter_free(NULL);
    bsfit_spline_free(NULL);
}

/* ------------------------------------------------------------------------ */
/* The 3D prefilter against the stencil B = b (x) b (x) b, b = [1/6 2/3 1/6] */
/* ------------------------------------------------------------------------ */

/* Index of neighbour i + d (d = -1, 0, 1) under the boundary, or -1 for a
 * zero coefficient. */
static long neighbour(long i, int d, long n, bsfit_boundary b) {
    long j = i + d;
    if (j >= 0 && j < n) return j;
    switch (b) {
    case BSFIT_BOUNDARY_PERIODIC: return (j + n) % n;
    case BSFIT_BOUNDARY_ZERO: return -1;
    default: /* mirror: c[-1] = c[1], c[n] = c[n-2] */ return j < 0 ? -j : 2 * (n - 1) - j;
    }
}

/* max |B c - f| / max |f|, in double whatever the storage type. */
static double stencil_residual(const double *c, const double *f, const size_t n[3],
                               const bsfit_boundary b[3]) {
    static const double w[3] = {1.0 / 6.0, 2.0 / 3.0, 1.0 / 6.0};
    double max_r = 0, max_f = 0;
    for (long i = 0; i < (long)n[0]; ++i)
        for (long j = 0; j < (long)n[1]; ++j)
            for (long k = 0; k < (long)n[2]; ++k) {
                double acc = 0;
                for (int di = -1; di <= 1; ++di)
                    for (int dj = -1; dj <= 1; ++dj)
                        for (int dk = -1; dk <= 1; ++dk) {
                            long a = neighbour(i, di, (long)n[0], b[0]);
                            long bb = neighbour(j, dj, (long)n[1], b[1]);
                            long cc = neighbour(k, dk, (long)n[2], b[2]);
                            if (a < 0 || bb < 0 || cc < 0) continue;
                            acc += w[di + 1] * w[dj + 1] * w[dk + 1] *
                                   c[(a * (long)n[1] + bb) * (long)n[2] + cc];
                        }
                double fv = f[(i * (long)n[1] + j) * (long)n[2] + k];
                if (fabs(acc - fv) > max_r) max_r = fabs(acc - fv);
                if (fabs(fv) > max_f) max_f = fabs(fv);
            }
    return max_r / max_f;
}

static void test_prefilter(void) {
    const size_t n[3] = {7, 9, 10};
    enum { N = 7 * 9 * 10 };
    static double f[N], c[N];
    static float ff[N], cf[N];
    static double cfd[N], ffd[N];
    for (size_t i = 0; i < N; ++i) {
        f[i] = urand(-1.0, 2.0);
        ff[i] = (float)f[i];
        ffd[i] = (double)ff[i];
    }
    const bsfit_boundary all[3][3] = {
        {BSFIT_BOUNDARY_PERIODIC, BSFIT_BOUNDARY_PERIODIC, BSFIT_BOUNDARY_PERIODIC},
        {BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_MIRROR, BSFIT_BOUNDARY_MIRROR},
        {BSFIT_BOUNDARY_PERIODIC, BSFIT_BOUNDARY_ZERO, BSFIT_BOUNDARY_MIRROR},
    };
    for (int t = 0; t < 3; ++t) {
        OK(bsfit_prefilter3d_f64(f, n[0], n[1], n[2], all[t], c, N));
        double r = stencil_residual(c, f, n, all[t]);
        CHECK(r < 1e-13, "f64 boundary set %d: |Bc - f| / |f| = %.3e", t, r);
        OK(bsfit_prefilter3d_f32(ff, n[0], n[1], n[2], all[t], cf, N));
        for (size_t i = 0; i < N; ++i) cfd[i] = (double)cf[i];
        double rf = stencil_residual(cfd, ffd, n, all[t]);
        CHECK(rf < 2e-6, "f32 boundary set %d: |Bc - f| / |f| = %.3e", t, rf);
        printf("  prefilter boundary set %d: residual f64 %.1e, f32 %.1e\n", t, r, rf);
    }
    /* Constants are reproduced (periodic and mirror: the stencil sums to 1). */
    for (size_t i = 0; i < N; ++i) c[i] = 2.5;
    static double cc[N];
    for (int t = 0; t < 2; ++t) {
        OK(bsfit_prefilter3d_f64(c, n[0], n[1], n[2], all[t], cc, N));
        for (size_t i = 0; i < N; ++i) CHECK(fabs(cc[i] - 2.5) < 1e-13, "constant %zu: %g", i, cc[i]);
    }

    /* Errors: out is NaN after every one (whatever the error). */
    const bsfit_boundary bad[3] = {BSFIT_BOUNDARY_PERIODIC, (bsfit_boundary)5, BSFIT_BOUNDARY_ZERO};
#define EXPECT_NAN_OUT(call, want, buf, len)                                   \
    do {                                                                       \
        for (size_t i_ = 0; i_ < (len); ++i_) (buf)[i_] = -7.0f;               \
        EXPECT(call, want);                                                    \
        int nan_ = 1;                                                          \
        for (size_t i_ = 0; i_ < (len); ++i_) nan_ &= isnan((double)(buf)[i_]); \
        CHECK(nan_, "out not NaN after %s", #call);                            \
    } while (0)
    EXPECT_NAN_OUT(bsfit_prefilter3d_f64(f, n[0], n[1], n[2], bad, cc, N), BSFIT_STATUS_INVALID_ARGUMENT, cc, N);
    CHECK(contains(bsfit_last_error_message(), "boundary[1] = 5"), "%s", bsfit_last_error_message());
    EXPECT_NAN_OUT(bsfit_prefilter3d_f64(f, n[0], n[1], n[2], all[0], cc, N - 1), BSFIT_STATUS_BUFFER_TOO_SMALL, cc, N - 1);
    EXPECT_NAN_OUT(bsfit_prefilter3d_f64(f, 0, n[1], n[2], all[0], cc, N), BSFIT_STATUS_AXIS_TOO_SHORT, cc, N);
    EXPECT_NAN_OUT(bsfit_prefilter3d_f64(f, SIZE_MAX, 2, 2, all[0], cc, N), BSFIT_STATUS_INVALID_ARGUMENT, cc, N);
    EXPECT_NAN_OUT(bsfit_prefilter3d_f64(NULL, n[0], n[1], n[2], all[0], cc, N), BSFIT_STATUS_NULL_POINTER, cc, N);
    EXPECT_NAN_OUT(bsfit_prefilter3d_f64(f, n[0], n[1], n[2], NULL, cc, N), BSFIT_STATUS_NULL_POINTER, cc, N);
    EXPECT(bsfit_prefilter3d_f64(f, n[0], n[1], n[2], all[0], NULL, N), BSFIT_STATUS_NULL_POINTER);
    EXPECT_NAN_OUT(bsfit_prefilter3d_f32(ff, n[0], n[1], n[2], bad, cf, N), BSFIT_STATUS_INVALID_ARGUMENT, cf, N);
    EXPECT_NAN_OUT(bsfit_prefilter3d_f32(NULL, 1, 1, 1, all[0], cf, N), BSFIT_STATUS_NULL_POINTER, cf, N);
#undef EXPECT_NAN_OUT
    /* Non-finite samples are found with the solve: out is NaN-filled. */
    f[100] = NAN;
    EXPECT(bsfit_prefilter3d_f64(f, n[0], n[1], n[2], all[0], cc, N), BSFIT_STATUS_NON_FINITE_VALUE);
    CHECK(contains(bsfit_last_error_message(), "[1, 1, 0]"), "%s", bsfit_last_error_message());
    for (size_t i = 0; i < N; ++i) CHECK(isnan(cc[i]), "out not NaN-filled at %zu", i);
    ff[5] = INFINITY;
    EXPECT(bsfit_prefilter3d_f32(ff, n[0], n[1], n[2], all[1], cf, N), BSFIT_STATUS_NON_FINITE_VALUE);
    for (size_t i = 0; i < N; ++i) CHECK(isnan(cf[i]), "f32 out not NaN-filled at %zu", i);
    /* Overflow in the solve itself: coefficients beyond the largest float. */
    for (size_t i = 0; i < N; ++i) ff[i] = (i % 2) ? 3.0e38f : -3.0e38f;
    EXPECT(bsfit_prefilter3d_f32(ff, n[0], n[1], n[2], all[0], cf, N), BSFIT_STATUS_NON_FINITE_RESULT);
}


/* Boundary conditions: polynomial reproduction where the condition allows it
 * (a cubic with its own end derivatives; a line under natural ends), periodic
 * wrapping, and the new status codes. */
static void test_fitter_boundary(void) {
    /* 2D: explicit d1 (left) and d2 (right) on axis 0, not-a-knot on axis 1;
     * f(x, y) = p(x) q(y), p cubic, q quadratic. */
    static const double X[] = {-1.0, -0.4, 0.1, 0.7, 1.3, 2.0};
    static const double Y[] = {0.0, 0.5, 1.5, 2.0, 3.0};
    const double *sites[2] = {X, Y};
    const size_t lens[2] = {6, 5};
    const bsfit_end left[2] = {BSFIT_END_DERIV1, BSFIT_END_NOT_A_KNOT};
    const bsfit_end right[2] = {BSFIT_END_DERIV2, BSFIT_END_NOT_A_KNOT};
#define PX(t) (((t) - 0.5) * (t) * (t) + 2.0)
#define DPX(t) (3.0 * (t) * (t) - (t))
#define DDPX(t) (6.0 * (t) - 1.0)
#define QY(t) ((t) * (t) - 2.0 * (t) + 0.5)
    double values[30], dl[5], dr[5], coefs[40];
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 5; ++j) values[5 * i + j] = PX(X[i]) * QY(Y[j]);
    for (int j = 0; j < 5; ++j) {
        dl[j] = DPX(X[0]) * QY(Y[j]);
        dr[j] = DDPX(X[5]) * QY(Y[j]);
    }
    bsfit_fitter *f = NULL;
    OK(bsfit_fitter_new_bc(2, sites, lens, left, right, &f));
    if (!f) return;
    size_t nc = 0;
    OK(bsfit_fitter_coefs_len(f, &nc));
    CHECK(nc == 8 * 5, "coefs_len %zu", nc);
    OK(bsfit_fitter_refit_ends(f, values, 30, dl, 5, dr, 5, coefs, 40));
    bsfit_spline *s = NULL;
    OK(bsfit_fitter_spline(f, coefs, 40, &s));
    for (int trial = 0; trial < 40 && s; ++trial) {
        double x[2] = {urand(-1.0, 2.0), urand(0.0, 3.0)}, v = 0, d = 0;
        const size_t o[2] = {1, 0};
        OK(bsfit_spline_eval(s, x, 2, &v));
        OK(bsfit_spline_eval_deriv(s, x, o, 2, &d));
        CHECK(close_to(v, PX(x[0]) * QY(x[1]), 1e-12), "explicit: %.17g", v);
        CHECK(close_to(d, DPX(x[0]) * QY(x[1]), 1e-10), "explicit d/dx: %.17g", d);
    }
    bsfit_spline_free(s);
    /* Errors: end values of the wrong length or missing; values for an end
     * that takes none. */
    EXPECT(bsfit_fitter_refit_ends(f, values, 30, dl, 4, dr, 5, coefs, 40),
           BSFIT_STATUS_END_VALUES_SHAPE);
    CHECK(contains(bsfit_last_error_message(), "axis 0"), "%s", bsfit_last_error_message());
    EXPECT(bsfit_fitter_refit(f, values, 30, coefs, 40), BSFIT_STATUS_END_VALUES_SHAPE);
    EXPECT(bsfit_fitter_refit_ends(f, values, 30, NULL, 5, dr, 5, coefs, 40),
           BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_refit_ends(f, values, 30, dl, 5, dr, 5, coefs, 39),
           BSFIT_STATUS_BUFFER_TOO_SMALL);
    bsfit_fitter_free(f);

    /* 1D natural: a line is reproduced; periodic: wraps, and differing end
     * values are an error naming the axis. */
    const double *s1[1] = {X};
    const size_t l1[1] = {6};
    const bsfit_end nat[1] = {BSFIT_END_NATURAL}, per[1] = {BSFIT_END_PERIODIC};
    double line[6], c1[8];
    for (int i = 0; i < 6; ++i) line[i] = 3.0 * X[i] - 1.0;
    OK(bsfit_fitter_new_bc(1, s1, l1, nat, nat, &f));
    if (f) {
        OK(bsfit_fitter_refit(f, line, 6, c1, 8));
        bsfit_spline *n = NULL;
        OK(bsfit_fitter_spline(f, c1, 8, &n));
        double v = 0, x = 0.33;
        OK(bsfit_spline_eval(n, &x, 1, &v));
        CHECK(close_to(v, 3.0 * x - 1.0, 1e-12), "natural line %.17g", v);
        bsfit_spline_free(n);
        bsfit_fitter_free(f);
    }
    OK(bsfit_fitter_new_bc(1, s1, l1, per, per, &f));
    if (f) {
        EXPECT(bsfit_fitter_refit(f, line, 6, c1, 8), BSFIT_STATUS_PERIODIC_MISMATCH);
        CHECK(contains(bsfit_last_error_message(), "axis 0"), "%s", bsfit_last_error_message());
        double wave[6];
        for (int i = 0; i < 6; ++i) wave[i] = cos(6.283185307179586 * (X[i] + 1.0) / 3.0);
        wave[5] = wave[0];
        bsfit_spline *p = NULL;
        OK(bsfit_fitter_fit(f, wave, 6, &p));
        double a = 0.25, b = 0.25 + 3.0 * 2, va = 0, vb = 1;
        OK(bsfit_spline_eval(p, &a, 1, &va));
        OK(bsfit_spline_eval(p, &b, 1, &vb));
        CHECK(fabs(va - vb) < 1e-12, "periodic wrap %.17g %.17g", va, vb);
        bsfit_spline_free(p);
        bsfit_fitter_free(f);
    }
    /* Invalid conditions: unknown code, periodic on one end, not-a-knot with
     * a derivative end, explicit values on two axes. */
    bsfit_fitter *g = SENTINEL_FITTER;
    const bsfit_end bad[2] = {9, 0}, half[2] = {BSFIT_END_PERIODIC, 0},
                   nak[2] = {BSFIT_END_NOT_A_KNOT, 0}, nat2[2] = {BSFIT_END_NATURAL, 0},
                   d1d1[2] = {BSFIT_END_DERIV1, BSFIT_END_DERIV1};
    EXPECT(bsfit_fitter_new_bc(2, sites, lens, bad, right, &g), BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(contains(bsfit_last_error_message(), "left[0] = 9"), "%s", bsfit_last_error_message());
    EXPECT(bsfit_fitter_new_bc(2, sites, lens, half, nak, &g), BSFIT_STATUS_INVALID_BOUNDARY);
    EXPECT(bsfit_fitter_new_bc(2, sites, lens, nak, nat2, &g), BSFIT_STATUS_INVALID_BOUNDARY);
    EXPECT(bsfit_fitter_new_bc(2, sites, lens, d1d1, d1d1, &g), BSFIT_STATUS_INVALID_BOUNDARY);
    EXPECT(bsfit_fitter_new_bc(2, sites, lens, NULL, right, &g), BSFIT_STATUS_NULL_POINTER);
    CHECK(g == SENTINEL_FITTER, "out written on failure");
    CHECK(strcmp(bsfit_status_name(BSFIT_STATUS_PERIODIC_MISMATCH),
                 "BSFIT_STATUS_PERIODIC_MISMATCH") == 0, "name");
#undef PX
#undef DPX
#undef DDPX
#undef QY
}

int main(void) {
    printf("bsfit %s C API test\n", bsfit_version());
    test_version_and_names();
    test_release_cached_memory();
    test_polynomial_reproduction_4d();
    test_every_dimension();
    test_threads_share_a_spline();
    test_fit_errors();
    test_eval_errors();
    test_from_parts_errors();
    test_fitter();
    test_fitter_boundary();
    test_prefilter();
    if (failures) {
        printf("test_capi: %d of %d checks FAILED\n", failures, checks);
        return 1;
    }
    printf("test_capi: all %d checks passed\n", checks);
    return 0;
}
