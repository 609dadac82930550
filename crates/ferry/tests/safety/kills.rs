//! A local `sync` of a few hundred files killed with SIGKILL at random moments, over and
//! over, with the source changing between kills: every file under a final name is always
//! a whole version of that file, the next run finishes the job, `check` agrees, and no
//! temporary file outlives that run. A `move` from another filesystem (copy, then delete)
//! killed the same way never loses a file: each is whole on one side or both.
//! (The single big file case is `e2e/crash.rs`.)
//!
//! CI runs [`KILLS`] kill points; `FERRY_SOAK_KILLS=N` runs N (a longer soak on demand).
//! The figures are printed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

use super::common::{ferry, run, set_age, Scratch};

/// Kill points in an ordinary test run.
const KILLS: usize = 16;
const FILES: usize = 300;

/// Every version each path has had (at the source, or at the destination to begin with).
type Versions = BTreeMap<String, Vec<Vec<u8>>>;

fn content(rng: &mut SmallRng) -> Vec<u8> {
    // Mostly small files, a few of some MiB so a run has writes in flight for a while.
    let len = if rng.random_range(0..40) == 0 {
        rng.random_range(1 << 20..4 << 20)
    } else {
        rng.random_range(0..64 << 10)
    };
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

fn rel_of(i: usize) -> String {
    format!("d{}/sub {}/f{i:03}.bin", i % 7, i % 3)
}

/// Writes a new version of `rel` at the source (with a time of its own) and records it.
fn new_version(sc: &Scratch, rel: &str, rng: &mut SmallRng, versions: &mut Versions, age: u64) {
    let bytes = content(rng);
    let path = sc.path(&format!("src/{rel}"));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, &bytes).unwrap();
    set_age(&path, age);
    versions.entry(rel.to_owned()).or_default().push(bytes);
}

/// Files under `root`: (relative path, is a ferry temporary file).
pub(super) fn files(root: &Path) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
                continue;
            }
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let temp = ferry_core::partial::is_temp_name(&e.file_name().to_string_lossy());
            out.push((rel, temp));
        }
    }
    out
}

/// Every file under a final name at the destination is one whole version of that path.
fn assert_only_whole_versions(sc: &Scratch, versions: &Versions, kill: usize) -> usize {
    let mut temps = 0;
    for (rel, temp) in files(&sc.path("dst")) {
        if temp {
            temps += 1;
            continue;
        }
        let got = fs::read(sc.path(&format!("dst/{rel}"))).unwrap();
        let known = versions.get(&rel).map(Vec::as_slice).unwrap_or_default();
        assert!(
            known.contains(&got),
            "after kill {kill}: dst/{rel} ({} bytes) is no version of that file",
            got.len()
        );
    }
    temps
}

#[test]
fn a_local_sync_killed_at_random_points_never_leaves_a_broken_file() {
    let kills = std::env::var("FERRY_SOAK_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(KILLS);
    let seed = 0x5eed_0028;
    let mut rng = SmallRng::seed_from_u64(seed);
    let sc = Scratch::new();
    let mut versions = Versions::new();
    for i in 0..FILES {
        new_version(&sc, &rel_of(i), &mut rng, &mut versions, 10_000);
    }
    // The destination holds older versions of some files, and files only it has.
    for i in (0..FILES).step_by(3) {
        let bytes = content(&mut rng);
        let rel = rel_of(i);
        super::common::write_file(&sc.path(&format!("dst/{rel}")), &bytes, 20_000);
        versions.get_mut(&rel).unwrap().push(bytes);
    }
    for i in 0..10 {
        let rel = format!("only-dst/x{i}.bin");
        let bytes = content(&mut rng);
        super::common::write_file(&sc.path(&format!("dst/{rel}")), &bytes, 20_000);
        versions.entry(rel).or_default().push(bytes);
    }
    let (mut finished, mut temps_seen) = (0, 0);
    let start = Instant::now();
    for kill in 0..kills {
        // Throttled (so through the streaming path, not the kernel's copy), so a run
        // lasts long enough to be killed mid-write; half the runs with more at once.
        let mut cmd = ferry();
        cmd.args(["sync", "--retries", "1", &sc.src(), &sc.dst()]);
        if kill % 2 == 1 {
            cmd.args(["--bwlimit=16M", "--transfers=8"]);
        } else {
            cmd.arg("--bwlimit=4M");
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(10..500)));
        // SIGKILL; an error if the run had already ended, which is counted.
        if child.try_wait().unwrap().is_some() {
            finished += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        temps_seen += assert_only_whole_versions(&sc, &versions, kill);
        // The source moves on: new versions of some files before the next run.
        for _ in 0..60 {
            let i = rng.random_range(0..FILES);
            new_version(
                &sc,
                &rel_of(i),
                &mut rng,
                &mut versions,
                5_000 - kill as u64,
            );
        }
    }
    // An uninterrupted run finishes the job and clears every leftover.
    let (code, _, err) = run(&["sync", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "the run after {kills} kills failed: {err}");
    assert_eq!(
        super::common::tree(&sc.path("src")),
        super::common::tree(&sc.path("dst")),
        "the destination is not the source after the final run"
    );
    let left: Vec<_> = files(&sc.path("dst")).into_iter().filter(|f| f.1).collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let (code, _, err) = run(&["check", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "check after the final run: {err}");
    eprintln!(
        "kill loop (seed {seed:#x}): {kills} kill points on {FILES} files, {} of them after the run \
         had ended, {temps_seen} temporary files seen after kills, 0 broken files, {:.1?}",
        finished,
        start.elapsed()
    );
}

/// Each file (one version each), whole at the source or the destination, or both.
fn assert_nothing_lost(sc: &Scratch, versions: &Versions, kill: usize) {
    for (rel, v) in versions {
        let at = |side: &str| fs::read(sc.path(&format!("{side}/{rel}"))).ok();
        let (src, dst) = (at("src"), at("dst"));
        assert!(
            src.is_some() || dst.is_some(),
            "after kill {kill}: {rel} is on neither side"
        );
        for got in [src, dst].into_iter().flatten() {
            assert!(
                got == v[0],
                "after kill {kill}: a copy of {rel} is not whole"
            );
        }
    }
}

#[test]
fn a_local_move_killed_at_random_points_never_loses_a_file() {
    let kills = std::env::var("FERRY_SOAK_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(KILLS);
    let seed = 0x5eed_0029;
    let mut rng = SmallRng::seed_from_u64(seed);
    let sc = Scratch::new();
    // The source on a filesystem of its own, so each file is copied, then deleted (a
    // rename within one filesystem is all or nothing, and too quick to be killed).
    let Some(_disk) = super::diskfaults::Tmpfs::mount(&sc.path("src"), "256m") else {
        return;
    };
    let mut versions = Versions::new();
    for i in 0..FILES {
        new_version(&sc, &rel_of(i), &mut rng, &mut versions, 10_000);
    }
    let mut finished = 0;
    for kill in 0..kills {
        // Throttled, so a run lasts long enough to be killed mid-file.
        let rate = if kill % 2 == 1 {
            "--bwlimit=16M"
        } else {
            "--bwlimit=4M"
        };
        let mut child = ferry()
            .args(["move", "--retries", "1", rate, &sc.src(), &sc.dst()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(10..500)));
        if child.try_wait().unwrap().is_some() {
            finished += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        assert_nothing_lost(&sc, &versions, kill);
        // New files keep every run busy, however long the loop.
        for j in 0..20 {
            let rel = format!("more/k{kill}/f{j}.bin");
            new_version(&sc, &rel, &mut rng, &mut versions, 1_000);
        }
    }
    let (code, _, err) = run(&["move", &sc.src(), &sc.dst()]);
    assert_eq!(code, 0, "the move after {kills} kills failed: {err}");
    assert_nothing_lost(&sc, &versions, kills);
    let left: Vec<_> = files(&sc.path("src")).into_iter().map(|f| f.0).collect();
    assert!(left.is_empty(), "not moved: {left:?}");
    let temps: Vec<_> = files(&sc.path("dst")).into_iter().filter(|f| f.1).collect();
    assert!(temps.is_empty(), "temporary files left: {temps:?}");
    eprintln!(
        "move kill loop (seed {seed:#x}): {kills} kill points on {FILES} files and 20 more \
         after each, {finished} after the run had ended, 0 files lost or broken"
    );
}
