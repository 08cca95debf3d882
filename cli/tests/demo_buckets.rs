//! The demo's bucketed greeks: the sensitivities of the option's price, delta
//! and vega to the table's nodes agree with finite differences of refits
//! (the tool prints the largest relative difference; it must be ≤ 1e-7).

use std::process::Command;

#[test]
fn demo_prints_bucketed_greeks_that_match_refits() {
    let out = Command::new(env!("CARGO_BIN_EXE_bsfit"))
        .args([
            "demo",
            "--grid",
            "14x10x8x6",
            "--points",
            "200",
            "--fits",
            "20",
            "--threads",
            "1",
            "--no-pin",
        ])
        .output()
        .expect("the bsfit binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["price  C", "delta  ∂C/∂m", "vega   ∂C/∂σ"] {
        assert!(
            stdout.lines().filter(|l| l.contains(name)).count() >= 2,
            "{name} missing from the bucketed table:\n{stdout}"
        );
    }
    let key = "max relative difference ";
    let line = stdout
        .lines()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no finite-difference check in\n{stdout}"));
    let diff: f64 = line[line.find(key).unwrap() + key.len()..]
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    assert!(diff <= 1e-7, "{line}");
}
