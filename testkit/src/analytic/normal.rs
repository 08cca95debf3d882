//! Error function and the standard normal distribution in double precision.
//!
//! [`erfc`] follows W. J. Cody's rational Chebyshev approximations
//! ("Rational Chebyshev approximations for the error function",
//! *Math. Comp.* 23 (1969) 631–637; coefficients as in his later `CALERF`
//! routine), which reach a relative error of a few units in the last place
//! over the whole real line:
//!
//! * `|x| ≤ 0.46875`: `erf(x) = x · R₁(x²)` with a degree-(4, 4) rational `R₁`,
//!   and `erfc = 1 − erf` (no cancellation: `erf ≤ 0.5` there);
//! * `0.46875 < |x| ≤ 4`: `erfc(|x|) = e^{−x²} · R₂(|x|)` with a degree-(8, 8) `R₂`;
//! * `|x| > 4`: `erfc(|x|) = e^{−x²}/|x| · (1/√π − x⁻² R₃(x⁻²))`;
//! * `erfc(−x) = 2 − erfc(x)`.
//!
//! The factor `e^{−x²}` is formed as `e^{−s²} · e^{−(x−s)(x+s)}` with `s` the
//! argument rounded down to a multiple of 1/16, so `x²` never loses the low
//! bits that would otherwise cost up to `2x²·ε` of relative accuracy.

// The coefficients below and the reference values in the tests are kept with
// all the digits they were published / computed with, so they can be checked
// against the sources character by character.
#![allow(clippy::excessive_precision)]

/// `1/√π`.
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;

/// Beyond this `erfc(x)` underflows to zero in double precision.
const ERFC_UNDERFLOW: f64 = 26.543;

// Interval 1: erf(x) = x (A4 + A0 y + … ) / (B3 + …), y = x².
const A: [f64; 5] = [
    3.161_123_743_870_565_60e0,
    1.138_641_541_510_501_56e2,
    3.774_852_376_853_020_21e2,
    3.209_377_589_138_469_47e3,
    1.857_777_061_846_031_53e-1,
];
const B: [f64; 4] = [
    2.360_129_095_234_412_09e1,
    2.440_246_379_344_441_73e2,
    1.282_616_526_077_372_28e3,
    2.844_236_833_439_170_62e3,
];
// Interval 2: erfc(x) e^{x²} = P(x) / Q(x).
const C: [f64; 9] = [
    5.641_884_969_886_700_89e-1,
    8.883_149_794_388_375_94e0,
    6.611_919_063_714_162_95e1,
    2.986_351_381_974_001_31e2,
    8.819_522_212_417_690_90e2,
    1.712_047_612_634_070_58e3,
    2.051_078_377_826_071_47e3,
    1.230_339_354_797_997_25e3,
    2.153_115_354_744_038_46e-8,
];
const D: [f64; 8] = [
    1.574_492_611_070_983_47e1,
    1.176_939_508_913_124_99e2,
    5.371_811_018_620_098_58e2,
    1.621_389_574_566_690_19e3,
    3.290_799_235_733_459_63e3,
    4.362_619_090_143_247_16e3,
    3.439_367_674_143_721_64e3,
    1.230_339_354_803_749_42e3,
];
// Interval 3: erfc(x) x e^{x²} = 1/√π − z P(z)/Q(z), z = 1/x².
const P: [f64; 6] = [
    3.053_266_349_612_323_44e-1,
    3.603_448_999_498_044_39e-1,
    1.257_817_261_112_292_46e-1,
    1.608_378_514_874_227_66e-2,
    6.587_491_615_298_378_03e-4,
    1.631_538_713_730_209_78e-2,
];
const Q: [f64; 5] = [
    2.568_520_192_289_822_42e0,
    1.872_952_849_923_460_47e0,
    5.279_051_029_514_284_12e-1,
    6.051_834_131_244_131_91e-2,
    2.335_204_976_268_691_85e-3,
];

/// `erf(x)` for `|x| ≤ 0.46875` (interval 1).
fn erf_small(x: f64) -> f64 {
    let y = x * x;
    let mut num = A[4] * y;
    let mut den = y;
    for i in 0..3 {
        num = (num + A[i]) * y;
        den = (den + B[i]) * y;
    }
    x * (num + A[3]) / (den + B[3])
}

/// `e^{−y²}` computed without losing the low bits of `y²` (`y ≥ 0`).
fn exp_neg_sq(y: f64) -> f64 {
    let s = (y * 16.0).trunc() / 16.0;
    let del = (y - s) * (y + s);
    (-s * s).exp() * (-del).exp()
}

/// `erfc(y)` for `y > 0.46875` (intervals 2 and 3).
fn erfc_large(y: f64) -> f64 {
    if y <= 4.0 {
        let mut num = C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        exp_neg_sq(y) * (num + C[7]) / (den + D[7])
    } else if y >= ERFC_UNDERFLOW {
        0.0
    } else {
        let z = 1.0 / (y * y);
        let mut num = P[5] * z;
        let mut den = z;
        for i in 0..4 {
            num = (num + P[i]) * z;
            den = (den + Q[i]) * z;
        }
        let r = z * (num + P[4]) / (den + Q[4]);
        exp_neg_sq(y) * (FRAC_1_SQRT_PI - r) / y
    }
}

/// The complementary error function `erfc(x) = 2/√π ∫ₓ^∞ e^{−t²} dt`.
///
/// Relative error within a few ulp for all finite `x` where the result is a
/// normal number (it underflows to 0 beyond `x ≈ 26.5`); `erfc(NaN)` is NaN.
pub fn erfc(x: f64) -> f64 {
    let y = x.abs();
    if y <= 0.46875 {
        1.0 - erf_small(x)
    } else if x > 0.0 {
        erfc_large(y)
    } else if x < 0.0 {
        2.0 - erfc_large(y)
    } else {
        x // NaN
    }
}

/// The error function `erf(x) = 2/√π ∫₀ˣ e^{−t²} dt`, odd in `x`.
pub fn erf(x: f64) -> f64 {
    let y = x.abs();
    if y <= 0.46875 {
        erf_small(x)
    } else if y.is_nan() {
        x
    } else {
        let e = 1.0 - erfc_large(y);
        if x < 0.0 { -e } else { e }
    }
}

/// Standard normal density `φ(x) = e^{−x²/2} / √(2π)`.
pub fn norm_pdf(x: f64) -> f64 {
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal cumulative distribution `Φ(x) = ½ erfc(−x/√2)`.
///
/// Computed through [`erfc`] on both sides, so the lower tail keeps full
/// relative accuracy (`Φ(−10) ≈ 7.6e−24` to ~1e−15 relative; the rounding of
/// `x/√2` adds at most `x² ε` relative error).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(x, Φ(x))`, reference values computed to 25 significant digits with
    /// mpmath (`mp.ncdf` at 40 digits of working precision).
    const PHI: [(f64, f64); 18] = [
        (0.0, 0.5),
        (0.3, 0.617911422188952637306529),
        (-0.3, 0.382088577811047362693471),
        (0.5, 0.6914624612740131036377046),
        (-0.6, 0.2742531177500735802943628),
        (1.0, 0.8413447460685429485852325),
        (-1.0, 0.1586552539314570514147675),
        (1.5, 0.933192798731141933995506),
        (2.0, 0.9772498680518207927997174),
        (-2.0, 0.02275013194817920720028264),
        (-2.9, 0.001865813300384037950310285),
        (-3.0, 0.001349898031630094526651815),
        (3.7, 0.9998922002665226116630625),
        (-5.0, 2.866515718791939116737523e-7),
        (-6.5, 4.016000583859117808346145e-11),
        (-10.0, 7.619853024160526065973343e-24),
        (-20.0, 2.753624118606233695075623e-89),
        (-37.0, 5.725571222524576822683193e-300),
    ];

    /// `(x, erfc(x))`, mpmath `mp.erfc` to 25 digits.
    const ERFC: [(f64, f64); 9] = [
        (0.1, 0.8875370839817151077967249),
        (0.46875, 0.5073865267820620084118239),
        (0.5, 0.4795001221869534623172533),
        (1.0, 0.1572992070502851306587794),
        (2.0, 0.004677734981047265837930744),
        (3.0, 2.209049699858544137277613e-5),
        (4.5, 1.966160441542887476279160e-10),
        (5.0, 1.537459794428034850188343e-12),
        (10.0, 2.088487583762544757000786e-45),
    ];

    fn rel(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    #[test]
    fn erfc_matches_high_precision_values() {
        for (x, want) in ERFC {
            // The argument is exact, so only the approximation error remains.
            assert!(
                rel(erfc(x), want) < 1e-15,
                "erfc({x}) = {:e}, want {want:e}",
                erfc(x)
            );
            assert!(rel(erfc(-x), 2.0 - want) < 1e-15, "erfc({})", -x);
            assert!(rel(erf(x), 1.0 - want) < 1e-15, "erf({x})");
            assert_eq!(erf(-x), -erf(x));
        }
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(-30.0), 2.0);
        assert!(erfc(f64::NAN).is_nan() && erf(f64::NAN).is_nan());
    }

    #[test]
    fn norm_cdf_matches_high_precision_values() {
        for (x, want) in PHI {
            // Rounding x/√2 (one ulp) perturbs Φ(x) by a relative x² ε at most.
            let tol = 1e-15 * (1.0 + x * x);
            let got = norm_cdf(x);
            assert!(rel(got, want) < tol, "Φ({x}) = {got:e}, want {want:e}");
        }
    }

    #[test]
    fn norm_pdf_is_derivative_of_cdf() {
        for i in -40..=40 {
            let x = f64::from(i) * 0.15;
            let h = 1e-5;
            let fd = (norm_cdf(x + h) - norm_cdf(x - h)) / (2.0 * h);
            assert!((fd - norm_pdf(x)).abs() < 1e-10, "x = {x}");
        }
        assert!(rel(norm_pdf(1.0), 0.2419707245191433497978302) < 1e-15);
    }
}
