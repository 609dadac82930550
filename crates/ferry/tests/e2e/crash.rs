//! Crash safety: `ferry sync` killed with SIGKILL at many points of a run that
//! replaces a 200 MiB file must never leave a file under its final name that is
//! neither its old nor its new version, and the next uninterrupted run must finish
//! the job and clean up every temporary file the killed run left behind.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use filetime::FileTime;
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");
const MIB: usize = 1 << 20;
/// The big file, replaced by a new version of another size.
const BIG: &str = "media/big.bin";
const BIG_NEW_LEN: usize = 200 * MIB;
const BIG_OLD_LEN: usize = 180 * MIB;
/// How many times the sync is killed.
const KILL_POINTS: usize = 56;

/// One version of one file.
struct Version {
    bytes: Vec<u8>,
    mtime: FileTime,
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// Whether the file at `path` holds exactly `want` (`prefix`: or the start of it),
/// read in chunks so a 200 MiB file is never held twice.
fn same_bytes(path: &Path, want: &[u8], prefix: bool) -> bool {
    use std::io::Read;
    let mut file = fs::File::open(path).unwrap();
    let len = file.metadata().unwrap().len() as usize;
    if len > want.len() || (!prefix && len != want.len()) {
        return false;
    }
    let mut buf = vec![0u8; 4 * MIB];
    let mut at = 0;
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            return at == len;
        }
        if at + n > want.len() || buf[..n] != want[at..at + n] {
            return false;
        }
        at += n;
    }
}

fn mtime_of(path: &Path) -> FileTime {
    FileTime::from_last_modification_time(&fs::symlink_metadata(path).unwrap())
}

/// ferry's temporary name `.NAME.ferry-<tag><check>.partial` -> `NAME`.
fn partial_target(name: &str) -> Option<&str> {
    if !ferry_core::partial::is_temp_name(name) {
        return None;
    }
    let stem = name.strip_prefix('.')?.strip_suffix(".partial")?;
    Some(stem.rsplit_once(".ferry-")?.0)
}

/// Every entry under `root`, as (relative path with `/`, is_dir, full path).
fn walk(root: &Path) -> Vec<(String, bool, PathBuf)> {
    fn go(dir: &Path, rel: &str, out: &mut Vec<(String, bool, PathBuf)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().expect("UTF-8 name");
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let full = entry.path();
            let is_dir = entry.file_type().unwrap().is_dir();
            out.push((rel.clone(), is_dir, full.clone()));
            if is_dir {
                go(&full, &rel, out);
            }
        }
    }
    let mut out = Vec::new();
    go(root, "", &mut out);
    out.sort();
    out
}

fn parent_dirs<'a>(paths: impl Iterator<Item = &'a String>) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for p in paths {
        let mut cur = p.as_str();
        while let Some((parent, _)) = cur.rsplit_once('/') {
            dirs.insert(parent.to_owned());
            cur = parent;
        }
    }
    dirs
}

/// Where a killed run was, judged from what it left at the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// The big file is still the old one and no partial of it exists.
    Before,
    /// A partial of the big file exists: killed while it was being written.
    During,
    /// The big file is the new one.
    After,
}

struct Fixture {
    _tmp: tempfile::TempDir,
    src: PathBuf,
    dst: PathBuf,
    /// The old big file, hard-linked into each fresh destination (ferry replaces by
    /// rename, so the link itself is never written to).
    pristine_big: PathBuf,
    new: BTreeMap<String, Version>,
    old: BTreeMap<String, Version>,
    new_dirs: BTreeSet<String>,
    allowed_dirs: BTreeSet<String>,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let dst = tmp.path().join("dst");
        let pristine_big = tmp.path().join("pristine-big.bin");
        let dirs = [
            "",
            "docs",
            "docs/guides",
            "docs/guides/deep",
            "media",
            "src code",
            "ünïcödé 日本",
        ];
        let mut new = BTreeMap::new();
        let mut old = BTreeMap::new();
        for i in 0..32u64 {
            let dir = dirs[i as usize % dirs.len()];
            let name = format!("file {i:02}.txt");
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let new_len = (i as usize * 997) % 40_000 + (i as usize % 3);
            new.insert(
                rel.clone(),
                Version {
                    bytes: random_bytes(new_len, 1000 + i),
                    mtime: FileTime::from_unix_time(1_600_000_000 + i as i64, 123_456_789),
                },
            );
            // Every 7th file is new; the others exist in an older, differently sized version.
            if i % 7 != 3 {
                old.insert(
                    rel,
                    Version {
                        bytes: random_bytes(new_len + 1 + (i as usize % 5) * 100, 2000 + i),
                        mtime: FileTime::from_unix_time(1_500_000_000 + i as i64, 987_654_321),
                    },
                );
            }
        }
        for (i, extra) in [
            "stale/old 1.log",
            "stale/nested/old-2.log",
            "docs/obsolete.md",
            "zz-extra.bin",
        ]
        .into_iter()
        .enumerate()
        {
            old.insert(
                extra.to_owned(),
                Version {
                    bytes: random_bytes(5000 + i * 3000, 3000 + i as u64),
                    mtime: FileTime::from_unix_time(1_400_000_000 + i as i64, 5),
                },
            );
        }
        new.insert(
            BIG.to_owned(),
            Version {
                bytes: random_bytes(BIG_NEW_LEN, 7),
                mtime: FileTime::from_unix_time(1_650_000_000, 424_242_424),
            },
        );
        old.insert(
            BIG.to_owned(),
            Version {
                bytes: random_bytes(BIG_OLD_LEN, 8),
                mtime: FileTime::from_unix_time(1_550_000_000, 1),
            },
        );
        for (rel, v) in &new {
            write_version(&src.join(rel), v);
        }
        write_version(&pristine_big, &old[BIG]);
        let new_dirs = parent_dirs(new.keys());
        let allowed_dirs = parent_dirs(new.keys().chain(old.keys()));
        Fixture {
            _tmp: tmp,
            src,
            dst,
            pristine_big,
            new,
            old,
            new_dirs,
            allowed_dirs,
        }
    }

    /// Puts the destination back in its old state.
    fn reset_dst(&self) {
        if self.dst.exists() {
            fs::remove_dir_all(&self.dst).unwrap();
        }
        let pristine = fs::metadata(&self.pristine_big).unwrap();
        assert_eq!(
            pristine.len() as usize,
            BIG_OLD_LEN,
            "pristine copy changed"
        );
        assert_eq!(
            FileTime::from_last_modification_time(&pristine),
            self.old[BIG].mtime,
            "pristine copy's mtime changed: ferry wrote through a hard link"
        );
        for (rel, v) in &self.old {
            let path = self.dst.join(rel);
            if rel == BIG {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::hard_link(&self.pristine_big, &path).unwrap();
            } else {
                write_version(&path, v);
            }
        }
    }

    fn sync_cmd(&self, extra: &[&str]) -> Command {
        let mut cmd = Command::new(FERRY);
        cmd.arg("sync").arg(&self.src).arg(&self.dst).args(extra);
        cmd
    }

    /// After a kill: each file under its final name is wholly old or wholly new (with
    /// that version's mtime), nothing in both versions went missing, and partials hold
    /// a prefix of the new content.
    fn check_after_kill(&self, label: &str) -> Phase {
        let mut big_partial = false;
        let mut seen = BTreeSet::new();
        for (rel, is_dir, full) in walk(&self.dst) {
            if is_dir {
                assert!(
                    self.allowed_dirs.contains(&rel),
                    "{label}: unexpected directory {rel:?} in the destination"
                );
                continue;
            }
            let name = full.file_name().unwrap().to_str().unwrap();
            let len = fs::metadata(&full).unwrap().len();
            if let Some(target) = partial_target(name) {
                let target_rel = match rel.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{target}"),
                    None => target.to_owned(),
                };
                let new = self.new.get(&target_rel).unwrap_or_else(|| {
                    panic!(
                        "{label}: partial {rel:?} for {target_rel:?}, which is not in the source"
                    )
                });
                assert!(
                    same_bytes(&full, &new.bytes, true),
                    "{label}: partial {rel:?} ({len} bytes) is not a prefix of the new {target_rel:?}"
                );
                big_partial |= target_rel == BIG;
                continue;
            }
            let mtime = mtime_of(&full);
            let new = self.new.get(&rel);
            let old = self.old.get(&rel);
            match (new, old) {
                (Some(n), _) if same_bytes(&full, &n.bytes, false) => assert_eq!(
                    mtime, n.mtime,
                    "{label}: {rel:?} has its new content under its final name but not its new mtime"
                ),
                (_, Some(o)) if same_bytes(&full, &o.bytes, false) => assert_eq!(
                    mtime, o.mtime,
                    "{label}: {rel:?} has its old content but its mtime changed"
                ),
                (None, None) => panic!("{label}: {rel:?} is neither an old nor a new file"),
                _ => panic!(
                    "{label}: {rel:?} ({len} bytes) is neither its old ({:?} bytes) nor its new ({:?} bytes) version",
                    old.map(|v| v.bytes.len()),
                    new.map(|v| v.bytes.len()),
                ),
            }
            seen.insert(rel);
        }
        for rel in self.old.keys().filter(|r| self.new.contains_key(*r)) {
            assert!(
                seen.contains(rel),
                "{label}: {rel:?} exists in both versions but vanished from the destination"
            );
        }
        if big_partial {
            return Phase::During;
        }
        if same_bytes(&self.dst.join(BIG), &self.new[BIG].bytes, false) {
            Phase::After
        } else {
            Phase::Before
        }
    }

    /// The destination is exactly the source: same paths, bytes, mtimes (to the
    /// nanosecond), same directories, and no temporary files.
    fn assert_synced(&self, label: &str) {
        let mut files = BTreeSet::new();
        let mut dirs = BTreeSet::new();
        for (rel, is_dir, full) in walk(&self.dst) {
            if is_dir {
                dirs.insert(rel);
                continue;
            }
            let name = full.file_name().unwrap().to_str().unwrap();
            assert!(
                partial_target(name).is_none() && !name.ends_with(".partial"),
                "{label}: temporary file {rel:?} left in the destination"
            );
            let want = self
                .new
                .get(&rel)
                .unwrap_or_else(|| panic!("{label}: {rel:?} is in the destination only"));
            assert!(
                same_bytes(&full, &want.bytes, false),
                "{label}: {rel:?} differs from the source ({} vs {} bytes)",
                fs::metadata(&full).unwrap().len(),
                want.bytes.len()
            );
            assert_eq!(mtime_of(&full), want.mtime, "{label}: {rel:?} mtime");
            files.insert(rel);
        }
        let want: BTreeSet<_> = self.new.keys().cloned().collect();
        let missing: Vec<_> = want.difference(&files).collect();
        assert!(
            missing.is_empty(),
            "{label}: missing from the destination: {missing:?}"
        );
        assert_eq!(dirs, self.new_dirs, "{label}: directories");
    }
}

fn write_version(path: &Path, v: &Version) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, &v.bytes).unwrap();
    filetime::set_file_mtime(path, v.mtime).unwrap();
}

fn run_quiet(mut cmd: Command) -> (ExitStatus, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Picks a `--bwlimit` under which the run is held back by the limit for a few
/// tenths of a second or more (over the time it takes with a limit too high to
/// bite), so kills can land while the big file streams even when the machine is
/// busy; returns it and the time one run takes.
fn calibrate(fx: &Fixture) -> (String, Duration) {
    // The faster of two runs: a cold cache or a busy moment only slows one down.
    let time = |rate: &str| {
        let mut took = Duration::MAX;
        for _ in 0..2 {
            fx.reset_dst();
            let start = Instant::now();
            let (status, stderr) = run_quiet(fx.sync_cmd(&["--transfers", "2", "--bwlimit", rate]));
            took = took.min(start.elapsed());
            assert!(status.success(), "calibration run failed: {stderr}");
            fx.assert_synced(&format!("calibration at --bwlimit {rate}"));
        }
        println!("calibration: --bwlimit {rate}: one run takes {took:?}");
        took
    };
    let free = time("64G");
    for mib in [400, 200, 100, 50] {
        let rate = format!("{mib}M");
        let took = time(&rate);
        if took.saturating_sub(free) >= Duration::from_millis(300) || mib == 50 {
            return (rate, took);
        }
    }
    unreachable!()
}

#[test]
fn sigkill_at_many_points_never_leaves_a_torn_file() {
    let started = Instant::now();
    let fx = Fixture::new();
    let (rate, run_time) = calibrate(&fx);
    let first = Duration::from_millis(3);
    let span = run_time.mul_f64(1.15).saturating_sub(first);
    let mut counts = BTreeMap::new();
    let mut finished_before_kill = 0;
    // Where the time goes: reset, killed run, check, recovery sync, final check.
    let mut spent = [Duration::ZERO; 5];
    for i in 0..KILL_POINTS {
        let delay = first + span.mul_f64(i as f64 / (KILL_POINTS - 1) as f64);
        let label = format!("kill point {i} at {delay:?}");
        let t = Instant::now();
        fx.reset_dst();
        spent[0] += t.elapsed();
        let start = Instant::now();
        let mut child = fx
            .sync_cmd(&["--transfers", "2", "--bwlimit", rate.as_str()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay.saturating_sub(start.elapsed()));
        // SIGKILL on Unix; a no-op error if the run has already ended.
        let _ = child.kill();
        let status = child.wait().unwrap();
        spent[1] += start.elapsed();
        let t = Instant::now();
        let phase = fx.check_after_kill(&label);
        *counts.entry(phase).or_insert(0usize) += 1;
        if status.success() {
            finished_before_kill += 1;
            fx.assert_synced(&format!("{label} (run finished before the kill)"));
        }
        spent[2] += t.elapsed();
        let t = Instant::now();
        let (status, stderr) = run_quiet(fx.sync_cmd(&[]));
        spent[3] += t.elapsed();
        assert!(
            status.success(),
            "{label}: the sync after the kill failed ({status}): {stderr}"
        );
        let t = Instant::now();
        fx.assert_synced(&format!("{label}, then a full sync"));
        spent[4] += t.elapsed();
    }
    println!("time spent: reset, killed run, check, recovery sync, final check: {spent:?}");
    let during = counts.get(&Phase::During).copied().unwrap_or(0);
    println!(
        "{KILL_POINTS} kill points over {:?} at --bwlimit {rate}: before the big file {}, \
         while it was being written {during}, after it {} (runs already finished: {finished_before_kill}); \
         total {:?}",
        first + span,
        counts.get(&Phase::Before).copied().unwrap_or(0),
        counts.get(&Phase::After).copied().unwrap_or(0),
        started.elapsed()
    );
    assert!(
        during >= KILL_POINTS / 5,
        "only {during} of {KILL_POINTS} kills landed while the big file was being written: \
         the kill points test too little"
    );
}

/// `--bwlimit` limits from the first byte, as rclone's (whose token bucket starts
/// empty and holds at most max(4 MiB, rate/64)): 32 MiB at 32 MiB/s takes about a second.
#[test]
fn bwlimit_throttles_from_the_first_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f.bin"), random_bytes(32 * MIB, 1)).unwrap();
    let start = Instant::now();
    let mut cmd = Command::new(FERRY);
    cmd.arg("copy")
        .arg(&src)
        .arg(&dst)
        .args(["--bwlimit", "32M"]);
    let (status, stderr) = run_quiet(cmd);
    let took = start.elapsed();
    assert!(status.success(), "{stderr}");
    assert_eq!(
        fs::metadata(dst.join("f.bin")).unwrap().len(),
        32 * MIB as u64
    );
    assert!(
        took >= Duration::from_millis(700),
        "32 MiB at --bwlimit 32M took {took:?}: the limit let a burst through unthrottled"
    );
}
