//! Closed-form reference functions.
//!
//! These are the embedded data of the `bsfit` demo and the oracles of the
//! price-table tests: the standard normal distribution ([`normal`]) and
//! Black–Scholes European call prices and sensitivities ([`black_scholes`]).

pub mod black_scholes;
pub mod normal;
