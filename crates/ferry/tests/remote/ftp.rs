//! The FTP backend end to end: the `ferry` binary against the testbed's pure-ftpd
//! (127.0.0.1:2121, plain and explicit FTPS) and vsftpd (127.0.0.1:2990, implicit FTPS,
//! no MLSD), side by side with rclone 1.75. Every test skips (or fails under `CI=true`)
//! when the servers are missing. The servers run on this machine, so what they stored is
//! also checked on disk (`Ftp::local`).

use crate::common;

use std::path::Path;
use std::time::SystemTime;

use common::{cloud, cloud_ok, cloud_run, ok_with, split, write_file};
use ferry_testbed::{remote_of, Ftp, Testbed};

/// The remote string of `opts` at `rel` inside the test's directory.
fn at(ftp: &Ftp, opts: &[(&'static str, String)], rel: &str) -> String {
    format!("{}{}", remote_of(opts), ftp.path(rel))
}

fn secs(p: &Path) -> u64 {
    std::fs::metadata(p)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn source(dir: &Path) {
    write_file(&dir.join("a.txt"), b"alpha", 3600);
    write_file(&dir.join("dir/b.txt"), b"bravo bravo", 7200);
    let big: Vec<u8> = (0..400_000u32).map(|i| (i * 31 % 253) as u8).collect();
    write_file(&dir.join("dir/deeper/c.bin"), &big, 10);
    write_file(&dir.join("empty"), b"", 50);
    write_file(
        &dir.join("with space .txt"),
        b"trailing space in the stem",
        70,
    );
}

/// Files under `dir` (contents only).
fn contents(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    common::tree(dir)
        .into_iter()
        .map(|(k, (v, _))| (k, v))
        .collect()
}

/// sync up, check, a second sync that transfers nothing, a change synced, and back down;
/// `times`: whether the server keeps modification times.
fn sync_round_trip(ftp: &Ftp, opts: &[(&'static str, String)], sub: &str, times: bool) {
    let scratch = tempfile::tempdir().unwrap();
    let src = scratch.path().join("src");
    source(&src);
    let dst = at(ftp, opts, sub);
    let s = src.to_str().unwrap();
    cloud_ok(&["sync", s, &dst]);
    assert_eq!(contents(&ftp.local(sub)), contents(&src));
    if times {
        for rel in ["a.txt", "dir/b.txt", "dir/deeper/c.bin"] {
            assert_eq!(
                secs(&src.join(rel)),
                secs(&ftp.local(sub).join(rel)),
                "{rel}"
            );
        }
    }
    cloud_ok(&["check", s, &dst]);
    // Nothing to do the second time, whether times are kept or only sizes compared.
    let (_, err) = cloud_ok(&["sync", "-v", s, &dst]);
    assert!(!err.contains("Copied"), "{err}");
    // A change, an addition, a deletion.
    write_file(&src.join("a.txt"), b"alpha two", 5);
    write_file(&src.join("new.txt"), b"new", 5);
    std::fs::remove_file(src.join("dir/b.txt")).unwrap();
    cloud_ok(&["sync", s, &dst]);
    assert_eq!(contents(&ftp.local(sub)), contents(&src));
    // Down again.
    let down = scratch.path().join("down");
    cloud_ok(&["copy", &dst, down.to_str().unwrap()]);
    assert_eq!(contents(&down), contents(&src));
    if times {
        assert_eq!(
            secs(&down.join("dir/deeper/c.bin")),
            secs(&src.join("dir/deeper/c.bin"))
        );
    }
    let (_, err) = cloud_ok(&["copy", "-v", &dst, down.to_str().unwrap()]);
    assert!(!err.contains("Copied"), "{err}");
    // No temporary file anywhere on the server.
    let leftovers: Vec<String> = common::tree(&ftp.local(sub))
        .into_keys()
        .filter(|k| k.contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn sync_check_and_nothing_the_second_time_plain() {
    let Some(ftp) = Testbed::ftp() else { return };
    sync_round_trip(&ftp, &ftp.options(), "plain", true);
}

#[test]
fn sync_over_explicit_tls() {
    let Some(ftp) = Testbed::ftp() else { return };
    sync_round_trip(&ftp, &ftp.options_explicit_tls(), "explicit", true);
}

#[test]
fn sync_over_implicit_tls_with_list_and_mdtm() {
    let Some(ftp) = Testbed::ftp() else { return };
    sync_round_trip(&ftp, &ftp.options_implicit_tls(), "implicit", true);
}

/// vsftpd without `writing_mdtm` can't set times: sizes decide, and a second sync still
/// transfers nothing.
#[test]
fn sync_without_settable_times_compares_sizes() {
    let Some(ftp) = Testbed::ftp() else { return };
    let o: Vec<_> = ftp
        .options_implicit_tls()
        .into_iter()
        .filter(|(k, _)| *k != "writing_mdtm")
        .collect();
    sync_round_trip(&ftp, &o, "notimes", false);
}

/// A remote written in the config file as rclone writes it works unchanged.
#[test]
fn rclone_config_section_works() {
    let Some(ftp) = Testbed::ftp() else { return };
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("rclone.conf");
    let section = format!(
        "[box]\ntype = ftp\nhost = {}\nport = {}\nuser = {}\npass = {}\n",
        ftp.host, ftp.port, ftp.user, ftp.obscured
    );
    std::fs::write(&conf, section).unwrap();
    let src = home.path().join("src");
    source(&src);
    let dst = format!("box:{}", ftp.path("conf"));
    let c = conf.to_str().unwrap();
    cloud_ok(&["--config", c, "copy", src.to_str().unwrap(), &dst]);
    let (out, _) = cloud_ok(&["--config", c, "lsf", "-R", "--files-only", &dst]);
    let mut listed: Vec<&str> = out.lines().collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "a.txt",
            "dir/b.txt",
            "dir/deeper/c.bin",
            "empty",
            "with space .txt"
        ]
    );
}

/// rclone and ferry agree on a tree either wrote: `rclone check` after ferry's sync and
/// `ferry check` after rclone's.
#[test]
fn rclone_and_ferry_check_each_others_trees() {
    let Some(ftp) = Testbed::ftp() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let src = scratch.path().join("src");
    source(&src);
    let s = src.to_str().unwrap();
    cloud_ok(&["sync", s, &ftp.rclone_path("by-ferry")]);
    ok_with(ftp.rclone(), &["check", s, &ftp.rclone_path("by-ferry")]);
    let (lsl, _) = ok_with(ftp.rclone(), &["lsl", &ftp.rclone_path("by-ferry")]);
    let (ferry_lsl, _) = cloud_ok(&["lsl", &ftp.rclone_path("by-ferry")]);
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&ferry_lsl), sorted(&lsl));
    ok_with(ftp.rclone(), &["sync", s, &ftp.rclone_path("by-rclone")]);
    cloud_ok(&["check", s, &ftp.rclone_path("by-rclone")]);
    let (_, err) = cloud_ok(&["sync", "-v", s, &ftp.rclone_path("by-rclone")]);
    assert!(!err.contains("Copied"), "{err}");
}

/// The certificate names 127.0.0.1 only: with its CA trusted, `127.0.0.1` is accepted
/// and `localhost` refused; `no_check_certificate` accepts either.
#[test]
fn certificate_name_mismatch_is_refused() {
    let Some(ftp) = Testbed::ftp() else { return };
    let ca = ftp.ca.to_str().unwrap().to_owned();
    let base: Vec<_> = ftp
        .options()
        .into_iter()
        .chain([("explicit_tls", "true".to_owned())])
        .collect();
    let with_host = |h: &str| {
        let o: Vec<_> = base
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    if *k == "host" {
                        h.to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        at(&ftp, &o, "")
    };
    let run = |remote: &str| {
        let mut c = cloud();
        c.env("SSL_CERT_FILE", &ca);
        split(c.args(["lsf", remote]).output().unwrap())
    };
    let (code, _, err) = run(&with_host("127.0.0.1"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&with_host("localhost"));
    assert_ne!(
        code, 0,
        "a certificate for 127.0.0.1 was accepted for localhost"
    );
    assert!(err.contains("TLS with localhost:"), "{err}");
    assert!(err.contains("no_check_certificate"), "{err}");
    // The backend flag turns the check off, as rclone's does.
    let (code, _, err) = cloud_run(&["--ftp-no-check-certificate", "lsf", &with_host("localhost")]);
    assert_eq!(code, 0, "{err}");
}

/// Errors say what failed in one line: a wrong password, a server that isn't there.
#[test]
fn wrong_password_and_unreachable_server() {
    let Some(ftp) = Testbed::ftp() else { return };
    let bad: Vec<_> = ftp
        .options()
        .into_iter()
        .map(|(k, v)| match k {
            "pass" => (k, ferry_core::obscure::obscure("wrong").unwrap()),
            _ => (k, v),
        })
        .collect();
    let (code, _, err) = cloud_run(&["lsf", &at(&ftp, &bad, "")]);
    assert_ne!(code, 0);
    assert!(err.contains("login to 127.0.0.1:2121 refused"), "{err}");
    let (code, _, err) = cloud_run(&["lsf", ":ftp,host=127.0.0.1,port=1:"]);
    assert_ne!(code, 0);
    assert!(err.contains("connection refused to 127.0.0.1:1"), "{err}");
}

/// A destination in a directory the FTP user can't write: one error per file naming the
/// directory ferry tried to make and the server's answer, the refusal to delete, nothing
/// else.
#[cfg(unix)]
#[test]
fn a_destination_the_user_cant_write_names_the_directory() {
    let Some(ftp) = Testbed::ftp() else { return };
    let ro = ftp.local("ro");
    std::fs::create_dir_all(&ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&ro, perms).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    write_file(&scratch.path().join("a.txt"), b"alpha", 3600);
    let dst = at(&ftp, &ftp.options(), "ro/x");
    let (code, _, err) = cloud_run(&[
        "sync",
        "-v",
        "--retries",
        "1",
        scratch.path().to_str().unwrap(),
        &dst,
    ]);
    assert_eq!(code, 1, "{err}");
    let lines = common::log_messages(&err);
    assert_eq!(lines.len(), 3, "{err}");
    // Sorted: the refusal to delete, the file's error, then the summary.
    let dir = ftp.path("ro/x");
    assert!(
        lines[1].starts_with(&format!(
            "ERROR: a.txt: Failed to copy: mkdir \"{dir}\": the server answered 550 "
        )),
        "{err}"
    );
    assert!(
        lines[0].ends_with(": not deleting files as there were IO errors"),
        "{err}"
    );
    assert!(
        lines[2].starts_with("NOTICE: Failed to sync with 2 errors"),
        "{err}"
    );
}
