//! The WebDAV backend end to end: the `ferry` binary against the testbed's Apache mod_dav
//! (127.0.0.1:8780, vendor `other`), with rclone 1.75 reading what ferry wrote and the
//! other way. Every test skips (or fails under `CI=true`) when the server is not running.

use crate::common;
use common::sorted_lines;

use std::path::Path;

use common::{cloud_ok, cloud_run, write_file, Scratch};
use ferry_testbed::{Testbed, WebDav};

use common::transfers_deletes_errors as stats_of;

/// Names that trip up URLs and XML, and a tab (`␉` in rclone's names).
const NASTY: [&str; 8] = [
    "plain.txt",
    "with space.txt",
    "hash#and?query.txt",
    "percent%20literal.txt",
    "ünïcødé/日本語.txt",
    "amp&lt;.xml",
    "tab\there",
    "deep/er/still/leaf+plus=eq.bin",
];

fn nasty_tree(root: &Path) {
    common::write_named(root, &NASTY);
}

fn rclone_ok(w: &WebDav, args: &[&str]) -> String {
    String::from_utf8(ferry_testbed::run(w.rclone().args(args))).unwrap()
}

#[test]
fn sync_then_nothing_to_do_and_rclone_agrees() {
    let Some(w) = Testbed::webdav() else { return };
    let s = Scratch::new();
    nasty_tree(&s.path("src"));
    let remote = w.rclone_path("tree");
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (NASTY.len() as u64, 0, 0));
    // A plain server keeps no times: sizes decide, and nothing has changed.
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0));
    // rclone lists the same names and sizes, and finds every byte equal.
    let fmt = ["lsf", "-R", "--files-only", "--format", "ps"];
    assert_eq!(
        sorted_lines(&rclone_ok(&w, &[&fmt[..], &[remote.as_str()]].concat())),
        sorted_lines(&rclone_ok(&w, &[&fmt[..], &[s.src().as_str()]].concat())),
    );
    rclone_ok(&w, &["check", "--download", &s.src(), &remote]);
    // ferry's own listing and check say the same.
    let (out, _) = cloud_ok(&["lsf", "-R", "--files-only", "--format", "ps", &remote]);
    assert_eq!(
        sorted_lines(&out),
        sorted_lines(&rclone_ok(&w, &[&fmt[..], &[remote.as_str()]].concat()))
    );
    cloud_ok(&["check", "--download", &s.src(), &remote]);
    // And back: a copy down gives the same tree.
    cloud_ok(&["copy", &remote, &s.dst()]);
    let (a, b) = (s.path("src"), s.path("dst"));
    for name in NASTY {
        assert_eq!(
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn ferry_takes_over_what_rclone_wrote() {
    let Some(w) = Testbed::webdav() else { return };
    let s = Scratch::new();
    nasty_tree(&s.path("src"));
    let remote = w.rclone_path("tree");
    rclone_ok(&w, &["sync", &s.src(), &remote]);
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0), "nothing re-sent");
    cloud_ok(&["check", &s.src(), &remote]);
    // A change on one side is one transfer, a file gone one delete.
    write_file(
        &s.path("src/plain.txt"),
        b"now a good deal longer than before",
        10,
    );
    std::fs::remove_file(s.path("src/with space.txt")).unwrap();
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (1, 1, 0));
    rclone_ok(&w, &["check", "--download", &s.src(), &remote]);
}

#[test]
fn a_config_file_remote_works_as_rclone_wrote_it() {
    let Some(w) = Testbed::webdav() else { return };
    let s = Scratch::new();
    let conf = s.path("rclone.conf");
    let pass = rclone_ok(&w, &["obscure", &w.password]);
    std::fs::write(
        &conf,
        format!(
            "[dav]\ntype = webdav\nurl = {}\nvendor = other\nuser = {}\npass = {}\n",
            w.url,
            w.user,
            pass.trim()
        ),
    )
    .unwrap();
    write_file(&s.path("src/a.txt"), b"a", 10);
    let target = format!("dav:{}", w.path("conf"));
    cloud_ok(&[
        "--config",
        conf.to_str().unwrap(),
        "copy",
        &s.src(),
        &target,
    ]);
    let listed = rclone_ok(&w, &["lsf", &w.rclone_path("conf")]);
    assert_eq!(listed.trim(), "a.txt");
    cloud_ok(&[
        "--config",
        conf.to_str().unwrap(),
        "copy",
        &target,
        &s.dst(),
    ]);
    // A plain server keeps its own times: the bytes come back, the times are its.
    assert_eq!(std::fs::read(s.path("dst/a.txt")).unwrap(), b"a");
}

#[test]
fn a_wrong_password_and_a_dead_server_are_one_clear_line() {
    let Some(w) = Testbed::webdav() else { return };
    let bad = rclone_ok(&w, &["obscure", "Xyzzy-not-it"]);
    let remote = format!(
        ":webdav,url='{}',user={},pass={}:{}",
        w.url,
        w.user,
        bad.trim(),
        w.dir
    );
    let (code, out, err) = cloud_run(&["lsf", &remote]);
    assert_ne!(code, 0);
    assert!(err.contains("refused the login (HTTP 401"), "{err}");
    assert!(err.contains("check the remote's user and pass"), "{err}");
    assert!(
        !err.contains("Xyzzy-not-it") && !out.contains("Xyzzy-not-it"),
        "{err}"
    );
    assert!(!err.contains(bad.trim()), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!(":webdav,url='http://127.0.0.1:{port}/':x");
    let (code, _, err) = cloud_run(&["lsf", "--low-level-retries", "1", "--retries", "1", &dead]);
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("connection refused to 127.0.0.1:{port}")),
        "{err}"
    );
}
