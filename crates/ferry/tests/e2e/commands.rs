//! The smaller commands (listing, hashing, housekeeping, copyto/moveto) end to end,
//! with outputs compared byte for byte with rclone's where scripts parse them.
//!
//! The comparisons run the rclone named by `FERRY_TEST_RCLONE` (the testbed sets it);
//! without it they are skipped with a notice, except under `CI=true`, where a missing
//! rclone is a failure (see `common::rclone`).

use crate::common;
use common::sorted_lines as sorted;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use common::{ferry, rclone, rclone_in, run, set_age, write_file, Scratch};

/// Runs ferry in `cwd` with TZ=UTC; returns (exit code, stdout, stderr).
fn ferry_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::ferry()
        .current_dir(cwd)
        .env("TZ", "UTC")
        .args(args)
        .output()
        .expect("ferry runs");
    common::split(out)
}

fn ferry_stdin(cwd: &Path, args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = common::ferry()
        .current_dir(cwd)
        .env("TZ", "UTC")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry runs");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    common::split(out)
}

/// A tree with awkward names: spaces, JSON- and CSV-special characters, non-ASCII,
/// an empty directory, a dot file, files at three depths, fixed mtimes.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t");
    let files: &[(&str, &[u8], u64)] = &[
        ("z.txt", b"hello\n", 400_000_000),
        ("e.bin", b"", 3600),
        ("a/q.json", b"{}\n", 7200),
        ("a/sp ace & <x>.html", b"<p>", 7200),
        ("a/comma,\"quote\".csv", b"1,2\n", 100),
        ("b/x.md", b"abc", 100),
        ("b/sub/y.tar.gz", &[0u8; 3000], 100),
        ("b/sub/caf\u{e9}.TXT", b"unicode", 100),
        (".dot", b"hidden", 100),
        ("keep/.ferryignore", b"", 100),
        ("keep/inside.txt", b"x", 100),
    ];
    for (rel, data, age) in files {
        write_file(&t.join(rel), data, *age);
    }
    std::fs::create_dir_all(t.join("empty")).unwrap();
    for d in ["a", "b", "b/sub", "empty", "keep", ""] {
        set_age(&t.join(d), 50);
    }
    dir
}

/// Lines sorted, with lsjson's separating commas dropped: rclone lists directories
/// concurrently, so the order of directories in a recursive listing varies (ferry's is
/// breadth-first, each directory in name order); every line must still match exactly.
fn lines_any_order(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .lines()
        .map(|l| l.strip_suffix(',').unwrap_or(l).to_owned())
        .collect();
    v.sort();
    v
}

/// Runs each command with both tools in `cwd` and asserts the same stdout (byte for
/// byte, line order aside for recursive listings) and the same exit code.
fn same_as_rclone(bin: &Path, cwd: &Path, commands: &[&[&str]]) {
    for args in commands {
        let (rc, rout, rerr) = rclone_in(bin, cwd, args);
        let (fc, fout, ferr) = ferry_in(cwd, args);
        if fout != rout {
            assert_eq!(
                lines_any_order(&fout),
                lines_any_order(&rout),
                "stdout of {args:?} differs\nferry stderr: {ferr}\nrclone stderr: {rerr}"
            );
            assert_eq!(fout.len(), rout.len(), "{args:?}");
        }
        assert_eq!(fc, rc, "exit code of {args:?}: {ferr}");
    }
}

#[test]
fn listings_match_rclone_byte_for_byte() {
    let dir = tree();
    let Some(bin) = rclone() else {
        let (code, out, _) = ferry_in(dir.path(), &["ls", "t"]);
        assert_eq!(code, 0);
        assert!(out.contains("        6 z.txt\n"), "{out}");
        return;
    };
    same_as_rclone(
        &bin,
        dir.path(),
        &[
            &["ls", "t"],
            &["lsl", "t"],
            &["lsd", "t"],
            &["lsd", "-R", "t"],
            &["lsf", "t"],
            &["lsf", "-R", "t"],
            &["lsf", "-R", "-F", "pstmh", "--hash", "sha1", "t"],
            &["lsf", "-R", "--csv", "-F", "ps", "t"],
            &["lsf", "-R", "--csv", "-s", ";", "-F", "psm", "t"],
            &["lsf", "-R", "--dirs-only", "--absolute", "t"],
            &["lsf", "-R", "--files-only", "-d=false", "-F", "ph", "t"],
            &["lsf", "-R", "--files-only", "--dirs-only", "t"],
            &["lsf", "-F", "pt", "-t", "RFC3339", "t"],
            &["lsf", "-F", "pt", "-t", "max", "t"],
            &["lsf", "-F", "pt", "--time-format", "unix", "t"],
            &[
                "lsf",
                "-F",
                "pt",
                "--time-format",
                "Jan _2 2006 3:04PM",
                "t",
            ],
            &["lsf", "-s", "|", "-F", "tsp", "-R", "t"],
            &["lsf", "-F", "piTo", "t"],
            &["lsjson", "t"],
            &["lsjson", "-R", "t"],
            &["lsjson", "-R", "--hash", "t"],
            &[
                "lsjson",
                "-R",
                "--files-only",
                "--hash-type",
                "md5",
                "--hash-type",
                "whirlpool",
                "t",
            ],
            &["lsjson", "--no-modtime", "--no-mimetype", "t"],
            &["lsjson", "-R", "--dirs-only", "t"],
            &["lsjson", "--stat", "t/z.txt"],
            &["lsjson", "--stat", "--hash", "t/a/q.json"],
            &["lsjson", "t/z.txt"],
            &["ls", "t/z.txt"],
            &["lsf", "t/b/x.md"],
            &["tree", "t"],
            &["tree", "-s", "t"],
            &["tree", "-s", "-D", "--level", "1", "t"],
            &["tree", "-a", "--dirsfirst", "t"],
            &["size", "t"],
            &["size", "--json", "t"],
            &["size", "t/b"],
            // Filters and depth: the same selection as copy.
            &["ls", "--include", "*.txt", "t"],
            &["lsf", "-R", "--exclude", "b/**", "t"],
            &["lsf", "-R", "--exclude-if-present", ".ferryignore", "t"],
            // A marker in the root leaves the whole listing out.
            &["lsf", "-R", "--exclude-if-present", "z.txt", "t"],
            &["size", "--exclude-if-present", "z.txt", "t"],
            &["ls", "--max-depth", "1", "t"],
            &["lsf", "-R", "--max-depth", "2", "t"],
            &["lsf", "--max-depth", "2", "t"],
            &["ls", "--min-size", "1k", "t"],
            &["lsd", "-R", "--exclude", "/b/", "t"],
            &[
                "lsjson", "-R", "--filter", "+ *.json", "--filter", "- *", "t",
            ],
            &["cat", "t/z.txt"],
            &["cat", "t/b"],
            &["cat", "--head", "2", "t/z.txt"],
            &["cat", "--tail", "3", "t/z.txt"],
            &["cat", "--offset", "1", "--count", "2", "t/z.txt"],
            &["cat", "--offset", "-2", "t/z.txt"],
            &["cat", "--separator", "--", "--include", "*.md", "t"],
            &["cat", "--discard", "t"],
        ],
    );
}

/// Sorted output lines (rclone hashes files concurrently, so its order varies).
/// Deterministic pseudo-random bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const KINDS: [&str; 13] = [
    "md5",
    "sha1",
    "whirlpool",
    "crc32",
    "sha256",
    "sha512",
    "blake3",
    "xxh3",
    "xxh128",
    "dropbox",
    "hidrive",
    "mailru",
    "quickxor",
];

#[test]
fn hashsums_match_rclone_for_every_kind() {
    let dir = tree();
    let t = dir.path().join("t");
    // Several 4 MiB dropbox blocks, more than 256 hidrive blocks, zero blocks.
    let mut big = noise(9 * 1024 * 1024 + 12345, 7);
    big[4096..8192].fill(0);
    write_file(&t.join("big/data.bin"), &big, 10);
    write_file(&t.join("big/zeros.bin"), &vec![0u8; 1024 * 1024 + 1], 10);
    write_file(&t.join("big/21.bin"), &noise(21, 3), 10);
    let (code, list, err) = ferry_in(dir.path(), &["hashsum"]);
    assert_eq!(code, 0, "{err}");
    for k in KINDS {
        assert!(list.contains(&format!("- {k}\n")), "{list}");
    }
    let Some(bin) = rclone() else {
        let (code, out, _) = ferry_in(dir.path(), &["md5sum", "t/z.txt"]);
        assert_eq!(
            (code, out.as_str()),
            (0, "b1946ac92492d2347c6235b4d2611184  z.txt\n")
        );
        return;
    };
    let mut runs: Vec<Vec<&str>> = vec![
        vec!["md5sum", "t"],
        vec!["sha1sum", "t"],
        vec!["md5sum", "--base64", "t"],
        vec!["sha1sum", "--download", "t/b"],
        vec!["hashsum", "crc32", "--base64", "t"],
        vec!["hashsum", "MD5", "t/z.txt"],
        vec!["hashsum", "SHA-1", "--exclude", "big/**", "t"],
        vec!["md5sum", "--include", "*.bin", "t"],
    ];
    for k in KINDS {
        runs.push(vec!["hashsum", k, "t"]);
    }
    for args in &runs {
        let (rc, rout, rerr) = rclone_in(&bin, dir.path(), args);
        let (fc, fout, ferr) = ferry_in(dir.path(), args);
        assert_eq!(sorted(&fout), sorted(&rout), "{args:?}\n{ferr}\n{rerr}");
        assert_eq!(fc, rc, "{args:?}: {ferr}");
    }
    // lsjson --hash on the big files: every kind at once, in one read.
    same_as_rclone(&bin, dir.path(), &[&["lsjson", "--hash", "t/big"]]);
}

/// Files around each unit boundary of rclone's `--human-readable` sizes, and of tree's.
fn sized_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("h");
    for (rel, len) in [
        ("zero", 0),
        ("b1000", 1000),
        ("b1023", 1023),
        ("k1", 1024),
        ("k1.5", 1536),
        ("sub/k9.999", 10_239),
        ("sub/k10", 10_240),
        ("sub/k10.5", 10_752),
        ("sub/deep/k1.233", 1263),
        ("sub/m1", 1 << 20),
        ("m1.001", (1 << 20) + 1024),
    ] {
        write_file(&t.join(rel), &vec![b'x'; len], 100);
    }
    std::fs::create_dir_all(t.join("empty")).unwrap();
    dir
}

#[test]
fn human_readable_sizes_match_rclone() {
    let dir = sized_tree();
    let d = dir.path();
    let (code, out, err) = ferry_in(d, &["ls", "--human-readable", "h"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "     1023 b1023",
        "      1Ki k1",
        "  1.500Ki k1.5",
        "  9.999Ki sub/k9.999",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "{line:?} missing from {out}"
        );
    }
    let (_, out, _) = ferry_in(d, &["tree", "--human-readable", "h"]);
    for line in [
        "[2.0M]  /",
        "[1.0M]  m1.001",
        "[1024]  k1",
        "[10.0K]  k9.999",
        "[1024K]  m1",
        "[   0]  zero",
    ] {
        assert!(
            out.lines().any(|l| l.ends_with(line)),
            "{line:?} missing from {out}"
        );
    }
    let Some(bin) = rclone() else { return };
    same_as_rclone(
        &bin,
        d,
        &[
            &["ls", "--human-readable", "h"],
            &["lsl", "--human-readable", "h"],
            &["lsd", "-R", "--human-readable", "h"],
            &["ls", "--human-readable=false", "h"],
            &["tree", "--human-readable", "h"],
            &["tree", "-s", "--human-readable", "--dirsfirst", "h"],
            &["tree", "--human-readable", "-D", "--level", "1", "h"],
            &["tree", "-d", "--human-readable", "h"],
            &["tree", "-d", "h"],
            &["tree", "h/empty"],
            &["size", "--human-readable", "h"],
        ],
    );
}

#[test]
fn sums_from_stdin_and_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = ferry_stdin(dir.path(), &["md5sum"], b"hello");
    assert_eq!(code, 0);
    assert_eq!(out, "5d41402abc4b2a76b9719d911017c592  -\n");
    let (_, out, _) = ferry_stdin(dir.path(), &["md5sum", "-"], b"hello");
    assert_eq!(out, "5d41402abc4b2a76b9719d911017c592  -\n");
    let (_, out, _) = ferry_stdin(dir.path(), &["hashsum", "sha1", "--base64"], b"hello");
    assert_eq!(out, "qvTGHdzF6KLavt4PO0gs2a6pQ00=  -\n");
    write_file(&dir.path().join("t/a.txt"), b"hello", 10);
    let (code, out, err) = ferry_in(dir.path(), &["sha1sum", "t", "--output-file", "sums.txt"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let sums = std::fs::read_to_string(dir.path().join("sums.txt")).unwrap();
    assert_eq!(sums, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d  a.txt\n");
}

#[test]
fn checkfile_verifies_a_sum_file() {
    let dir = tree();
    let d = dir.path();
    let (code, sums, _) = ferry_in(d, &["md5sum", "t"]);
    assert_eq!(code, 0);
    std::fs::write(d.join("good.md5"), &sums).unwrap();
    let (code, out, err) = ferry_in(d, &["md5sum", "-C", "good.md5", "t"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().all(|l| l.starts_with("= ")), "{out}");
    assert!(err.contains("0 differences found"), "{err}");
    // One changed hash, one line for a file that is gone, one file without a line.
    let bad: String = sums
        .lines()
        .filter(|l| !l.ends_with(" e.bin"))
        .map(|l| {
            if l.ends_with(" z.txt") {
                "00000000000000000000000000000000  z.txt\n".to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .chain(["d41d8cd98f00b204e9800998ecf8427e  gone.txt\n".to_owned()])
        .collect();
    std::fs::write(d.join("bad.md5"), &bad).unwrap();
    let (code, out, err) = ferry_in(d, &["md5sum", "t", "--checkfile", "bad.md5"]);
    assert_eq!(code, 1, "{err}");
    for want in ["* z.txt", "- e.bin", "+ gone.txt", "= a/q.json"] {
        assert!(out.lines().any(|l| l == want), "{want} missing from {out}");
    }
    // As rclone counts them: a line without a file is an error, not a difference.
    assert!(err.contains("2 differences found"), "{err}");
    assert!(err.contains("1 files missing"), "{err}");
    assert!(err.contains("1 hashes missing"), "{err}");
    if let Some(bin) = rclone() {
        for args in [
            &["md5sum", "t", "--checkfile", "bad.md5"][..],
            &["md5sum", "-C", "good.md5", "t"][..],
            &["md5sum", "-C", "missing.md5", "t"][..],
        ] {
            let (rc, rout, _) = rclone_in(&bin, d, args);
            let (fc, fout, _) = ferry_in(d, args);
            assert_eq!(sorted(&fout), sorted(&rout), "{args:?}");
            assert_eq!(fc, rc, "{args:?}");
        }
    }
    let (code, _, err) = ferry_in(d, &["md5sum", "-C", "missing.md5", "t"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a sum file: missing.md5"), "{err}");
}

#[test]
fn listings_show_what_copy_takes() {
    let dir = tree();
    let d = dir.path();
    let filters: &[&[&str]] = &[
        &["--include", "*.txt"],
        &["--exclude", "b/**", "--max-size", "5"],
        &["--exclude-if-present", ".ferryignore"],
        &["--exclude-if-present", "z.txt"],
        &["--max-depth", "2"],
        &["--include-pattern", "*.json;*.md"],
        &["--exclude-path", "b/sub"],
    ];
    for (i, f) in filters.iter().enumerate() {
        let dst = format!("dst{i}");
        let mut copy = vec!["copy", "t", dst.as_str()];
        copy.extend_from_slice(f);
        let (code, _, err) = ferry_in(d, &copy);
        assert_eq!(code, 0, "{copy:?}: {err}");
        let mut ls = vec!["lsf", "-R", "--files-only", "t"];
        ls.extend_from_slice(f);
        let (code, listed, err) = ferry_in(d, &ls);
        assert_eq!(code, 0, "{err}");
        let (_, copied, _) = ferry_in(d, &["lsf", "-R", "--files-only", &dst]);
        assert_eq!(sorted(&listed), sorted(&copied), "filters {f:?}");
    }
}

#[test]
fn missing_paths_and_bad_input_give_rclones_exit_codes() {
    let dir = tree();
    let d = dir.path();
    for cmd in [
        "ls", "lsl", "lsd", "lsf", "lsjson", "tree", "size", "md5sum", "sha1sum", "cat",
    ] {
        let (code, out, err) = ferry_in(d, &[cmd, "t/nope"]);
        assert_eq!(code, 3, "{cmd}: {err}");
        assert!(err.contains("directory not found"), "{cmd}: {err}");
        if cmd != "lsjson" {
            assert_eq!(out, "", "{cmd}");
        }
    }
    let cases: &[(&[&str], i32, &str)] = &[
        (&["lsjson", "--stat", "t/nope"], 3, "directory not found"),
        (&["deletefile", "t/nope.txt"], 4, "object not found"),
        (&["deletefile", "t/a"], 4, "is a directory"),
        (&["hashsum", "bogus", "t"], 2, "unknown hash type"),
        (&["lsf", "--hash", "bogus", "t"], 2, "unknown hash type"),
        (&["lsf", "-F", "pz", "t"], 1, "unknown format character"),
        (&["lsf", "-F", "pe", "t"], 1, "crypt"),
        (&["ls", "--no-such-flag", "t"], 2, "unexpected argument"),
        (&["ls"], 2, "required"),
        (&["rmdir", "t/nope"], 1, "not found"),
        (&["rmdir", "t/a"], 1, "not empty"),
        (&["rmdirs", "t/nope"], 1, "directory not found"),
        (&["purge", "t/z.txt"], 1, "is a file"),
        (&["touch", "-t", "bad", "t/z.txt"], 1, "2006-01-02T15:04:05"),
        (
            &["lsjson", "--hash-type", "bogus", "t"],
            1,
            "Failed to lsjson: unknown hash type \"bogus\"",
        ),
        (
            &["cat", "--head", "1", "--tail", "1", "t/z.txt"],
            1,
            "Can only use one of  --head, --tail",
        ),
    ];
    for (args, want, msg) in cases {
        let (code, _, err) = ferry_in(d, args);
        assert_eq!(code, *want, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(d.join("t/z.txt").exists() && d.join("t/a/q.json").exists());
}

fn lsf(d: &Path, path: &str) -> Vec<String> {
    let (code, out, err) = ferry_in(d, &["lsf", "-R", path]);
    assert_eq!(code, 0, "{err}");
    sorted(&out)
}

#[test]
fn delete_purge_and_directory_commands() {
    let dir = tree();
    let d = dir.path();
    // delete honours filters and --dry-run; --rmdirs removes what it emptied.
    let (code, _, err) = ferry_in(d, &["delete", "t", "--include", "*.md", "-n"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("b/x.md: Skipped delete as --dry-run is set"),
        "{err}"
    );
    assert!(d.join("t/b/x.md").exists());
    let (code, _, err) = ferry_in(d, &["delete", "t/b", "--exclude", "x.md", "--rmdirs", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("sub/y.tar.gz: Deleted"), "{err}");
    assert!(err.contains("sub: Removing directory"), "{err}");
    assert_eq!(lsf(d, "t/b"), ["x.md"]);
    // mkdir, rmdir, rmdirs.
    assert_eq!(ferry_in(d, &["mkdir", "t/new/deep/er"]).0, 0);
    assert!(d.join("t/new/deep/er").is_dir());
    assert_eq!(ferry_in(d, &["rmdir", "t/new/deep/er"]).0, 0);
    assert!(!d.join("t/new/deep/er").exists());
    let (code, _, err) = ferry_in(d, &["rmdirs", "t", "--leave-root", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("new/deep: Removing directory"), "{err}");
    assert!(!d.join("t/new").exists() && !d.join("t/empty").exists());
    assert!(d.join("t/a/q.json").exists());
    std::fs::create_dir_all(d.join("hollow/x/y")).unwrap();
    assert_eq!(ferry_in(d, &["rmdirs", "hollow", "--leave-root"]).0, 0);
    assert!(d.join("hollow").is_dir() && !d.join("hollow/x").exists());
    assert_eq!(ferry_in(d, &["rmdirs", "hollow"]).0, 0);
    assert!(!d.join("hollow").exists());
    // deletefile, purge.
    assert_eq!(ferry_in(d, &["deletefile", "t/e.bin"]).0, 0);
    assert!(!d.join("t/e.bin").exists());
    let (code, _, err) = ferry_in(d, &["purge", "t/a", "-n"]);
    assert_eq!(code, 0, "{err}");
    assert!(d.join("t/a/q.json").exists());
    assert_eq!(ferry_in(d, &["purge", "t/a"]).0, 0);
    assert!(!d.join("t/a").exists());
}

#[test]
fn touch_and_rcat() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = ferry_in(d, &["touch", "t/sub/new.txt"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(d.join("t/sub/new.txt")).unwrap(), b"");
    let (code, _, err) = ferry_in(d, &["touch", "-C", "t/none.txt"]);
    assert_eq!(code, 0);
    assert!(err.contains("Not touching nonexistent file"), "{err}");
    assert!(!d.join("t/none.txt").exists());
    write_file(&d.join("t/old.txt"), b"keep", 100);
    for (stamp, want) in [
        ("2020-01-02T03:04:05", "2020-01-02 03:04:05.000000000"),
        ("2021-02-03", "2021-02-03 00:00:00.000000000"),
        ("220304", "2022-03-04 00:00:00.000000000"),
        ("2020-01-02T03:04:05.5", "2020-01-02 03:04:05.500000000"),
    ] {
        assert_eq!(ferry_in(d, &["touch", "-t", stamp, "t/old.txt"]).0, 0);
        let (_, out, _) = ferry_in(d, &["lsl", "t/old.txt"]);
        assert_eq!(out, format!("        4 {want} old.txt\n"));
    }
    assert_eq!(std::fs::read(d.join("t/old.txt")).unwrap(), b"keep");
    assert_eq!(ferry_in(d, &["touch", "-R", "-t", "2019-05-05", "t"]).0, 0);
    let (_, out, _) = ferry_in(d, &["lsl", "t"]);
    assert_eq!(out.matches("2019-05-05 00:00:00").count(), 2, "{out}");
    // rcat: small data, and data large enough to be spooled.
    let (code, _, err) = ferry_stdin(d, &["rcat", "t/r/small.txt"], b"hi\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(d.join("t/r/small.txt")).unwrap(), b"hi\n");
    let big = noise(9 * 1024 * 1024 + 7, 11);
    let (code, _, err) = ferry_stdin(d, &["rcat", "t/r/big.bin"], &big);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(d.join("t/r/big.bin")).unwrap() == big);
    let (code, _, err) = ferry_stdin(d, &["rcat", "t/r/"], b"x");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn copyto_and_moveto_rename_with_copys_rules() {
    let dir = tree();
    let d = dir.path();
    let (code, _, err) = ferry_in(d, &["copyto", "t/z.txt", "out/renamed.txt", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(d.join("out/renamed.txt")).unwrap(),
        b"hello\n"
    );
    assert_eq!(
        common::mtime(&d.join("out/renamed.txt")),
        common::mtime(&d.join("t/z.txt"))
    );
    // rclone's words: the file's own name, then the new one.
    assert!(err.contains("z.txt: Copied (new) to: renamed.txt"), "{err}");
    // Unchanged: skipped, as copy skips.
    let (code, _, err) = ferry_in(d, &["copyto", "t/z.txt", "out/renamed.txt", "-v"]);
    assert_eq!(code, 0);
    assert!(!err.contains("Copied"), "{err}");
    // Changed: replaced.
    write_file(&d.join("t/z.txt"), b"hello again\n", 5);
    let (_, _, err) = ferry_in(d, &["copyto", "t/z.txt", "out/renamed.txt", "-v"]);
    assert!(
        err.contains("z.txt: Copied (replaced existing) to: renamed.txt"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(d.join("out/renamed.txt")).unwrap(),
        b"hello again\n"
    );
    // --dry-run changes nothing.
    let (code, _, err) = ferry_in(d, &["copyto", "t/e.bin", "out/dry.bin", "-n"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("e.bin: Skipped copy as --dry-run is set"),
        "{err}"
    );
    assert!(!d.join("out/dry.bin").exists());
    // moveto: the source goes.
    let (code, _, err) = ferry_in(d, &["moveto", "t/b/x.md", "out/moved.md", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("x.md: Moved (server-side) to: moved.md"),
        "{err}"
    );
    assert!(!d.join("t/b/x.md").exists());
    assert_eq!(std::fs::read(d.join("out/moved.md")).unwrap(), b"abc");
    // A directory acts as copy / move.
    let (code, _, err) = ferry_in(d, &["copyto", "t/a", "out/a2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lsf(d, "out/a2"), lsf(d, "t/a"));
    let (code, _, err) = ferry_in(d, &["moveto", "t/b/sub", "out/sub2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lsf(d, "out/sub2"), ["caf\u{e9}.TXT", "y.tar.gz"]);
    assert!(!d.join("t/b/sub/y.tar.gz").exists());
    let (code, _, _) = ferry_in(d, &["copyto", "t/nope.txt", "out/x"]);
    assert_eq!(code, 3);
}

#[test]
fn every_new_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        "ls",
        "lsl",
        "lsd",
        "lsf",
        "lsjson",
        "tree",
        "md5sum",
        "sha1sum",
        "hashsum",
        "size",
        "cat",
        "rcat",
        "touch",
        "deletefile",
        "delete",
        "purge",
        "mkdir",
        "rmdir",
        "rmdirs",
        "copyto",
        "moveto",
    ] {
        let (code, out, err) = ferry_in(dir.path(), &[cmd, "--help"]);
        assert_eq!(code, 0, "{cmd}: {err}");
        assert!(out.contains("Usage: ferry"), "{cmd}: {out}");
    }
}

#[test]
fn completion_scripts_and_help_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (shell, marker) in [
        ("bash", "_ferry()"),
        ("zsh", "#compdef ferry"),
        ("fish", "complete -c ferry"),
    ] {
        let (code, out, err) = ferry_in(d, &["completion", shell, "-"]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(
            out.contains(marker),
            "{shell}: {}",
            &out[..out.len().min(200)]
        );
        assert!(out.contains("lsjson") && out.contains("md5sum"), "{shell}");
    }
    // PowerShell's goes to standard output when no file is named, as rclone's; rclone's
    // older name for the command still works.
    let (code, out, err) = ferry_in(d, &["completion", "powershell"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Register-ArgumentCompleter"),
        "{}",
        &out[..out.len().min(200)]
    );
    let (code, out, err) = ferry_in(d, &["genautocomplete", "fish", "-"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("complete -c ferry"));
    let (code, _, _) = ferry_in(d, &["completion", "bash", "script.bash"]);
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(d.join("script.bash"))
        .unwrap()
        .contains("_ferry()"));
    let (code, _, err) = ferry_in(d, &["completion", "tcsh", "-"]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = ferry_in(d, &["help", "flags"]);
    assert_eq!(code, 0);
    for want in [
        "  -v, --verbose",
        "--transfers TRANSFERS",
        "(default 4)",
        "--checkers CHECKERS",
        "(default 8)",
        "--max-depth MAX_DEPTH",
        "(default -1)",
        "--log-level LEVEL",
        "--config FILE",
        "--include PATTERN",
    ] {
        assert!(out.contains(want), "{want} missing from help flags:\n{out}");
    }
    let (_, out, _) = ferry_in(d, &["help", "flags", "transfers"]);
    assert!(
        out.contains("--transfers") && !out.contains("--checkers"),
        "{out}"
    );
    let (code, out, _) = ferry_in(d, &["help", "lsf"]);
    assert_eq!(code, 0);
    assert!(out.contains("--format"), "{out}");
    let (code, _, err) = ferry_in(d, &["help", "nosuch"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn links_show_as_rclonelink_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_file(&d.join("t/real.txt"), b"data", 10);
    #[cfg(unix)]
    std::os::unix::fs::symlink("real.txt", d.join("t/link")).unwrap();
    let (code, out, _) = ferry_in(d, &["lsf", "-l", "t"]);
    assert_eq!(code, 0);
    assert_eq!(out, "link.rclonelink\nreal.txt\n");
    let (_, out, err) = ferry_in(d, &["lsf", "t"]);
    assert_eq!(out, "real.txt\n");
    assert!(err.contains("Can't follow symlink"), "{err}");
    let (_, out, _) = ferry_in(d, &["ls", "-L", "t"]);
    assert_eq!(out, "        4 link\n        4 real.txt\n");
    if let Some(bin) = rclone() {
        same_as_rclone(
            &bin,
            d,
            &[&["lsf", "-l", "-F", "ps", "t"], &["ls", "-L", "t"]],
        );
    }
}

/// Drops `"atime":"..."` (reading a directory may move it between two runs).
fn without_atime(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\"atime\":") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 9..];
        let end = after.find('"').map_or(after.len(), |j| j + 1);
        rest = after[end..].strip_prefix(',').unwrap_or(&after[end..]);
    }
    out.push_str(rest);
    out
}

#[cfg(unix)]
#[test]
fn metadata_in_listings() {
    let dir = tree();
    let d = dir.path();
    let (code, out, err) = ferry_in(d, &["lsjson", "-M", "t/z.txt"]);
    assert_eq!(code, 0, "{err}");
    for key in [
        "\"mode\":\"100644\"",
        "\"uid\":",
        "\"gid\":",
        "\"mtime\":",
        "\"atime\":",
    ] {
        assert!(out.contains(key), "{key} missing: {out}");
    }
    let (_, out, _) = ferry_in(d, &["lsf", "-F", "pM", "t/b"]);
    assert!(out.starts_with("sub/;{\"atime\":"), "{out}");
    assert!(
        out.contains("\"mode\":\"40755\"") || out.contains("\"mode\":\"40"),
        "{out}"
    );
    if let Some(bin) = rclone() {
        for args in [
            &["lsjson", "-M", "-R", "t"][..],
            &["lsjson", "-M", "--stat", "t/a/q.json"][..],
            &["lsf", "-R", "-F", "pM", "t"][..],
        ] {
            let (rc, rout, _) = rclone_in(&bin, d, args);
            let (fc, fout, ferr) = ferry_in(d, args);
            assert_eq!(
                lines_any_order(&without_atime(&fout)),
                lines_any_order(&without_atime(&rout)),
                "{args:?}: {ferr}"
            );
            assert_eq!(fc, rc);
        }
    }
}

#[test]
fn global_flags_are_accepted_by_every_command_as_in_rclone() {
    let s = Scratch::new();
    s.write("src/a.txt", "a", 100);
    let src = s.src();
    for args in [
        &["ls", "--transfers", "8", &src][..],
        &["lsd", "--retries", "3", &src],
        &["size", "--checkers", "8", &src],
        &["lsjson", "--checkers=4", &src],
        &["check", "--checksum", &src, &src],
        &["copy", "--checksum", "--checksum", &src, &s.dst()],
        &["lsf", "--bwlimit", "1M", "--dry-run", &src],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    // azcopy's log levels too.
    for level in ["WARNING", "NONE", "info", "ERROR"] {
        let (code, _, err) = run(&["ls", "--log-level", level, &src]);
        assert_eq!(code, 0, "{level}: {err}");
    }
    // Checked by the same parser as where they take effect; said at -vv.
    let (code, _, err) = run(&["ls", "--transfers", "many", &src]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--transfers"), "{err}");
    let (_, _, err) = run(&["ls", "-vv", "--transfers", "8", &src]);
    assert!(
        err.contains("--transfers 8: accepted as rclone does, no effect on this command"),
        "{err}"
    );
    // rclone's global switches that ferry defines only on the listings work everywhere.
    let (code, _, err) = run(&["copy", "-vv", "--human-readable", &src, &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("--human-readable: accepted as rclone does"),
        "{err}"
    );
    let (code, _, err) = run(&["copy", "--human-readable=maybe", &src, &s.dst()]);
    assert_eq!(code, 2, "{err}");
    // A flag rclone has and ferry lacks says so.
    let (code, _, err) = run(&["ls", "--bind", "127.0.0.1", &src]);
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "ferry: --bind is not supported yet");
}

#[test]
fn a_writing_command_never_ignores_dry_run() {
    let s = Scratch::new();
    let target = s.path("src/piped.txt");
    let target = target.to_str().unwrap();
    let mut child = ferry()
        .args(["rcat", "--dry-run", target])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"data").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Skipped upload from pipe as --dry-run is set"));
    assert!(!s.exists("src/piped.txt"));
    let (code, _, err) = run(&["config", "--dry-run"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--dry-run is not supported by this command yet; nothing was done"),
        "{err}"
    );
}

/// `gendocs DIR`: a markdown page per command (as rclone names them), the global flags
/// page and man pages, all from the command line's definitions.
#[test]
fn gendocs_writes_a_page_per_command_the_flags_and_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("docs");
    let (code, _, err) = common::run(&["gendocs", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let read =
        |rel: &str| std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let sync = read("commands/ferry_sync.md");
    assert!(sync.starts_with("---\ntitle: \"ferry sync\"\n"), "{sync}");
    assert!(
        sync.contains("\n```\nferry sync [OPTIONS] <SOURCE> <DEST>\n```\n"),
        "{sync}"
    );
    assert!(sync.contains("--delete-excluded"), "{sync}");
    assert!(sync.contains("* [ferry](ferry.md) - "), "{sync}");
    let root = read("commands/ferry.md");
    assert!(
        root.contains("* [ferry sync](ferry_sync.md) - Make source and dest identical"),
        "{root}"
    );
    assert!(out.join("commands/ferry_config_create.md").is_file());
    // Every command has a page.
    let (_, help, _) = common::run(&["--help"]);
    let pages = std::fs::read_dir(out.join("commands")).unwrap().count();
    assert!(pages > 30, "{pages} pages for:\n{help}");
    let flags = read("flags.md");
    assert!(flags.contains("--config FILE"), "{flags}");
    let man = read("man/ferry-sync.1");
    assert!(man.contains("\n.TH ferry-sync 1 "), "{man}");
    assert!(read("man/ferry.1").contains("\n.TH ferry 1 "));
    // An unwritable place fails in one line naming it.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (code, _, err) = common::run(&["gendocs", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("gendocs into {} failed", file.display())),
        "{err}"
    );
}

/// `checksum HASH SUMFILE DST` checks as rclone's does: the same reports, counts and exit
/// codes, a sum file that isn't there and a hash type that doesn't exist refused.
#[test]
fn checksum_checks_a_tree_against_a_sum_file_as_rclone() {
    let dir = tree();
    let d = dir.path();
    let (code, sums, _) = ferry_in(d, &["md5sum", "t"]);
    assert_eq!(code, 0);
    let bad = format!("{sums}d41d8cd98f00b204e9800998ecf8427e  gone.txt\n");
    std::fs::write(d.join("sums.md5"), bad).unwrap();
    let (code, out, err) = ferry_in(d, &["checksum", "md5", "sums.md5", "t", "--combined", "-"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.lines().any(|l| l == "+ gone.txt"), "{out}");
    assert!(
        out.lines().filter(|l| l.starts_with("= ")).count() >= 3,
        "{out}"
    );
    assert!(err.contains("1 files missing"), "{err}");
    assert!(err.contains("Failed to checksum with"), "{err}");
    let (code, _, err) = ferry_in(d, &["checksum", "md5", "sums.md5", "t", "--one-way"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = ferry_in(d, &["checksum", "nohash", "sums.md5", "t"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nohash"), "{err}");
    let Some(bin) = rclone() else { return };
    same_as_rclone(
        &bin,
        d,
        &[
            &["checksum", "md5", "sums.md5", "t", "--combined", "-"],
            &[
                "checksum",
                "md5",
                "sums.md5",
                "t",
                "--one-way",
                "--match",
                "-",
            ],
            &["checksum", "sha1", "sums.md5", "t", "--differ", "-"],
            &["checksum", "md5", "missing.md5", "t"],
        ],
    );
}

/// `about` prints the space of the file system under a local path as rclone does, in
/// its three forms, and a path that isn't there is "directory not found" (exit 3).
#[test]
fn about_reports_the_file_systems_space_as_rclone() {
    let dir = tree();
    let d = dir.path();
    let (code, out, err) = ferry_in(d, &["about", "t"]);
    assert_eq!(code, 0, "{err}");
    let labels: Vec<&str> = out.lines().map(|l| &l[..9]).collect();
    assert_eq!(labels, ["Total:   ", "Used:    ", "Free:    "], "{out}");
    let (code, out, _) = ferry_in(d, &["about", "t", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert!(
        v["total"].as_u64().unwrap() >= v["free"].as_u64().unwrap(),
        "{out}"
    );
    let (code, _, err) = ferry_in(d, &["about", "nowhere"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("Failed to about: about call failed: directory not found"),
        "{err}"
    );
    let Some(bin) = rclone() else { return };
    for args in [
        &["about", "t"][..],
        &["about", "t", "--full"],
        &["about", "t", "--json"],
        &["about", "nowhere"],
    ] {
        let (rc, rout, rerr) = rclone_in(&bin, d, args);
        let (fc, fout, ferr) = ferry_in(d, args);
        assert_eq!(fc, rc, "{args:?}: {ferr}\n{rerr}");
        // Used and free change between the two runs: compare the shape of each line.
        let shape = |s: &str| {
            s.lines()
                .map(|l| {
                    l.split(|c: char| c.is_ascii_digit())
                        .next()
                        .unwrap_or("")
                        .to_owned()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            shape(&fout),
            shape(&rout),
            "{args:?}\nferry: {fout}\nrclone: {rout}"
        );
    }
}

/// A file where a command needs a directory (a destination, `mkdir`, `rmdir`) is refused
/// at once, with rclone's words and exit code, and left as it was; rclone run on the
/// same arguments agrees.
#[test]
fn a_file_where_a_directory_is_needed_is_refused_at_once() {
    let s = Scratch::new();
    s.write("src/a.txt", "alpha", 100);
    s.write("b.txt", "bravo", 100);
    let b = s.path("b.txt").to_string_lossy().into_owned();
    let a = s.path("src/a.txt").to_string_lossy().into_owned();
    let want = format!("Failed to create file system for {b:?}: is a file not a directory");
    for args in [
        vec!["copy", &s.src(), &b],
        vec!["sync", &s.src(), &b],
        vec!["move", &s.src(), &b],
        vec!["copy", &a, &b],
        vec!["mkdir", &b],
        vec!["rmdir", &b],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("CRITICAL: {want}")),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert_eq!(s.read("b.txt"), "bravo");
        assert_eq!(s.read("src/a.txt"), "alpha", "{args:?} moved the source");
        if let Some(rc) = rclone() {
            let (code, _, err) = rclone_in(&rc, s.path("").as_path(), &args);
            assert_eq!(code, 1, "rclone {args:?}: {err}");
            assert!(
                err.contains(&format!("CRITICAL: {want}")),
                "rclone {args:?}: {err}"
            );
        }
    }
    // A remote nobody defined: rclone's line and level, then ferry's hint.
    let (code, _, err) = run(&["lsd", "nope:"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "CRITICAL: Failed to create file system for \"nope:\": didn't find section in config file (\"nope\")"
        ),
        "{err}"
    );
}

/// `cat`'s `--head` and `--tail`: 0 is no limit, and both at once fail with exit 1, as in
/// rclone, which prints the same bytes and exits the same way for each.
#[test]
fn cat_head_and_tail_of_zero_are_no_limit() {
    let s = Scratch::new();
    s.write("c.txt", "abcdef\n", 100);
    let file = s.path("c.txt").to_string_lossy().into_owned();
    let cases: [(&[&str], i32, &str); 5] = [
        (&["--head", "0"], 0, "abcdef\n"),
        (&["--tail", "0"], 0, "abcdef\n"),
        (&["--head", "0", "--tail", "1"], 0, "\n"),
        (&["--head", "2"], 0, "ab"),
        (&["--head", "2", "--tail", "1"], 1, ""),
    ];
    for (flags, code, want) in cases {
        let mut args = vec!["cat", file.as_str()];
        args.extend_from_slice(flags);
        let (got_code, out, err) = run(&args);
        assert_eq!((got_code, out.as_str()), (code, want), "{flags:?}: {err}");
        if let Some(rc) = rclone() {
            let (their_code, theirs, err) = rclone_in(&rc, s.path("").as_path(), &args);
            assert_eq!(their_code, code, "rclone {flags:?}: {err}");
            assert_eq!(theirs, want, "rclone {flags:?}");
        }
    }
}

#[test]
fn dedupe_finds_no_duplicate_names_where_none_can_be_as_rclone() {
    let Some(bin) = rclone() else { return };
    let dir = tree();
    let d = dir.path();
    for args in [
        &["dedupe", "t"][..],
        &["dedupe", "skip", "t"],
        &["dedupe", "--dedupe-mode", "list", "t"],
        &["dedupe", "bogus", "t"],
        &["dedupe", "t/nope"],
    ] {
        let (code, _, err) = ferry_in(d, args);
        let (theirs, _, their_err) = rclone_in(&bin, d, args);
        assert_eq!(code, theirs, "{args:?}: {err}\nrclone: {their_err}");
        if code != 1 {
            assert!(
                err.contains("Can't have duplicate names here. Perhaps you wanted --by-hash ?"),
                "{args:?}: {err}"
            );
        }
    }
    // Nothing was touched.
    assert!(d.join("t/z.txt").exists());
}

/// `dedupe --by-hash`: one group of the same content under three names, side by side
/// with rclone in each mode (rclone's groups come in a Go map's order, so one group
/// keeps both outputs comparable), then a two-group tree answered on standard input.
#[test]
fn dedupe_by_hash_as_rclone() {
    let Some(bin) = rclone() else { return };
    // Fixed times, so both listings print the same ones.
    let make = |d: &Path, name: &str| {
        let t = d.join(name);
        for (rel, body, secs) in [
            ("a.txt", "same\n", 1_600_000_000),
            ("sub/b.txt", "same\n", 1_700_000_000),
            ("c.txt", "same\n", 1_500_000_000),
            ("d.txt", "different\n", 1_650_000_000),
        ] {
            write_file(&t.join(rel), body.as_bytes(), 0);
            let at = filetime::FileTime::from_unix_time(secs, 123_456_789);
            filetime::set_file_mtime(t.join(rel), at).unwrap();
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for mode in [
        "list", "skip", "first", "newest", "oldest", "largest", "smallest", "rename",
    ] {
        for extra in [&["--dry-run"][..], &[]] {
            make(d, "ours");
            make(d, "theirs");
            let mut args = vec!["dedupe", "--by-hash", mode, "-v"];
            args.extend(extra);
            let (code, out, err) = ferry_in(d, &[&args[..], &["ours"]].concat());
            let (rcode, rout, rerr) = rclone_in(&bin, d, &[&args[..], &["theirs"]].concat());
            assert_eq!(
                (code, &out),
                (rcode, &rout),
                "{args:?}: {err}\nrclone: {rerr}"
            );
            let lines = |e: &str, root: &str| {
                e.lines()
                    .filter_map(|l| l.split_once(" : ").map(|(_, m)| m.replace(root, "T")))
                    .collect::<Vec<_>>()
            };
            assert_eq!(lines(&err, "ours"), lines(&rerr, "theirs"), "{args:?}");
            assert_eq!(
                common::tree(&d.join("ours")).keys().collect::<Vec<_>>(),
                common::tree(&d.join("theirs")).keys().collect::<Vec<_>>(),
                "{args:?}"
            );
            std::fs::remove_dir_all(d.join("ours")).unwrap();
            std::fs::remove_dir_all(d.join("theirs")).unwrap();
        }
    }
    // --max-delete holds here as for any delete: one of the two extra copies goes, then
    // the run stops with rclone's fatal-error code.
    make(d, "limited");
    let (code, _, err) = ferry_in(
        d,
        &[
            "dedupe",
            "--by-hash",
            "first",
            "--max-delete",
            "1",
            "limited",
        ],
    );
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("--max-delete threshold reached"), "{err}");
    assert_eq!(common::tree(&d.join("limited")).len(), 3, "{err}");
    // Interactive, on standard input: keep the second of the first group (after a number
    // out of range), skip the second group.
    make(d, "t");
    write_file(&d.join("t/e.txt"), b"other\n", 60);
    write_file(&d.join("t/sub/f.txt"), b"other\n", 60);
    let mut child = common::ferry()
        .current_dir(d)
        .args(["dedupe", "--by-hash", "t"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"k\n9\n2\ns\n")
        .unwrap();
    let (code, out, err) = common::split(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Out of range - 1 to 3 inclusive"), "{out}");
    assert!(out.contains("s/k/q> "), "{out}");
    let left: Vec<_> = common::tree(&d.join("t")).into_keys().collect();
    assert_eq!(left, ["c.txt", "d.txt", "e.txt", "sub/f.txt"]);
}

#[test]
fn tree_sorts_quotes_and_paths_as_rclone() {
    let Some(bin) = rclone() else { return };
    let s = Scratch::new();
    s.write("src/z", "1", 3 * 86_400);
    s.write("src/c", "4444", 60);
    s.write("src/v10", "v", 60);
    s.write("src/v9", "v", 60);
    s.write("src/b/y", "22", 60);
    s.write("src/a/x", "333", 60);
    set_age(&s.path("src/a"), 5 * 86_400);
    set_age(&s.path("src/b"), 86_400);
    let out = s.path("tree.txt").display().to_string();
    let src = s.src();
    for flags in [
        &[][..],
        &["-r"],
        &["-t"],
        &["-t", "-r"],
        &["-U"],
        &["-Q"],
        &["--full-path"],
        &["--full-path", "-Q", "-s"],
        &["-p", "-s"],
        &["--sort", "size"],
        &["--sort", "size", "-r"],
        &["--sort", "version"],
        &["--version"],
        &["--sort", "bogus"],
        &["--noindent"],
        &["--dirsfirst", "-r"],
        &["--dirsfirst", "-t"],
        &["--dirsfirst", "--sort", "size"],
    ] {
        let mut args = vec!["tree", src.as_str()];
        args.extend(flags);
        let (code, ours, err) = run(&args);
        assert_eq!(code, 0, "{flags:?}: {err}");
        let (_, theirs, _) = rclone_in(&bin, s.path("").as_path(), &args);
        assert_eq!(ours, theirs, "tree {flags:?}");
    }
    // -o writes the same text to a file instead.
    let (code, printed, _) = run(&["tree", &src, "-o", &out]);
    assert_eq!((code, printed.as_str()), (0, ""));
    let (_, shown, _) = run(&["tree", &src]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), shown);
}

/// `--disable`: `help` lists rclone's feature names as rclone does (exit 1); `!NAME`
/// (turning a feature on) is refused; a local move without Move is a copy and a delete.
#[test]
fn disable_lists_refuses_and_turns_moves_off() {
    let Some(bin) = rclone() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("t")).unwrap();
    let (code, _, err) = ferry_in(d, &["lsf", "t", "--disable", "help"]);
    assert_eq!(code, 1, "{err}");
    let (rcode, _, rerr) = rclone_in(&bin, d, &["lsf", "t", "--disable", "help"]);
    assert_eq!(rcode, 1, "{rerr}");
    let list = |s: &str| {
        s.split("Possible backend features are: ")
            .nth(1)
            .map(|l| l.lines().next().unwrap_or("").to_owned())
    };
    assert!(list(&err).is_some(), "{err}");
    assert_eq!(list(&err), list(&rerr));
    let (code, _, err) = ferry_in(d, &["lsf", "t", "--disable", "Copy,!Move"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--disable !Move"), "{err}");
    write_file(&d.join("t/a.txt"), b"aaa", 100);
    // An existing destination: no directory move (rclone's DirMove), file by file.
    std::fs::create_dir(d.join("u")).unwrap();
    let (code, _, err) = ferry_in(d, &["move", "t", "u", "-v", "--disable", "move"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("a.txt: Copied (new)"), "{err}");
    assert!(!err.contains("Moved"), "{err}");
    assert_eq!(std::fs::read(d.join("u/a.txt")).unwrap(), b"aaa");
    assert!(!d.join("t/a.txt").exists());
}

/// The lines housekeeping commands log with `-v` or `--dry-run` are rclone's: the root
/// named as the remote, and a dry run counting a directory as empty once all it holds
/// would have gone.
#[test]
fn housekeeping_logs_the_lines_rclone_logs() {
    let Some(bin) = rclone() else { return };
    let make = |d: &Path| {
        let _ = std::fs::remove_dir_all(d.join("dst"));
        std::fs::create_dir_all(d.join("dst/e/f")).unwrap();
        std::fs::create_dir_all(d.join("dst/g/h")).unwrap();
        std::fs::write(d.join("dst/e/file.txt"), "x").unwrap();
    };
    let messages = |err: &str| -> Vec<String> {
        err.lines()
            .filter(|l| !l.contains("Config file"))
            .map(|l| l.get(20..).unwrap_or(l).to_owned())
            .collect()
    };
    let d = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 9] = [
        &["rmdirs", "dst", "-v"],
        &["rmdirs", "dst", "--dry-run"],
        &["rmdirs", "dst/g", "--dry-run"],
        &["purge", "dst/e", "--dry-run"],
        &["purge", "dst/e", "-v"],
        &["mkdir", "dst/new", "--dry-run"],
        &["mkdir", "dst/e", "-v"],
        &["rmdir", "dst/e/f", "--dry-run"],
        &["rmdir", "dst/e/f", "-v"],
    ];
    for args in cases {
        make(d.path());
        let (rc, _, rerr) = rclone_in(&bin, d.path(), args);
        let rtree = lsf(d.path(), "dst");
        make(d.path());
        let (fc, _, ferr) = ferry_in(d.path(), args);
        assert_eq!(messages(&ferr), messages(&rerr), "{args:?}");
        assert_eq!(fc, rc, "{args:?}: {ferr}");
        assert_eq!(lsf(d.path(), "dst"), rtree, "{args:?}");
    }
}

/// Dry runs and backups say what rclone's say: the directory whose time a copy would
/// change, a move rclone would make as one rename, a backup kept under its own name.
#[test]
fn dry_runs_and_backups_log_the_lines_rclone_logs() {
    let Some(bin) = rclone() else { return };
    let make = |d: &Path| {
        for sub in ["src", "dst", "bk"] {
            let _ = std::fs::remove_dir_all(d.join(sub));
        }
        std::fs::create_dir_all(d.join("src/d1/d2")).unwrap();
        std::fs::write(d.join("src/a.txt"), "a").unwrap();
        std::fs::write(d.join("src/d1/b.txt"), "bb").unwrap();
        std::fs::write(d.join("src/d1/d2/c.txt"), "ccc").unwrap();
        let cp = std::process::Command::new("cp")
            .args(["-a", "src", "dst"])
            .current_dir(d)
            .status()
            .unwrap();
        assert!(cp.success());
        std::fs::write(d.join("dst/d1/b.txt"), "changed").unwrap();
        std::fs::create_dir_all(d.join("dst/old")).unwrap();
        std::fs::write(d.join("dst/old/z.txt"), "z").unwrap();
    };
    // Log lines without time or the stats block, in any order.
    let messages = |err: &str| -> Vec<String> {
        let mut m: Vec<String> = err
            .lines()
            .filter(|l| l.len() > 20 && l.as_bytes()[4] == b'/' && !l.contains("Config file"))
            .map(|l| l[20..].trim_end().to_owned())
            .filter(|l| !l.ends_with(':'))
            .collect();
        m.sort();
        m
    };
    let d = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 5] = [
        &["sync", "src", "dst", "--dry-run"],
        &["sync", "src", "dst", "--backup-dir", "bk", "--dry-run"],
        &["move", "src/d1", "fresh/d1", "--dry-run"],
        &[
            "move",
            "src/d1",
            "dst/d1",
            "--dry-run",
            "--include",
            "*.txt",
        ],
        &["sync", "src", "dst", "--suffix", ".bak", "--dry-run"],
    ];
    for args in cases {
        make(d.path());
        let (rc, _, rerr) = rclone_in(&bin, d.path(), args);
        make(d.path());
        let (fc, _, ferr) = ferry_in(d.path(), args);
        assert_eq!(messages(&ferr), messages(&rerr), "{args:?}");
        assert_eq!(fc, rc, "{args:?}: {ferr}");
    }
    // A real backup under the same name: "Moved (server-side)", no new name.
    make(d.path());
    let (code, _, err) = ferry_in(
        d.path(),
        &["sync", "src", "dst", "--backup-dir", "bk", "-v"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("INFO  : d1/b.txt: Moved (server-side)\n"),
        "{err}"
    );
    assert!(d.path().join("bk/old/z.txt").exists());
}
