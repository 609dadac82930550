//! `--name-transform` on copy, sync, move and check, and `convmv`, side by side with
//! rclone 1.75 (the same tree, the same log lines), and the places ferry decides
//! otherwise: a bad rule stops the run before anything happens, an update replaces the
//! file its new name gives, and no rename overwrites another file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common;

use common::{log_messages, rclone, rclone_in, run_in, write_file};

/// Names and contents under `root` (directories end in `/`).
fn listing(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walk(root) {
        let rel = e.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
        if e.is_dir() {
            out.insert(format!("{rel}/"), String::new());
        } else {
            out.insert(rel, std::fs::read_to_string(&e).unwrap());
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// `a.txt`, `sub/B.txt`, `Deep/er/c.TXT` under `root`.
fn tree(root: &Path) {
    write_file(&root.join("a.txt"), b"hello", 3600);
    write_file(&root.join("sub/B.txt"), b"b", 3600);
    write_file(&root.join("Deep/er/c.TXT"), b"c", 3600);
}

/// The lines that name what was done to a file (copies, moves, skips, deletes).
fn file_lines(stderr: &str) -> Vec<String> {
    log_messages(stderr)
        .into_iter()
        .filter(|l| l.contains(": Copied") || l.contains(": Moved") || l.contains(": Skipped"))
        .filter(|l| !l.contains("directory modification time"))
        .collect()
}

/// `convmv -v` with `rule`, by ferry on `dir/ours` and by rclone on `dir/theirs`; both
/// must succeed. Returns (ferry's stderr, rclone's).
fn convmv_both(bin: &Path, dir: &Path, rule: &[&str]) -> (String, String) {
    let mut args = vec!["convmv", "ours", "-v"];
    args.extend(rule);
    let (fc, _, ferr) = run_in(dir, &args);
    args[1] = "theirs";
    let (rc, _, rerr) = rclone_in(bin, dir, &args);
    assert_eq!((fc, rc), (0, 0), "{args:?}: {ferr}\n{rerr}");
    (ferr, rerr)
}

#[test]
fn copy_and_sync_rename_as_rclone_does() {
    let Some(bin) = rclone() else { return };
    let rules: [&[&str]; 4] = [
        &["--name-transform", "all,uppercase"],
        &["--name-transform", "prefix=OLD_"],
        &[
            "--name-transform",
            "dir,lowercase",
            "--name-transform",
            "file,suffix_keep_extension=_v2",
        ],
        &[
            "--name-transform",
            "all,replace=e:3",
            "--name-transform",
            "trimsuffix=.TXT",
        ],
    ];
    for rule in rules {
        for cmd in ["copy", "sync"] {
            let d = tempfile::tempdir().unwrap();
            tree(&d.path().join("src"));
            let mut args = vec![cmd, "src", "ours", "-v"];
            args.extend(rule);
            let (fc, _, ferr) = run_in(d.path(), &args);
            args[2] = "theirs";
            let (rc, _, rerr) = rclone_in(&bin, d.path(), &args);
            assert_eq!((fc, rc), (0, 0), "{args:?}: {ferr}\n{rerr}");
            assert_eq!(
                listing(&d.path().join("ours")),
                listing(&d.path().join("theirs")),
                "{args:?}"
            );
            let theirs = file_lines(&rerr.replace("theirs", "ours"));
            assert_eq!(file_lines(&ferr), theirs, "{args:?}");
            // Run again: every renamed file is found, nothing travels.
            args[2] = "ours";
            let (code, _, again) = run_in(d.path(), &args);
            assert_eq!(code, 0, "{again}");
            assert!(file_lines(&again).is_empty(), "{args:?}: {again}");
        }
    }
}

#[test]
fn dry_runs_name_files_as_rclone_does() {
    let Some(bin) = rclone() else { return };
    for cmd in [
        &["copy", "src", "dst", "--name-transform", "prefix=Z"][..],
        // A filter: rclone's move of a whole unfiltered tree is one rename of the
        // directory, which forgets the rules (ferry moves file by file).
        &[
            "move",
            "src",
            "dst",
            "--name-transform",
            "all,uppercase",
            "--exclude",
            "*.no",
        ],
        &["convmv", "src", "--name-transform", "all,uppercase"],
    ] {
        let d = tempfile::tempdir().unwrap();
        tree(&d.path().join("src"));
        let before = listing(d.path());
        let mut args = cmd.to_vec();
        args.push("--dry-run");
        let (fc, _, ferr) = run_in(d.path(), &args);
        let (rc, _, rerr) = rclone_in(&bin, d.path(), &args);
        assert_eq!((fc, rc), (0, 0), "{args:?}: {ferr}\n{rerr}");
        assert_eq!(log_messages(&ferr), log_messages(&rerr), "{args:?}");
        assert_eq!(listing(d.path()), before, "{args:?} changed something");
    }
}

#[test]
fn an_updated_file_replaces_its_renamed_copy() {
    let d = tempfile::tempdir().unwrap();
    tree(&d.path().join("src"));
    let args = [
        "sync",
        "src",
        "dst",
        "--name-transform",
        "prefix=OLD_",
        "-v",
    ];
    let (code, _, err) = run_in(d.path(), &args);
    assert_eq!(code, 0, "{err}");
    write_file(&d.path().join("src/a.txt"), b"hello again", 60);
    write_file(&d.path().join("dst/stray.txt"), b"x", 60);
    let (code, _, err) = run_in(d.path(), &args);
    assert_eq!(code, 0, "{err}");
    // rclone 1.75 renames an update twice (OLD_OLD_a.txt, beside the stale OLD_a.txt):
    // ferry replaces the file the name gives.
    assert!(
        err.contains("a.txt: Copied (replaced existing) to: OLD_a.txt"),
        "{err}"
    );
    let got = listing(&d.path().join("dst"));
    let want: BTreeMap<String, String> = [
        ("Deep/", ""),
        ("Deep/er/", ""),
        ("Deep/er/OLD_c.TXT", "c"),
        ("OLD_a.txt", "hello again"),
        ("sub/", ""),
        ("sub/OLD_B.txt", "b"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn convmv_renames_in_place_as_rclone_does() {
    let Some(bin) = rclone() else { return };
    let cases: [&[&str]; 4] = [
        &["--name-transform", "all,uppercase"],
        &[
            "--name-transform",
            "dir,uppercase",
            "--delete-empty-src-dirs",
        ],
        &[
            "--name-transform",
            "all,nfd",
            "--name-transform",
            "file,prefix=n_",
        ],
        &["--name-transform", "regex=^([a-z])/x$1"],
    ];
    for rule in cases {
        let d = tempfile::tempdir().unwrap();
        for side in ["ours", "theirs"] {
            tree(&d.path().join(side));
            write_file(&d.path().join(side).join("Café.txt"), b"cafe", 3600);
        }
        let (ferr, rerr) = convmv_both(&bin, d.path(), rule);
        assert_eq!(
            listing(&d.path().join("ours")),
            listing(&d.path().join("theirs")),
            "{rule:?}: {ferr}"
        );
        let theirs = log_messages(&rerr.replace("theirs", "ours"));
        assert_eq!(log_messages(&ferr), theirs, "{rule:?}");
    }
}

#[test]
fn convmv_of_one_file_renames_it_alone() {
    let Some(bin) = rclone() else { return };
    let d = tempfile::tempdir().unwrap();
    for side in ["ours", "theirs"] {
        tree(&d.path().join(side));
        let file = format!("{side}/sub/B.txt");
        let args = ["convmv", &file, "--name-transform", "prefix=X", "-v"];
        let (code, _, err) = if side == "ours" {
            run_in(d.path(), &args)
        } else {
            rclone_in(&bin, d.path(), &args)
        };
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("B.txt: Moved (server-side) to: XB.txt"),
            "{err}"
        );
    }
    assert_eq!(
        listing(&d.path().join("ours")),
        listing(&d.path().join("theirs"))
    );
}

#[test]
fn convmv_never_renames_one_file_over_another() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("dir");
    write_file(&dir.join("a"), b"first", 60);
    write_file(&dir.join("b"), b"second", 60);
    write_file(&dir.join("A"), b"third", 60);
    // a would become b (which stays) and A would become a (which leaves): rclone replaces
    // b with a, and a with A, losing two files; ferry renames neither and says so.
    let args = [
        "convmv",
        "dir",
        "--name-transform",
        "replace=a:b",
        "--name-transform",
        "replace=A:a",
    ];
    let (code, _, err) = run_in(d.path(), &args);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("a: --name-transform renames it to \"b\", which another file has"),
        "{err}"
    );
    assert!(
        err.contains("A: --name-transform renames it to \"a\", a name another file leaves"),
        "{err}"
    );
    let got = listing(&dir);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got["a"], "first");
    assert_eq!(got["b"], "second");
    assert_eq!(got["A"], "third");
}

#[test]
fn bad_rules_stop_before_anything_happens() {
    let d = tempfile::tempdir().unwrap();
    tree(&d.path().join("src"));
    let before = listing(d.path());
    let (code, _, err) = run_in(d.path(), &["convmv", "src"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        log_messages(&err),
        ["NOTICE: Failed to convmv: --name-transform must be set"]
    );
    for (args, why) in [
        (
            &["convmv", "src", "--name-transform", "bogus"][..],
            "invalid choice \"bogus\" from: none, nfc,",
        ),
        (
            &["copy", "src", "dst", "--name-transform", "regex=(/x"],
            "regex syntax error",
        ),
        (
            &["sync", "src", "dst", "--name-transform", "truncate=ten"],
            "strconv.Atoi: parsing \"ten\": invalid syntax",
        ),
        (
            &["check", "src", "dst", "--name-transform", "prefix"],
            "value is required for prefix",
        ),
    ] {
        let (code, _, err) = run_in(d.path(), args);
        assert_eq!(code, 1, "{args:?}: {err}");
        let lines = log_messages(&err);
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].contains("Failed to parse transform flags: --name-transform")
                && lines[0].contains(why),
            "{args:?}: {err}"
        );
    }
    // A command that writes and can't rename is refused, not left to ignore the rules.
    let (code, _, err) = run_in(
        d.path(),
        &[
            "bisync",
            "src",
            "dst",
            "--resync",
            "--name-transform",
            "prefix=x",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--name-transform is not supported by this command yet"),
        "{err}"
    );
    assert_eq!(listing(d.path()), before);
}

#[test]
fn check_compares_each_file_with_its_renamed_copy() {
    let Some(bin) = rclone() else { return };
    let d = tempfile::tempdir().unwrap();
    tree(&d.path().join("src"));
    let rule = ["--name-transform", "all,lowercase"];
    let mut copy = vec!["copy", "src", "dst"];
    copy.extend(rule);
    let (code, _, err) = run_in(d.path(), &copy);
    assert_eq!(code, 0, "{err}");
    let mut check = vec!["check", "src", "dst"];
    check.extend(rule);
    for args in [check.clone(), vec!["check", "src", "dst"]] {
        let (fc, _, ferr) = run_in(d.path(), &args);
        let (rc, _, rerr) = rclone_in(&bin, d.path(), &args);
        assert_eq!(fc, rc, "{args:?}: {ferr}\n{rerr}");
        assert_eq!(log_messages(&ferr), log_messages(&rerr), "{args:?}");
    }
}

#[test]
fn convmv_again_passes_over_a_directory_that_has_the_name_as_rclone() {
    let Some(bin) = rclone() else { return };
    let d = tempfile::tempdir().unwrap();
    let rule = ["--name-transform", "all,uppercase"];
    for side in ["ours", "theirs"] {
        tree(&d.path().join(side));
        let mut args = vec!["convmv", side];
        args.extend(rule);
        let (code, _, err) = rclone_in(&bin, d.path(), &args);
        assert_eq!(code, 0, "{err}");
        // The old directories stay (no --delete-empty-src-dirs); one gets a new file.
        write_file(&d.path().join(side).join("sub/new.txt"), b"new", 60);
    }
    let (ferr, rerr) = convmv_both(&bin, d.path(), &rule);
    assert_eq!(
        log_messages(&ferr),
        log_messages(&rerr.replace("theirs", "ours"))
    );
    assert!(
        ferr.contains("SUB: Duplicate directory found in source - ignoring"),
        "{ferr}"
    );
    assert_eq!(
        listing(&d.path().join("ours")),
        listing(&d.path().join("theirs"))
    );
    assert_eq!(listing(&d.path().join("ours"))["SUB/NEW.TXT"], "new");
}
