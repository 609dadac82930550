//! Never delete once anything failed: an entry a listing could not read is an error of
//! the run, whichever backend it comes from, and blocks every delete.

use std::os::unix::fs::symlink;
use std::process::Command;

use ferry_testbed::Testbed;

use super::common::{split, Scratch};

/// Source `a.txt` plus an entry the source can't read; destination `a.txt` and an
/// extraneous `extra.txt` that a sync would delete if nothing had failed.
fn dst_with_extra(sc: &Scratch) {
    sc.write("dst/a.txt", "a", 100);
    sc.write("dst/extra.txt", "keep me", 100);
}

#[test]
fn never_deletes_after_a_dangling_link_under_copy_links() {
    let sc = Scratch::new();
    sc.write("src/a.txt", "a", 100);
    symlink(sc.path("nowhere"), sc.path("src/dangling")).unwrap();
    dst_with_extra(&sc);
    let (code, _, err) = split(
        super::common::ferry()
            .args(["sync", "-L", &sc.src(), &sc.dst()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("dangling: can't follow symlink"), "{err}");
    assert!(
        err.contains("not deleting files as there were IO errors"),
        "{err}"
    );
    assert!(
        sc.exists("dst/extra.txt"),
        "a delete ran after an error: {err}"
    );
    // Both the unreadable entry and the refusal count, as rclone's.
    assert!(
        err.contains("Failed to sync with 2 errors: last error was: not deleting files as there were IO errors"),
        "{err}"
    );
    // --ignore-errors is the one way past it (the run still reports its error).
    let (code, _, err) = split(
        super::common::ferry()
            .args(["sync", "-L", "--ignore-errors", &sc.src(), &sc.dst()])
            .output()
            .unwrap(),
    );
    assert_ne!(code, 0, "{err}");
    assert!(!sc.exists("dst/extra.txt"), "{err}");
}

#[test]
fn never_deletes_after_a_dangling_link_in_a_subdirectory() {
    let sc = Scratch::new();
    sc.write("src/d/a.txt", "a", 100);
    symlink("/nonexistent/ferry-target", sc.path("src/d/b.txt")).unwrap();
    sc.write("dst/d/a.txt", "a", 100);
    sc.write("dst/d/b.txt", "the old b", 100);
    let (code, _, err) = super::common::run(&["sync", "-L", &sc.src(), &sc.dst()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(sc.read("dst/d/b.txt"), "the old b", "{err}");
}

#[test]
fn never_deletes_after_a_hostile_key_from_s3() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    // Keys no relative path can stand for, put by a raw request (clients refuse them).
    for key in ["h/..%2F..%2Fescaped.txt", "h/a.txt"] {
        put_raw(&s3.endpoint, &s3.bucket, key);
    }
    dst_with_extra(&sc);
    let (code, _, err) = split(
        super::common::cloud()
            .args(["sync", &s3.rclone_path("h"), &sc.dst()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a safe relative path"), "{err}");
    assert!(sc.exists("dst/extra.txt"), "{err}");
}

#[test]
fn never_deletes_after_a_dangling_link_on_sftp() {
    let Some(s) = Testbed::sftp() else { return };
    let sc = Scratch::new();
    let remote_dir = std::path::Path::new(&s.dir);
    std::fs::write(remote_dir.join("a.txt"), "a").unwrap();
    symlink("/nonexistent/ferry-target", remote_dir.join("gone.txt")).unwrap();
    dst_with_extra(&sc);
    sc.write("dst/gone.txt", "the last copy", 100);
    let src = format!("{}{}", s.rclone_remote(), s.dir);
    let (code, _, err) = split(
        super::common::cloud()
            .args(["sync", &src, &sc.dst()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("gone.txt: can't follow symlink"), "{err}");
    assert!(sc.exists("dst/extra.txt"), "{err}");
    assert_eq!(sc.read("dst/gone.txt"), "the last copy");
}

/// PUTs an object with a key no client library would send, through curl (moto accepts
/// any signature).
fn put_raw(endpoint: &str, bucket: &str, key: &str) {
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
    let out = Command::new("curl")
        .args(["-s", "--path-as-is", "-X", "PUT", "-H"])
        .arg(format!("Authorization: {auth}"))
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .args(["--data-binary", "hostile"])
        .arg(format!("{endpoint}/{bucket}/{key}"))
        .output()
        .expect("curl runs");
    assert!(out.status.success());
}

/// `--max-delete` and `--max-delete-size` bound `delete`, `purge` and `deletefile` as they
/// bound a sync's deletes (rclone applies them to every delete): the files over the limit
/// stay, with their directories, and the command fails with the fatal-error code 7.
#[test]
fn delete_purge_and_deletefile_keep_to_the_delete_limits() {
    let sc = Scratch::new();
    let fill = |dir: &str| {
        for i in 1..=4 {
            sc.write(&format!("{dir}/f{i}.txt"), "12345", 100);
        }
        sc.write(&format!("{dir}/sub/g.txt"), "12345", 100);
    };
    let left = |dir: &str| super::common::tree(&sc.path(dir)).len();
    let run = |args: &[&str]| split(super::common::ferry().args(args).output().unwrap());
    for (i, (cmd, limit)) in [
        ("delete", ["--max-delete", "2"]),
        ("purge", ["--max-delete", "2"]),
        ("delete", ["--max-delete-size", "12B"]),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = format!("t{i}");
        fill(&dir);
        let (code, _, err) = run(&[cmd, &sc.path(&dir).to_string_lossy(), limit[0], limit[1]]);
        assert_eq!(code, 7, "{cmd} {limit:?}: {err}");
        assert!(err.contains("threshold reached"), "{err}");
        assert_eq!(left(&dir), 3, "{cmd} {limit:?} deletes 2 files of 5: {err}");
        // A dry run says the same and deletes nothing.
        let dry = format!("d{i}");
        fill(&dry);
        let (code, _, err) = run(&[
            cmd,
            "-n",
            &sc.path(&dry).to_string_lossy(),
            limit[0],
            limit[1],
        ]);
        assert_eq!(code, 7, "{err}");
        assert_eq!(left(&dry), 5, "{err}");
    }
    // Within the limits nothing is refused.
    fill("ok");
    let (code, _, err) = run(&[
        "delete",
        &sc.path("ok").to_string_lossy(),
        "--max-delete",
        "5",
    ]);
    assert_eq!((code, left("ok")), (0, 0), "{err}");
    sc.write("one/f.txt", "12345", 100);
    let file = sc.path("one/f.txt").to_string_lossy().into_owned();
    let (code, _, err) = run(&["deletefile", &file, "--max-delete", "0"]);
    assert_eq!(code, 7, "{err}");
    assert!(sc.exists("one/f.txt"), "{err}");
    let (code, _, err) = run(&["deletefile", &file, "--max-delete-size", "4B"]);
    assert_eq!(code, 7, "{err}");
    assert!(sc.exists("one/f.txt"), "{err}");
    let (code, _, err) = run(&[
        "deletefile",
        &file,
        "--max-delete",
        "1",
        "--max-delete-size",
        "5B",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!sc.exists("one/f.txt"), "{err}");
}
