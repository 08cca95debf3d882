//! `bsfit bench --only oneshot` on shrunken inputs (`--tiny`): every case and
//! column is printed, the JSON records parse and carry their fields, and a
//! failing child process is an error with a message.

use serde_json::Value;
use std::process::{Command, Output};

fn bsfit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bsfit"))
        .args(args)
        .output()
        .expect("the bsfit binary runs")
}

const CASES: [&str; 5] = [
    "fit-small",
    "fit-big",
    "prefilter-128",
    "prefilter-256",
    "prefilter-f32-128",
];

/// A positive finite number at `v`.
fn positive(v: &Value, what: &str) -> f64 {
    let x = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"));
    assert!(x.is_finite() && x > 0.0, "{what} = {x}");
    x
}

#[test]
fn oneshot_table_and_json() {
    let path = std::env::temp_dir().join(format!("bsfit-oneshot-{}.json", std::process::id()));
    let path_s = path.to_str().expect("UTF-8 temp path");
    let out = bsfit(&["bench", "--only", "oneshot", "--tiny", "--json", path_s]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for col in [
        "memory bandwidth",
        "first (min–max)",
        "repeated",
        "plan",
        "first/plan",
        "rep/plan",
        "2 sweeps =",
        "peak RSS",
        "compare_scipy.py",
        "bars:",
    ] {
        assert!(stdout.contains(col), "{col:?} missing from\n{stdout}");
    }
    // Per case a fresh row then a churned row, each with: first, (min–max),
    // repeated, plan, first/plan, rep/plan.
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.contains(&"fresh") || w.contains(&"churned"))
                && w.last().is_some_and(|x| x.ends_with('x'))
        })
        .collect();
    assert_eq!(rows.len(), 2 * CASES.len(), "{stdout}");
    for (i, row) in rows.iter().enumerate() {
        let case = CASES[i / 2];
        let state = ["fresh", "churned"][i % 2];
        let words: Vec<&str> = row.split_whitespace().collect();
        let at = words.iter().position(|w| *w == state).expect(state);
        if i % 2 == 0 {
            assert_eq!(words[0], case, "{row}");
        }
        let figs = &words[at + 1..];
        assert_eq!(figs.len(), 6, "{row}");
        for (j, w) in figs.iter().enumerate() {
            let w = match j {
                1 => w
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .split('–')
                    .next()
                    .unwrap(),
                4 | 5 => w.strip_suffix('x').expect("a ratio"),
                _ => w,
            };
            let v: f64 = w.parse().unwrap_or_else(|_| panic!("{w:?} in {row}"));
            // Times are positive; a ratio printed to two decimals may round
            // to 0.00 when one timing of these tiny cases is an outlier.
            let ok = if j >= 4 { v >= 0.0 } else { v > 0.0 };
            assert!(v.is_finite() && ok, "{row}");
        }
    }

    let json = std::fs::read_to_string(&path).expect("the JSON file was written");
    std::fs::remove_file(&path).ok();
    let doc: Value = serde_json::from_str(&json).expect("the JSON parses");
    positive(&doc["bandwidth_gbs"]["ram_2t"], "bandwidth");
    assert!(doc["machine"].is_string() && doc["isa"].is_string());
    let recs = doc["oneshot"].as_array().expect("oneshot records");
    let names: Vec<&str> = recs.iter().map(|r| r["case"].as_str().unwrap()).collect();
    assert_eq!(names, CASES);
    for r in recs {
        let case = r["case"].as_str().unwrap();
        assert!(
            r["shape"].as_array().is_some_and(|s| s.len() >= 3),
            "{case}"
        );
        assert_eq!(r["threads"], 2, "{case}");
        assert!(r["processes"].as_u64().is_some_and(|k| k >= 1), "{case}");
        for state in ["fresh", "churned"] {
            let s = &r[state];
            for fig in ["first_ms", "repeated_ms", "plan_ms"] {
                let med = positive(&s[fig]["median"], &format!("{case} {state} {fig}"));
                let min = positive(&s[fig]["min"], fig);
                let max = positive(&s[fig]["max"], fig);
                assert!(min <= med && med <= max, "{case} {state} {fig}");
            }
            positive(&s["first_over_plan"], "first_over_plan");
            positive(&s["repeated_over_plan"], "repeated_over_plan");
        }
        positive(&r["fresh"]["peak_rss_over_input"], "peak RSS");
        let bars = r["bars"].as_array().expect("bars");
        assert!(!bars.is_empty(), "{case}");
        for b in bars {
            assert!(b["name"].is_string() && b["met"].is_boolean(), "{b}");
            positive(&b["limit"], "limit");
        }
        let sweeps = matches!(case, "fit-big" | "prefilter-256");
        assert_eq!(r.get("two_sweeps_ms").is_some(), sweeps, "{case}");
    }
}

#[test]
fn child_prints_one_record() {
    let out = bsfit(&[
        "bench-child",
        "--case",
        "prefilter-f32-128",
        "--state",
        "churned",
        "--reps",
        "2",
        "--tiny",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let r: Value = serde_json::from_str(lines[0]).expect("one JSON line");
    assert_eq!(r["case"], "prefilter-f32-128");
    assert_eq!(r["state"], "churned");
    for k in ["first_ms", "repeated_ms", "plan_ms"] {
        positive(&r[k], k);
    }
    assert_eq!(r["input_bytes"], 12 * 12 * 12 * 4);
}

#[test]
fn failing_child_exits_1_with_a_message() {
    for (args, msg) in [
        (
            &["--case", "bogus", "--state", "fresh"],
            "unknown case \"bogus\"",
        ),
        (
            &["--case", "fit-small", "--state", "warm"],
            "unknown state \"warm\"",
        ),
    ] {
        let out = bsfit(&[&["bench-child"][..], &args[..], &["--tiny"]].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("bsfit: ") && err.contains(msg), "{err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Several ISAs cannot be one child environment.
    let out = bsfit(&[
        "bench",
        "--only",
        "oneshot",
        "--tiny",
        "--isa",
        "scalar,scalar",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most one --isa"));
}
