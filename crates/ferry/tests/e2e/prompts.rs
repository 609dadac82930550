//! `--interactive` through a real terminal, `-P`, retries and stats output.

use crate::common;

use common::*;

fn setup() -> Scratch {
    let s = Scratch::new();
    s.write("src/f", "new", 10);
    s.write("dst/f", "old!", 1000);
    s.write("dst/extra1", "x", 10);
    s.write("dst/extra2", "x", 10);
    s
}

#[test]
fn interactive_asks_before_overwrite_and_delete() {
    let s = setup();
    // no to the overwrite, yes to the first delete, no to the second
    let (code, screen) = run_in_pty(&["sync", &s.src(), &s.dst(), "-i"], "n\ny\nn\n");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("copy \"f\"?"), "{screen}");
    assert!(screen.contains("s) Skip all delete operations"), "{screen}");
    assert_eq!(s.read("dst/f"), "old!");
    let remaining = ["dst/extra1", "dst/extra2"]
        .iter()
        .filter(|p| s.exists(p))
        .count();
    assert_eq!(remaining, 1, "exactly one delete was allowed");
}

#[test]
fn interactive_do_all_and_quit() {
    let s = setup();
    let (code, screen) = run_in_pty(&["sync", &s.src(), &s.dst(), "-i"], "y\n!\n");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(s.read("dst/f"), "new");
    assert!(
        !s.exists("dst/extra1") && !s.exists("dst/extra2"),
        "! deletes all"
    );
    assert_eq!(
        screen.matches("delete \"").count(),
        1,
        "asked once: {screen}"
    );

    let s = setup();
    let (code, _) = run_in_pty(&["sync", &s.src(), &s.dst(), "-i"], "q\n");
    assert_eq!(code, 1);
    assert_eq!(s.read("dst/f"), "old!");
    assert!(
        s.exists("dst/extra1") && s.exists("dst/extra2"),
        "quit deletes nothing"
    );
}

#[test]
fn retries_rerun_the_whole_sync() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("src/clash")).unwrap();
    s.write("src/clash/f", "f", 10);
    s.write("dst/clash", "a file where the source has a directory", 10);
    let (code, _, err) = run(&["copy", &s.src(), &s.dst(), "--retries", "2"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Attempt 1/2 failed with 1 errors"), "{err}");
    assert!(!err.contains("Attempt 2/2"), "{err}");
    assert!(
        err.contains("NOTICE: Failed to copy: is a file on one side and a directory"),
        "{err}"
    );
}

#[test]
fn progress_shows_final_stats_on_stdout() {
    let s = Scratch::new();
    s.write("src/f", "data", 10);
    let (code, out, err) = run(&["copy", &s.src(), &s.dst(), "-P"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Transferred:")
            && out
                .lines()
                .last()
                .unwrap_or("")
                .starts_with("Elapsed time:")
            && out.ends_with("s\n"),
        "one final block on stdout, as rclone writes it: {out:?}"
    );
    assert_eq!(out.matches("Elapsed time:").count(), 1, "{out}");
    assert!(
        !out.contains('\x1b'),
        "no terminal codes in a pipe: {out:?}"
    );
    assert!(err.is_empty(), "{err}");
}

#[test]
fn stats_interval_prints_during_the_run() {
    let s = Scratch::new();
    s.write("src/f", &"z".repeat(200 * 1024), 10);
    let (code, _, err) = run(&[
        "copy",
        &s.src(),
        &s.dst(),
        "-v",
        "--stats",
        "200ms",
        "--bwlimit",
        "100K",
        "--stats-one-line",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines = err
        .lines()
        .filter(|l| l.contains(" / ") && l.contains("ETA"))
        .count();
    assert!(lines >= 3, "periodic one-line stats expected: {err}");
}
