//! Round trips through ferry's engine, and rclone 1.75 taking over what ferry wrote (and
//! the other way), on the testbed's WebDAV server (vendor `other`: sizes decide).

mod common;

use std::process::Command;

use common::*;
use ferry_engine::Mode;
use ferry_testbed::{run as run_cmd, Testbed, WebDav};

/// A tree with nested folders, an empty file and names that need care (a local tab is
/// `␉` in rclone's and ferry's names; `?`, `#`, `%` need escaping in URLs).
const TREE: &[(&str, &[u8])] = &[
    ("a.txt", b"alpha"),
    ("empty", b""),
    ("dir/b c.txt", b"bravo charlie"),
    ("dir/deep/q?#%.bin", b"\x00\x01\x02 binary"),
    ("dir/deep/tab\there", b"tab"),
    (
        "\u{fc}n\u{ef}c\u{f8}d\u{e9}/\u{65e5}\u{672c}.md",
        b"unicode",
    ),
];

fn rclone(w: &WebDav) -> Command {
    w.rclone()
}

fn rclone_lines(w: &WebDav, args: &[&str]) -> Vec<String> {
    let out = run_cmd(rclone(w).args(args));
    let mut lines: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_copy_check_and_a_second_sync_that_transfers_nothing() {
    let Some(w) = Testbed::webdav() else { return };
    let (src_dir, src) = local(TREE);
    let dst = open(&w, "dst", &[]);
    let first = run(src.clone(), dst.clone(), Mode::Sync).await;
    assert_eq!(first.transfers, TREE.len() as u64);
    let again = run(src.clone(), dst.clone(), Mode::Sync).await;
    assert_eq!((again.transfers, again.deletes), (0, 0), "{again:?}");
    let report = check(src.clone(), dst.clone(), true).await;
    assert_eq!(report.differences(), 0, "{report:?}");
    assert_eq!(report.matching.len(), TREE.len());

    // A changed size is a transfer, a file gone from the source a delete.
    std::fs::write(src_dir.path().join("a.txt"), b"alpha, longer").unwrap();
    std::fs::remove_file(src_dir.path().join("dir/b c.txt")).unwrap();
    let changed = run(src.clone(), dst.clone(), Mode::Sync).await;
    assert_eq!((changed.transfers, changed.deletes), (1, 1), "{changed:?}");
    assert_eq!(read(&*dst, "a.txt", 0, None).await, b"alpha, longer");

    // And back down: a copy from the server into an empty folder gives the same bytes.
    let (back_dir, back) = local(&[]);
    run(dst.clone(), back, Mode::Copy).await;
    assert_eq!(
        std::fs::read(back_dir.path().join("dir/deep/tab\there")).unwrap(),
        b"tab"
    );
    assert_eq!(
        std::fs::read(back_dir.path().join("dir/deep/q?#%.bin")).unwrap(),
        b"\x00\x01\x02 binary"
    );
    let report = check(src, dst, true).await;
    assert_eq!(report.differences(), 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_reads_what_ferry_wrote() {
    let Some(w) = Testbed::webdav() else { return };
    let (src_dir, src) = local(TREE);
    run(src, open(&w, "dst", &[]), Mode::Sync).await;
    let local = src_dir.path().to_str().unwrap();
    let remote = w.rclone_path("dst");
    // Names and sizes as rclone lists them, then every byte compared by rclone itself.
    assert_eq!(
        rclone_lines(
            &w,
            &["lsf", "-R", "--files-only", "--format", "ps", &remote]
        ),
        rclone_lines(&w, &["lsf", "-R", "--files-only", "--format", "ps", local]),
    );
    run_cmd(rclone(&w).args(["check", "--download", local, &remote]));
    // rclone finds nothing to do over ferry's copy (and the count does see copies).
    assert_eq!(rclone_transfers(&w, local, &remote), 0);
    std::fs::write(src_dir.path().join("new.txt"), b"new").unwrap();
    assert_eq!(rclone_transfers(&w, local, &remote), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_reads_what_rclone_wrote() {
    let Some(w) = Testbed::webdav() else { return };
    let (src_dir, src) = local(TREE);
    let local = src_dir.path().to_str().unwrap();
    run_cmd(rclone(&w).args(["sync", local, &w.rclone_path("dst")]));
    let dst = open(&w, "dst", &[]);
    let report = check(src.clone(), dst.clone(), true).await;
    assert_eq!(report.differences(), 0, "{report:?}");
    assert_eq!(report.matching.len(), TREE.len());
    let again = run(src, dst, Mode::Sync).await;
    assert_eq!(
        (again.transfers, again.deletes),
        (0, 0),
        "ferry takes over rclone's copy: {again:?}"
    );
}

/// How many files `rclone sync` transfers from `src` to `dst` (from its JSON stats).
fn rclone_transfers(w: &WebDav, src: &str, dst: &str) -> u64 {
    let out = w
        .rclone()
        .args(["sync", "--use-json-log", "-v", "--stats", "0", src, dst])
        .output()
        .expect("rclone runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    log.lines()
        .filter(|l| l.contains("\"msg\":\"Copied"))
        .count() as u64
}
