//! `--metadata/-M`, `--metadata-set` and the metadata filters end to end: local trees,
//! and round trips through the testbed's S3, SFTP and Azure servers, with rclone 1.75's
//! `lsjson -M` as the reference. Server tests skip (or fail under `CI=true`) when their
//! server is not running; the xattr checks fail with a clear message, never skip, under
//! `CI=true` when no usable directory supports `user.*` attributes.

#![cfg(unix)]

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{split, write_file};
use ferry_testbed::Testbed;
use serde_json::Value;

fn fy() -> Command {
    let mut c = common::cloud();
    c.env("TZ", "UTC");
    c
}

fn fy_run(args: &[&str]) -> (i32, String, String) {
    split(fy().args(args).output().expect("ferry runs"))
}

#[track_caller]
fn fy_ok(args: &[&str]) -> String {
    common::ok_with(fy(), args).0
}

#[track_caller]
fn rclone_ok(mut c: Command, args: &[&str]) -> String {
    c.env("TZ", "UTC");
    String::from_utf8(ferry_testbed::run(c.args(args))).unwrap()
}

/// `lsjson -M -R` output as path → metadata.
fn metadata_by_path(json: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let items: Vec<Value> = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    items
        .into_iter()
        .filter(|i| i["IsDir"] == Value::Bool(false))
        .map(|i| {
            let m = i["Metadata"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            (i["Path"].as_str().unwrap().to_owned(), m)
        })
        .collect()
}

fn lsjson(remote: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    metadata_by_path(&fy_ok(&["lsjson", "-M", "-R", "--files-only", remote]))
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn set_times(p: &Path, atime: SystemTime, mtime: SystemTime) {
    filetime::set_file_times(
        p,
        filetime::FileTime::from_system_time(atime),
        filetime::FileTime::from_system_time(mtime),
    )
    .unwrap();
}

const T_MTIME: u64 = 1_683_356_889;
const T_ATIME: u64 = 1_690_000_000;

/// A scratch directory whose filesystem keeps `user.*` extended attributes: the system
/// temp dir, else `$FERRY_TEST_XATTR_DIR`, else the build's target directory. `None`
/// (with a notice) when none does; under `CI=true` that is a failure, never a skip.
fn xattr_scratch() -> Option<tempfile::TempDir> {
    let mut candidates = vec![std::env::temp_dir()];
    if let Some(d) = std::env::var_os("FERRY_TEST_XATTR_DIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    for dir in &candidates {
        let Ok(t) = tempfile::tempdir_in(dir) else {
            continue;
        };
        let probe = t.path().join("probe");
        std::fs::write(&probe, b"").unwrap();
        if xattr::set(&probe, "user.ferry-probe", b"1").is_ok() {
            std::fs::remove_file(&probe).unwrap();
            return Some(t);
        }
    }
    let msg = format!(
        "no directory supporting user.* extended attributes among {candidates:?}; \
         set FERRY_TEST_XATTR_DIR to one on ext4, xfs or btrfs"
    );
    if Testbed::in_ci() {
        panic!("CI=true: {msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// `src/` with two files: `a.txt` (0600, fixed times, xattr `user.owner=alice`) and
/// `dir/b.bin` (0644).
fn source_tree(root: &Path) -> PathBuf {
    let src = root.join("src");
    write_file(&src.join("a.txt"), b"hello", 0);
    write_file(&src.join("dir/b.bin"), b"\x00\x01binary", 0);
    let a = src.join("a.txt");
    set_mode(&a, 0o600);
    set_mode(&src.join("dir/b.bin"), 0o644);
    xattr::set(&a, "user.owner", b"alice").unwrap();
    set_times(
        &a,
        UNIX_EPOCH + Duration::from_secs(T_ATIME),
        UNIX_EPOCH + Duration::new(T_MTIME, 123_456_789),
    );
    src
}

#[test]
fn local_lsjson_metadata_matches_rclone() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    let Some(t) = xattr_scratch() else { return };
    let src = source_tree(t.path());
    let s = src.to_str().unwrap();
    let ours = lsjson(s);
    let theirs = metadata_by_path(&rclone_ok(
        ferry_testbed::rclone(&rclone),
        &["lsjson", "-M", "-R", "--files-only", s],
    ));
    assert_eq!(ours, theirs);
    let a = &ours["a.txt"];
    assert_eq!(a["mode"], "100600");
    assert_eq!(a["owner"], "alice");
    assert_eq!(a["mtime"], "2023-05-06T07:08:09.123456789Z");
    assert_eq!(a["atime"], "2023-07-22T04:26:40Z");
    // lsf's M column and the metadata filters select the same files as rclone's.
    for args in [
        vec![
            "lsf",
            "-R",
            "--files-only",
            "--metadata-include",
            "mode=100600",
            s,
        ],
        vec![
            "lsf",
            "-R",
            "--files-only",
            "--metadata-exclude",
            "owner=al*",
            s,
        ],
        vec![
            "lsf",
            "-R",
            "--files-only",
            "--metadata-filter",
            "+ [am]time=2023-0[57]*",
            "--metadata-filter",
            "- **",
            s,
        ],
    ] {
        let (ours, theirs) = (
            fy_ok(&args),
            rclone_ok(ferry_testbed::rclone(&rclone), &args),
        );
        assert_eq!(ours, theirs, "{args:?}");
    }
    assert_eq!(
        fy_ok(&[
            "lsf",
            "-R",
            "--files-only",
            "--metadata-include",
            "mode=100600",
            s
        ]),
        "a.txt\n"
    );
}

#[test]
fn local_copy_keeps_mode_times_and_xattrs_only_with_m() {
    let Some(t) = xattr_scratch() else { return };
    let src = source_tree(t.path());
    let (s, plain, meta) = (
        src.to_str().unwrap(),
        t.path().join("plain"),
        t.path().join("meta"),
    );
    fy_ok(&["copy", s, plain.to_str().unwrap()]);
    let a = plain.join("a.txt");
    assert_eq!(
        xattr::get(&a, "user.owner").unwrap(),
        None,
        "no -M: no xattrs"
    );
    // That read moved the source's atime (relatime); -M carries the atime it then has.
    set_times(
        &src.join("a.txt"),
        UNIX_EPOCH + Duration::from_secs(T_ATIME),
        UNIX_EPOCH + Duration::new(T_MTIME, 123_456_789),
    );
    fy_ok(&[
        "copy",
        "-M",
        "--metadata-set",
        "project=ferry",
        "--metadata-set",
        "mode=100640",
        "--metadata-exclude",
        "mode=100644",
        s,
        meta.to_str().unwrap(),
    ]);
    let a = meta.join("a.txt");
    assert_eq!(
        mode_of(&a),
        0o640,
        "--metadata-set wins over the source's mode"
    );
    assert_eq!(xattr::get(&a, "user.owner").unwrap().unwrap(), b"alice");
    assert_eq!(xattr::get(&a, "user.project").unwrap().unwrap(), b"ferry");
    let m = std::fs::metadata(&a).unwrap();
    assert_eq!(
        m.accessed().unwrap(),
        UNIX_EPOCH + Duration::from_secs(T_ATIME)
    );
    assert_eq!(
        m.modified().unwrap(),
        UNIX_EPOCH + Duration::new(T_MTIME, 123_456_789)
    );
    assert!(
        !meta.join("dir/b.bin").exists(),
        "--metadata-exclude mode=100644 leaves b.bin out"
    );
}

#[test]
fn bad_metadata_set_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    let (s, d) = (t.path().join("s"), t.path().join("d"));
    std::fs::create_dir(&s).unwrap();
    let (code, out, err) = fy_run(&[
        "copy",
        "-M",
        "--metadata-set",
        "novalue",
        s.to_str().unwrap(),
        d.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("--metadata-set") && err.contains("key=value"),
        "{err}"
    );
}

/// Content headers given with `--metadata-set`, as S3 and Azure store them.
const HEADERS: [(&str, &str); 5] = [
    ("content-type", "text/x-ferry"),
    ("cache-control", "no-cache"),
    ("content-disposition", "attachment"),
    ("content-encoding", "identity"),
    ("content-language", "en-GB"),
];

fn header_flags() -> Vec<String> {
    HEADERS
        .iter()
        .flat_map(|(k, v)| ["--metadata-set".to_owned(), format!("{k}={v}")])
        .collect()
}

#[track_caller]
fn assert_headers(m: &BTreeMap<String, String>) {
    for (k, v) in HEADERS {
        assert_eq!(m.get(k).map(String::as_str), Some(v), "{k} in {m:?}");
    }
}

#[test]
fn s3_round_trip_and_content_headers() {
    let Some(xt) = xattr_scratch() else { return };
    let Some(s3) = Testbed::s3() else { return };
    let src = source_tree(xt.path());
    let s = src.to_str().unwrap();
    let up = s3.rclone_path("up");
    let mut args = vec!["copy", "-M", s, &up];
    let flags = header_flags();
    args.extend(flags.iter().map(String::as_str));
    fy_ok(&args);

    // What S3 holds reads the same through rclone.
    let ours = lsjson(&up);
    let theirs = metadata_by_path(&rclone_ok(
        s3.rclone(),
        &["lsjson", "-M", "-R", "--files-only", &up],
    ));
    assert_eq!(ours, theirs);
    let a = &ours["a.txt"];
    assert_eq!(a["mode"], "100600");
    assert_eq!(a["owner"], "alice");
    assert_eq!(a["mtime"], "2023-05-06T07:08:09.123456789Z");
    assert_eq!(a["tier"], "STANDARD");
    assert_headers(a);

    // Server-side copies keep the headers: COPY without -M, REPLACE with it.
    let (plain, meta) = (s3.rclone_path("plain"), s3.rclone_path("meta"));
    fy_ok(&["copy", &up, &plain]);
    fy_ok(&["copy", "-M", "--metadata-set", "extra=1", &up, &meta]);
    assert_headers(&lsjson(&plain)["a.txt"]);
    let m = lsjson(&meta);
    assert_headers(&m["a.txt"]);
    assert_eq!(m["a.txt"]["extra"], "1");
    assert_eq!(m["a.txt"]["owner"], "alice");

    // Back to local: mode, times and user keys (the headers become xattrs, as in rclone).
    let down = xt.path().join("down");
    fy_ok(&["copy", "-M", &up, down.to_str().unwrap()]);
    let a = down.join("a.txt");
    assert_eq!(mode_of(&a), 0o600);
    assert_eq!(xattr::get(&a, "user.owner").unwrap().unwrap(), b"alice");
    assert_eq!(
        xattr::get(&a, "user.content-type").unwrap().unwrap(),
        b"text/x-ferry"
    );
    assert_eq!(
        std::fs::metadata(&a).unwrap().modified().unwrap(),
        UNIX_EPOCH + Duration::new(T_MTIME, 123_456_789)
    );

    // ...and up again (a download and an upload): the headers are S3 headers again.
    let again = s3.rclone_path("again");
    fy_ok(&["copy", "-M", down.to_str().unwrap(), &again]);
    assert_headers(&lsjson(&again)["a.txt"]);

    // Metadata filters select S3 objects by their metadata.
    assert_eq!(
        fy_ok(&[
            "lsf",
            "-R",
            "--files-only",
            "--metadata-include",
            "owner=alice",
            &up
        ]),
        "a.txt\n"
    );
}

#[test]
fn sftp_round_trip_keeps_mode_and_mtime() {
    let Some(sftp) = Testbed::sftp() else { return };
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    write_file(&src.join("x.sh"), b"#!/bin/sh\n", 0);
    write_file(&src.join("y.txt"), b"y", 0);
    set_mode(&src.join("x.sh"), 0o750);
    set_mode(&src.join("y.txt"), 0o604);
    let when = UNIX_EPOCH + Duration::from_secs(T_MTIME);
    set_times(&src.join("x.sh"), when, when);
    let remote = sftp.rclone_path("m");
    fy_ok(&["copy", "-M", src.to_str().unwrap(), &remote]);
    let m = lsjson(&remote);
    assert_eq!(m["x.sh"]["mode"], "100750");
    assert_eq!(m["y.txt"]["mode"], "100604");
    assert_eq!(m["x.sh"]["mtime"], "2023-05-06T07:08:09Z");
    assert!(m["x.sh"].contains_key("uid") && m["x.sh"].contains_key("gid"));

    let back = t.path().join("back");
    fy_ok(&["copy", "-M", &remote, back.to_str().unwrap()]);
    assert_eq!(mode_of(&back.join("x.sh")), 0o750);
    assert_eq!(mode_of(&back.join("y.txt")), 0o604);
    assert_eq!(
        std::fs::metadata(back.join("x.sh"))
            .unwrap()
            .modified()
            .unwrap(),
        when
    );

    // Without -M the server's default mode applies, as it does for rclone.
    let plain = sftp.rclone_path("plain");
    fy_ok(&["copy", src.to_str().unwrap(), &plain]);
    assert_ne!(lsjson(&plain)["x.sh"]["mode"], "100750");
}

#[test]
fn azure_metadata_and_content_headers() {
    let Some(xt) = xattr_scratch() else { return };
    let Some(az) = Testbed::azure() else { return };
    let src = source_tree(xt.path());
    let up = az.rclone_path("up");
    let flags = header_flags();
    let mut args = vec!["copy", "-M", src.to_str().unwrap(), &up];
    args.extend(flags.iter().map(String::as_str));
    fy_ok(&args);
    let m = lsjson(&up);
    let a = &m["a.txt"];
    assert_eq!(a["mode"], "100600");
    assert_eq!(a["owner"], "alice");
    assert_eq!(a["mtime"], "2023-05-06T07:08:09.123456789Z");
    assert_headers(a);
    // rclone reads the same user keys and mtime.
    let theirs = metadata_by_path(&rclone_ok(
        az.rclone(),
        &["lsjson", "-M", "-R", "--files-only", &up],
    ));
    for k in ["mode", "owner", "uid", "gid", "mtime"] {
        assert_eq!(theirs["a.txt"].get(k), a.get(k), "{k}");
    }

    // A server-side copy with -M and a changed header.
    let copy = az.rclone_path("copy");
    fy_ok(&[
        "copy",
        "-M",
        "--metadata-set",
        "cache-control=max-age=60",
        &up,
        &copy,
    ]);
    let c = &lsjson(&copy)["a.txt"];
    assert_eq!(c["cache-control"], "max-age=60");
    assert_eq!(c["content-type"], "text/x-ferry");
    assert_eq!(c["owner"], "alice");
    fy_ok(&["check", &up, &copy]);

    // Down to local and back: mode, and the headers through xattrs.
    let down = xt.path().join("down");
    fy_ok(&["copy", "-M", &up, down.to_str().unwrap()]);
    assert_eq!(mode_of(&down.join("a.txt")), 0o600);
    let again = az.rclone_path("again");
    fy_ok(&["copy", "-M", down.to_str().unwrap(), &again]);
    assert_headers(&lsjson(&again)["a.txt"]);
}
