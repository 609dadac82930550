//! The SMB backend end to end: the `ferry` binary against the testbed's Samba smbd
//! (127.0.0.1:4455, one share), with rclone 1.75 reading what ferry wrote and the other
//! way. Every test skips (or fails under `CI=true`) when the server is not running.

use crate::common;
use common::sorted_lines;

use std::path::Path;

use common::{cloud_ok, cloud_run, write_file, Scratch};
use ferry_testbed::{Smb, Testbed};

use common::transfers_deletes_errors as stats_of;

/// Names Windows can't store as they are (rclone's smb encoding), and plain ones.
const NAMES: [&str; 8] = [
    "plain.txt",
    "with space.txt",
    "what?.txt",
    "colon:star*.txt",
    "ünïcødé/日本語.txt",
    "trailing dot.",
    "pipe|lt<gt>.txt",
    "deep/er/still/leaf+plus=eq.bin",
];

fn tree(root: &Path) {
    common::write_named(root, &NAMES);
}

fn rclone_ok(s: &Smb, args: &[&str]) -> String {
    String::from_utf8(ferry_testbed::run(s.rclone().args(args))).unwrap()
}

#[test]
fn sync_then_nothing_to_do_and_rclone_agrees() {
    let Some(smb) = Testbed::smb() else { return };
    let s = Scratch::new();
    tree(&s.path("src"));
    let remote = smb.rclone_path("tree");
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (NAMES.len() as u64, 0, 0));
    // Times are kept: nothing to do the second time.
    let (_, err) = cloud_ok(&["sync", &s.src(), &remote, "--use-json-log", "-v"]);
    assert_eq!(stats_of(&err), (0, 0, 0));
    // rclone lists the same names, sizes and times, and finds every byte equal.
    let fmt = ["lsf", "-R", "--files-only", "--format", "pst"];
    assert_eq!(
        sorted_lines(&rclone_ok(&smb, &[&fmt[..], &[remote.as_str()]].concat())),
        sorted_lines(&rclone_ok(&smb, &[&fmt[..], &[s.src().as_str()]].concat())),
    );
    rclone_ok(&smb, &["check", "--download", &s.src(), &remote]);
    // ferry's own listing and check say the same.
    let (out, _) = cloud_ok(&["lsf", "-R", "--files-only", "--format", "pst", &remote]);
    assert_eq!(
        sorted_lines(&out),
        sorted_lines(&rclone_ok(&smb, &[&fmt[..], &[remote.as_str()]].concat()))
    );
    cloud_ok(&["check", "--download", &s.src(), &remote]);
    cloud_ok(&["check", &s.src(), &remote]);
    // And back: a copy down gives the same tree.
    cloud_ok(&["copy", &remote, &s.dst()]);
    let (a, b) = (s.path("src"), s.path("dst"));
    for name in NAMES {
        assert_eq!(
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
            "{name}"
        );
    }
    // The server's top level lists the share, as rclone's does.
    let (out, _) = cloud_ok(&["lsf", &smb.rclone_remote()]);
    assert_eq!(out, rclone_ok(&smb, &["lsf", &smb.rclone_remote()]));
}

#[test]
fn ferry_takes_over_what_rclone_wrote() {
    let Some(smb) = Testbed::smb() else { return };
    let s = Scratch::new();
    tree(&s.path("src"));
    let remote = smb.rclone_path("tree");
    rclone_ok(&smb, &["sync", &s.src(), &remote]);
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
    rclone_ok(&smb, &["check", "--download", &s.src(), &remote]);
    // And rclone finds nothing to do after ferry.
    let out = rclone_ok(&smb, &["sync", &s.src(), &remote, "-v", "--stats-one-line"]);
    assert!(!out.contains("Copied"), "{out}");
}

#[test]
fn a_config_file_remote_works_as_rclone_wrote_it() {
    let Some(smb) = Testbed::smb() else { return };
    let s = Scratch::new();
    let conf = s.path("rclone.conf");
    std::fs::write(
        &conf,
        format!(
            "[nas]\ntype = smb\nhost = {}\nport = {}\nuser = {}\npass = {}\n",
            smb.host, smb.port, smb.user, smb.obscured
        ),
    )
    .unwrap();
    write_file(&s.path("src/a.txt"), b"a", 1000);
    let target = format!("nas:{}", smb.path("conf"));
    let c = conf.to_str().unwrap();
    cloud_ok(&["--config", c, "copy", &s.src(), &target]);
    let listed = rclone_ok(&smb, &["lsf", &smb.rclone_path("conf")]);
    assert_eq!(listed.trim(), "a.txt");
    cloud_ok(&["--config", c, "copy", &target, &s.dst()]);
    assert_eq!(std::fs::read(s.path("dst/a.txt")).unwrap(), b"a");
    let (src_t, dst_t) = (
        std::fs::metadata(s.path("src/a.txt"))
            .unwrap()
            .modified()
            .unwrap(),
        std::fs::metadata(s.path("dst/a.txt"))
            .unwrap()
            .modified()
            .unwrap(),
    );
    let diff = src_t
        .duration_since(dst_t)
        .or(dst_t.duration_since(src_t))
        .unwrap();
    assert!(diff.as_millis() < 1, "{diff:?}");
}

/// A wrong password and a server that isn't there: one clear line each, no secret, and
/// the exit code rclone gives for the same.
#[test]
fn a_wrong_password_and_a_dead_server_are_one_clear_line() {
    let Some(smb) = Testbed::smb() else { return };
    let bad = rclone_ok(&smb, &["obscure", "Xyzzy-not-it"]);
    let remote = format!(
        ":smb,host={},port={},user={},pass={}:{}",
        smb.host,
        smb.port,
        smb.user,
        bad.trim(),
        smb.path("")
    );
    let quick = ["--low-level-retries", "1", "--retries", "1"];
    let (code, out, err) = cloud_run(&[&quick[..], &["lsf", &remote]].concat());
    let rclone_code = smb
        .rclone()
        .args([&quick[..], &["lsf", &remote]].concat())
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(Some(code), rclone_code, "{err}");
    assert!(err.contains("login to 127.0.0.1:"), "{err}");
    assert!(err.contains("check user, pass and domain"), "{err}");
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
    let dead = format!(":smb,host=127.0.0.1,port={port},user=u:share");
    let (code, _, err) = cloud_run(&[&quick[..], &["lsf", &dead]].concat());
    let rclone_code = smb
        .rclone()
        .args([&quick[..], &["lsf", &dead]].concat())
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(Some(code), rclone_code, "{err}");
    assert!(
        err.contains(&format!("connection refused to 127.0.0.1:{port}")),
        "{err}"
    );
}
