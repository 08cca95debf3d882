/* Degrees 1, 3 and 5 per axis through the C ABI: a fitter with mixed
 * degrees, knots and degrees of its spline, values and partials against
 * the closed form of a tensor product of polynomials of each axis' degree
 * (reproduced exactly), a grid against the points, and the errors (too few
 * sites, an unsupported degree, a condition other than not-a-knot at
 * degree 5). Exit status 0 when every check passes. */
#include "bsfit.h"
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
#define CLOSE(a, b) CHECK(fabs((a) - (b)) <= 1e-10 * (1.0 + fabs(b)))
/* A call's status, named in the failure message. */
#define EXPECT(call, want)                                                             \
    do {                                                                               \
        bsfit_status st_ = (call);                                                     \
        if (st_ != (want)) {                                                           \
            fprintf(stdout, "FAILED %s:%d: %s gave %s (%s), want %s\n", __FILE__,       \
                    __LINE__, #call, bsfit_status_name(st_), bsfit_last_error_message(), \
                    bsfit_status_name(want));                                          \
            ++failures;                                                                \
        }                                                                              \
    } while (0)

/* Degree 5 in x, 1 in y: f = (x^5 - 2 x^3 + x) (3 y - 1). */
static double p(double x) { return x * x * x * x * x - 2 * x * x * x + x; }
static double dp(double x) { return 5 * x * x * x * x - 6 * x * x + 1; }
static double d2p(double x) { return 20 * x * x * x - 12 * x; }
static double q(double y) { return 3 * y - 1; }

static const double X[] = {-1.0, -0.6, -0.1, 0.3, 0.5, 0.9, 1.4, 2.0};
static const double Y[] = {0.0, 0.5, 1.5, 2.0};

int main(void) {
    const double *sites[] = {X, Y};
    const size_t lens[] = {8, 4};
    const uint32_t degrees[] = {5, 1};
    bsfit_fitter *fit = NULL;
    CHECK(bsfit_fitter_new_degrees(2, sites, lens, NULL, NULL, degrees, &fit) == BSFIT_STATUS_OK);
    double values[32];
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 4; ++j) values[4 * i + j] = p(X[i]) * q(Y[j]);
    bsfit_spline *s = NULL;
    CHECK(bsfit_fitter_fit(fit, values, 32, &s) == BSFIT_STATUS_OK);

    uint32_t ks[2] = {0, 0};
    CHECK(bsfit_spline_degrees(s, ks, 2) == BSFIT_STATUS_OK);
    CHECK(ks[0] == 5 && ks[1] == 1);
    EXPECT(bsfit_spline_degrees(s, ks, 1), BSFIT_STATUS_BUFFER_TOO_SMALL);
    EXPECT(bsfit_spline_degrees(NULL, ks, 2), BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_spline_degrees(s, NULL, 2), BSFIT_STATUS_NULL_POINTER);
    {
        uint32_t raw[4];
        uint32_t *odd = (uint32_t *)((char *)raw + 1);
        EXPECT(bsfit_spline_degrees(s, odd, 2), BSFIT_STATUS_MISALIGNED_POINTER);
    }
    /* scipy's knots: k = 5 -> [x0 x6, x3, x4, x7 x6]; k = 1 -> [y0, y0..y3, y3]. */
    size_t nt = 0;
    CHECK(bsfit_spline_knots_len(s, 0, &nt) == BSFIT_STATUS_OK);
    CHECK(nt == 14);
    double t[14];
    CHECK(bsfit_spline_knots(s, 0, t, 14) == BSFIT_STATUS_OK);
    CHECK(t[0] == X[0] && t[5] == X[0] && t[6] == X[3] && t[7] == X[4] && t[8] == X[7]);
    CHECK(bsfit_spline_knots_len(s, 1, &nt) == BSFIT_STATUS_OK);
    CHECK(nt == 6);

    /* Value, d/dx, d2/dx2, d/dy, d2/dy2 (= 0: above degree 1). */
    const double pts[] = {0.2, 0.7, -0.9, 1.9, 1.7, 0.1, 2.3, -0.4};
    const size_t orders[] = {0, 0, 1, 0, 2, 0, 0, 1, 0, 2};
    double out[4 * 5];
    CHECK(bsfit_spline_evaluate(s, pts, 4, 2, orders, 5, NULL, out, 20) == BSFIT_STATUS_OK);
    for (int i = 0; i < 4; ++i) {
        double x = pts[2 * i], y = pts[2 * i + 1];
        CLOSE(out[5 * i + 0], p(x) * q(y));
        CLOSE(out[5 * i + 1], dp(x) * q(y));
        CLOSE(out[5 * i + 2], d2p(x) * q(y));
        CLOSE(out[5 * i + 3], p(x) * 3);
        CHECK(out[5 * i + 4] == 0.0);
        double v;
        CHECK(bsfit_spline_eval(s, &pts[2 * i], 2, &v) == BSFIT_STATUS_OK);
        CHECK(v == out[5 * i]);
    }
    /* NaN outside under the NaN policy: the third point (x = 2.3 > 2.0). */
    const uint32_t nan_policy[] = {BSFIT_POLICY_NAN, BSFIT_POLICY_NAN};
    double w[4];
    CHECK(bsfit_spline_evaluate(s, pts, 4, 2, NULL, 1, nan_policy, w, 4) == BSFIT_STATUS_OK);
    CHECK(!isnan(w[0]) && !isnan(w[1]) && !isnan(w[2]) && isnan(w[3]));

    /* A grid equals its points. */
    const double gx[] = {-0.5, 0.25, 1.75};
    const double gy[] = {0.1, 1.2};
    const double *coords[] = {gx, gy};
    const size_t glens[] = {3, 2};
    double g[6];
    CHECK(bsfit_spline_evaluate_grid(s, coords, glens, 2, NULL, 1, NULL, g, 6) == BSFIT_STATUS_OK);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 2; ++j) {
            double xy[2] = {gx[i], gy[j]}, v;
            CHECK(bsfit_spline_eval(s, xy, 2, &v) == BSFIT_STATUS_OK);
            CHECK(g[2 * i + j] == v);
        }
    bsfit_spline_free(s);
    bsfit_fitter_free(fit);

    /* Errors. */
    bsfit_fitter *bad = NULL;
    const size_t short_lens[] = {5, 4};
    EXPECT(bsfit_fitter_new_degrees(2, sites, short_lens, NULL, NULL, degrees, &bad),
           BSFIT_STATUS_AXIS_TOO_SHORT);
    const uint32_t high[] = {3, 6};
    EXPECT(bsfit_fitter_new_degrees(2, sites, lens, NULL, NULL, high, &bad),
           BSFIT_STATUS_UNSUPPORTED);
    CHECK(strstr(bsfit_last_error_message(), "k = 6") != NULL);
    const bsfit_end nat[] = {BSFIT_END_NATURAL, BSFIT_END_NOT_A_KNOT};
    EXPECT(bsfit_fitter_new_degrees(2, sites, lens, nat, nat, degrees, &bad),
           BSFIT_STATUS_UNSUPPORTED);
    EXPECT(bsfit_fitter_new_degrees(2, sites, lens, nat, NULL, degrees, &bad),
           BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_new_degrees(2, NULL, lens, NULL, NULL, degrees, &bad),
           BSFIT_STATUS_NULL_POINTER);
    EXPECT(bsfit_fitter_new_degrees(0, sites, lens, NULL, NULL, degrees, &bad),
           BSFIT_STATUS_INVALID_ARGUMENT);
    EXPECT(bsfit_fitter_new_degrees(7, sites, lens, NULL, NULL, degrees, &bad),
           BSFIT_STATUS_INVALID_ARGUMENT);
    /* A periodic condition on one end only of a cubic axis. */
    const uint32_t cubics[] = {3, 3};
    const bsfit_end per_left[] = {BSFIT_END_PERIODIC, BSFIT_END_NOT_A_KNOT};
    const bsfit_end nak[] = {BSFIT_END_NOT_A_KNOT, BSFIT_END_NOT_A_KNOT};
    EXPECT(bsfit_fitter_new_degrees(2, sites, lens, per_left, nak, cubics, &bad),
           BSFIT_STATUS_INVALID_BOUNDARY);
    CHECK(bad == NULL);
    /* Cubic through this entry point equals bsfit_fitter_new. */
    const uint32_t cubic[] = {3, 3};
    CHECK(bsfit_fitter_new_degrees(2, sites, lens, NULL, NULL, cubic, &bad) == BSFIT_STATUS_OK);
    bsfit_fitter_free(bad);

    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_degrees: all checks passed\n");
    return 0;
}
