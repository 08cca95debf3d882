//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) and crash
//! regressions (`fuzz/regressions/<target>/`) through the same target logic
//! the cargo-fuzz targets run, so every input found once keeps being checked
//! on stable Rust.

use crate::fuzz_logic;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).expect("read corpus file");
            let result = std::panic::catch_unwind(|| run(&data));
            assert!(result.is_ok(), "{target}: input {} fails", f.display());
            count += 1;
        }
    }
    assert!(count > 0, "no corpus for {target}");
}

#[test]
fn fit_nd_corpus() {
    replay("fit_nd", fuzz_logic::fit_nd);
}

#[test]
fn eval_points_corpus() {
    replay("eval_points", fuzz_logic::eval_points);
}

#[cfg(feature = "serde")]
#[test]
fn deserialize_corpus() {
    replay("deserialize", fuzz_logic::deserialize);
}

#[test]
fn grid3_corpus() {
    replay("grid3", fuzz_logic::grid3);
}

/// Arbitrary short byte strings (every 0–2 byte input, and a deterministic
/// sweep of longer ones) exercise the decoders' edge cases.
#[test]
fn short_inputs() {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut inputs: Vec<Vec<u8>> = vec![vec![]];
    for a in 0..=255u8 {
        inputs.push(vec![a]);
    }
    for _ in 0..300 {
        let len = (s % 96) as usize;
        let v: Vec<u8> = (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect();
        inputs.push(v);
    }
    for data in &inputs {
        fuzz_logic::fit_nd(data);
        fuzz_logic::eval_points(data);
        fuzz_logic::grid3(data);
        #[cfg(feature = "serde")]
        fuzz_logic::deserialize(data);
    }
}
