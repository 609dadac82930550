//! Nothing ferry reads is read for ever: a source that never ends (a link to
//! `/dev/zero`, a FIFO) and a parsed file that never ends (`key_file = /dev/zero`)
//! fail or are passed over at once, and nothing lands under a final name.

use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testbed::Testbed;

use super::common::{cloud, ferry, Scratch};

/// Runs `cmd` to completion within `limit`, else kills it and fails the test.
#[track_caller]
fn bounded(mut cmd: Command, limit: Duration) -> (i32, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ferry still running after {limit:?}: it read without end");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_source_that_never_ends_is_never_read_for_ever() {
    let sc = Scratch::new();
    sc.write("src/a.txt", "a", 100);
    symlink("/dev/zero", sc.path("src/zero")).unwrap();
    let fifo = sc.path("src/fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for links in ["-L", "--links"] {
        let mut cmd = ferry();
        cmd.args(["copy", links, &sc.src(), &sc.dst()]);
        let (code, err) = bounded(cmd, Duration::from_secs(30));
        assert_eq!(code, 0, "{links}: {err}");
        assert_eq!(sc.read("dst/a.txt"), "a");
        assert!(!sc.exists("dst/fifo"), "{links}: {err}");
        assert!(
            err.contains("fifo: Can't transfer non file/directory"),
            "{err}"
        );
        if links == "-L" {
            assert!(!sc.exists("dst/zero"), "{err}");
            assert!(
                err.contains("zero: Can't transfer non file/directory"),
                "{err}"
            );
        }
    }
}

#[test]
fn skip_specials_passes_them_over_quietly() {
    let sc = Scratch::new();
    sc.write("src/a.txt", "a", 100);
    let made = Command::new("mkfifo")
        .arg(sc.path("src/fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    for (flags, env) in [(vec!["--skip-specials"], None), (vec![], Some("true"))] {
        let mut cmd = ferry();
        cmd.args(["copy", "-v", &sc.src(), &sc.dst()]).args(&flags);
        if let Some(v) = env {
            cmd.env("RCLONE_SKIP_SPECIALS", v);
        }
        let (code, err) = bounded(cmd, Duration::from_secs(30));
        assert_eq!(code, 0, "{err}");
        assert_eq!(sc.read("dst/a.txt"), "a");
        assert!(!sc.exists("dst/fifo"), "{err}");
        assert!(!err.contains("Can't transfer"), "{flags:?} {env:?}: {err}");
    }
}

#[test]
fn an_sftp_link_to_dev_zero_is_never_read_for_ever() {
    let Some(s) = Testbed::sftp() else { return };
    let sc = Scratch::new();
    let dir = std::path::Path::new(&s.dir);
    std::fs::write(dir.join("a.txt"), "a").unwrap();
    symlink("/dev/zero", dir.join("zero")).unwrap();
    let mut cmd = cloud();
    cmd.args([
        "copy",
        &format!("{}{}", s.rclone_remote(), s.dir),
        &sc.dst(),
    ]);
    let (code, err) = bounded(cmd, Duration::from_secs(60));
    assert_eq!(code, 0, "{err}");
    assert_eq!(sc.read("dst/a.txt"), "a");
    assert!(!sc.exists("dst/zero"), "{err}");
    assert!(
        err.contains("zero: Can't transfer non file/directory"),
        "{err}"
    );
}

#[test]
fn a_key_file_that_never_ends_fails_at_once() {
    let Some(s) = Testbed::sftp() else { return };
    let remote = format!(
        ":sftp,host={},port={},user={},key_file=/dev/zero,known_hosts_file={}:",
        s.host,
        s.port,
        s.user,
        s.known_hosts.display()
    );
    let mut cmd = cloud();
    cmd.args(["lsf", &remote]);
    let (code, err) = bounded(cmd, Duration::from_secs(30));
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("/dev/zero") && err.contains("larger than"),
        "{err}"
    );
}

#[test]
fn a_filter_or_config_file_that_never_ends_fails_at_once() {
    let sc = Scratch::new();
    sc.write("src/a.txt", "a", 100);
    let dst = sc.dst();
    for args in [
        &["copy", &sc.src(), &dst, "--exclude-from", "/dev/zero"][..],
        &["copy", &sc.src(), "remote:dst", "--config", "/dev/zero"],
    ] {
        let mut cmd = ferry();
        cmd.args(args);
        let (code, err) = bounded(cmd, Duration::from_secs(30));
        assert_ne!(code, 0, "{args:?}: {err}");
        assert!(err.contains("larger than"), "{args:?}: {err}");
        assert!(!sc.exists("dst/a.txt"), "{args:?}");
    }
}
