//! `ferry bisync` end to end, local to local: the change matrix, every conflict policy,
//! the safety rails (max-delete, lock, check-access, dry-run), filters, empty
//! directories, backups, the crash loop (kill -9 at random points, then a normal run
//! must give what an uninterrupted run gives), and rclone 1.75's outcomes on the same
//! scenarios.
//!
//! Tests that run rclone read `FERRY_TEST_RCLONE`; without it they print `SKIPPED: ...`,
//! or fail when `CI=true`.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{ferry, rclone, split};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A fixed point in time the fixtures' modification times are relative to.
const BASE: u64 = 1_700_000_000;

fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(BASE + offset)
}

fn put(root: &Path, rel: &str, content: &str, offset: u64) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    filetime::set_file_mtime(&p, filetime::FileTime::from_system_time(at(offset))).unwrap();
}

/// Every file under `root`: path → (content, mtime).
fn files(root: &Path) -> BTreeMap<String, (String, SystemTime)> {
    common::tree(root)
        .into_iter()
        .map(|(k, (c, t))| (k, (String::from_utf8_lossy(&c).into_owned(), t)))
        .collect()
}

/// Every directory under `root`, relative.
fn dirs(root: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                let p = e.path();
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                go(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    go(root, root, &mut out);
    out.sort();
    out
}

fn names(root: &Path) -> Vec<String> {
    files(root).into_keys().collect()
}

fn content(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Two paths and a work directory.
struct Pair {
    dir: tempfile::TempDir,
}

impl Pair {
    fn new() -> Pair {
        let dir = tempfile::tempdir().unwrap();
        for p in ["p1", "p2", "wd"] {
            std::fs::create_dir(dir.path().join(p)).unwrap();
        }
        Pair { dir }
    }
    fn p1(&self) -> PathBuf {
        self.dir.path().join("p1")
    }
    fn p2(&self) -> PathBuf {
        self.dir.path().join("p2")
    }
    fn wd(&self) -> PathBuf {
        self.dir.path().join("wd")
    }
    fn args(&self) -> Vec<String> {
        vec![
            "bisync".into(),
            self.p1().to_string_lossy().into_owned(),
            self.p2().to_string_lossy().into_owned(),
            "--workdir".into(),
            self.wd().to_string_lossy().into_owned(),
        ]
    }
    fn cmd(&self, extra: &[&str]) -> Command {
        let mut c = ferry();
        c.args(self.args()).args(extra);
        c
    }
    /// Runs `ferry bisync p1 p2 --workdir wd EXTRA`; returns (code, stdout, stderr).
    fn run(&self, extra: &[&str]) -> (i32, String, String) {
        split(self.cmd(extra).output().unwrap())
    }
    /// Runs and expects success.
    fn ok(&self, extra: &[&str]) -> String {
        let (code, out, err) = self.run(extra);
        assert_eq!(code, 0, "bisync {extra:?} failed:\n{err}");
        out
    }
    /// The decisions of a run, from `--json`.
    fn decisions(&self, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut args = extra.to_vec();
        args.push("--json");
        let out = self.ok(&args);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["decisions"].as_array().unwrap().clone()
    }
    fn session(&self) -> String {
        ferry_bisync::session_name(&self.p1().to_string_lossy(), &self.p2().to_string_lossy())
    }
    fn lock_path(&self) -> PathBuf {
        self.wd().join(format!("{}.lck", self.session()))
    }
    fn state_path(&self) -> PathBuf {
        self.wd().join(format!("{}.state.json", self.session()))
    }
    fn assert_in_sync(&self) {
        common::assert_same_tree(&self.p1(), &self.p2());
    }
}

// ----- first run, resync ----------------------------------------------------------------

#[test]
fn first_run_requires_resync() {
    let p = Pair::new();
    put(&p.p1(), "a.txt", "a", 0);
    let (code, _, err) = p.run(&[]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("--resync"), "{err}");
    assert!(!p.p2().join("a.txt").exists());
    p.ok(&["--resync"]);
    assert_eq!(content(&p.p2(), "a.txt"), "a");
    assert!(p.state_path().exists());
    // A second run finds nothing to do.
    assert!(p.decisions(&[]).is_empty());
}

#[test]
fn resync_modes_pick_the_winner() {
    // x.txt: Path1 older and larger; Path2 newer and smaller.
    for (mode, winner) in [
        ("path1", "path1-long"),
        ("path2", "p2"),
        ("newer", "p2"),
        ("older", "path1-long"),
        ("larger", "path1-long"),
        ("smaller", "p2"),
    ] {
        let p = Pair::new();
        put(&p.p1(), "x.txt", "path1-long", 10);
        put(&p.p2(), "x.txt", "p2", 20);
        put(&p.p1(), "only1.txt", "1", 0);
        put(&p.p2(), "only2.txt", "2", 0);
        p.ok(&["--resync-mode", mode]);
        assert_eq!(content(&p.p1(), "x.txt"), winner, "{mode}");
        p.assert_in_sync();
        assert_eq!(
            names(&p.p1()),
            ["only1.txt", "only2.txt", "x.txt"],
            "{mode}"
        );
    }
}

// ----- the change matrix ----------------------------------------------------------------

/// Builds the matrix: a file per pair of changes (Unchanged, Changed, Deleted on each
/// side, for files the last run saw), plus new files on one or both sides.
fn matrix(p1: &Path, p2: &Path, resync: impl FnOnce()) {
    let kinds = ['U', 'C', 'D'];
    for a in kinds {
        for b in kinds {
            for root in [p1, p2] {
                put(root, &format!("{a}{b}.txt"), "orig", 0);
            }
        }
    }
    put(p1, "dir/deep/keep.txt", "keep", 0);
    put(p2, "dir/deep/keep.txt", "keep", 0);
    resync();
    for a in kinds {
        for b in kinds {
            let name = format!("{a}{b}.txt");
            for (root, change, v, t) in [(p1, a, "one", 100), (p2, b, "second", 200)] {
                match change {
                    'C' => put(root, &name, v, t),
                    'D' => std::fs::remove_file(root.join(&name)).unwrap(),
                    _ => {}
                }
            }
        }
    }
    put(p1, "NA.txt", "new1", 300);
    put(p2, "AN.txt", "new2", 300);
    put(p1, "NNsame.txt", "same", 300);
    put(p2, "NNsame.txt", "same", 300);
    put(p1, "NNdiff.txt", "one", 300);
    put(p2, "NNdiff.txt", "second", 400);
    put(p1, "dir/new/in-new-dir.txt", "n", 300);
}

#[test]
fn change_matrix() {
    let p = Pair::new();
    matrix(&p.p1(), &p.p2(), || {
        p.ok(&["--resync"]);
    });
    let decisions = p.decisions(&[]);
    p.assert_in_sync();
    let want: BTreeMap<&str, &str> = [
        ("AN.txt", "new2"),
        ("CC.txt.conflict1", "one"),
        ("CC.txt.conflict2", "second"),
        ("CD.txt", "one"),
        ("CU.txt", "one"),
        ("DC.txt", "second"),
        ("NA.txt", "new1"),
        ("NNdiff.txt.conflict1", "one"),
        ("NNdiff.txt.conflict2", "second"),
        ("NNsame.txt", "same"),
        ("UC.txt", "second"),
        ("UU.txt", "orig"),
        ("dir/deep/keep.txt", "keep"),
        ("dir/new/in-new-dir.txt", "n"),
    ]
    .into_iter()
    .collect();
    let got = files(&p.p1());
    let got: BTreeMap<&str, &str> = got
        .iter()
        .map(|(k, v)| (k.as_str(), v.0.as_str()))
        .collect();
    assert_eq!(got, want);
    // Every decision is reported with both sides' changes.
    let find = |path: &str| {
        decisions
            .iter()
            .find(|d| d["path"] == path)
            .unwrap_or_else(|| panic!("no decision for {path}: {decisions:?}"))
    };
    assert_eq!(find("UD.txt")["action"], "delete on Path1");
    assert_eq!(find("UD.txt")["path2"], "deleted");
    assert_eq!(find("CD.txt")["action"], "copy to Path2");
    assert_eq!(find("DD.txt")["action"], "none");
    assert!(find("CC.txt")["action"]
        .as_str()
        .unwrap()
        .starts_with("conflict"));
    assert!(find("NNsame.txt")["reason"]
        .as_str()
        .unwrap()
        .contains("identical"));
    assert!(decisions.iter().all(|d| d["result"] != "failed"));
    // The state now matches both sides: nothing more to do.
    assert!(p.decisions(&[]).is_empty());
}

// ----- conflicts ------------------------------------------------------------------------

/// f.txt changed on both sides: Path1 "one" (3 bytes, newer), Path2 "second" (6 bytes, older).
fn conflict_pair() -> Pair {
    let p = Pair::new();
    put(&p.p1(), "f.txt", "orig", 0);
    put(&p.p1(), "other.txt", "o", 0);
    p.ok(&["--resync"]);
    put(&p.p1(), "f.txt", "one", 300);
    put(&p.p2(), "f.txt", "second", 200);
    p
}

/// Flags, and the files (name, content) both sides end with.
type Case = (Vec<&'static str>, Vec<(&'static str, &'static str)>);

fn conflict_cases() -> Vec<Case> {
    let c = |flags: &[&'static str], want: &[(&'static str, &'static str)]| {
        (flags.to_vec(), want.to_vec())
    };
    vec![
        c(
            &[],
            &[("f.txt.conflict1", "one"), ("f.txt.conflict2", "second")],
        ),
        c(
            &["--conflict-resolve", "none"],
            &[("f.txt.conflict1", "one"), ("f.txt.conflict2", "second")],
        ),
        c(
            &["--conflict-resolve", "path1"],
            &[("f.txt", "one"), ("f.txt.conflict1", "second")],
        ),
        c(
            &["--conflict-resolve", "path2"],
            &[("f.txt", "second"), ("f.txt.conflict1", "one")],
        ),
        c(
            &["--conflict-resolve", "newer"],
            &[("f.txt", "one"), ("f.txt.conflict1", "second")],
        ),
        c(
            &["--conflict-resolve", "older"],
            &[("f.txt", "second"), ("f.txt.conflict1", "one")],
        ),
        c(
            &["--conflict-resolve", "larger"],
            &[("f.txt", "second"), ("f.txt.conflict1", "one")],
        ),
        c(
            &["--conflict-resolve", "smaller"],
            &[("f.txt", "one"), ("f.txt.conflict1", "second")],
        ),
        c(
            &["--conflict-resolve", "newer", "--conflict-loser", "delete"],
            &[("f.txt", "one")],
        ),
        c(
            &["--conflict-resolve", "larger", "--conflict-loser", "delete"],
            &[("f.txt", "second")],
        ),
        // No winner: delete falls back to numbering both.
        c(
            &["--conflict-loser", "delete"],
            &[("f.txt.conflict1", "one"), ("f.txt.conflict2", "second")],
        ),
        c(
            &["--conflict-loser", "pathname"],
            &[("f.txt.conflict1", "one"), ("f.txt.conflict2", "second")],
        ),
        c(
            &[
                "--conflict-resolve",
                "path2",
                "--conflict-loser",
                "pathname",
            ],
            &[("f.txt", "second"), ("f.txt.conflict1", "one")],
        ),
        c(
            &[
                "--conflict-loser",
                "pathname",
                "--conflict-suffix",
                "laptop,cloud",
            ],
            &[("f.txt.cloud", "second"), ("f.txt.laptop", "one")],
        ),
        c(
            &["--conflict-suffix", "dup"],
            &[("f.txt.dup1", "one"), ("f.txt.dup2", "second")],
        ),
        c(
            &["--conflict-suffix", "a,b"],
            &[("f.txt.a1", "one"), ("f.txt.b1", "second")],
        ),
        c(
            &["--suffix-keep-extension"],
            &[("f.conflict1.txt", "one"), ("f.conflict2.txt", "second")],
        ),
    ]
}

#[test]
fn every_conflict_policy() {
    for (flags, want) in conflict_cases() {
        let p = conflict_pair();
        p.ok(&flags);
        p.assert_in_sync();
        let mut got: Vec<(String, String)> = files(&p.p1())
            .into_iter()
            .filter(|(k, _)| k != "other.txt")
            .map(|(k, v)| (k, v.0))
            .collect();
        got.sort();
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want, "{flags:?}");
        assert!(p.decisions(&[]).is_empty(), "{flags:?}: settled");
    }
}

#[test]
fn conflict_suffix_date_template_and_numbering() {
    let p = conflict_pair();
    // An earlier conflict copy exists: numbering skips it.
    put(&p.p1(), "f.txt.x1", "old conflict", 0);
    put(&p.p2(), "f.txt.x1", "old conflict", 0);
    p.ok(&["--conflict-suffix", "x"]);
    let got = names(&p.p1());
    assert!(
        got.contains(&"f.txt.x2".to_string()) && got.contains(&"f.txt.x3".to_string()),
        "{got:?}"
    );
    let p = conflict_pair();
    p.ok(&["--conflict-suffix", "{DateOnly}-conflict"]);
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert!(
        names(&p.p2()).contains(&format!("f.txt.{today}-conflict1")),
        "{:?}",
        names(&p.p2())
    );
}

// ----- safety -----------------------------------------------------------------------------

#[test]
fn max_delete_aborts_with_nothing_deleted_and_force_overrides() {
    let p = Pair::new();
    for i in 0..4 {
        put(&p.p1(), &format!("f{i}"), "x", 0);
    }
    p.ok(&["--resync"]);
    for i in 0..3 {
        std::fs::remove_file(p.p1().join(format!("f{i}"))).unwrap();
    }
    put(&p.p1(), "new.txt", "n", 10);
    let state = std::fs::read(p.state_path()).unwrap();
    let (code, _, err) = p.run(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("too many deletes"), "{err}");
    assert_eq!(names(&p.p2()), ["f0", "f1", "f2", "f3"], "nothing deleted");
    assert!(!p.p2().join("new.txt").exists(), "nothing copied either");
    assert_eq!(
        std::fs::read(p.state_path()).unwrap(),
        state,
        "state untouched"
    );
    // A higher limit or --force lets it through.
    let (code, _, _) = p.run(&["--max-delete", "70"]);
    assert_eq!(code, 1);
    p.ok(&["--max-delete", "75"]);
    assert_eq!(names(&p.p2()), ["f3", "new.txt"]);
    // Same again with --force.
    for f in ["f3", "new.txt"] {
        std::fs::remove_file(p.p2().join(f)).unwrap();
    }
    put(&p.p2(), "z", "z", 0);
    assert_eq!(p.run(&[]).0, 1);
    p.ok(&["--force"]);
    assert_eq!(names(&p.p1()), ["z"]);
}

#[test]
fn dry_run_changes_nothing() {
    let p = Pair::new();
    matrix(&p.p1(), &p.p2(), || {
        p.ok(&["--resync"]);
    });
    let (before1, before2) = (files(&p.p1()), files(&p.p2()));
    let state = std::fs::read(p.state_path()).unwrap();
    let decisions = p.decisions(&["--dry-run"]);
    assert!(!decisions.is_empty());
    assert!(decisions
        .iter()
        .filter(|d| d["action"] != "none")
        .all(|d| d["result"] == "dry-run"));
    assert_eq!(files(&p.p1()), before1);
    assert_eq!(files(&p.p2()), before2);
    assert_eq!(std::fs::read(p.state_path()).unwrap(), state);
    assert!(!p.lock_path().exists());
    // A dry --resync on a fresh pair writes no state.
    let q = Pair::new();
    put(&q.p1(), "a", "a", 0);
    q.ok(&["--resync", "--dry-run"]);
    assert!(!q.state_path().exists());
    assert!(!q.p2().join("a").exists());
    // The real run then does what the dry run said.
    p.ok(&[]);
    p.assert_in_sync();
}

#[test]
fn lock_file_keeps_runs_apart_and_stale_locks_expire() {
    let p = Pair::new();
    put(&p.p1(), "a", "a", 0);
    p.ok(&["--resync"]);
    put(&p.p1(), "b", "b", 10);
    // Left behind by a killed run (no process holds it): taken over at once.
    std::fs::write(p.lock_path(), r#"{"Session":"x","PID":"999999"}"#).unwrap();
    p.ok(&[]);
    assert!(p.p2().join("b").exists());
    assert!(!p.lock_path().exists(), "removed at the end");
    // Held by a live process: refused with exit 1, nothing changed.
    put(&p.p1(), "c", "c", 10);
    let held = hold_lock(&p.lock_path(), None);
    let (code, _, err) = p.run(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("prior lock file found"), "{err}");
    assert!(!p.p2().join("c").exists());
    drop(held);
    // Held, but its --max-lock expiry has passed: proceeds.
    let expired = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let held = hold_lock(&p.lock_path(), Some(&expired));
    p.ok(&[]);
    assert!(p.p2().join("c").exists());
    drop(held);
}

/// Holds `path` locked (as a running bisync would), writing an expiry if given.
fn hold_lock(path: &Path, expires: Option<&str>) -> std::fs::File {
    use std::os::fd::AsRawFd;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .unwrap();
    let data = serde_json::json!({
        "Session": "test", "PID": std::process::id().to_string(),
        "TimeRenewed": null, "TimeExpires": expires,
    });
    f.write_all(data.to_string().as_bytes()).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    f
}

#[test]
fn check_access_needs_matching_check_files() {
    let p = Pair::new();
    put(&p.p1(), "a", "a", 0);
    let (code, _, err) = p.run(&["--resync", "--check-access"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("check file check failed"), "{err}");
    put(&p.p1(), "RCLONE_TEST", "", 0);
    put(&p.p2(), "RCLONE_TEST", "", 0);
    p.ok(&["--resync", "--check-access"]);
    put(&p.p1(), "b", "b", 10);
    p.ok(&["--check-access"]);
    assert!(p.p2().join("b").exists());
    put(&p.p1(), "sub/CHK", "", 0);
    // A custom name found on one side only fails, and changes nothing.
    put(&p.p1(), "c", "c", 10);
    let (code, _, _) = p.run(&["--check-access", "--check-filename", "CHK"]);
    assert_eq!(code, 7);
    // ... and once it matches on both sides, the run goes on (no --resync needed).
    put(&p.p2(), "sub/CHK", "", 0);
    p.ok(&["--check-access", "--check-filename", "CHK"]);
    assert!(p.p2().join("c").exists());
}

#[test]
fn damaged_state_says_why_and_what_resync_does() {
    let p = Pair::new();
    put(&p.p1(), "a", "a", 0);
    p.ok(&["--resync"]);
    std::fs::write(p.state_path(), "{\"format\":").unwrap();
    let (code, _, err) = p.run(&[]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("damaged") && err.contains("--resync") && err.contains("deletes nothing"),
        "{err}"
    );
    p.ok(&["--resync"]);
    p.ok(&[]);
}

#[test]
fn check_sync_only_and_usage_errors() {
    let p = Pair::new();
    put(&p.p1(), "a", "a", 0);
    p.ok(&["--resync"]);
    let (code, _, err) = p.run(&["--check-sync", "only"]);
    assert_eq!(code, 0, "{err}");
    for bad in [
        &["--conflict-resolve", "bogus"][..],
        &["--conflict-loser", "nope"],
        &["--check-sync", "maybe"],
        &["--compare", "size,colour"],
        &["--conflict-suffix", "a,b,c"],
        &["--resync-mode", "first"],
    ] {
        let (code, _, err) = p.run(bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
    }
    let (code, _, _) = split(ferry().args(["bisync", "only-one-arg"]).output().unwrap());
    assert_eq!(code, 2);
}

#[test]
fn all_files_changed_aborts_unless_forced() {
    let p = Pair::new();
    put(&p.p1(), "a", "a", 0);
    put(&p.p1(), "b", "b", 0);
    p.ok(&["--resync"]);
    put(&p.p1(), "a", "a", 50); // e.g. a time zone change touched every file
    put(&p.p1(), "b", "b", 50);
    let (code, _, err) = p.run(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("all files were changed"), "{err}");
    p.ok(&["--force"]);
    p.assert_in_sync();
}

// ----- filters ----------------------------------------------------------------------------

#[test]
fn filters_and_filters_file() {
    let p = Pair::new();
    put(&p.p1(), "keep.txt", "k", 0);
    put(&p.p1(), "skip.tmp", "s", 0);
    put(&p.p1(), "data.dat", "d", 0);
    let ff = p.dir.path().join("filters.txt");
    std::fs::write(&ff, "- *.tmp\n").unwrap();
    let ffs = ff.to_string_lossy().into_owned();
    p.ok(&["--resync", "--filters-file", &ffs]);
    assert_eq!(names(&p.p2()), ["data.dat", "keep.txt"]);
    assert!(
        p.dir.path().join("filters.txt.md5").exists(),
        "hash kept beside it"
    );
    // Command-line filters work too.
    put(&p.p1(), "new.log", "l", 10);
    put(&p.p1(), "new.txt", "t", 10);
    p.ok(&["--filters-file", &ffs, "--exclude", "*.log"]);
    assert_eq!(names(&p.p2()), ["data.dat", "keep.txt", "new.txt"]);
    // The filters file changes: what it now excludes is left alone on both sides
    // (rclone would demand --resync; ferry deletes nothing and carries on).
    std::fs::write(&ff, "- *.tmp\n- *.dat\n").unwrap();
    std::fs::remove_file(p.p1().join("keep.txt")).unwrap();
    p.ok(&["--filters-file", &ffs]);
    assert!(p.p1().join("data.dat").exists() && p.p2().join("data.dat").exists());
    assert!(
        !p.p2().join("keep.txt").exists(),
        "other changes still sync"
    );
    // Removing the rule again brings data.dat back into view, unchanged: nothing happens.
    std::fs::write(&ff, "- *.tmp\n").unwrap();
    let d = p.decisions(&["--filters-file", &ffs]);
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn a_file_hidden_by_a_size_filter_is_not_deleted() {
    let p = Pair::new();
    put(&p.p1(), "grow.txt", "small", 0);
    p.ok(&["--resync", "--max-size", "100B"]);
    // It grows past the filter on Path1: Path1 no longer lists it, but it isn't gone.
    put(&p.p1(), "grow.txt", &"x".repeat(500), 10);
    p.ok(&["--max-size", "100B"]);
    assert!(p.p2().join("grow.txt").exists(), "not deleted on Path2");
    assert!(p.p1().join("grow.txt").exists());
}

// ----- directories, backups ---------------------------------------------------------------

#[test]
fn empty_directories() {
    let p = Pair::new();
    put(&p.p1(), "d/only.txt", "x", 0);
    std::fs::create_dir_all(p.p1().join("e1/sub")).unwrap();
    // Without --create-empty-src-dirs, empty directories stay where they are.
    p.ok(&["--resync"]);
    assert!(!p.p2().join("e1").exists());
    let q = Pair::new();
    put(&q.p1(), "d/only.txt", "x", 0);
    std::fs::create_dir_all(q.p1().join("e1/sub")).unwrap();
    q.ok(&["--resync", "--create-empty-src-dirs"]);
    assert_eq!(dirs(&q.p2()), ["d", "e1", "e1/sub"]);
    std::fs::create_dir(q.p2().join("e2")).unwrap();
    std::fs::remove_dir(q.p1().join("e1/sub")).unwrap();
    q.ok(&["--create-empty-src-dirs"]);
    assert_eq!(dirs(&q.p1()), ["d", "e1", "e2"]);
    assert_eq!(dirs(&q.p2()), ["d", "e1", "e2"]);
    // --remove-empty-dirs: a directory emptied by a propagated delete goes on both sides.
    std::fs::remove_file(p.p1().join("d/only.txt")).unwrap();
    put(&p.p1(), "k", "k", 0);
    put(&p.p2(), "k", "k", 0);
    p.ok(&["--remove-empty-dirs", "--force"]);
    assert!(!p.p1().join("d").exists() && !p.p2().join("d").exists());
    assert!(!p.p1().join("e1").exists());
}

#[test]
fn backup_dirs_keep_what_is_replaced_or_deleted() {
    let p = Pair::new();
    put(&p.p1(), "del.txt", "old-del", 0);
    put(&p.p1(), "chg.txt", "old-chg", 0);
    put(&p.p1(), "keep.txt", "k", 0);
    p.ok(&["--resync"]);
    std::fs::remove_file(p.p1().join("del.txt")).unwrap();
    put(&p.p2(), "chg.txt", "new-chg", 100);
    let (b1, b2) = (p.dir.path().join("b1"), p.dir.path().join("b2"));
    p.ok(&[
        "--backup-dir1",
        &b1.to_string_lossy(),
        "--backup-dir2",
        &b2.to_string_lossy(),
        "--suffix",
        ".bak",
    ]);
    assert_eq!(
        content(&b2, "del.txt.bak"),
        "old-del",
        "deleted on Path2 into backup2"
    );
    assert_eq!(
        content(&b1, "chg.txt.bak"),
        "old-chg",
        "replaced on Path1 into backup1"
    );
    assert_eq!(content(&p.p1(), "chg.txt"), "new-chg");
    // A backup directory inside a path (and not excluded) is refused.
    let inside = p.p1().join("bk").to_string_lossy().into_owned();
    let (code, _, err) = p.run(&["--backup-dir1", &inside]);
    assert_eq!(code, 7, "{err}");
}

#[test]
fn modtime_only_difference_is_settled_without_conflict() {
    let p = Pair::new();
    put(&p.p1(), "same.txt", "x", 0);
    put(&p.p1(), "other.txt", "o", 0);
    p.ok(&["--resync"]);
    put(&p.p1(), "same.txt", "content", 100);
    put(&p.p2(), "same.txt", "content", 200);
    p.ok(&[]);
    p.assert_in_sync();
    assert_eq!(names(&p.p1()), ["other.txt", "same.txt"]);
    assert_eq!(files(&p.p1())["same.txt"].1, at(200), "the newer time wins");
}

#[test]
fn checksum_compare_detects_same_size_same_time_edits() {
    let p = Pair::new();
    put(&p.p1(), "f", "aaaa", 0);
    put(&p.p1(), "other", "o", 0);
    p.ok(&["--resync", "--compare", "size,modtime,checksum"]);
    put(&p.p1(), "f", "bbbb", 0); // same size, same time
    p.ok(&["--compare", "size,modtime,checksum"]);
    assert_eq!(content(&p.p2(), "f"), "bbbb");
    // Without checksums the edit is invisible (as in rclone).
    put(&p.p1(), "f", "cccc", 0);
    p.ok(&[]);
    assert_eq!(content(&p.p2(), "f"), "bbbb");
    // --size-only ignores time changes.
    put(&p.p2(), "f", "bbbb", 500);
    assert!(p.decisions(&["--size-only"]).is_empty());
}

// ----- crash safety -----------------------------------------------------------------------

/// One random scenario: a tree synced by --resync, then changes on both sides.
fn random_scenario(p: &Pair, rng: &mut SmallRng) -> Vec<String> {
    let n = rng.random_range(4..9);
    let names: Vec<String> = (0..n)
        .map(|i| match i % 3 {
            0 => format!("f{i}.txt"),
            1 => format!("d/f{i}.txt"),
            _ => format!("d/e/f{i}.txt"),
        })
        .collect();
    for name in &names {
        put(&p.p1(), name, &format!("orig {name}"), 0);
    }
    let (code, _, err) = p.run(&["--resync"]);
    assert_eq!(code, 0, "{err}");
    let mut t = 100;
    for name in &names {
        for (root, side) in [(p.p1(), 1), (p.p2(), 2)] {
            t += 1;
            match rng.random_range(0..10) {
                0..=4 => {}
                5..=7 => put(&root, name, &format!("v{side} {name} {t}"), t),
                8 => put(&root, name, &format!("same {name}"), t), // may equal the other side's
                _ => {
                    let _ = std::fs::remove_file(root.join(name));
                }
            }
        }
    }
    for i in 0..rng.random_range(0..4) {
        let name = format!("new{i}.txt");
        match rng.random_range(0..4) {
            0 => put(&p.p1(), &name, "n1", 150),
            1 => put(&p.p2(), &name, "n2", 150),
            2 => {
                put(&p.p1(), &name, "both", 150);
                put(&p.p2(), &name, "both", 150);
            }
            _ => {
                put(&p.p1(), &name, "n1x", 150);
                put(&p.p2(), &name, "n2xx", 160);
            }
        }
    }
    let policies: [&[&str]; 5] = [
        &[],
        &["--conflict-resolve", "newer"],
        &["--conflict-resolve", "path2", "--conflict-loser", "delete"],
        &["--conflict-loser", "pathname"],
        &["--conflict-resolve", "larger"],
    ];
    let mut flags: Vec<String> = policies[rng.random_range(0..policies.len())]
        .iter()
        .map(|s| s.to_string())
        .collect();
    flags.push("--force".into()); // random change sets may delete more than half
    flags.push("--transfers".into());
    flags.push(rng.random_range(1..4).to_string());
    flags
}

/// Copies a tree (files with their mtimes).
fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
            common::copy_mtime(&src, &dst);
        }
    }
}

fn snapshot(p: &Pair, to: &Path) {
    for d in ["p1", "p2", "wd"] {
        copy_tree(&p.dir.path().join(d), &to.join(d));
    }
}

fn restore(p: &Pair, from: &Path) {
    for d in ["p1", "p2", "wd"] {
        copy_tree(&from.join(d), &p.dir.path().join(d));
    }
}

/// Runs bisync and kills it: at crash point `point` (the test hook), or after `delay`.
fn killed_run(p: &Pair, flags: &[&str], point: Option<u32>, delay: Duration) {
    let mut c = p.cmd(flags);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    if let Some(n) = point {
        c.env("FERRY_BISYNC_CRASH_AT", n.to_string());
        let _ = c.status().unwrap();
    } else {
        let mut child = c.spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
}

/// The test hook really kills the process at the point named (the crash loop relies on it).
#[cfg(unix)]
#[test]
fn the_crash_hook_kills_at_the_chosen_point() {
    use std::os::unix::process::ExitStatusExt;
    let p = Pair::new();
    put(&p.p1(), "a.txt", "a", 0);
    let mut c = p.cmd(&["--resync"]);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c.env("FERRY_BISYNC_CRASH_AT", "1");
    let status = c.status().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    let (code, _, err) = p.run(&["--resync"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn crash_loop_kill_9_anywhere_then_a_normal_run_completes() {
    let iterations: u64 = std::env::var("FERRY_BISYNC_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("FERRY_BISYNC_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let started = std::time::Instant::now();
    let mut kills = 0;
    for it in 0..iterations {
        let mut rng = SmallRng::seed_from_u64(seed + it);
        let p = Pair::new();
        let flags = random_scenario(&p, &mut rng);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let snap = tempfile::tempdir().unwrap();
        snapshot(&p, snap.path());
        // The reference: one uninterrupted run.
        let (code, _, err) = p.run(&flags);
        assert_eq!(code, 0, "iteration {it}: reference run failed: {err}");
        let (want1, want2) = (files(&p.p1()), files(&p.p2()));
        assert_eq!(want1, want2, "iteration {it}: reference not in sync");
        // The same change set, killed at a random point (sometimes twice), then a normal run.
        restore(&p, snap.path());
        let crashes = if rng.random_range(0..4) == 0 { 2 } else { 1 };
        for _ in 0..crashes {
            if rng.random_range(0..4) == 0 {
                killed_run(
                    &p,
                    &flags,
                    None,
                    Duration::from_millis(rng.random_range(0..40)),
                );
            } else {
                killed_run(&p, &flags, Some(rng.random_range(1..30)), Duration::ZERO);
            }
            kills += 1;
        }
        let (code, _, err) = p.run(&flags);
        assert_eq!(
            code,
            0,
            "iteration {it} (seed {}): run after the kill failed:\n{err}",
            seed + it
        );
        let (got1, got2) = (files(&p.p1()), files(&p.p2()));
        assert_eq!(
            got1,
            want1,
            "iteration {it} (seed {}): Path1 differs from the uninterrupted run",
            seed + it
        );
        assert_eq!(
            got2,
            want2,
            "iteration {it} (seed {}): Path2 differs",
            seed + it
        );
        // And the saved state agrees with both trees: nothing left to do.
        let d = p.decisions(&flags);
        assert!(
            d.is_empty(),
            "iteration {it} (seed {}): state not settled: {d:?}",
            seed + it
        );
    }
    eprintln!(
        "crash loop: {iterations} iterations, {kills} kills, {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn killed_resync_is_completed_by_a_normal_run() {
    for point in 1..8 {
        let p = Pair::new();
        put(&p.p1(), "a", "a", 0);
        put(&p.p2(), "b", "b", 0);
        put(&p.p1(), "x", "one", 0);
        put(&p.p2(), "x", "two!", 0);
        killed_run(&p, &["--resync"], Some(point), Duration::ZERO);
        let (code, _, err) = p.run(&[]);
        if p.state_path().exists() || code == 0 {
            assert_eq!(code, 0, "point {point}: {err}");
            p.assert_in_sync();
            assert_eq!(content(&p.p2(), "x"), "one", "point {point}: path1 wins");
        } else {
            // Killed before the resync journal existed: still a first run.
            assert_eq!(code, 7, "point {point}: {err}");
        }
    }
}

// ----- rclone -----------------------------------------------------------------------------

fn run_rclone(bin: &Path, p: &Pair, extra: &[&str]) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .arg("bisync")
        .arg(p.p1())
        .arg(p.p2())
        .arg("--workdir")
        .arg(p.wd())
        .args(extra)
        .env("RCLONE_CONFIG", "/dev/null")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .output()
        .unwrap_or_else(|e| panic!("can't run rclone {}: {e}", bin.display()));
    let (code, _, err) = split(out);
    (code, err)
}

/// Prepares a pair, given a way to run the tool under test with flags.
type Setup = dyn Fn(&Pair, &dyn Fn(&[&str]) -> i32);

/// Runs the same scenario through ferry and rclone; both trees must match, file for file.
fn same_as_rclone(bin: &Path, what: &str, setup: &Setup, flags: &[&str]) {
    let ours = Pair::new();
    let theirs = Pair::new();
    setup(&ours, &|f: &[&str]| ours.run(f).0);
    setup(&theirs, &|f: &[&str]| run_rclone(bin, &theirs, f).0);
    let (a, err_a) = {
        let (c, _, e) = ours.run(flags);
        (c, e)
    };
    let (b, err_b) = run_rclone(bin, &theirs, flags);
    assert_eq!(
        a, b,
        "{what}: exit codes differ\nferry: {err_a}\nrclone: {err_b}"
    );
    for (side, x, y) in [
        ("Path1", ours.p1(), theirs.p1()),
        ("Path2", ours.p2(), theirs.p2()),
    ] {
        let (fx, fy) = (files(&x), files(&y));
        assert_eq!(
            fx.keys().collect::<Vec<_>>(),
            fy.keys().collect::<Vec<_>>(),
            "{what}: {side} names differ\nferry: {err_a}\nrclone: {err_b}"
        );
        for (k, (c, t)) in &fx {
            assert_eq!(c, &fy[k].0, "{what}: {side} {k}: contents differ");
            assert_eq!(t, &fy[k].1, "{what}: {side} {k}: mtimes differ");
        }
    }
}

#[test]
fn same_outcomes_as_rclone() {
    let Some(bin) = rclone() else { return };
    // The change matrix with default settings.
    same_as_rclone(
        &bin,
        "change matrix",
        &|p, run| {
            matrix(&p.p1(), &p.p2(), || assert_eq!(run(&["--resync"]), 0));
        },
        &[],
    );
    // Each conflict policy.
    for (flags, _) in conflict_cases() {
        same_as_rclone(
            &bin,
            &format!("conflict {flags:?}"),
            &|p, run| {
                put(&p.p1(), "f.txt", "orig", 0);
                put(&p.p1(), "other.txt", "o", 0);
                assert_eq!(run(&["--resync"]), 0);
                put(&p.p1(), "f.txt", "one", 300);
                put(&p.p2(), "f.txt", "second", 200);
            },
            &flags,
        );
    }
    // Resync modes.
    for mode in ["path1", "path2", "newer", "older", "larger", "smaller"] {
        same_as_rclone(
            &bin,
            &format!("resync-mode {mode}"),
            &|p, _| {
                put(&p.p1(), "x.txt", "path1-long", 10);
                put(&p.p2(), "x.txt", "p2", 20);
                put(&p.p1(), "only1.txt", "1", 0);
                put(&p.p2(), "d/only2.txt", "2", 0);
            },
            &["--resync-mode", mode],
        );
    }
    // Max-delete abort: same exit code, nothing changed.
    same_as_rclone(
        &bin,
        "max-delete",
        &|p, run| {
            for i in 0..4 {
                put(&p.p1(), &format!("f{i}"), "x", 0);
            }
            assert_eq!(run(&["--resync"]), 0);
            for i in 0..3 {
                std::fs::remove_file(p.p1().join(format!("f{i}"))).unwrap();
            }
        },
        &[],
    );
    // Empty directories.
    same_as_rclone(
        &bin,
        "create-empty-src-dirs",
        &|p, run| {
            put(&p.p1(), "a", "a", 0);
            std::fs::create_dir_all(p.p1().join("e1/sub")).unwrap();
            assert_eq!(run(&["--resync", "--create-empty-src-dirs"]), 0);
            std::fs::create_dir(p.p2().join("e2")).unwrap();
            std::fs::remove_dir(p.p1().join("e1/sub")).unwrap();
        },
        &["--create-empty-src-dirs"],
    );
    // A first run without --resync: both refuse with 7.
    same_as_rclone(&bin, "first run", &|p, _| put(&p.p1(), "a", "a", 0), &[]);
}

/// Files enough that changing one is not "all files changed".
fn fill(p: &Pair) {
    for i in 0..4 {
        put(&p.p1(), &format!("f{i}"), "x", 0);
    }
}

#[test]
fn fix_case_gives_the_names_rclone_gives() {
    let Some(bin) = rclone() else { return };
    let fix = ["--ignore-case-sync", "--fix-case"];
    // A resync copies Path2 to Path1 first: Path1 takes Path2's name.
    same_as_rclone(
        &bin,
        "resync",
        &|p, _| {
            fill(p);
            put(&p.p1(), "Foo.txt", "same", 10);
            put(&p.p2(), "foo.txt", "same", 10);
        },
        &["--resync", fix[0], fix[1]],
    );
    // Identical files new on both sides: Path1's name is deemed the right one.
    same_as_rclone(
        &bin,
        "new on both sides",
        &|p, run| {
            fill(p);
            assert_eq!(run(&["--resync"]), 0);
            put(&p.p1(), "Bar.txt", "same", 10);
            put(&p.p2(), "bar.txt", "same", 10);
        },
        &fix,
    );
    // A copy onto a name that differs only in case renames it first.
    same_as_rclone(
        &bin,
        "changed on one side",
        &|p, run| {
            fill(p);
            put(&p.p1(), "one.txt", "same", 10);
            put(&p.p2(), "ONE.txt", "same", 10);
            assert_eq!(run(&["--resync", "--ignore-case-sync"]), 0);
            put(&p.p1(), "one.txt", "changed", 5);
        },
        &fix,
    );
}

#[test]
fn empty_directories_match_rclone() {
    let Some(bin) = rclone() else { return };
    for flags in [&["--create-empty-src-dirs"][..], &[]] {
        let ours = Pair::new();
        let theirs = Pair::new();
        let setup = |p: &Pair, run: &dyn Fn(&[&str]) -> i32| {
            put(&p.p1(), "d/only.txt", "x", 0);
            put(&p.p1(), "k", "k", 0);
            std::fs::create_dir_all(p.p1().join("e1")).unwrap();
            let mut f = vec!["--resync"];
            f.extend_from_slice(flags);
            assert_eq!(run(&f), 0);
            std::fs::create_dir(p.p2().join("e2")).unwrap();
            std::fs::remove_dir(p.p1().join("e1")).unwrap();
            std::fs::remove_file(p.p1().join("d/only.txt")).unwrap();
        };
        setup(&ours, &|f| ours.run(f).0);
        setup(&theirs, &|f| run_rclone(&bin, &theirs, f).0);
        let mut f = flags.to_vec();
        f.push("--force");
        assert_eq!(ours.run(&f).0, 0);
        assert_eq!(run_rclone(&bin, &theirs, &f).0, 0);
        for (x, y) in [(ours.p1(), theirs.p1()), (ours.p2(), theirs.p2())] {
            assert_eq!(dirs(&x), dirs(&y), "{flags:?}");
            assert_eq!(names(&x), names(&y), "{flags:?}");
        }
    }
}

#[test]
fn a_directory_deleted_on_one_side_goes_on_the_other_as_in_rclone() {
    let p = Pair::new();
    put(&p.p1(), "d/a.txt", "a", 0);
    put(&p.p1(), "d/e/b.txt", "b", 0);
    put(&p.p1(), "keep/c.txt", "c", 0);
    put(&p.p1(), "top.txt", "t", 0);
    p.ok(&["--resync"]);
    std::fs::remove_dir_all(p.p1().join("d")).unwrap();
    // A directory still holding something on the other side stays.
    put(&p.p2(), "keep/new.txt", "n", 0);
    std::fs::remove_dir_all(p.p1().join("keep")).unwrap();
    let (code, _, err) = p.run(&["--force", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(!p.p2().join("d").exists(), "{err}");
    assert!(err.contains("d/e: Removing directory"), "{err}");
    assert!(p.p2().join("keep/new.txt").exists(), "{err}");
    assert!(p.p1().join("keep/new.txt").exists(), "{err}");
    assert_eq!(names(&p.p2()), names(&p.p1()));
}

#[test]
fn takes_over_from_rclone_bisync_without_a_resync() {
    let Some(bin) = rclone() else { return };
    for in_rclones_own_workdir in [false, true] {
        let p = Pair::new();
        put(&p.p1(), "a.txt", "a", 0);
        put(&p.p1(), "d/b.txt", "b", 0);
        put(&p.p1(), "gone.txt", "g", 0);
        let cache = p.dir.path().join("xdg-cache");
        let rclone_wd = if in_rclones_own_workdir {
            cache.join("rclone").join("bisync")
        } else {
            p.wd()
        };
        let (p1, p2) = (p.p1(), p.p2());
        let out = Command::new(&bin)
            .env("RCLONE_CONFIG", "/dev/null")
            .args(["bisync", "--resync", "--workdir"])
            .arg(&rclone_wd)
            .arg(&p1)
            .arg(&p2)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Changes after rclone's last run: ferry must see them as changes.
        put(&p.p1(), "a.txt", "a changed", 500);
        std::fs::remove_file(p.p2().join("gone.txt")).unwrap();
        put(&p.p2(), "new.txt", "n", 0);
        let (code, _, err) = split(
            p.cmd(&["-v"])
                .env("XDG_CACHE_HOME", &cache)
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("taking over rclone bisync's listings"),
            "{err}"
        );
        assert_eq!(content(&p.p2(), "a.txt"), "a changed");
        assert!(
            !p.p1().join("gone.txt").exists(),
            "a delete propagated: {err}"
        );
        assert_eq!(content(&p.p1(), "new.txt"), "n");
        assert_eq!(names(&p.p1()), names(&p.p2()));
        // From now on ferry's own state is used.
        let (code, _, err) = split(
            p.cmd(&["-v"])
                .env("XDG_CACHE_HOME", &cache)
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "{err}");
        assert!(!err.contains("taking over"), "{err}");
    }
    // A listing that is not rclone's is a critical error, never a guess.
    let p = Pair::new();
    put(&p.p1(), "a.txt", "a", 0);
    let name = format!(
        "{}..{}",
        p.p1().to_string_lossy().trim_matches('/').replace('/', "_"),
        p.p2().to_string_lossy().trim_matches('/').replace('/', "_")
    );
    std::fs::write(p.wd().join(format!("{name}.path1.lst")), "junk\n").unwrap();
    std::fs::write(p.wd().join(format!("{name}.path2.lst")), "junk\n").unwrap();
    let (code, _, err) = p.run(&[]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("rclone's listing") && err.contains("line 1"),
        "{err}"
    );
}

/// `--cache-dir` holds bisync's state when no `--workdir` is given (rclone keeps it under
/// its cache directory too); nothing goes to the home directory's cache.
#[test]
fn cache_dir_holds_the_state_without_a_workdir() {
    let p = Pair::new();
    let home = tempfile::tempdir().unwrap();
    let cache = p.dir.path().join("my-cache");
    let out = ferry()
        .arg("bisync")
        .arg(p.p1())
        .arg(p.p2())
        .args(["--resync", "--cache-dir"])
        .arg(&cache)
        .env("HOME", home.path())
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    let (code, _, err) = split(out);
    assert_eq!(code, 0, "{err}");
    let listings: Vec<_> = std::fs::read_dir(cache.join("bisync"))
        .unwrap_or_else(|e| panic!("{e}: {err}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        listings
            .iter()
            .any(|n| n.contains("_p1..") && n.ends_with(".state.json")),
        "{listings:?}"
    );
    assert!(!home.path().join(".cache/ferry").exists());
}
