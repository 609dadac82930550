//! Local disk faults, end to end: a full disk, a read-only destination, and a source that
//! changes under a running sync (a file removed or grown between listing and reading, a
//! directory replaced by a file). Each gives one error naming the path, leaves nothing
//! partial under a final name, and deletes nothing at the destination.
//!
//! The disks are small tmpfs mounts made by the test (the test sessions run as root; a
//! read-only mount, because root ignores permission bits). Where mounting is not allowed
//! the test skips, and fails under CI=true, as the testbed does for a missing server.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::{ferry, run, Scratch};

/// A tmpfs of `size` mounted on `dir` for the life of the value.
pub(super) struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// `None` (or a panic under CI) where this process may not mount.
    pub(super) fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "mounting a tmpfs at {} failed: the disk-fault tests need root (or CAP_SYS_ADMIN)",
                dir.display()
            );
            eprintln!("skipped: can't mount a tmpfs here (not root?)");
            return None;
        }
        Some(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }

    /// Makes the mount read-only from now on.
    fn read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remounting {} read-only failed", self.dir.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// Names under `root` (recursively) that are ferry's temporary files.
fn temp_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else if ferry_core::partial::is_temp_name(&name) {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn a_full_disk_fails_the_file_naming_it_and_deletes_nothing() {
    let sc = Scratch::new();
    let Some(_disk) = Tmpfs::mount(&sc.path("dst"), "1m") else {
        return;
    };
    fs::write(sc.path("src/big.bin"), bytes(3 << 20, 1)).unwrap();
    sc.write("src/small.txt", "small", 100);
    sc.write("dst/keep.txt", "only here", 100);
    let (code, _, err) = run(&["sync", "--retries", "1", &sc.src(), &sc.dst()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("big.bin"), "the error names the file: {err}");
    assert!(
        err.to_lowercase().contains("no space left"),
        "the error says why: {err}"
    );
    assert!(
        err.contains("free space on the destination's disk and run again"),
        "and what to do: {err}"
    );
    assert!(
        !sc.exists("dst/big.bin"),
        "a partial file under its final name"
    );
    assert!(temp_files(&sc.path("dst")).is_empty(), "{err}");
    assert_eq!(
        sc.read("dst/keep.txt"),
        "only here",
        "deleted after an error"
    );
    // The same through the streaming path (a throttled copy is not done by the kernel).
    let (code, _, err) = run(&[
        "copy",
        "--retries",
        "1",
        "--bwlimit",
        "100M",
        &sc.src(),
        &sc.dst(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("big.bin"), "{err}");
    assert!(!sc.exists("dst/big.bin"));
    assert!(temp_files(&sc.path("dst")).is_empty(), "{err}");
}

#[test]
fn a_read_only_destination_fails_naming_the_path_and_changes_nothing() {
    let sc = Scratch::new();
    let Some(disk) = Tmpfs::mount(&sc.path("dst"), "1m") else {
        return;
    };
    sc.write("src/f.txt", "new", 10);
    sc.write("src/d/g.txt", "g", 10);
    sc.write("dst/f.txt", "old version", 1000);
    sc.write("dst/keep.txt", "only here", 100);
    disk.read_only();
    let (code, _, err) = run(&["sync", "--retries", "1", &sc.src(), &sc.dst()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("f.txt"), "the error names the file: {err}");
    assert!(err.to_lowercase().contains("read-only"), "{err}");
    assert!(err.contains("remount it writable"), "what to do: {err}");
    assert!(
        err.contains("d/g.txt"),
        "the file under a new directory too: {err}"
    );
    assert_eq!(sc.read("dst/f.txt"), "old version");
    assert_eq!(sc.read("dst/keep.txt"), "only here");
    assert!(!sc.exists("dst/d"));
}

/// A source of one slow file `a.bin` and whatever `setup` adds; `sync` runs one transfer
/// at a time, throttled, and `change` runs while `a.bin` is being written (so after the
/// listing, before the later files are read). Returns (exit code, stderr).
fn change_mid_run(
    sc: &Scratch,
    setup: impl Fn(&Scratch),
    change: impl Fn(&Scratch),
) -> (i32, String) {
    fs::write(sc.path("src/a.bin"), bytes(4 << 20, 2)).unwrap();
    setup(sc);
    sc.write("dst/keep.txt", "only here", 100);
    let child = ferry()
        .args([
            "sync",
            "--retries",
            "1",
            "--transfers",
            "1",
            "--checkers",
            "1",
        ])
        .args(["--bwlimit", "2M", &sc.src(), &sc.dst()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_temp_file(&child, &sc.path("dst"));
    change(sc);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), err)
}

fn wait_for_temp_file(child: &Child, dst: &Path) {
    let start = Instant::now();
    // a.bin's own temporary file: the change must come while a.bin, listed first, is
    // being written, so after the listing and before the later files are read.
    let of_a = |p: &String| p.contains("/.a.bin.ferry-");
    while !temp_files(dst).iter().any(of_a) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "ferry (pid {}) never started writing a.bin",
            child.id()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What every mid-run change must leave: the slow file copied, nothing partial, nothing
/// deleted at the destination after the error.
fn assert_clean_after_error(sc: &Scratch, code: i32, err: &str, names: &str) {
    assert_clean_after(sc, (code, 1), err, names)
}

/// As [`assert_clean_after_error`], with the exit code the run must give.
fn assert_clean_after(sc: &Scratch, (code, want): (i32, i32), err: &str, names: &str) {
    assert_eq!(code, want, "{err}");
    assert!(err.contains(names), "the error names {names}: {err}");
    assert_eq!(fs::read(sc.path("dst/a.bin")).unwrap(), bytes(4 << 20, 2));
    assert!(temp_files(&sc.path("dst")).is_empty(), "{err}");
    assert_eq!(
        sc.read("dst/keep.txt"),
        "only here",
        "deleted after an error: {err}"
    );
}

#[test]
fn a_file_removed_between_listing_and_reading_is_an_error_naming_it() {
    let sc = Scratch::new();
    let (code, err) = change_mid_run(
        &sc,
        |sc| sc.write("src/b.txt", "soon gone", 100),
        |sc| fs::remove_file(sc.path("src/b.txt")).unwrap(),
    );
    assert_clean_after_error(&sc, code, &err, "b.txt");
    assert!(!sc.exists("dst/b.txt"), "{err}");
}

#[test]
fn a_file_grown_between_listing_and_reading_is_not_copied_half() {
    let sc = Scratch::new();
    let (code, err) = change_mid_run(
        &sc,
        |sc| sc.write("src/b.txt", "first", 100),
        |sc| {
            use std::io::Write;
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(sc.path("src/b.txt"))
                .unwrap();
            f.write_all(b" and more").unwrap();
        },
    );
    // A run that lists again copies the file as it is now: a temporary failure (exit 5,
    // rclone's "more retries might fix it"), which the refusal to delete keeps.
    assert_clean_after(&sc, (code, 5), &err, "b.txt");
    assert!(!sc.exists("dst/b.txt"), "{err}");
    // The next run copies what is there now.
    let (code, _, err) = run(&["sync", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sc.read("dst/b.txt"), "first and more");
}

#[test]
fn a_source_directory_replaced_by_a_file_mid_run_is_an_error_naming_it() {
    let sc = Scratch::new();
    let (code, err) = change_mid_run(
        &sc,
        |sc| {
            sc.write("src/d/x.txt", "x", 100);
            sc.write("src/d/y.txt", "y", 100);
        },
        |sc| {
            fs::remove_dir_all(sc.path("src/d")).unwrap();
            sc.write("src/d", "a file now", 100);
        },
    );
    assert_clean_after_error(&sc, code, &err, "d/x.txt");
    assert!(
        !sc.exists("dst/d/x.txt") && !sc.exists("dst/d/y.txt"),
        "{err}"
    );
}

#[test]
fn a_destination_directory_replaced_by_a_file_mid_run_is_kept_as_the_users_file() {
    let sc = Scratch::new();
    let (code, err) = change_mid_run(
        &sc,
        |sc| {
            sc.write("src/d/x.txt", "x", 100);
            sc.write("dst/d/old.txt", "old", 100);
        },
        |sc| {
            fs::remove_dir_all(sc.path("dst/d")).unwrap();
            sc.write("dst/d", "the user's file", 100);
        },
    );
    assert_clean_after_error(&sc, code, &err, "d/x.txt");
    assert_eq!(sc.read("dst/d"), "the user's file", "{err}");
}

#[test]
fn fsync_writes_every_file_whole_on_each_copy_path() {
    let sc = Scratch::new();
    for i in 0..40 {
        sc.write(
            &format!("src/d{}/f{i}.txt", i % 4),
            &format!("file {i}"),
            100,
        );
    }
    fs::write(sc.path("src/big.bin"), bytes(3 << 20, 3)).unwrap();
    // The kernel's copy, then the streaming path (a throttled copy is not the kernel's).
    for (dst, extra) in [("dst", None), ("dst2", Some("--bwlimit=1G"))] {
        let to = sc.path(dst).display().to_string();
        let src = sc.src();
        let mut args = vec!["sync", "--fsync", &src, &to];
        args.extend(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(
            super::common::tree(&sc.path("src")),
            super::common::tree(&sc.path(dst)),
            "{args:?}"
        );
        let (code, _, err) = run(&["check", &sc.src(), &to]);
        assert_eq!(code, 0, "{err}");
    }
    // Also as the local backend's own option, as rclone.conf or a flag would set it.
    let (code, _, err) = run(&["copy", "--local-fsync", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "{err}");
    // A move within one filesystem (by rename) flushes too, and moves everything.
    let want = super::common::tree(&sc.path("src"));
    let moved = sc.path("moved").display().to_string();
    let (code, _, err) = run(&["move", "--fsync", &sc.src(), &moved]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(super::common::tree(&sc.path("moved")), want);
}
