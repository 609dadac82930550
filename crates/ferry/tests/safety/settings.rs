//! The command line's rules, end to end: every boolean flag takes rclone's forms, every
//! value is read by one parser of its kind, and a bad one is one line naming the flag and
//! the value, exit 2, before anything is done, on every command alike.

use super::common::{ferry, rclone, rclone_in, run, split, Scratch};

fn scratch() -> Scratch {
    let sc = Scratch::new();
    sc.write("src/a.txt", "alpha", 100);
    sc.write("src/sub/b.txt", "bravo", 100);
    sc
}

/// A usage error: exit 2, the words wanted, and nothing else done.
#[track_caller]
fn assert_usage(code: i32, err: &str, want: &str) {
    assert_eq!(code, 2, "expected exit 2:\n{err}");
    assert!(err.contains(want), "expected {want:?} in:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn every_boolean_flag_takes_rclones_true_and_false_forms() {
    let sc = scratch();
    // These flags once took no value at all: `--dry-run=true` was refused by delete.
    let (code, _, err) = run(&["delete", &sc.src(), "--dry-run=true"]);
    assert_eq!(code, 0, "{err}");
    assert!(sc.exists("src/a.txt"), "a dry run deleted");
    let (code, out, err) = run(&[
        "lsf",
        "-R",
        &sc.src(),
        "--files-only=false",
        "--dir-slash=false",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "a.txt\nsub\nsub/b.txt\n");
    let (code, out, err) = run(&["size", &sc.src(), "--json=false"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Total objects: 2"), "{out}");
    let (code, _, err) = run(&[
        "move",
        &sc.src(),
        &sc.dst(),
        "--delete-empty-src-dirs=false",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{err}");
    // rclone's own words, any case; repeated, the last one wins.
    let (code, _, err) = run(&[
        "copy",
        &sc.src(),
        &sc.dst(),
        "--checksum=T",
        "--checksum",
        "--dry-run=TRUE",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!sc.exists("dst/a.txt"), "--dry-run=TRUE copied");
}

#[test]
fn boolean_flags_read_as_rclones_do() {
    let Some(bin) = rclone() else { return };
    let sc = scratch();
    for args in [
        vec!["lsf", "-R", "--files-only=false", "--dir-slash=false"],
        vec!["lsf", "-R", "--files-only=true", "--dirs-only=false"],
        vec!["lsf", "--recursive=true", "--dir-slash=0"],
    ] {
        let mut full = args.clone();
        full.push("src");
        let (rc, rout, rerr) = rclone_in(&bin, sc.dir.path(), &full);
        let (fc, fout, ferr) = super::common::run_in(sc.dir.path(), &full);
        assert_eq!(
            (fc, &fout),
            (rc, &rout),
            "{full:?}\nrclone: {rerr}\nferry: {ferr}"
        );
    }
}

#[test]
fn a_bad_boolean_word_names_the_flag_on_every_command() {
    let sc = scratch();
    let want = "invalid value 'maybe' for '--checksum[=<CHECKSUM>]': value was not a boolean";
    for cmd in [
        vec!["copy", &sc.src(), &sc.dst()],
        vec!["sync", &sc.src(), &sc.dst()],
        vec!["copyto", &sc.src(), &sc.dst()],
        vec!["check", &sc.src(), &sc.dst()],
        vec!["ls", &sc.src()],
    ] {
        let mut args = cmd.clone();
        args.push("--checksum=maybe");
        let (code, _, err) = run(&args);
        assert_usage(code, &err, want);
    }
    assert!(!sc.exists("dst"), "a refused command did something");
    // The same words from the environment.
    let out = ferry()
        .env("FERRY_CHECKSUM", "maybe")
        .args(["copy", &sc.src(), &sc.dst()])
        .output()
        .unwrap();
    let (code, _, err) = split(out);
    assert_usage(
        code,
        &err,
        "invalid value 'maybe' for '--checksum[=<CHECKSUM>]'",
    );
    let out = ferry()
        .env("FERRY_DRY_RUN", "yes")
        .args(["copy", &sc.src(), &sc.dst()])
        .output()
        .unwrap();
    let (code, _, err) = split(out);
    assert_eq!(code, 0, "{err}");
    assert!(!sc.exists("dst/a.txt"), "FERRY_DRY_RUN=yes copied");
}

#[test]
fn a_bad_duration_is_the_same_line_on_every_transferring_command() {
    let sc = scratch();
    let want = "invalid argument \"1x\" for --retries-sleep: invalid duration \"1x\"";
    // copyto of one file once said "invalid argument for --retries-sleep", without the value.
    for cmd in [
        vec!["copy".to_owned(), sc.src(), sc.dst()],
        vec!["move".to_owned(), sc.src(), sc.dst()],
        vec![
            "copyto".to_owned(),
            format!("{}/a.txt", sc.src()),
            format!("{}/z.txt", sc.dst()),
        ],
        vec![
            "moveto".to_owned(),
            format!("{}/a.txt", sc.src()),
            format!("{}/z.txt", sc.dst()),
        ],
    ] {
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.extend(["--retries-sleep", "1x"]);
        let (code, _, err) = run(&args);
        assert_usage(code, &err, want);
        assert_eq!(err.lines().count(), 1, "one line:\n{err}");
    }
    assert!(
        sc.exists("src/a.txt") && !sc.exists("dst"),
        "a refused command did something"
    );
}

#[test]
fn bad_sizes_and_durations_keep_their_words_and_exit_code() {
    let sc = scratch();
    for (flag, value, want) in [
        (
            "--max-size",
            "1x",
            "invalid value '1x' for '--max-size <SIZE>': invalid size \"1x\": bad suffix 'x'",
        ),
        (
            "--max-size",
            "-1",
            "invalid size \"-1\": size can't be negative",
        ),
        (
            "--buffer-size",
            "1x",
            "invalid value '1x' for '--buffer-size <SIZE>': invalid size \"1x\": bad suffix 'x'",
        ),
        (
            "--timeout",
            "1x",
            "invalid value '1x' for '--timeout <DURATION>': invalid duration \"1x\"",
        ),
        (
            "--max-transfer",
            "1x",
            "invalid argument \"1x\" for --max-transfer: invalid size \"1x\": bad suffix 'x'",
        ),
        (
            "--multi-thread-cutoff",
            "1x",
            "invalid argument \"1x\" for --multi-thread-cutoff: invalid size \"1x\"",
        ),
        (
            "--bwlimit",
            "1x",
            "invalid argument \"1x\" for --bwlimit: invalid size \"1x\": bad suffix 'x'",
        ),
        (
            "--max-duration",
            "1x",
            "invalid argument \"1x\" for --max-duration: invalid duration \"1x\"",
        ),
        (
            "--modify-window",
            "1x",
            "invalid argument \"1x\" for --modify-window: invalid duration \"1x\"",
        ),
        (
            "--min-age",
            "1x",
            "invalid argument \"1x\" for --min-age: invalid age \"1x\"",
        ),
        (
            "--stats",
            "1x",
            "invalid argument \"1x\" for --stats: invalid duration \"1x\"",
        ),
    ] {
        let (code, _, err) = run(&["sync", &sc.src(), &sc.dst(), flag, value]);
        assert_usage(code, &err, want);
    }
    assert!(!sc.exists("dst"), "a refused command did something");
}

#[test]
fn global_flags_are_checked_on_every_command_as_rclones_are() {
    let sc = scratch();
    // rclone refuses a bad --stats whatever the command; ferry once ignored it off copy.
    let (code, _, err) = run(&["ls", &sc.src(), "--stats", "1x"]);
    assert_usage(code, &err, "invalid argument \"1x\" for --stats");
    let (code, out, err) = run(&["ls", &sc.src(), "--stats", "1m"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("a.txt"), "{out}");
}

#[test]
fn size_flags_take_off_as_rclones_do() {
    let sc = scratch();
    // --buffer-size had its own parser, which refused rclone's `off`.
    for flag in [
        "--buffer-size",
        "--max-size",
        "--max-transfer",
        "--multi-thread-cutoff",
        "--max-delete-size",
    ] {
        let (code, _, err) = run(&["copy", &sc.src(), &sc.dst(), flag, "off"]);
        assert_eq!(code, 0, "{flag} off: {err}");
    }
    assert_eq!(sc.read("dst/a.txt"), "alpha");
}

#[test]
fn a_safety_flag_a_command_ignores_is_refused_only_where_it_would_write() {
    let sc = scratch();
    for args in [
        vec!["mkdir", "--interactive"],
        vec!["rcat", "--interactive=false"],
        vec!["touch", "--interactive"],
    ] {
        let mut a = args.clone();
        let target = format!("{}/new", sc.src());
        a.insert(1, &target);
        let (code, _, err) = run(&a);
        assert_usage(
            code,
            &err,
            "is not supported by this command yet; nothing was done",
        );
    }
    assert!(!sc.exists("src/new"), "a refused command did something");
    let (code, _, err) = run(&["lsf", &sc.src(), "--dry-run", "--interactive"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn help_shows_boolean_flags_in_rclones_form() {
    let (code, out, _) = run(&["copy", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("  -c, --checksum[=<CHECKSUM>]\n"), "{out}");
    assert!(out.contains("[possible values: true, false]"), "{out}");
    let (code, out, _) = run(&["help", "flags"]);
    assert_eq!(code, 0);
    let line = out
        .lines()
        .find(|l| l.contains("--checksum "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with("  -c, --checksum "), "{line}");
    assert!(line.ends_with("[env FERRY_CHECKSUM]"), "{line}");
}
