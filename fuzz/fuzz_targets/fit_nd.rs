//! Fuzz target `fit_nd`: see `tests/fuzz_logic/mod.rs` for the invariants checked.
#![no_main]

#[path = "../../tests/fuzz_logic/mod.rs"]
mod fuzz_logic;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_logic::fit_nd(data));
