//! Closed-form reference functions.
//!
//! These are used as oracles in tests and as the embedded data of the demo
//! binary: the standard normal distribution ([`normal`]) and Black–Scholes
//! European call prices and sensitivities ([`black_scholes`]).

pub mod black_scholes;
pub mod normal;
