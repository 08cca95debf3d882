//! The tool's exit status and messages: 0 on success, 2 for a command line
//! that does not parse, 1 with `bsfit: <message>` for a failed run.

use std::process::{Command, Output};

fn bsfit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bsfit"))
        .args(args)
        .output()
        .expect("the bsfit binary runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["bogus"][..],
        &["--frobnicate"],
        &["demo", "--fits", "3"],
        &["bench", "--only", "everything"],
        &["grid3", "--precision", "f16"],
        &["gpu-bench", "--n", "0"],
        &["memfit", "--api", "copy"],
    ] {
        let out = bsfit(args);
        assert_eq!(
            code(&out),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error:"),
            "{args:?}"
        );
    }
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["demo", "bench", "grid3", "gpu-bench", "memfit"] {
        let out = bsfit(&[sub, "--help"]);
        assert_eq!(code(&out), 0, "{sub}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: bsfit"),
            "{sub}"
        );
    }
    let out = bsfit(&["--help"]);
    assert_eq!(code(&out), 0);
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["demo", "bench", "grid3", "gpu-bench", "memfit"] {
        assert!(help.contains(sub), "{sub} missing from\n{help}");
    }
}

#[test]
fn runtime_failures_exit_1_with_a_message() {
    let out = bsfit(&[
        "grid3",
        "--n",
        "4",
        "--solver",
        "direct",
        "--csv",
        "/nonexistent-dir/histories.csv",
    ]);
    assert_eq!(code(&out), 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bsfit: /nonexistent-dir/histories.csv"),
        "{err}"
    );
}

#[test]
fn small_runs_succeed() {
    let out = bsfit(&["--grid", "8x8x8x8", "--points", "1000", "--threads", "1"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("price  C"));
    let out = bsfit(&["memfit", "--grid", "20x10x6", "--api", "into"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("max grid residual"));
}
