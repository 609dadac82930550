//! Rule ordering, filter files, --files-from, size/age, azcopy flags and
//! every error path. Behaviour notes were checked against rclone v1.75.2.

use ferry_core::units::parse_size_flag as parse_size;
use ferry_filter::{parse_age, Filter, FilterError, FilterOptions, AGE_OFF, SIZE_OFF};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn build(opts: &FilterOptions) -> Filter {
    Filter::new(opts, now()).unwrap_or_else(|e| panic!("filter error: {e}"))
}

fn err(opts: &FilterOptions) -> String {
    let e = Filter::new(opts, now()).expect_err("expected an error");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
    msg
}

fn inc(f: &Filter, path: &str) -> bool {
    f.include_file(path, 10, now())
}

struct TempFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn temp_file(contents: &str) -> TempFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.txt");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(contents.as_bytes())
        .unwrap();
    TempFile { _dir: dir, path }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------- ordering

#[test]
fn includes_come_before_excludes_whatever_the_command_line_order() {
    // rclone: `--exclude '*.jpg' --include '*.jpg'` lists the jpgs
    let f = build(&FilterOptions {
        exclude: s(&["*.jpg"]),
        include: s(&["*.jpg"]),
        ..Default::default()
    });
    assert!(inc(&f, "a.jpg"));
    assert!(inc(&f, "d/c.jpg"));
    assert!(!inc(&f, "b.txt")); // implicit `- /**`
}

#[test]
fn include_before_filter_and_filter_before_filter_from() {
    let file = temp_file("- *.txt\n");
    let f = build(&FilterOptions {
        filter: s(&["- *.jpg", "+ keep.txt"]),
        filter_from: vec![file.path.clone()],
        include: s(&["*.jpg"]),
        ..Default::default()
    });
    assert!(inc(&f, "a.jpg")); // --include wins over --filter "- *.jpg"
    assert!(inc(&f, "keep.txt")); // --filter before --filter-from
    assert!(!inc(&f, "other.txt")); // --filter-from
    assert!(!inc(&f, "x.png")); // the implicit `- /**` comes last of all
}

#[test]
fn exclude_then_exclude_from_then_filter() {
    let file = temp_file("a.txt\n");
    let f = build(&FilterOptions {
        exclude: s(&["b.txt"]),
        exclude_from: vec![file.path.clone()],
        filter: s(&["+ a.txt", "+ b.txt", "- **"]),
        ..Default::default()
    });
    assert!(!inc(&f, "a.txt"));
    assert!(!inc(&f, "b.txt"));
    assert!(!inc(&f, "c.txt"));
    // no include flag: no implicit rule, so a plain --exclude leaves the rest in
    let f = build(&FilterOptions {
        exclude: s(&["b.txt"]),
        ..Default::default()
    });
    assert!(inc(&f, "c.txt"));
}

#[test]
fn first_match_wins_and_no_match_includes() {
    let f = build(&FilterOptions {
        filter: s(&["- secret*.jpg", "+ *.jpg", "- *.jpg"]),
        ..Default::default()
    });
    assert!(!inc(&f, "secret1.jpg"));
    assert!(inc(&f, "photo.jpg"));
    assert!(inc(&f, "notes.txt"));
}

#[test]
fn bang_clears_previous_rules() {
    // docs: only 42.doc is listed
    let f = build(&FilterOptions {
        filter: s(&["+ *.jpg", "+ *.gif", "!", "+ 42.doc", "- *"]),
        ..Default::default()
    });
    assert!(inc(&f, "42.doc"));
    assert!(!inc(&f, "a.jpg"));
    assert!(!inc(&f, "a.gif"));
    // `!` also clears --include rules, but the implicit `- /**` is still
    // appended at the end: rclone then lists nothing.
    let f = build(&FilterOptions {
        include: s(&["*.jpg"]),
        filter: s(&["!"]),
        ..Default::default()
    });
    assert!(!inc(&f, "a.jpg"));
    assert!(!f.include_dir("d"));
    // clearing directory rules too
    let f = build(&FilterOptions {
        filter: s(&["- dir/", "!"]),
        ..Default::default()
    });
    assert!(f.include_dir("dir"));
    assert!(f.is_empty());
}

#[test]
fn empty_flag_values_are_ignored() {
    // rclone: `--include ''` sets no rule at all
    let f = build(&FilterOptions {
        include: s(&[""]),
        exclude: s(&[""]),
        filter: s(&[""]),
        ..Default::default()
    });
    assert!(f.is_empty());
}

// ------------------------------------------------------------ filter files

#[test]
fn filter_from_docs_example() {
    let file = temp_file(
        "# a sample filter rule file\n\
         - secret*.jpg\n\
         + *.jpg\n\
         + *.png\n\
         + file2.avi\n\
         - /dir/tmp/** # WARNING! This text will be treated as part of the path.\n\
         - /dir/Trash/**\n\
         + /dir/**\n\
         # exclude everything else\n\
         - *\n",
    );
    let f = build(&FilterOptions {
        filter_from: vec![file.path.clone()],
        ..Default::default()
    });
    assert!(inc(&f, "file1.jpg"));
    assert!(inc(&f, "sub/file3.png"));
    assert!(inc(&f, "file2.avi"));
    assert!(!inc(&f, "secret17.jpg"));
    assert!(!inc(&f, "notes.txt"));
    assert!(inc(&f, "dir/notes.txt"));
    assert!(!inc(&f, "dir/Trash/x"));
    // `+ *.jpg` derived the directory rule `+ /**` before `- /dir/Trash/**`
    // was added, so rclone still lists the directory (its files are excluded)
    assert!(f.include_dir("dir/Trash"));
    // the inline "comment" is part of the pattern, so dir/tmp is not excluded
    assert!(inc(&f, "dir/tmp/x"));
    assert!(f.include_dir("dir/tmp"));
}

#[test]
fn filter_file_syntax() {
    let file = temp_file(
        "  # indented comment\n\
         ; semicolon comment\n\
         \n\
         \t\n\
         \x20 - *.bak  \r\n\
         + *.jpg\r\n\
         !\n\
         - *.tmp\n\
         + keep.tmp",
    );
    let f = build(&FilterOptions {
        filter_from: vec![file.path.clone()],
        ..Default::default()
    });
    // lines are trimmed (including CRLF); `!` dropped the first two rules
    assert!(inc(&f, "a.bak"));
    assert!(!inc(&f, "a.tmp"));
    assert!(!inc(&f, "keep.tmp")); // `- *.tmp` comes first
    assert!(f.dump().contains(r"- (^|/)[^/]*\.tmp$"));
    assert!(!f.dump().contains("bak"));
}

#[test]
fn include_from_and_exclude_from_take_bare_patterns() {
    let incl = temp_file("# a sample include rule file\n*.jpg\nfile2.avi\n");
    let f = build(&FilterOptions {
        include_from: vec![incl.path.clone()],
        ..Default::default()
    });
    assert!(inc(&f, "x/a.jpg"));
    assert!(inc(&f, "file2.avi"));
    assert!(!inc(&f, "file3.avi")); // include-from implies `- /**`
    let excl = temp_file("# a sample exclude rule file\n*.bak\nfile2.jpg\n");
    let f = build(&FilterOptions {
        exclude_from: vec![excl.path.clone()],
        ..Default::default()
    });
    assert!(!inc(&f, "a.bak"));
    assert!(!inc(&f, "d/file2.jpg"));
    assert!(inc(&f, "file3.jpg"));
    // a `+ ` in an exclude file is part of the pattern
    let excl = temp_file("+ a\n");
    let f = build(&FilterOptions {
        exclude_from: vec![excl.path.clone()],
        ..Default::default()
    });
    assert!(!inc(&f, "+ a"));
    assert!(inc(&f, "a"));
}

// -------------------------------------------------------------- files-from

#[test]
fn files_from_lists_files_and_their_parents() {
    let list = temp_file(
        "# comment\n; another\nfile1.jpg\n  subdir/file2.jpg  \n/home/user1/42\n\nsubdir/file2.jpg\n",
    );
    let f = build(&FilterOptions {
        files_from: vec![list.path.clone()],
        ..Default::default()
    });
    assert_eq!(
        f.files_from().unwrap(),
        ["file1.jpg", "subdir/file2.jpg", "home/user1/42"]
    );
    assert!(inc(&f, "file1.jpg"));
    assert!(inc(&f, "subdir/file2.jpg"));
    assert!(inc(&f, "home/user1/42"));
    assert!(!inc(&f, "file2.jpg"));
    assert!(!inc(&f, "# comment"));
    assert!(f.include_dir(""));
    assert!(f.include_dir("subdir"));
    assert!(f.include_dir("home"));
    assert!(f.include_dir("home/user1"));
    assert!(!f.include_dir("home/user2"));
    assert!(!f.include_dir("file1.jpg"));
    assert!(f.uses_directory_filters());
    assert!(!f.is_empty());
    // size and age don't apply to files-from entries
    assert!(f.include_file("file1.jpg", u64::MAX, SystemTime::UNIX_EPOCH));
}

#[test]
fn files_from_raw_keeps_whitespace_and_comment_lines() {
    let list = temp_file(" spaced .txt \n# not a comment\nplain\r\n");
    let plain = temp_file("other\n");
    let f = build(&FilterOptions {
        files_from_raw: vec![list.path.clone()],
        files_from: vec![plain.path.clone()],
        ..Default::default()
    });
    assert!(inc(&f, " spaced .txt "));
    assert!(inc(&f, "# not a comment"));
    assert!(inc(&f, "plain")); // Go's line scanner drops the `\r`
    assert!(inc(&f, "other"));
    assert!(!inc(&f, "spaced .txt"));
}

#[test]
fn empty_files_from_includes_nothing() {
    let list = temp_file("# nothing\n");
    let f = build(&FilterOptions {
        files_from: vec![list.path.clone()],
        ..Default::default()
    });
    assert_eq!(f.files_from(), Some(&[][..]));
    assert!(!inc(&f, "a"));
    assert!(!f.include_dir("a"));
    assert!(build(&FilterOptions::default()).files_from().is_none());
}

#[test]
fn files_from_mixed_with_other_filters_is_an_error() {
    let list = temp_file("a\n");
    let mixes: Vec<FilterOptions> = vec![
        FilterOptions {
            include: s(&["*.jpg"]),
            ..Default::default()
        },
        FilterOptions {
            filter: s(&["- x"]),
            ..Default::default()
        },
        FilterOptions {
            min_size: Some(1),
            ..Default::default()
        },
        FilterOptions {
            max_age: Some(DAY),
            ..Default::default()
        },
        FilterOptions {
            exclude_if_present: s(&[".ignore"]),
            ..Default::default()
        },
        FilterOptions {
            exclude_pattern: s(&["*.tmp"]),
            ..Default::default()
        },
    ];
    for mut opts in mixes {
        opts.files_from = vec![list.path.clone()];
        let msg = err(&opts);
        assert_eq!(
            msg,
            "the usage of --files-from overrides all other filters, it should be used alone or with --files-from-raw or --files-from0"
        );
    }
    let msg = err(&FilterOptions {
        exclude: s(&["x"]),
        files_from_raw: vec![list.path.clone()],
        ..Default::default()
    });
    assert!(msg.ends_with("with --files-from or --files-from0"), "{msg}");
    let msg = err(&FilterOptions {
        include: s(&["x"]),
        files_from0: vec![list.path.clone()],
        ..Default::default()
    });
    assert!(
        msg.ends_with("with --files-from or --files-from-raw"),
        "{msg}"
    );
    assert!(
        msg.starts_with("the usage of --files-from0 overrides"),
        "{msg}"
    );
    // rules cleared by `!` don't count, nor do --ignore-case/--delete-excluded
    let f = build(&FilterOptions {
        filter: s(&["- x", "!"]),
        ignore_case: true,
        delete_excluded: true,
        files_from: vec![list.path.clone()],
        ..Default::default()
    });
    assert!(inc(&f, "a"));
    assert!(f.delete_excluded());
}

// -------------------------------------------------------------- size / age

#[test]
fn size_limits_are_inclusive() {
    let f = build(&FilterOptions {
        min_size: Some(100),
        max_size: Some(200),
        ..Default::default()
    });
    let t = now();
    assert!(!f.include_file("a", 99, t));
    assert!(f.include_file("a", 100, t));
    assert!(f.include_file("a", 200, t));
    assert!(!f.include_file("a", 201, t));
    assert!(f.include_dir("d")); // sizes never prune directories
    assert!(!f.uses_directory_filters());
    // `off` means no limit
    let f = build(&FilterOptions {
        min_size: Some(SIZE_OFF),
        max_size: Some(SIZE_OFF),
        ..Default::default()
    });
    assert!(f.is_empty());
    assert!(f.include_file("a", u64::MAX - 1, t));
    // rclone: `--max-size 0` keeps only empty files
    let f = build(&FilterOptions {
        max_size: Some(0),
        ..Default::default()
    });
    assert!(f.include_file("a", 0, t));
    assert!(!f.include_file("a", 1, t));
}

#[test]
fn age_limits() {
    let t = now();
    let f = build(&FilterOptions {
        max_age: Some(DAY),
        ..Default::default()
    });
    assert!(f.include_file("a", 0, t - 23 * HOUR));
    assert!(f.include_file("a", 0, t - DAY)); // exactly at the limit
    assert!(!f.include_file("a", 0, t - 25 * HOUR));
    assert!(f.include_file("a", 0, t + HOUR)); // future files are young
    let f = build(&FilterOptions {
        min_age: Some(DAY),
        ..Default::default()
    });
    assert!(!f.include_file("a", 0, t - 23 * HOUR));
    assert!(f.include_file("a", 0, t - DAY));
    assert!(f.include_file("a", 0, t - 25 * HOUR));
    let f = build(&FilterOptions {
        min_age: Some(DAY),
        max_age: Some(7 * DAY),
        ..Default::default()
    });
    assert!(!f.include_file("a", 0, t - HOUR));
    assert!(f.include_file("a", 0, t - 3 * DAY));
    assert!(!f.include_file("a", 0, t - 8 * DAY));
    // equal bounds are allowed (a single instant)
    build(&FilterOptions {
        min_age: Some(DAY),
        max_age: Some(DAY),
        ..Default::default()
    });
    // AGE_OFF turns a limit off
    let f = build(&FilterOptions {
        min_age: Some(AGE_OFF),
        max_age: Some(AGE_OFF),
        ..Default::default()
    });
    assert!(f.is_empty());
}

#[test]
fn empty_age_window_is_an_error() {
    let opts = FilterOptions {
        min_age: Some(2 * DAY),
        max_age: Some(DAY),
        ..Default::default()
    };
    assert!(matches!(
        Filter::new(&opts, now()),
        Err(FilterError::EmptyAgeWindow { .. })
    ));
    assert_eq!(
        err(&opts),
        "--min-age 2d can't be larger than --max-age 1d (no file could match)"
    );
}

#[test]
fn parse_size_like_rclone() {
    let ok = [
        ("0", 0),
        ("100", 100 * 1024), // rclone's default unit is KiB
        ("100b", 100),
        ("100B", 100),
        ("10k", 10 * 1024),
        ("10K", 10 * 1024),
        ("1.5M", 1_572_864),
        ("1G", 1 << 30),
        ("1T", 1 << 40),
        ("1P", 1 << 50),
        ("1E", 1 << 60),
        ("1Ki", 1024),
        ("1KiB", 1024),
        ("2MiB", 2 << 20),
        ("0.5", 512),
        (".5k", 512),
        ("off", SIZE_OFF),
        ("OFF", SIZE_OFF),
    ];
    for (input, want) in ok {
        assert_eq!(parse_size(input), Ok(want), "{input}");
    }
    for (input, why) in [
        ("", "empty"),
        ("10x", "bad suffix"),
        ("1kb", "can't parse"),
        ("-1k", "negative"),
        ("k", "can't parse"),
        ("i", "bad suffix"),
        ("abc", "bad suffix"),
        ("1e30E", "too large"),
    ] {
        let e = parse_size(input).expect_err(input);
        assert!(
            e.contains(why) && e.contains(&format!("{input:?}")),
            "{input}: {e}"
        );
    }
}

#[test]
fn parse_age_like_rclone() {
    let t = now();
    let ok = [
        ("30", Duration::from_secs(30)), // bare number: seconds
        ("30s", Duration::from_secs(30)),
        ("300ms", Duration::from_millis(300)),
        ("1.5h", Duration::from_secs(5400)),
        ("1h30m", Duration::from_secs(5400)),
        ("1m", Duration::from_secs(60)), // Go minute
        ("1d", DAY),
        ("1.5d", DAY + 12 * HOUR),
        ("1w", 7 * DAY),
        ("1M", 30 * DAY), // rclone month
        ("1y", 365 * DAY),
        ("1d2h", DAY + 2 * HOUR), // extension: rclone rejects compound day forms
        ("2w3d", 17 * DAY),
        ("1e3", Duration::from_secs(1000)),
        ("0", Duration::ZERO),
        ("off", AGE_OFF),
    ];
    for (input, want) in ok {
        assert_eq!(parse_age(input, t), Ok(want), "{input}");
    }
    // absolute times become ages relative to `now`
    let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 - 3 * 3600);
    assert_eq!(
        parse_age("2023-11-14T19:13:20Z", t),
        Ok(Duration::from_secs(3 * 3600))
    );
    let _ = noon;
    assert_eq!(
        parse_age("2023-11-14T21:13:20+02:00", t),
        Ok(Duration::from_secs(3 * 3600))
    );
    // local-time forms: compare with each other (the zone is the machine's)
    let a = parse_age("2023-11-01", t).unwrap();
    let b = parse_age("2023-11-01 00:00:00", t).unwrap();
    let c = parse_age("2023-11-01T00:00:00", t).unwrap();
    let d = parse_age("2023-11-01 12:00:00", t).unwrap();
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(a - d, 12 * HOUR);
    assert!(a > 13 * DAY && a < 15 * DAY, "{a:?}");
    // a time in the future is age zero
    assert_eq!(parse_age("2099-01-01", t), Ok(Duration::ZERO));
    for bad in [
        "",
        "abc",
        "1x",
        "-1h",
        "-2d",
        "2023-13-01",
        "1h-2m",
        "inf",
        "NaN",
    ] {
        let e = parse_age(bad, t).expect_err(bad);
        assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
    }
}

// ------------------------------------------------------------------ errors

#[test]
fn bad_patterns_name_the_flag_and_pattern() {
    let cases = [
        ("--include", "*.{jpg", "mismatched '{' and '}'"),
        ("--include", "[a", "mismatched '[' and ']'"),
        ("--include", "a]", "mismatched ']'"),
        ("--include", "***", "too many stars"),
        ("--include", "{{x", "mismatched '{{' and '}}'"),
        ("--include", "a[/]b", "derived directory rule \"a[/\""),
        ("--exclude", "a}", "mismatched '{' and '}'"),
        ("--exclude", "{{(}}", "unclosed group"),
        ("--exclude", r"\q", "invalid escape"),
        ("--exclude", "[[:nope:]]", "invalid character class"),
    ];
    for (flag, pat, why) in cases {
        let mut opts = FilterOptions::default();
        match flag {
            "--include" => opts.include.push(pat.into()),
            _ => opts.exclude.push(pat.into()),
        }
        let msg = err(&opts);
        let head = format!("{flag}: bad filter pattern {pat:?}: ");
        assert!(msg.starts_with(&head), "{msg}");
        assert!(msg.contains(why), "{pat}: {msg}");
    }
    // rclone quirk: a trailing `\` escapes the final `$`, so `a\` matches `a$`
    let f = build(&FilterOptions {
        exclude: s(&[r"a\"]),
        ..Default::default()
    });
    assert!(!inc(&f, "a$"));
    assert!(inc(&f, "a"));
    let msg = err(&FilterOptions {
        filter: s(&["+ ok", "- *.{a"]),
        ..Default::default()
    });
    assert!(
        msg.starts_with("--filter: bad filter pattern \"*.{a\""),
        "{msg}"
    );
}

#[test]
fn malformed_rules() {
    for rule in ["P x", "+x", "-", "+", "* x", "!!", " - x"] {
        let msg = err(&FilterOptions {
            filter: s(&[rule]),
            ..Default::default()
        });
        assert_eq!(
            msg,
            format!(
                "--filter: malformed rule {rule:?}: a rule must start with \"+ \" or \"- \", or be \"!\""
            )
        );
    }
}

#[test]
fn errors_in_files_give_file_and_line() {
    let file = temp_file("# comment\n+ *.jpg\n\nP x\n");
    let msg = err(&FilterOptions {
        filter_from: vec![file.path.clone()],
        ..Default::default()
    });
    assert_eq!(
        msg,
        format!(
            "{}:4: malformed rule \"P x\": a rule must start with \"+ \" or \"- \", or be \"!\"",
            file.path.display()
        )
    );
    let file = temp_file("ok\n*.{jpg\n");
    for opts in [
        FilterOptions {
            include_from: vec![file.path.clone()],
            ..Default::default()
        },
        FilterOptions {
            exclude_from: vec![file.path.clone()],
            ..Default::default()
        },
    ] {
        let msg = err(&opts);
        assert_eq!(
            msg,
            format!(
                "{}:2: bad filter pattern \"*.{{jpg\": mismatched '{{' and '}}'",
                file.path.display()
            )
        );
    }
    let file = temp_file("- [a\n");
    let msg = err(&FilterOptions {
        filter_from: vec![file.path.clone()],
        ..Default::default()
    });
    assert!(msg.starts_with(&format!(
        "{}:1: bad filter pattern \"[a\"",
        file.path.display()
    )));
}

#[test]
fn unreadable_files() {
    let missing = PathBuf::from("/nonexistent/ferry-filter/rules.txt");
    type Setter = fn(&mut FilterOptions, PathBuf);
    let flags: [(&str, Setter); 6] = [
        ("--filter-from", |o, p| o.filter_from.push(p)),
        ("--include-from", |o, p| o.include_from.push(p)),
        ("--exclude-from", |o, p| o.exclude_from.push(p)),
        ("--files-from", |o, p| o.files_from.push(p)),
        ("--files-from-raw", |o, p| o.files_from_raw.push(p)),
        ("--include-from", |o, p| o.include_from.push(p)),
    ];
    for (flag, set) in flags {
        let mut opts = FilterOptions::default();
        set(&mut opts, missing.clone());
        let msg = err(&opts);
        assert!(
            msg.starts_with(&format!("{flag} {}: can't read file: ", missing.display())),
            "{msg}"
        );
        assert!(msg.contains("No such file"), "{msg}");
    }
    // a directory is unreadable as a file too
    let dir = tempfile::tempdir().unwrap();
    let msg = err(&FilterOptions {
        filter_from: vec![dir.path().to_path_buf()],
        ..Default::default()
    });
    assert!(msg.contains("can't read file"), "{msg}");
}

#[test]
fn azcopy_errors() {
    let msg = err(&FilterOptions {
        include_regex: s(&["ok;a(b"]),
        ..Default::default()
    });
    assert!(
        msg.starts_with("--include-regex: bad regular expression \"a(b\": "),
        "{msg}"
    );
    let msg = err(&FilterOptions {
        exclude_regex: s(&[r"\1"]),
        ..Default::default()
    });
    assert!(
        msg.starts_with("--exclude-regex: bad regular expression \"\\\\1\""),
        "{msg}"
    );
    let msg = err(&FilterOptions {
        include_pattern: s(&["*.jpg;[a"]),
        ..Default::default()
    });
    assert_eq!(
        msg,
        "--include-pattern: bad filter pattern \"[a\": syntax error in pattern"
    );
    let msg = err(&FilterOptions {
        exclude_pattern: s(&["[]"]),
        ..Default::default()
    });
    assert!(
        msg.starts_with("--exclude-pattern: bad filter pattern \"[]\""),
        "{msg}"
    );
}

// ------------------------------------------------------------------ azcopy

#[test]
fn azcopy_include_pattern_matches_base_names() {
    let f = build(&FilterOptions {
        include_pattern: s(&["*.jpg;*.pdf", "exact.txt"]),
        ..Default::default()
    });
    assert!(inc(&f, "a.jpg"));
    assert!(inc(&f, "deep/dir/b.pdf"));
    assert!(inc(&f, "x/exact.txt"));
    assert!(!inc(&f, "x/exact.txt.bak"));
    assert!(!inc(&f, "jpg"));
    assert!(!inc(&f, "a.jpg/readme")); // only the base name counts
    assert!(f.include_dir("any/dir")); // never prunes
    assert!(!f.is_empty());
    let f = build(&FilterOptions {
        include_pattern: s(&["report-??.[cC][sS][vV]", r"star\*"]),
        ..Default::default()
    });
    assert!(inc(&f, "d/report-01.Csv"));
    assert!(!inc(&f, "d/report-1.csv"));
    assert!(inc(&f, "star*"));
    assert!(!inc(&f, "stars"));
    let f = build(&FilterOptions {
        include_pattern: s(&["[^a]*"]),
        ..Default::default()
    });
    assert!(inc(&f, "b1"));
    assert!(!inc(&f, "a1"));
}

#[test]
fn azcopy_excludes_remove_after_includes_select() {
    let f = build(&FilterOptions {
        include_pattern: s(&["*.jpg"]),
        exclude_pattern: s(&["secret*"]),
        exclude_path: s(&["private;/photos/2020/", "a/b.jpg"]),
        include_regex: s(&["^photos/"]),
        exclude_regex: s(&["thumb"]),
        ..Default::default()
    });
    assert!(inc(&f, "photos/a.jpg"));
    assert!(!inc(&f, "photos/a.png")); // not an included pattern
    assert!(!inc(&f, "other/a.jpg")); // include regex not found
    assert!(!inc(&f, "photos/secret1.jpg")); // exclude pattern
    assert!(!inc(&f, "photos/2020/a.jpg")); // exclude path
    assert!(inc(&f, "photos/20201/a.jpg")); // segment boundary
    assert!(!inc(&f, "photos/thumbs/a.jpg")); // exclude regex
    assert!(!f.include_dir("photos/2020"));
    assert!(!f.include_dir("photos/2020/x"));
    assert!(!f.include_dir("private"));
    assert!(f.include_dir("privateer"));
    assert!(f.include_dir("photos/thumbs")); // regexes never prune
    assert!(f.uses_directory_filters()); // because of --exclude-path
    let f = build(&FilterOptions {
        exclude_path: s(&["a/b.jpg"]),
        ..Default::default()
    });
    assert!(!inc(&f, "a/b.jpg"));
    assert!(inc(&f, "a/b.jpg2"));
}

#[test]
fn azcopy_applies_after_rclone_rules() {
    // rclone's rules decide first; azcopy's flags can only remove more
    let f = build(&FilterOptions {
        exclude: s(&["*.tmp"]),
        include_pattern: s(&["*.tmp;*.txt"]),
        ..Default::default()
    });
    assert!(!inc(&f, "a.tmp"));
    assert!(inc(&f, "a.txt"));
    assert!(!inc(&f, "a.doc"));
    // directories pruned by rclone stay pruned
    let f = build(&FilterOptions {
        exclude: s(&["/skip/"]),
        include_regex: s(&["skip"]),
        ..Default::default()
    });
    assert!(!f.include_dir("skip"));
    assert!(!f.include_file_and_parents("skip/x", 1, now()));
    assert!(f.include_file_and_parents("noskip/x", 1, now()));
}

#[test]
fn azcopy_ignore_case() {
    let f = build(&FilterOptions {
        include_pattern: s(&["*.JPG"]),
        exclude_path: s(&["Private"]),
        ignore_case: true,
        ..Default::default()
    });
    assert!(inc(&f, "a.jpg"));
    assert!(!inc(&f, "PRIVATE/a.jpg"));
    assert!(!f.include_dir("private"));
    // regexes follow their own flags
    let f = build(&FilterOptions {
        include_regex: s(&["(?i)^IMG_"]),
        ..Default::default()
    });
    assert!(inc(&f, "img_1.png"));
    assert!(!inc(&f, "x/img_1.png"));
}

// ------------------------------------------------------------ accessors

#[test]
fn accessors_and_directory_filter_detection() {
    let f = build(&FilterOptions::default());
    assert!(f.is_empty());
    assert!(!f.uses_directory_filters());
    assert!(f.include_file("anything", 0, now()));
    assert!(f.include_dir("any/dir"));
    assert!(!f.delete_excluded());
    assert!(f.exclude_if_present().is_empty());

    // rclone: `+ *.jpg` derives `+ /**` first: every directory is listed
    let f = build(&FilterOptions {
        include: s(&["*.jpg"]),
        ..Default::default()
    });
    assert!(!f.uses_directory_filters());
    // plain file excludes set no directory rule
    let f = build(&FilterOptions {
        exclude: s(&["*.bak"]),
        ..Default::default()
    });
    assert!(!f.uses_directory_filters());
    for opts in [
        FilterOptions {
            exclude: s(&["dir/"]),
            ..Default::default()
        },
        FilterOptions {
            include: s(&["/a/*.jpg"]),
            ..Default::default()
        },
        FilterOptions {
            exclude_if_present: s(&[".ignore"]),
            ..Default::default()
        },
    ] {
        assert!(build(&opts).uses_directory_filters(), "{opts:?}");
    }

    let f = build(&FilterOptions {
        exclude_if_present: s(&[".ignore", ".nobackup"]),
        delete_excluded: true,
        ..Default::default()
    });
    assert_eq!(f.exclude_if_present(), [".ignore", ".nobackup"]);
    assert!(f.delete_excluded());
    assert!(!f.is_empty());
    assert!(f.include_file("a", 0, now())); // checked by the engine, not here
}

#[test]
fn dump_matches_rclone_format() {
    let f = build(&FilterOptions {
        include: s(&["a/b/*.jpg"]),
        ..Default::default()
    });
    // `rclone lsf --dump filters --include 'a/b/*.jpg'` prints these rules
    assert_eq!(
        f.dump(),
        "--- File filter rules ---\n\
         + (^|/)a/b/[^/]*\\.jpg$\n\
         - ^.*$\n\
         --- Directory filter rules ---\n\
         + (^|/)a/b/$\n\
         + (^|/)a/$\n\
         - ^.*$"
    );
}

#[test]
fn filter_is_shareable() {
    let f = std::sync::Arc::new(build(&FilterOptions {
        include: s(&["*.jpg"]),
        ..Default::default()
    }));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let f = f.clone();
            std::thread::spawn(move || f.include_file(&format!("d{i}/x.jpg"), 1, now()))
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}
