/* The evaluation request through the C ABI: batched partials, grids,
 * per-axis policies, vector-valued and complex values, and their errors.
 * Oracles: closed forms of tensor-product cubics (reproduced exactly) and
 * the single-point calls. Exit status 0 when every check passes. */
#include "bsfit.h"
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stdout, "FAILED %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond,      \
                    bsfit_last_error_message());                                       \
            ++failures;                                                                \
        }                                                                              \
    } while (0)
#define CLOSE(a, b) CHECK(fabs((a) - (b)) <= 1e-11 * (1.0 + fabs(b)))

static const double X[] = {0.0, 0.5, 1.5, 2.0, 3.5};
static const double Y[] = {-1.0, 0.0, 0.5, 1.0, 2.0};

/* f(x, y) = x^2 y + y^3 and its partials. */
static double f(double x, double y) { return x * x * y + y * y * y; }
static double fx(double x, double y) { return 2 * x * y; }
static double fy(double x, double y) { return x * x + 3 * y * y; }
static double fxx(double x, double y) { (void)x; return 2 * y; }
static double fxy(double x, double y) { (void)y; return 2 * x; }

int main(void) {
    const double *sites[] = {X, Y};
    const size_t lens[] = {5, 5};
    double values[25];
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) values[5 * i + j] = f(X[i], Y[j]);
    bsfit_spline *s = NULL;
    CHECK(bsfit_spline_fit(2, sites, lens, values, &s) == BSFIT_STATUS_OK);

    /* Price, delta, gamma, vega-like: five partials in one call. */
    const double pts[] = {1.2, 0.3, 0.1, -0.7, 3.0, 1.9};
    const size_t orders[] = {0, 0, 1, 0, 2, 0, 0, 1, 1, 1};
    double out[3 * 5];
    CHECK(bsfit_spline_evaluate(s, pts, 3, 2, orders, 5, NULL, out, 15) == BSFIT_STATUS_OK);
    for (int i = 0; i < 3; ++i) {
        double x = pts[2 * i], y = pts[2 * i + 1];
        CLOSE(out[5 * i + 0], f(x, y));
        CLOSE(out[5 * i + 1], fx(x, y));
        CLOSE(out[5 * i + 2], fxx(x, y));
        CLOSE(out[5 * i + 3], fy(x, y));
        CLOSE(out[5 * i + 4], fxy(x, y));
        double d;
        CHECK(bsfit_spline_eval_deriv(s, &pts[2 * i], &orders[2 * 4], 2, &d) == BSFIT_STATUS_OK);
        CLOSE(out[5 * i + 4], d);
    }
    /* orders == NULL with one output: the value. */
    double v[3];
    CHECK(bsfit_spline_evaluate(s, pts, 3, 2, NULL, 1, NULL, v, 3) == BSFIT_STATUS_OK);
    for (int i = 0; i < 3; ++i) CHECK(v[i] == out[5 * i]);

    /* Grid evaluation equals the points. */
    const double gx[] = {0.25, 3.0, 1.0}, gy[] = {-0.5, 1.5};
    const double *coords[] = {gx, gy};
    const size_t glens[] = {3, 2};
    double g[3 * 2 * 2];
    CHECK(bsfit_spline_evaluate_grid(s, coords, glens, 2, orders + 2, 2, NULL, g, 12) ==
          BSFIT_STATUS_OK);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 2; ++j) {
            CLOSE(g[(2 * i + j) * 2 + 0], fx(gx[i], gy[j]));
            CLOSE(g[(2 * i + j) * 2 + 1], fxx(gx[i], gy[j]));
        }

    /* Per-axis policies: NaN along x, clamp along y. */
    const double outside[] = {4.0, 0.5, 1.0, 5.0};
    const uint32_t pol[] = {BSFIT_POLICY_NAN, BSFIT_POLICY_CLAMP};
    double o2[2 * 2];
    CHECK(bsfit_spline_evaluate(s, outside, 2, 2, orders, 2, pol, o2, 4) == BSFIT_STATUS_OK);
    CHECK(isnan(o2[0]) && isnan(o2[1]));
    CLOSE(o2[2], f(1.0, 2.0));
    CLOSE(o2[3], fx(1.0, 2.0));
    /* The error policy: a status naming the point; out untouched. */
    const uint32_t err[] = {BSFIT_POLICY_ERROR, BSFIT_POLICY_SPLINE};
    double keep[4] = {7, 7, 7, 7};
    CHECK(bsfit_spline_evaluate(s, outside, 2, 2, orders, 2, err, keep, 4) ==
          BSFIT_STATUS_OUTSIDE_DOMAIN);
    CHECK(strstr(bsfit_last_error_message(), "point 0") != NULL);
    CHECK(keep[0] == 7 && keep[3] == 7);
    /* Periodic on any axis: x wraps with period 3.5. */
    const uint32_t per[] = {BSFIT_POLICY_PERIODIC, BSFIT_POLICY_POLYNOMIAL};
    const double wrapped[] = {1.2 + 7.0, 0.3};
    double w;
    CHECK(bsfit_spline_evaluate(s, wrapped, 1, 2, NULL, 1, per, &w, 1) == BSFIT_STATUS_OK);
    CLOSE(w, f(1.2, 0.3));

    /* Errors. */
    const uint32_t bad[] = {9, 0};
    CHECK(bsfit_spline_evaluate(s, pts, 3, 2, NULL, 1, bad, v, 3) == BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(bsfit_spline_evaluate(s, pts, 3, 2, NULL, 2, NULL, out, 15) ==
          BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(bsfit_spline_evaluate(s, pts, 3, 2, orders, 5, NULL, out, 14) ==
          BSFIT_STATUS_INVALID_ARGUMENT);
    CHECK(bsfit_spline_evaluate(s, pts, 2, 3, NULL, 1, NULL, v, 3) ==
          BSFIT_STATUS_DIMENSION_MISMATCH);
    CHECK(bsfit_spline_evaluate(NULL, pts, 3, 2, NULL, 1, NULL, v, 3) ==
          BSFIT_STATUS_NULL_POINTER);
    CHECK(bsfit_spline_evaluate(s, NULL, 3, 2, NULL, 1, NULL, v, 3) == BSFIT_STATUS_NULL_POINTER);
    CHECK(bsfit_spline_evaluate(s, NULL, 0, 2, NULL, 1, NULL, NULL, 0) == BSFIT_STATUS_OK);

    size_t vndim = 9, ncomp = 0;
    CHECK(bsfit_spline_value_shape(s, &vndim, NULL, 0, &ncomp) == BSFIT_STATUS_OK);
    CHECK(vndim == 0 && ncomp == 1);
    bsfit_spline_free(s);

    /* Vector values: (f, 2f, -f) at every site. */
    double vv[25 * 3];
    for (int k = 0; k < 25; ++k) {
        vv[3 * k] = values[k];
        vv[3 * k + 1] = 2 * values[k];
        vv[3 * k + 2] = -values[k];
    }
    const size_t vshape[] = {3};
    CHECK(bsfit_spline_fit_vector(2, sites, lens, vv, vshape, 1, &s) == BSFIT_STATUS_OK);
    size_t shape[4] = {0};
    CHECK(bsfit_spline_value_shape(s, &vndim, shape, 4, &ncomp) == BSFIT_STATUS_OK);
    CHECK(vndim == 1 && shape[0] == 3 && ncomp == 3);
    double ov[3 * 2 * 3];
    CHECK(bsfit_spline_evaluate(s, pts, 3, 2, orders, 2, NULL, ov, 18) == BSFIT_STATUS_OK);
    for (int i = 0; i < 3; ++i) {
        double x = pts[2 * i], y = pts[2 * i + 1];
        for (int c = 0; c < 3; ++c) {
            double scale = c == 0 ? 1.0 : (c == 1 ? 2.0 : -1.0);
            CLOSE(ov[(2 * i + 0) * 3 + c], scale * f(x, y));
            CLOSE(ov[(2 * i + 1) * 3 + c], scale * fx(x, y));
        }
    }
    CHECK(bsfit_spline_value_shape(s, &vndim, shape, 0, NULL) == BSFIT_STATUS_INVALID_ARGUMENT);
    bsfit_spline_free(s);

    /* Complex values: interleaved real and imaginary parts. */
    double complex cz[25];
    for (int k = 0; k < 25; ++k) cz[k] = values[k] + I * (0.5 * values[k] - 1.0);
    const size_t two[] = {2};
    CHECK(bsfit_spline_fit_vector(2, sites, lens, (const double *)cz, two, 1, &s) ==
          BSFIT_STATUS_OK);
    double complex z;
    CHECK(bsfit_spline_evaluate(s, pts, 1, 2, NULL, 1, NULL, (double *)&z, 2) == BSFIT_STATUS_OK);
    CLOSE(creal(z), f(1.2, 0.3));
    CLOSE(cimag(z), 0.5 * f(1.2, 0.3) - 1.0);
    bsfit_spline_free(s);

    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_query: all checks passed\n");
    return 0;
}
