//! The `bsfit` command-line tool.
fn main() {}
