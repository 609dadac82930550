//! `check` and its report files.

use crate::common;

use common::*;

fn pair() -> Scratch {
    let s = Scratch::new();
    s.write("src/same", "same", 100);
    s.write("src/differs", "source version", 100);
    s.write("src/only-src", "s", 100);
    s.write("dst/same", "same", 100);
    s.write("dst/differs", "dest version!!", 100);
    s.write("dst/only-dst", "d", 100);
    s
}

#[test]
fn identical_trees_exit_0() {
    let s = Scratch::new();
    s.write("src/a", "a", 10);
    s.write("src/d/b", "b", 10);
    run(&["copy", &s.src(), &s.dst()]);
    let (code, _, err) = run(&["check", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 differences found"), "{err}");
    assert!(err.contains("2 matching files"), "{err}");
}

#[test]
fn differences_exit_1_with_report_files() {
    let s = pair();
    let p = |n: &str| s.path(n).to_string_lossy().into_owned();
    let (code, _, err) = run(&[
        "check",
        &s.src(),
        &s.dst(),
        "--combined",
        &p("combined"),
        "--differ",
        &p("differ"),
        "--match",
        &p("match"),
        "--missing-on-src",
        &p("mos"),
        "--missing-on-dst",
        &p("mod"),
        "--error",
        &p("error"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("differs: md5 differ"), "{err}");
    assert!(err.contains("only-src: file not in"), "{err}");
    assert!(err.contains("only-dst: file not in"), "{err}");
    assert!(err.contains("3 differences found"), "{err}");
    assert_eq!(
        s.read("combined"),
        "* differs\n- only-dst\n+ only-src\n= same\n"
    );
    assert_eq!(s.read("differ"), "differs\n");
    assert_eq!(s.read("match"), "same\n");
    assert_eq!(s.read("mos"), "only-dst\n");
    assert_eq!(s.read("mod"), "only-src\n");
    assert_eq!(s.read("error"), "");
}

#[test]
fn one_way_ignores_files_only_at_destination() {
    let s = pair();
    std::fs::remove_file(s.path("src/only-src")).unwrap();
    std::fs::write(s.path("dst/differs"), "source version").unwrap();
    let (code, _, err) = run(&["check", &s.src(), &s.dst(), "--one-way"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run(&["check", &s.src(), &s.dst()]);
    assert_eq!(code, 1);
}

#[test]
fn size_only_and_download() {
    let s = Scratch::new();
    s.write("src/f", "aaaa", 10);
    s.write("dst/f", "bbbb", 10);
    assert_eq!(run(&["check", &s.src(), &s.dst(), "--size-only"]).0, 0);
    let (code, _, err) = run(&["check", &s.src(), &s.dst(), "--download"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("f: contents differ"), "{err}");
}

#[test]
fn check_honours_filters() {
    let s = pair();
    let (code, _, err) = run(&["check", &s.src(), &s.dst(), "--include", "same"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn report_flags_write_to_stdout_for_dash() {
    let s = pair();
    let (code, out, err) = run(&["check", &s.src(), &s.dst(), "--combined", "-"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "* differs\n- only-dst\n+ only-src\n= same\n");
    assert!(!s.exists("-"), "- means standard output, not a file");
}

/// A tree for `--checkfile`, with `sums.md5` beside it: `same` and `d/same2` match,
/// `differs` has the wrong hash, `extra` has no line, `gone.txt` and `d/gone2` have
/// lines but no file, and `café` is NFD on disk but NFC in the sum file.
fn sum_tree() -> Scratch {
    let s = Scratch::new();
    s.write("t/same", "hello", 100);
    s.write("t/d/same2", "x", 100);
    s.write("t/differs", "changed", 100);
    s.write("t/extra", "extra", 100);
    s.write("t/cafe\u{301}", "unicode", 100);
    std::fs::write(
        s.path("sums.md5"),
        "5d41402abc4b2a76b9719d911017c592  same\n\
         9DD4E461268C8034F5C8564E155C67A6 *d/same2\n\
         5d41402abc4b2a76b9719d911017c592  differs\n\
         d41d8cd98f00b204e9800998ecf8427e  gone.txt\n\
         d41d8cd98f00b204e9800998ecf8427e  d/gone2\n\
         8ab3b19e134f01fbaf94b8e15f3df090  caf\u{e9}\n",
    )
    .unwrap();
    s
}

/// The report flags, each writing to a file named after it.
const REPORTS: [&str; 6] = [
    "combined",
    "differ",
    "match",
    "missing-on-src",
    "missing-on-dst",
    "error",
];

/// Runs `check --checkfile` with every report file (in `out`, under the scratch root);
/// returns the exit code, stderr and the reports' lines, sorted (rclone hashes files
/// concurrently, so its order varies).
fn checkfile_reports(
    s: &Scratch,
    tool: Option<&std::path::Path>,
    out: &str,
    extra: &[&str],
) -> (i32, String, Vec<(String, Vec<String>)>) {
    std::fs::create_dir_all(s.path(out)).unwrap();
    let mut args = vec!["check".to_owned(), "-C".into(), "md5".into()];
    args.extend(["sums.md5".to_owned(), "t".to_owned()]);
    for r in REPORTS {
        args.push(format!("--{r}"));
        args.push(format!("{out}/{r}"));
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = match tool {
        Some(bin) => rclone_in(bin, s.dir.path(), &args),
        None => run_in(s.dir.path(), &args),
    };
    let reports = REPORTS
        .iter()
        .map(|r| {
            let text = std::fs::read_to_string(s.path(&format!("{out}/{r}")))
                .unwrap_or_else(|e| panic!("report {r}: {e}"));
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines.sort();
            (r.to_string(), lines)
        })
        .collect();
    (code, err, reports)
}

#[test]
fn checkfile_reports_each_category() {
    let s = sum_tree();
    let (code, err, reports) = checkfile_reports(&s, None, "ferry", &[]);
    assert_eq!(code, 1, "{err}");
    let want: &[(&str, &[&str])] = &[
        (
            "combined",
            &[
                "* differs",
                "+ d/gone2",
                "+ gone.txt",
                "- extra",
                "= cafe\u{301}",
                "= d/same2",
                "= same",
            ],
        ),
        ("differ", &["differs"]),
        ("match", &["cafe\u{301}", "d/same2", "same"]),
        ("missing-on-src", &["extra"]),
        ("missing-on-dst", &["d/gone2", "gone.txt"]),
        ("error", &[]),
    ];
    for ((name, lines), (want_name, want_lines)) in reports.iter().zip(want) {
        assert_eq!(name, want_name);
        assert_eq!(lines, want_lines, "--{name}");
    }
    for line in [
        "differs: files differ",
        "extra: sum not found",
        "gone.txt: file not in",
        "2 files missing",
        "1 hashes missing",
        // A line without a file is an error, but only the other two are differences.
        "2 differences found",
        "4 errors while checking",
        "3 matching files",
    ] {
        assert!(err.contains(line), "{line:?} missing from {err}");
    }
}

#[test]
fn checkfile_reports_match_rclone() {
    let Some(bin) = rclone() else { return };
    let s = sum_tree();
    for (i, extra) in [
        &[][..],
        &["--one-way"],
        &["--download"],
        // Lines are filtered by name only: --min-size doesn't hide a missing file.
        &["--exclude", "gone.txt", "--min-size", "2B"],
        &["--max-depth", "1"],
    ]
    .into_iter()
    .enumerate()
    {
        let ours = checkfile_reports(&s, None, &format!("ferry{i}"), extra);
        let theirs = checkfile_reports(&s, Some(&bin), &format!("rclone{i}"), extra);
        assert_eq!(
            ours.2, theirs.2,
            "reports with {extra:?}\nrclone: {}",
            theirs.1
        );
        assert_eq!(ours.0, theirs.0, "exit code with {extra:?}: {}", ours.1);
    }
}

#[test]
fn checkfile_one_way_ignores_files_without_a_line() {
    let s = sum_tree();
    let (code, err, reports) = checkfile_reports(&s, None, "out", &["--one-way"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(reports[3], ("missing-on-src".to_owned(), vec![]));
    assert!(err.contains("1 differences found"), "{err}");
    // With the differing and missing files set right, only `extra` is left, and
    // --one-way passes it.
    std::fs::write(s.path("t/differs"), "hello").unwrap();
    for f in ["gone.txt", "d/gone2"] {
        s.write(&format!("t/{f}"), "", 100);
    }
    let dir = s.dir.path();
    let (code, _, err) = run_in(dir, &["check", "-C", "md5", "sums.md5", "t", "--one-way"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_in(dir, &["check", "-C", "md5", "sums.md5", "t"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 differences found"), "{err}");
}

#[test]
fn checkfile_accepts_what_hashsum_writes() {
    let s = sum_tree();
    let dir = s.dir.path();
    for (kind, file) in [("sha1", "sums.sha1"), ("xxh128", "sums.xxh")] {
        let (code, sums, err) = run_in(dir, &["hashsum", kind, "t"]);
        assert_eq!(code, 0, "{err}");
        std::fs::write(s.path(file), sums).unwrap();
        let (code, out, err) = run_in(dir, &["check", "--checkfile", kind, file, "t"]);
        assert_eq!((code, out.as_str()), (0, ""), "{kind}: {err}");
        assert!(err.contains("5 matching files"), "{err}");
        // The wrong type makes every hash differ.
        let (code, _, err) = run_in(dir, &["check", "-C", "md5", file, "t"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("5 differences found"), "{err}");
    }
}

#[test]
fn checkfile_bad_arguments_give_rclones_exit_codes() {
    let s = sum_tree();
    let dir = s.dir.path();
    let cases: &[(&[&str], i32)] = &[
        // An unknown hash type: the list of types on stdout, a usage error.
        (&["check", "-C", "nope", "sums.md5", "t"], 2),
        (&["check", "-C", "md5", "missing.md5", "t"], 1),
        (&["check", "-C", "md5", "t", "t"], 1),
        // The tree is missing: every line is missing on it, and the exit is 3.
        (&["check", "-C", "md5", "sums.md5", "no-such-dir"], 3),
        (&["check", "-C", "md5", "sums.md5"], 2),
    ];
    for (args, want) in cases {
        let (code, out, err) = run_in(dir, args);
        assert_eq!(code, *want, "{args:?}: {err}");
        if args[2] == "nope" {
            assert!(out.starts_with("Supported hashes are:\n- md5\n"), "{out}");
        }
    }
    let (_, _, err) = run_in(dir, &["check", "-C", "md5", "missing.md5", "t"]);
    assert!(err.contains("not a sum file: missing.md5"), "{err}");
    let (_, _, err) = run_in(dir, &["check", "-C", "md5", "sums.md5", "no-such-dir"]);
    assert!(err.contains("6 files missing"), "{err}");
    if let Some(bin) = rclone() {
        for (args, _) in cases {
            let (rc, rout, rerr) = rclone_in(&bin, dir, args);
            let (fc, fout, ferr) = run_in(dir, args);
            assert_eq!(fc, rc, "{args:?}\nferry: {ferr}\nrclone: {rerr}");
            if fc != 2 {
                assert_eq!(fout, rout, "{args:?}");
            }
        }
    }
}

#[test]
fn checkfile_combined_to_stdout_and_malformed_lines() {
    let s = sum_tree();
    let mut sums = s.read("sums.md5");
    sums.push_str("not a sum line\n\n");
    std::fs::write(s.path("sums.md5"), sums).unwrap();
    let dir = s.dir.path();
    let args = [
        "check",
        "-C",
        "md5",
        "sums.md5",
        "t",
        "--combined",
        "-",
        "--include",
        "*same*",
    ];
    let (code, out, err) = run_in(dir, &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "= d/same2\n= same\n");
    assert!(
        err.contains("improperly formatted checksum line 7"),
        "{err}"
    );
    if let Some(bin) = rclone() {
        // rclone prints in the order its checks finish; ferry in path order.
        let (rc, rout, _) = rclone_in(&bin, dir, &args);
        let mut lines: Vec<&str> = rout.lines().collect();
        lines.sort();
        assert_eq!((rc, lines), (code, out.lines().collect::<Vec<_>>()));
    }
}
