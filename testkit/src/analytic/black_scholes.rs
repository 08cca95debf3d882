//! Black–Scholes European call: price and sensitivities in closed form.
//!
//! The underlying follows a geometric Brownian motion with volatility `σ`
//! under a constant risk-free rate `r` and no dividends. Prices are quoted for
//! a unit strike `K = 1`, so the spot is the moneyness `m = S/K` and the call
//! price of any strike is `K · call_price(S/K, …)`. With `τ` the time to
//! maturity,
//!
//! ```text
//! d₁ = (ln m + (r + σ²/2) τ) / (σ √τ),     d₂ = d₁ − σ √τ,
//! C(m, τ, σ, r) = m Φ(d₁) − e^{−rτ} Φ(d₂),
//! P(m, τ, σ, r) = e^{−rτ} Φ(−d₂) − m Φ(−d₁)      (put–call parity: C − P = m − e^{−rτ}),
//! ```
//!
//! and, using the identity `m φ(d₁) = e^{−rτ} φ(d₂)`,
//!
//! ```text
//! ∂C/∂m   = Φ(d₁)                                        (delta)
//! ∂²C/∂m² = φ(d₁) / (m σ √τ)                             (gamma)
//! ∂C/∂σ   = m φ(d₁) √τ                                   (vega)
//! ∂C/∂τ   = m φ(d₁) σ / (2√τ) + r e^{−rτ} Φ(d₂)          (minus the calendar theta)
//! ∂C/∂r   = τ e^{−rτ} Φ(d₂)                              (rho)
//! ```
//!
//! `Φ` and `φ` are [`norm_cdf`] and [`norm_pdf`]. All functions expect
//! `m > 0`, `τ > 0`, `σ > 0` and finite `r`; other inputs give NaN or an
//! infinite value, never a panic.

use super::normal::{norm_cdf, norm_pdf};

/// `(d₁, d₂, σ√τ)` for the given point.
fn d1_d2(m: f64, tau: f64, sigma: f64, r: f64) -> (f64, f64, f64) {
    let sig_sqrt_t = sigma * tau.sqrt();
    let d1 = (m.ln() + (r + 0.5 * sigma * sigma) * tau) / sig_sqrt_t;
    (d1, d1 - sig_sqrt_t, sig_sqrt_t)
}

/// Call price `C = m Φ(d₁) − e^{−rτ} Φ(d₂)` for moneyness `m = S/K` (strike 1),
/// maturity `tau`, volatility `sigma` and rate `r`.
pub fn call_price(m: f64, tau: f64, sigma: f64, r: f64) -> f64 {
    let (d1, d2, _) = d1_d2(m, tau, sigma, r);
    m * norm_cdf(d1) - (-r * tau).exp() * norm_cdf(d2)
}

/// Put price `P = e^{−rτ} Φ(−d₂) − m Φ(−d₁)` (strike 1).
pub fn put_price(m: f64, tau: f64, sigma: f64, r: f64) -> f64 {
    let (d1, d2, _) = d1_d2(m, tau, sigma, r);
    (-r * tau).exp() * norm_cdf(-d2) - m * norm_cdf(-d1)
}

/// Delta `∂C/∂m = Φ(d₁)`.
pub fn call_delta(m: f64, tau: f64, sigma: f64, r: f64) -> f64 {
    let (d1, _, _) = d1_d2(m, tau, sigma, r);
    norm_cdf(d1)
}

/// Gamma `∂²C/∂m² = φ(d₁) / (m σ √τ)`.
pub fn call_gamma(m: f64, tau: f64, sigma: f64, r: f64) -> f64 {
    let (d1, _, s) = d1_d2(m, tau, sigma, r);
    norm_pdf(d1) / (m * s)
}

/// Vega `∂C/∂σ = m φ(d₁) √τ`.
pub fn call_vega(m: f64, tau: f64, sigma: f64, r: f64) -> f64 {
    let (d1, _, _) = d1_d2(m, tau, sigma, r);
    m * norm_pdf(d1) * tau.sqrt()
}

/// Sensitivity to the maturity, `∂C/∂τ = m φ(d₁) σ / (2√τ) + r e^{−rτ} Φ(d₂)`
/// (the calendar theta `∂C/∂t` is its negative).
pub fn call_theta_tau(m: f64, tau: f64, sigma: f64, r: f64) -> f64 {
    let (d1, d2, _) = d1_d2(m, tau, sigma, r);
    m * norm_pdf(d1) * sigma / (2.0 * tau.sqrt()) + r * (-r * tau).exp() * norm_cdf(d2)
}

/// Rho `∂C/∂r = τ e^{−rτ} Φ(d₂)`.
pub fn call_rho(m: f64, tau: f64, sigma: f64, r: f64) -> f64 {
    let (_, d2, _) = d1_d2(m, tau, sigma, r);
    tau * (-r * tau).exp() * norm_cdf(d2)
}
