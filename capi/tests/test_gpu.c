/* The GPU through the C ABI (bsfit_gpu_*).
 *
 * Built with GPU support and with an adapter (lavapipe in CI): a device
 * fit under natural / periodic / explicit-end conditions and an uploaded
 * spline, evaluated at points and on a grid, against the CPU evaluation
 * of the same spline (the oracle: bsfit_spline_evaluate; f64 within 1e-12,
 * f32 within 1e-5 relative), plus the errors. Device arrays
 * (bsfit_gpu_array_*): evaluation at device points into a device array
 * equal to the last bit to the host-path device evaluation of the same
 * rounded points and within the tolerance of the CPU (f64 1e-13), a device
 * fit of device-resident samples against the CPU fit of the same samples,
 * round trips, and every error.
 * Built without GPU support: every bsfit_gpu_* call returns
 * BSFIT_STATUS_UNSUPPORTED with a message saying so.
 * With GPU support but no adapter: skipped with a message, unless
 * BSFIT_REQUIRE_GPU=1, where it fails. Exit status 0 when every check passes. */
#include "bsfit.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define EXPECT(call, want)                                                             \
    do {                                                                               \
        bsfit_status got_ = (call);                                                    \
        if (got_ != (want)) {                                                          \
            fprintf(stdout, "FAILED %s:%d: %s -> %s, expected %s (%s)\n", __FILE__,    \
                    __LINE__, #call, bsfit_status_name(got_), bsfit_status_name(want), \
                    bsfit_last_error_message());                                       \
            ++failures;                                                                \
        }                                                                              \
    } while (0)
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stdout, "FAILED %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,      \
                    bsfit_last_error_message());                                       \
            ++failures;                                                                \
        }                                                                              \
    } while (0)

static const double X[] = {0.0, 0.5, 1.5, 2.0, 3.5, 4.0, 5.5};
static const double Y[] = {-1.0, 0.0, 0.5, 1.0, 2.0, 2.25};

/* Compares device and host outputs: NaN where the host is NaN, else within
 * tol relative to |host| + the largest host magnitude. */
static void compare(const double *gpu, const double *cpu, size_t n, double tol, const char *what) {
    double scale = 0.0;
    for (size_t i = 0; i < n; ++i)
        if (isfinite(cpu[i]) && fabs(cpu[i]) > scale) scale = fabs(cpu[i]);
    for (size_t i = 0; i < n; ++i) {
        if (isnan(cpu[i])) {
            if (!isnan(gpu[i])) {
                printf("FAILED %s: output %zu: cpu NaN, gpu %g\n", what, i, gpu[i]);
                ++failures;
            }
            continue;
        }
        if (!(fabs(gpu[i] - cpu[i]) <= tol * (fabs(cpu[i]) + scale))) {
            printf("FAILED %s: output %zu: gpu %.17g cpu %.17g\n", what, i, gpu[i], cpu[i]);
            ++failures;
        }
    }
}

/* Evaluates value, d/dx, d/dy and d2/dxdy at points (some outside, past a
 * period) and on a grid on both splines; compares. */
static void eval_both(const bsfit_gpu_spline *g, const bsfit_spline *s, size_t ncomp, double tol,
                      const char *what) {
    enum { N = 24, M = 4 };
    double pts[2 * N];
    for (int i = 0; i < N; ++i) {
        pts[2 * i] = -3.0 + 12.0 * i / (N - 1);
        pts[2 * i + 1] = 2.5 - 5.0 * ((i * 7) % N) / (N - 1);
    }
    const size_t orders[] = {0, 0, 1, 0, 0, 1, 1, 1};
    const uint32_t policies[2][2] = {{BSFIT_POLICY_SPLINE, BSFIT_POLICY_NAN},
                                     {BSFIT_POLICY_CLAMP, BSFIT_POLICY_POLYNOMIAL}};
    size_t len = N * M * ncomp;
    double *a = malloc(len * sizeof(double)), *b = malloc(len * sizeof(double));
    for (int p = -1; p < 2; ++p) {
        const uint32_t *pol = p < 0 ? NULL : policies[p];
        CHECK(bsfit_gpu_spline_evaluate(g, pts, N, 2, orders, M, pol, a, len) == BSFIT_STATUS_OK);
        CHECK(bsfit_spline_evaluate(s, pts, N, 2, orders, M, pol, b, len) == BSFIT_STATUS_OK);
        compare(a, b, len, tol, what);
    }
    const double gx[] = {-0.5, 1.0, 3.0, 5.5}, gy[] = {-1.0, 0.3, 2.0};
    const double *coords[] = {gx, gy};
    const size_t glens[] = {4, 3};
    size_t glen = 12 * M * ncomp;
    CHECK(bsfit_gpu_spline_evaluate_grid(g, coords, glens, 2, orders, M, NULL, a, glen) == BSFIT_STATUS_OK);
    CHECK(bsfit_spline_evaluate_grid(s, coords, glens, 2, orders, M, NULL, b, glen) == BSFIT_STATUS_OK);
    compare(a, b, glen, tol, what);
    /* Errors: a short output, the wrong dimension; out untouched. */
    a[0] = 42.0;
    EXPECT(bsfit_gpu_spline_evaluate(g, pts, N, 2, orders, M, NULL, a, len - 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_gpu_spline_evaluate(g, pts, N, 3, orders, M, NULL, a, len), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_gpu_spline_evaluate(g, NULL, N, 2, orders, M, NULL, a, len), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate(g, (const double *)((const char *)pts + 1), N, 2, orders, M, NULL, a, len),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate(g, pts, N, 2, orders, 0, NULL, a, len), BSFIT_STATUS_INVALID_ARGUMENT);
    const uint32_t raise[2] = {BSFIT_POLICY_ERROR, BSFIT_POLICY_ERROR};
    EXPECT(bsfit_gpu_spline_evaluate(g, pts, N, 2, orders, M, raise, a, len), BSFIT_STATUS_OUTSIDE_DOMAIN);
    const uint32_t bad_policy[2] = {9, 0};
    EXPECT(bsfit_gpu_spline_evaluate_grid(g, coords, glens, 2, orders, M, bad_policy, a, glen),
           BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_spline_evaluate_grid(g, coords, glens, 2, orders, M, NULL, a, glen - 1),
           BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_gpu_spline_evaluate_grid(g, coords, glens, 1, orders, M, NULL, a, glen),
           BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_gpu_spline_evaluate_grid(g, NULL, glens, 2, orders, M, NULL, a, glen), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate_grid(g, coords, (const size_t *)((const char *)glens + 1), 2, orders, M, NULL,
                                          a, glen),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate_grid(g, coords, glens, 2, orders, M, raise, a, glen),
           BSFIT_STATUS_OUTSIDE_DOMAIN);
    CHECK(a[0] == 42.0);
    free(a);
    free(b);
}

static void values_for(double *v, int periodic_x) {
    for (int i = 0; i < 7; ++i)
        for (int j = 0; j < 6; ++j) {
            int ii = (periodic_x && i == 6) ? 0 : i;
            v[6 * i + j] = sin(1.3 * X[ii] + 0.4) * (Y[j] * Y[j] - 0.5 * Y[j]) + 0.2 * ii;
        }
}

/* A device fit under `left`/`right` conditions against the host refit. */
static void fit_case(bsfit_gpu *gpu, const bsfit_end *left, const bsfit_end *right, uint32_t prec,
                     double tol, const char *what) {
    const double *sites[] = {X, Y};
    const size_t lens[] = {7, 6};
    bsfit_fitter *f = NULL;
    CHECK(bsfit_fitter_new_bc(2, sites, lens, left, right, &f) == BSFIT_STATUS_OK);
    if (!f) return;
    double v[42];
    values_for(v, left[0] == BSFIT_END_PERIODIC);
    size_t nl = 0, nr = 0;
    CHECK(bsfit_fitter_end_values_len(f, &nl, &nr) == BSFIT_STATUS_OK);
    double ends_l[8] = {0}, ends_r[8] = {0};
    for (size_t i = 0; i < 8; ++i) {
        ends_l[i] = 0.3 * (double)i - 1.0;
        ends_r[i] = 2.0 - 0.1 * (double)i;
    }
    size_t nc = 0;
    CHECK(bsfit_fitter_coefs_len(f, &nc) == BSFIT_STATUS_OK);
    double *c = malloc(nc * sizeof(double));
    CHECK(bsfit_fitter_refit_ends(f, v, 42, ends_l, nl, ends_r, nr, c, nc) == BSFIT_STATUS_OK);
    bsfit_spline *s = NULL;
    CHECK(bsfit_fitter_spline(f, c, nc, &s) == BSFIT_STATUS_OK);
    bsfit_gpu_fitter *gf = NULL;
    CHECK(bsfit_gpu_fitter_new(gpu, f, NULL, 0, prec, &gf) == BSFIT_STATUS_OK);
    bsfit_gpu_spline *g = NULL;
    CHECK(bsfit_gpu_fitter_fit(gf, v, 42, ends_l, nl, ends_r, nr, &g) == BSFIT_STATUS_OK);
    if (g && s) eval_both(g, s, 1, tol, what);
    /* Bad fits fail with their status and no spline; the plan stays usable. */
    bsfit_gpu_spline *g2 = NULL;
    EXPECT(bsfit_gpu_fitter_fit(gf, v, 41, ends_l, nl, ends_r, nr, &g2), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_fitter_fit(gf, NULL, 42, ends_l, nl, ends_r, nr, &g2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_fitter_fit(gf, (const double *)((const char *)v + 1), 42, ends_l, nl, ends_r, nr, &g2),
           BSFIT_STATUS_MISALIGNED_POINTER);
    double w[42];
    memcpy(w, v, sizeof w);
    w[9] = NAN;
    EXPECT(bsfit_gpu_fitter_fit(gf, w, 42, ends_l, nl, ends_r, nr, &g2), BSFIT_STATUS_NON_FINITE_VALUE);
    if (left[0] == BSFIT_END_PERIODIC) {
        memcpy(w, v, sizeof w);
        w[6 * 6 + 2] += 1.0; /* last x site differs from the first */
        EXPECT(bsfit_gpu_fitter_fit(gf, w, 42, ends_l, nl, ends_r, nr, &g2), BSFIT_STATUS_PERIODIC_MISMATCH);
    }
    if (nl > 0) {
        EXPECT(bsfit_gpu_fitter_fit(gf, v, 42, NULL, 0, ends_r, nr, &g2), BSFIT_STATUS_END_VALUES_SHAPE);
    }
    CHECK(g2 == NULL);
    /* Plan errors. */
    bsfit_gpu_fitter *gf2 = NULL;
    EXPECT(bsfit_gpu_fitter_new(gpu, f, NULL, 0, 7, &gf2), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_fitter_new(gpu, NULL, NULL, 0, prec, &gf2), BSFIT_STATUS_NULL_POINTER);
    size_t vs[2] = {2, 2};
    EXPECT(bsfit_gpu_fitter_new(gpu, f, (const size_t *)((const char *)vs + 1), 1, prec, &gf2),
           BSFIT_STATUS_MISALIGNED_POINTER);
    bool f64 = false;
    CHECK(bsfit_gpu_supports_f64(gpu, &f64) == BSFIT_STATUS_OK);
    if (!f64) EXPECT(bsfit_gpu_fitter_new(gpu, f, NULL, 0, BSFIT_PRECISION_F64, &gf2), BSFIT_STATUS_GPU_ERROR);
    CHECK(gf2 == NULL);
    bsfit_gpu_spline_free(g);
    bsfit_gpu_fitter_free(gf);
    bsfit_spline_free(s);
    bsfit_fitter_free(f);
    free(c);
}

/* Whether a and b hold the same doubles (NaN where the other is NaN). */
static int same(const double *a, const double *b, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))) return 0;
    return 1;
}

/* Device arrays: evaluation at device points into a device array, a device
 * fit from device values, round trips and the errors, in `prec`. `s` is a
 * 2-D vector spline (2 components), uploaded here. */
static void device_case(bsfit_gpu *gpu, const bsfit_spline *s, uint32_t prec, double tol) {
    enum { N = 24, M = 4, C = 2 };
    bsfit_gpu_spline *g = NULL;
    CHECK(bsfit_gpu_spline_upload(gpu, s, prec, &g) == BSFIT_STATUS_OK);
    EXPECT(bsfit_gpu_synchronize(NULL), BSFIT_STATUS_NULL_POINTER);
    if (!g) return;
    double pts[2 * N], rounded[2 * N];
    for (int i = 0; i < N; ++i) {
        pts[2 * i] = -1.3 + 7.9 * i / (N - 1);
        pts[2 * i + 1] = 2.9 - 4.4 * ((i * 5) % N) / (N - 1);
    }
    for (int i = 0; i < 2 * N; ++i) rounded[i] = prec == BSFIT_PRECISION_F32 ? (double)(float)pts[i] : pts[i];
    const size_t orders[] = {0, 0, 1, 0, 0, 1, 1, 1};
    const size_t len = N * M * C;
    bsfit_gpu_array *dp = NULL, *dout = NULL;
    CHECK(bsfit_gpu_array_new(gpu, 2 * N, prec, &dp) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_new(gpu, len + 3, prec, &dout) == BSFIT_STATUS_OK);
    if (!dp || !dout) {
        bsfit_gpu_array_free(dp);
        bsfit_gpu_array_free(dout);
        bsfit_gpu_spline_free(g);
        return;
    }
    size_t n = 0;
    CHECK(bsfit_gpu_array_len(dp, &n) == BSFIT_STATUS_OK && n == 2 * N);
    CHECK(bsfit_gpu_array_upload(dp, pts, 2 * N) == BSFIT_STATUS_OK);
    double back[2 * N];
    CHECK(bsfit_gpu_array_read(dp, back, 2 * N) == BSFIT_STATUS_OK);
    CHECK(memcmp(back, rounded, sizeof back) == 0);
    double *sentinel = malloc((len + 3) * sizeof(double));
    for (size_t i = 0; i < len + 3; ++i) sentinel[i] = 7.0;
    CHECK(bsfit_gpu_array_upload(dout, sentinel, len + 3) == BSFIT_STATUS_OK);

    double *dev = malloc((len + 3) * sizeof(double)), *host = malloc(len * sizeof(double)),
           *cpu = malloc(len * sizeof(double));
    const uint32_t policies[3][2] = {{BSFIT_POLICY_SPLINE, BSFIT_POLICY_NAN},
                                     {BSFIT_POLICY_CLAMP, BSFIT_POLICY_POLYNOMIAL},
                                     {BSFIT_POLICY_NAN, BSFIT_POLICY_NAN}};
    for (int p = -1; p < 3; ++p) {
        const uint32_t *pol = p < 0 ? NULL : policies[p];
        CHECK(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, M, pol, dout) == BSFIT_STATUS_OK);
        CHECK(bsfit_gpu_synchronize(gpu) == BSFIT_STATUS_OK);
        CHECK(bsfit_gpu_array_read(dout, dev, len + 3) == BSFIT_STATUS_OK);
        CHECK(dev[len] == 7.0 && dev[len + 2] == 7.0);
        CHECK(bsfit_gpu_spline_evaluate(g, pts, N, 2, orders, M, pol, host, len) == BSFIT_STATUS_OK);
        CHECK(same(dev, host, len));
        CHECK(bsfit_spline_evaluate(s, rounded, N, 2, orders, M, pol, cpu, len) == BSFIT_STATUS_OK);
        compare(dev, cpu, len, prec == BSFIT_PRECISION_F64 ? 1e-13 : tol, "device arrays vs CPU");
    }
    /* POLICY_ERROR with every point inside: checked on the host, then run. */
    double inside[4] = {0.7, 0.1, 3.0, 1.9};
    bsfit_gpu_array *din = NULL, *dres = NULL;
    CHECK(bsfit_gpu_array_new(gpu, 4, prec, &din) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_new(gpu, 2 * M * C, prec, &dres) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_upload(din, inside, 4) == BSFIT_STATUS_OK);
    const uint32_t raise[2] = {BSFIT_POLICY_ERROR, BSFIT_POLICY_ERROR};
    CHECK(bsfit_gpu_spline_evaluate_device(g, din, 2, orders, M, raise, dres) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_read(dres, dev, 2 * M * C) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_spline_evaluate(g, inside, 2, 2, orders, M, raise, host, 2 * M * C) == BSFIT_STATUS_OK);
    CHECK(same(dev, host, 2 * M * C));

    /* Samples of the spline at the sites of X x Y, evaluated on the device,
     * fitted there without a trip through host memory. */
    const double *sites[] = {X, Y};
    const size_t lens[] = {7, 6};
    double grid[2 * 42];
    for (int i = 0; i < 7; ++i)
        for (int j = 0; j < 6; ++j) {
            grid[2 * (6 * i + j)] = X[i];
            grid[2 * (6 * i + j) + 1] = Y[j];
        }
    bsfit_gpu_array *dgrid = NULL, *dsamples = NULL;
    CHECK(bsfit_gpu_array_new(gpu, 2 * 42, prec, &dgrid) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_new(gpu, 42 * C, prec, &dsamples) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_upload(dgrid, grid, 2 * 42) == BSFIT_STATUS_OK);
    const size_t value[] = {0, 0};
    CHECK(bsfit_gpu_spline_evaluate_device(g, dgrid, 2, value, 1, NULL, dsamples) == BSFIT_STATUS_OK);
    bsfit_fitter *f = NULL;
    CHECK(bsfit_fitter_new(2, sites, lens, &f) == BSFIT_STATUS_OK);
    const size_t vshape[] = {C};
    bsfit_gpu_fitter *gf = NULL;
    CHECK(bsfit_gpu_fitter_new(gpu, f, vshape, 1, prec, &gf) == BSFIT_STATUS_OK);
    bsfit_gpu_spline *fitted = NULL, *fitted_host = NULL;
    CHECK(bsfit_gpu_fitter_fit_device(gf, dsamples, &fitted) == BSFIT_STATUS_OK);
    double samples[42 * C];
    CHECK(bsfit_gpu_array_read(dsamples, samples, 42 * C) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_fitter_fit(gf, samples, 42 * C, NULL, 0, NULL, 0, &fitted_host) == BSFIT_STATUS_OK);
    bsfit_spline *refit = NULL;
    CHECK(bsfit_spline_fit_vector(2, sites, lens, samples, vshape, 1, &refit) == BSFIT_STATUS_OK);
    if (fitted && fitted_host && refit) {
        CHECK(bsfit_gpu_spline_evaluate(fitted, pts, N, 2, orders, M, NULL, dev, len) == BSFIT_STATUS_OK);
        CHECK(bsfit_gpu_spline_evaluate(fitted_host, pts, N, 2, orders, M, NULL, host, len) == BSFIT_STATUS_OK);
        CHECK(same(dev, host, len));
        CHECK(bsfit_spline_evaluate(refit, rounded, N, 2, orders, M, NULL, cpu, len) == BSFIT_STATUS_OK);
        compare(dev, cpu, len, prec == BSFIT_PRECISION_F64 ? 1e-12 : 10 * tol, "device refit vs CPU");
    }

    /* Errors; `dout` untouched by every failed evaluation. */
    CHECK(bsfit_gpu_array_upload(dout, sentinel, len + 3) == BSFIT_STATUS_OK);
    bsfit_gpu_array *bad = NULL;
    EXPECT(bsfit_gpu_array_new(NULL, 4, prec, &bad), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_array_new(gpu, 4, 7, &bad), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_array_new(gpu, 4, prec, (bsfit_gpu_array **)((char *)&bad + 1)),
           BSFIT_STATUS_MISALIGNED_POINTER);
    bool f64 = false;
    CHECK(bsfit_gpu_supports_f64(gpu, &f64) == BSFIT_STATUS_OK);
    if (!f64) EXPECT(bsfit_gpu_array_new(gpu, 4, BSFIT_PRECISION_F64, &bad), BSFIT_STATUS_GPU_ERROR);
    CHECK(bad == NULL);
    EXPECT(bsfit_gpu_array_len(NULL, &n), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_array_len(dp, (size_t *)((char *)&n + 1)), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_gpu_array_upload(dp, pts, 2 * N - 1), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_array_upload(dp, pts, 2 * N + 1), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_array_upload(dp, NULL, 2 * N), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_array_upload(dp, (const double *)((const char *)pts + 1), 2 * N),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_gpu_array_read(dp, back, 2 * N - 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_gpu_array_read(dp, NULL, 2 * N), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_array_read(dp, (double *)((char *)back + 1), 2 * N), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_gpu_array_read(NULL, back, 2 * N), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 3, orders, M, NULL, dout), BSFIT_STATUS_DIMENSION_MISMATCH);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, NULL, 2, orders, M, NULL, dout), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate_device(NULL, dp, 2, orders, M, NULL, dout), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, M, NULL, NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, (const bsfit_gpu_array *)((const char *)dp + 1), 2, orders, M, NULL,
                                            dout),
           BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, 0, NULL, dout), BSFIT_STATUS_INVALID_ARGUMENT);
    const uint32_t bad_policy[2] = {9, 0};
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, M, bad_policy, dout), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, M, NULL, dp), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, din, 2, orders, 1, NULL, din), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, M, NULL, dres), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, M, raise, dout), BSFIT_STATUS_OUTSIDE_DOMAIN);
    bsfit_gpu_array *odd = NULL;
    CHECK(bsfit_gpu_array_new(gpu, 2 * N + 1, prec, &odd) == BSFIT_STATUS_OK);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, odd, 2, orders, M, NULL, dout), BSFIT_STATUS_INVALID_ARGUMENT);
    /* Arrays of another device. */
    bsfit_gpu *other = NULL;
    CHECK(bsfit_gpu_open(&other) == BSFIT_STATUS_OK);
    bsfit_gpu_array *alien_pts = NULL, *alien_out = NULL, *alien_vals = NULL;
    CHECK(bsfit_gpu_array_new(other, 2 * N, prec, &alien_pts) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_new(other, len, prec, &alien_out) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_array_new(other, 42 * C, prec, &alien_vals) == BSFIT_STATUS_OK);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, alien_pts, 2, orders, M, NULL, dout), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_spline_evaluate_device(g, dp, 2, orders, M, NULL, alien_out), BSFIT_STATUS_INVALID_ARGUMENT);
    /* Arrays of the other precision. */
    bsfit_gpu_array *other_prec = NULL;
    if (f64) {
        uint32_t p2 = prec == BSFIT_PRECISION_F64 ? BSFIT_PRECISION_F32 : BSFIT_PRECISION_F64;
        CHECK(bsfit_gpu_array_new(gpu, 42 * C, p2, &other_prec) == BSFIT_STATUS_OK);
        bsfit_gpu_array *p2pts = NULL;
        CHECK(bsfit_gpu_array_new(gpu, 2 * N, p2, &p2pts) == BSFIT_STATUS_OK);
        EXPECT(bsfit_gpu_spline_evaluate_device(g, p2pts, 2, orders, M, NULL, dout), BSFIT_STATUS_INVALID_ARGUMENT);
        bsfit_gpu_array_free(p2pts);
    }
    CHECK(bsfit_gpu_array_read(dout, dev, len + 3) == BSFIT_STATUS_OK);
    CHECK(same(dev, sentinel, len + 3));
    bsfit_gpu_spline *g2 = NULL;
    EXPECT(bsfit_gpu_fitter_fit_device(gf, dp, &g2), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_fitter_fit_device(gf, alien_vals, &g2), BSFIT_STATUS_INVALID_ARGUMENT);
    if (other_prec) EXPECT(bsfit_gpu_fitter_fit_device(gf, other_prec, &g2), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_fitter_fit_device(gf, NULL, &g2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_fitter_fit_device(NULL, dsamples, &g2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_fitter_fit_device(gf, (const bsfit_gpu_array *)((const char *)dsamples + 1), &g2),
           BSFIT_STATUS_MISALIGNED_POINTER);
    bsfit_end d_l[] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_DERIV1};
    bsfit_end d_r[] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_DERIV2};
    bsfit_fitter *fe = NULL;
    bsfit_gpu_fitter *gfe = NULL;
    CHECK(bsfit_fitter_new_bc(2, sites, lens, d_l, d_r, &fe) == BSFIT_STATUS_OK);
    CHECK(bsfit_gpu_fitter_new(gpu, fe, vshape, 1, prec, &gfe) == BSFIT_STATUS_OK);
    EXPECT(bsfit_gpu_fitter_fit_device(gfe, dsamples, &g2), BSFIT_STATUS_END_VALUES_SHAPE);
    CHECK(g2 == NULL);
    /* Values on the device are checked for finiteness; the message names the first at fault. */
    {
        double bad[42 * C];
        memcpy(bad, samples, sizeof bad);
        bad[(3 * 6 + 2) * C + 1] = INFINITY;
        bad[40 * C] = NAN;
        bsfit_gpu_array *dbad = NULL;
        CHECK(bsfit_gpu_array_new(gpu, 42 * C, prec, &dbad) == BSFIT_STATUS_OK);
        CHECK(bsfit_gpu_array_upload(dbad, bad, 42 * C) == BSFIT_STATUS_OK);
        EXPECT(bsfit_gpu_fitter_fit_device(gf, dbad, &g2), BSFIT_STATUS_NON_FINITE_VALUE);
        CHECK(strstr(bsfit_last_error_message(), "[3, 2, 1]") != NULL);
        CHECK(g2 == NULL);
        bsfit_gpu_array_free(dbad);
    }
    /* Arrays outlive the device handle. */
    bsfit_gpu_free(other);
    CHECK(bsfit_gpu_array_read(alien_out, dev, len) == BSFIT_STATUS_OK);
    bsfit_gpu_array_free(NULL);
    bsfit_gpu_array_free(alien_pts);
    bsfit_gpu_array_free(alien_out);
    bsfit_gpu_array_free(alien_vals);
    bsfit_gpu_array_free(other_prec);
    bsfit_gpu_array_free(odd);
    bsfit_gpu_array_free(din);
    bsfit_gpu_array_free(dres);
    bsfit_gpu_array_free(dgrid);
    bsfit_gpu_array_free(dsamples);
    bsfit_gpu_array_free(dp);
    bsfit_gpu_array_free(dout);
    bsfit_gpu_fitter_free(gfe);
    bsfit_fitter_free(fe);
    bsfit_gpu_spline_free(fitted);
    bsfit_gpu_spline_free(fitted_host);
    bsfit_spline_free(refit);
    bsfit_gpu_fitter_free(gf);
    bsfit_fitter_free(f);
    bsfit_gpu_spline_free(g);
    free(sentinel);
    free(dev);
    free(host);
    free(cpu);
}

int main(void) {
    bsfit_gpu *gpu = NULL;
    bsfit_status st = bsfit_gpu_open(&gpu);
    if (!bsfit_gpu_built()) {
        CHECK(st == BSFIT_STATUS_UNSUPPORTED);
        CHECK(strstr(bsfit_last_error_message(), "without GPU support") != NULL);
        CHECK(gpu == NULL);
        /* Every bsfit_gpu_* function says so, whatever its arguments. */
        char nm[8];
        bool b = false;
        size_t nd = 0;
        double o[4];
        const double p2[2] = {0.5, 0.5};
        EXPECT(bsfit_gpu_open(&gpu), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_name(gpu, nm, sizeof nm), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_supports_f64(gpu, &b), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_synchronize(gpu), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_spline_ndim(NULL, &nd), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_spline_evaluate(NULL, p2, 1, 2, NULL, 1, NULL, o, 4), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_spline_evaluate_grid(NULL, NULL, NULL, 2, NULL, 1, NULL, o, 4), BSFIT_STATUS_UNSUPPORTED);
        bsfit_gpu_fitter *gf = NULL;
        EXPECT(bsfit_gpu_fitter_new(gpu, NULL, NULL, 0, BSFIT_PRECISION_F64, &gf), BSFIT_STATUS_UNSUPPORTED);
        bsfit_gpu_spline *gs = NULL;
        EXPECT(bsfit_gpu_fitter_fit(gf, p2, 2, NULL, 0, NULL, 0, &gs), BSFIT_STATUS_UNSUPPORTED);
        bsfit_gpu_spline *g = NULL;
        bsfit_spline *s = NULL;
        const double *sites[] = {X, Y};
        const size_t lens[] = {7, 6};
        double v[42];
        values_for(v, 0);
        CHECK(bsfit_spline_fit(2, sites, lens, v, &s) == BSFIT_STATUS_OK);
        EXPECT(bsfit_gpu_spline_upload(gpu, s, BSFIT_PRECISION_F64, &g), BSFIT_STATUS_UNSUPPORTED);
        bsfit_gpu_array *ga = NULL;
        EXPECT(bsfit_gpu_array_new(gpu, 4, BSFIT_PRECISION_F64, &ga), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_array_len(ga, &nd), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_array_upload(ga, p2, 2), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_array_read(ga, o, 4), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_spline_evaluate_device(NULL, ga, 2, NULL, 1, NULL, ga), BSFIT_STATUS_UNSUPPORTED);
        EXPECT(bsfit_gpu_fitter_fit_device(gf, ga, &gs), BSFIT_STATUS_UNSUPPORTED);
        CHECK(ga == NULL && gs == NULL);
        bsfit_gpu_free(NULL);
        bsfit_gpu_spline_free(NULL);
        bsfit_gpu_fitter_free(NULL);
        bsfit_gpu_array_free(NULL);
        bsfit_spline_free(s);
        printf("test_gpu: built without GPU support, every call says so; %d failures\n", failures);
        return failures != 0;
    }
    if (st != BSFIT_STATUS_OK) {
        const char *req = getenv("BSFIT_REQUIRE_GPU");
        if (req && strcmp(req, "1") == 0) {
            printf("FAILED: BSFIT_REQUIRE_GPU=1 but bsfit_gpu_open: %s\n", bsfit_last_error_message());
            return 1;
        }
        EXPECT(bsfit_gpu_open(&gpu), BSFIT_STATUS_GPU_ERROR);
        printf("test_gpu: skipped, no GPU: %s\n", bsfit_last_error_message());
        return 0;
    }
    char name[128];
    CHECK(bsfit_gpu_name(gpu, name, sizeof name) == BSFIT_STATUS_OK);
    EXPECT(bsfit_gpu_name(gpu, name, 0), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_name(gpu, NULL, 8), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_open(NULL), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_open((bsfit_gpu **)((char *)&gpu + 1)), BSFIT_STATUS_MISALIGNED_POINTER);
    EXPECT(bsfit_gpu_supports_f64(NULL, NULL), BSFIT_STATUS_NULL_POINTER);
    bool f64 = false;
    CHECK(bsfit_gpu_supports_f64(gpu, &f64) == BSFIT_STATUS_OK);
    uint32_t prec = f64 ? BSFIT_PRECISION_F64 : BSFIT_PRECISION_F32;
    double tol = f64 ? 1e-12 : 1e-5;

    bsfit_end nak[] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_NOT_A_KNOT};
    bsfit_end nat[] = {BSFIT_END_NATURAL, BSFIT_END_NATURAL};
    bsfit_end per_l[] = {BSFIT_END_PERIODIC, BSFIT_END_CLAMPED};
    bsfit_end per_r[] = {BSFIT_END_PERIODIC, BSFIT_END_NATURAL};
    bsfit_end d_l[] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_DERIV1};
    bsfit_end d_r[] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_DERIV2};
    fit_case(gpu, nak, nak, prec, tol, "not-a-knot");
    fit_case(gpu, nat, nat, prec, tol, "natural");
    fit_case(gpu, per_l, per_r, prec, tol, "periodic x, clamped/natural y");
    fit_case(gpu, d_l, d_r, prec, tol, "explicit ends on y");

    /* An uploaded host spline with vector values (2 components). */
    const double *sites[] = {X, Y};
    const size_t lens[] = {7, 6};
    double vv[84];
    for (int i = 0; i < 42; ++i) {
        vv[2 * i] = cos(0.1 * i);
        vv[2 * i + 1] = 0.05 * i * i;
    }
    const size_t vshape[] = {2};
    bsfit_spline *s = NULL;
    CHECK(bsfit_spline_fit_vector(2, sites, lens, vv, vshape, 1, &s) == BSFIT_STATUS_OK);
    bsfit_gpu_spline *g = NULL;
    CHECK(bsfit_gpu_spline_upload(gpu, s, prec, &g) == BSFIT_STATUS_OK);
    size_t nd = 0;
    CHECK(bsfit_gpu_spline_ndim(g, &nd) == BSFIT_STATUS_OK && nd == 2);
    if (g && s) eval_both(g, s, 2, tol, "uploaded vector spline");
    if (s) device_case(gpu, s, prec, tol);
    if (s && f64) device_case(gpu, s, BSFIT_PRECISION_F32, 1e-5);
    /* Errors: an unknown precision, NULL handles. */
    bsfit_gpu_spline *bad = NULL;
    EXPECT(bsfit_gpu_spline_upload(gpu, s, 7, &bad), BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_gpu_spline_upload(NULL, s, prec, &bad), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_upload(gpu, s, prec, (bsfit_gpu_spline **)((char *)&bad + 1)),
           BSFIT_STATUS_MISALIGNED_POINTER);
    if (!f64) EXPECT(bsfit_gpu_spline_upload(gpu, s, BSFIT_PRECISION_F64, &bad), BSFIT_STATUS_GPU_ERROR);
    CHECK(bad == NULL);
    EXPECT(bsfit_gpu_spline_ndim(NULL, &nd), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_gpu_spline_ndim(g, (size_t *)((char *)&nd + 1)), BSFIT_STATUS_MISALIGNED_POINTER);
    /* The device outlives its handle while a spline holds it. */
    bsfit_gpu_free(gpu);
    if (g && s) eval_both(g, s, 2, tol, "after bsfit_gpu_free");
    bsfit_gpu_spline_free(g);
    bsfit_spline_free(s);
    printf("test_gpu: %s (%s), %d failures\n", name, f64 ? "f64" : "f32", failures);
    return failures != 0;
}
