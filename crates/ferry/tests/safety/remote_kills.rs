//! Kill loops on the remote backends (S3, Azure, SFTP, WebDAV, FTP, GCS and SMB):
//! `sync` and `copy` to and from each, and `bisync` with one, killed with SIGKILL again
//! and again, at random moments and at named crash points (a temporary file written but
//! not renamed, some parts of an upload sent, all sent but not committed, a listing half
//! read, bisync's state half saved), with the source changing between kills. After every
//! kill each file under a final name is one whole version of that file; then an
//! uninterrupted run completes, `check` agrees, and no temporary file is left.
//!
//! CI runs [`KILLS`] kill points per backend and direction; `FERRY_SOAK_KILLS=N` runs N.
//! Each loop prints a `figures:` line (read by `scripts/soak`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_core::crash;
use ferry_testbed::Testbed;
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

use super::common::{cloud, write_file, Scratch};
use super::kills::files;

/// Kill points per loop in an ordinary test run.
const KILLS: usize = 4;
const FILES: usize = 40;

type Versions = BTreeMap<String, Vec<Vec<u8>>>;

fn kills() -> usize {
    std::env::var("FERRY_SOAK_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(KILLS)
}

/// One remote under test: how ferry names its root, and how its files are read back
/// (rclone, which sees ferry's temporary names too).
struct Remote {
    name: &'static str,
    root: String,
    rclone: Command,
    /// Flags that make uploads multipart with small parts, so there are parts to kill between.
    parts: &'static [&'static str],
    /// The points a write to this remote passes.
    points: &'static [&'static str],
    /// Where the remote root is on this machine, for a backend that removes only
    /// leftovers older than an hour (SFTP, FTP, WebDAV: another writer may still own a
    /// younger one).
    aged: Option<std::path::PathBuf>,
    _keep: Box<dyn std::any::Any>,
}

fn s3() -> Option<Remote> {
    let s = Testbed::s3()?;
    Some(Remote {
        name: "s3",
        root: s.rclone_path("k"),
        rclone: s.rclone(),
        parts: &["--s3-upload-cutoff=5M", "--s3-chunk-size=5M"],
        points: &[
            crash::BETWEEN_PARTS,
            crash::BEFORE_COMMIT,
            crash::MID_LISTING,
        ],
        aged: None,
        _keep: Box::new(s),
    })
}

fn azure() -> Option<Remote> {
    let a = Testbed::azure()?;
    Some(Remote {
        name: "azure",
        root: a.rclone_path("k"),
        rclone: a.rclone(),
        parts: &["--azureblob-upload-cutoff=1M", "--azureblob-chunk-size=1M"],
        points: &[
            crash::BETWEEN_PARTS,
            crash::BEFORE_COMMIT,
            crash::MID_LISTING,
        ],
        aged: None,
        _keep: Box::new(a),
    })
}

fn sftp() -> Option<Remote> {
    let s = Testbed::sftp()?;
    Some(Remote {
        name: "sftp",
        root: s.rclone_path("k"),
        rclone: s.rclone(),
        parts: &[],
        points: &[crash::TEMP_WRITTEN, crash::MID_LISTING],
        aged: Some(std::path::PathBuf::from(s.path("k"))),
        _keep: Box::new(s),
    })
}

fn webdav() -> Option<Remote> {
    let w = Testbed::webdav()?;
    Some(Remote {
        name: "webdav",
        root: w.rclone_path("k"),
        rclone: w.rclone(),
        parts: &[],
        points: &[crash::TEMP_WRITTEN, crash::MID_LISTING],
        aged: w.local_path("k"),
        _keep: Box::new(w),
    })
}

fn ftp() -> Option<Remote> {
    let f = Testbed::ftp()?;
    Some(Remote {
        name: "ftp",
        root: f.rclone_path("k"),
        rclone: f.rclone(),
        parts: &[],
        points: &[crash::TEMP_WRITTEN, crash::MID_LISTING],
        aged: Some(f.local("k")),
        _keep: Box::new(f),
    })
}

fn gcs() -> Option<Remote> {
    let g = Testbed::gcs()?;
    Some(Remote {
        name: "gcs",
        root: g.rclone_path("k"),
        rclone: g.rclone(),
        // Over chunk_size an upload is a resumable session sent a chunk at a time; its
        // last chunk finishes the object.
        parts: &["--gcs-chunk-size=1Mi"],
        points: &[
            crash::BETWEEN_PARTS,
            crash::BEFORE_COMMIT,
            crash::MID_LISTING,
        ],
        aged: None,
        _keep: Box::new(g),
    })
}

fn smb() -> Option<Remote> {
    let s = Testbed::smb()?;
    Some(Remote {
        name: "smb",
        root: s.rclone_path("k"),
        rclone: s.rclone(),
        parts: &[],
        points: &[crash::TEMP_WRITTEN, crash::MID_LISTING],
        aged: Some(s.local("k")),
        _keep: Box::new(s),
    })
}

impl Remote {
    /// A copy of the remote's tree (every name, temporary ones included) in `into`.
    fn fetch(&mut self, into: &Path) {
        let _ = fs::remove_dir_all(into);
        fs::create_dir_all(into).unwrap();
        let out = self
            .rclone
            .args(["copy", &self.root, &into.to_string_lossy()])
            .output()
            .unwrap();
        // rclone's Command is reused: its arguments are reset for the next call.
        self.rclone = reset_args(&self.rclone);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("directory not found"),
            "{}: rclone can't read the remote back: {err}",
            self.name
        );
    }
}

/// Makes every ferry temporary file below `dir` two hours old: what a leftover of an
/// interrupted run looks like to a backend that waits an hour before removing one.
pub(super) fn age_temps(dir: &Path) {
    let old = filetime::FileTime::from_system_time(
        std::time::SystemTime::now() - Duration::from_secs(7200),
    );
    for (rel, temp) in files(dir) {
        if temp {
            let _ = filetime::set_file_mtime(dir.join(rel), old);
        }
    }
}

/// The same program and environment as `cmd`, without its arguments.
pub(super) fn reset_args(cmd: &Command) -> Command {
    let mut c = Command::new(cmd.get_program());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.stdin(Stdio::null());
    c
}

fn content(rng: &mut SmallRng, big: bool) -> Vec<u8> {
    let len = if big {
        rng.random_range(6 << 20..11 << 20)
    } else {
        rng.random_range(0..32 << 10)
    };
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

fn rel_of(i: usize) -> String {
    format!("d{}/f{i:02}.bin", i % 4)
}

/// A new version of `rel` in the local tree `root`, recorded.
fn new_version(root: &Path, rel: &str, rng: &mut SmallRng, v: &mut Versions, age: u64) {
    let big = rel.ends_with("00.bin") || rel.ends_with("01.bin");
    let bytes = content(rng, big);
    write_file(&root.join(rel), &bytes, age);
    v.entry(rel.to_owned()).or_default().push(bytes);
}

/// Each file below `root` by its content (ferry's temporary files left out: the
/// loops count those themselves).
pub(super) fn contents(root: &Path) -> BTreeMap<String, Vec<u8>> {
    super::common::tree(root)
        .into_iter()
        .filter(|(k, _)| !ferry_core::partial::is_temp_name(k.rsplit('/').next().unwrap_or(k)))
        .map(|(k, (bytes, _))| (k, bytes))
        .collect()
}

/// The paths whose content differs between two trees.
fn differ(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Every file under a final name below `root` is a whole version; returns the
/// temporary files seen.
#[track_caller]
fn assert_whole(root: &Path, v: &Versions, what: &str) -> usize {
    let mut temps = 0;
    for (rel, temp) in files(root) {
        if temp {
            temps += 1;
            continue;
        }
        let got = fs::read(root.join(&rel)).unwrap();
        let known = v.get(&rel).map(Vec::as_slice).unwrap_or_default();
        assert!(
            known.contains(&got),
            "{what}: {rel} ({} bytes) is no version of that file",
            got.len()
        );
    }
    temps
}

/// How a run is stopped: at a named point (its n-th time), or after a delay.
#[derive(Clone, Debug)]
enum Kill {
    At(&'static str, u32),
    After(Duration),
}

/// Runs `ferry args`, killed as `kill` says; true if it ended on its own first.
fn killed_run(args: &[&str], kill: &Kill) -> bool {
    let mut cmd = cloud();
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    match kill {
        Kill::At(point, n) => {
            cmd.env("FERRY_CRASH_AT", format!("{point}#{n}"));
            let status = cmd.status().unwrap();
            !killed_by_signal(&status)
        }
        Kill::After(delay) => {
            let mut child = cmd.spawn().unwrap();
            std::thread::sleep(*delay);
            let ended = child.try_wait().unwrap().is_some();
            let _ = child.kill();
            child.wait().unwrap();
            ended
        }
    }
}

fn killed_by_signal(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

fn pick_kill(rng: &mut SmallRng, points: &[&'static str], i: usize) -> Kill {
    if i % 3 == 2 {
        Kill::After(Duration::from_millis(rng.random_range(50..1500)))
    } else {
        let point = points[rng.random_range(0..points.len())];
        Kill::At(point, rng.random_range(1..6))
    }
}

/// What a loop counts, printed for `scripts/soak`.
#[derive(Default)]
struct Figures {
    kills: usize,
    at_points: usize,
    ended_first: usize,
    temps_seen: usize,
}

impl Figures {
    fn print(&self, what: &str, seed: u64, start: Instant) {
        eprintln!(
            "figures: kill-loop {what} seed={seed:#x} kills={} at-named-points={} ended-first={} \
             temps-seen={} broken=0 lost=0 time={:.1?}",
            self.kills,
            self.at_points,
            self.ended_first,
            self.temps_seen,
            start.elapsed()
        );
    }
}

/// Runs `ferry args` uninterrupted; it must succeed.
#[track_caller]
fn finish(args: &[&str], what: &str) {
    let out = cloud().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: the run after the kills failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// local → remote: `sync` (odd kills: `copy`) killed over and over.
fn upload_loop(mut r: Remote, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let sc = Scratch::new();
    let src = sc.path("src");
    let mut v = Versions::new();
    for i in 0..FILES {
        new_version(&src, &rel_of(i), &mut rng, &mut v, 10_000);
    }
    let (mut f, start) = (Figures::default(), Instant::now());
    let mut points: Vec<&'static str> = r.points.to_vec();
    points.push(crash::MID_LISTING);
    for i in 0..kills() {
        let verb = if i % 2 == 0 { "sync" } else { "copy" };
        let kill = pick_kill(&mut rng, &points, i);
        let mut args = vec![verb, "--retries=1", "--transfers=4"];
        args.extend_from_slice(r.parts);
        let (s, d) = (sc.src(), r.root.clone());
        args.extend([s.as_str(), d.as_str()]);
        f.ended_first += killed_run(&args, &kill) as usize;
        f.at_points += matches!(kill, Kill::At(..)) as usize;
        f.kills += 1;
        r.fetch(&sc.path("seen"));
        f.temps_seen += assert_whole(
            &sc.path("seen"),
            &v,
            &format!("{} after kill {i} ({kill:?})", r.name),
        );
        // Each round's versions newer than the last round's.
        for _ in 0..6 {
            let f = rng.random_range(0..FILES);
            new_version(&src, &rel_of(f), &mut rng, &mut v, 5_000 - i as u64);
        }
    }
    if let Some(dir) = &r.aged {
        age_temps(dir);
    }
    let (s, d) = (sc.src(), r.root.clone());
    let mut args = vec!["sync"];
    args.extend_from_slice(r.parts);
    args.extend([s.as_str(), d.as_str()]);
    finish(&args, r.name);
    finish(&["check", &s, &d], r.name);
    r.fetch(&sc.path("seen"));
    let left: Vec<_> = files(&sc.path("seen"))
        .into_iter()
        .filter(|f| f.1)
        .collect();
    assert!(
        left.is_empty(),
        "{}: temporary files left: {left:?}",
        r.name
    );
    assert!(
        contents(&src) == contents(&sc.path("seen")),
        "{}: the remote is not the source after the final run",
        r.name
    );
    f.print(&format!("{}-upload", r.name), seed, start);
}

/// remote → local: `sync` (odd kills: `copy`) from the remote, killed over and over;
/// the remote's files change between kills (written by rclone).
fn download_loop(mut r: Remote, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let sc = Scratch::new();
    let stage = sc.path("stage");
    let mut v = Versions::new();
    for i in 0..FILES {
        new_version(&stage, &rel_of(i), &mut rng, &mut v, 10_000);
    }
    let upload = |r: &mut Remote| {
        let out = r
            .rclone
            .args(["copy", &stage.to_string_lossy(), &r.root])
            .output()
            .unwrap();
        r.rclone = reset_args(&r.rclone);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    upload(&mut r);
    let (mut f, start) = (Figures::default(), Instant::now());
    let points = [crash::TEMP_WRITTEN, crash::MID_LISTING];
    for i in 0..kills() {
        let verb = if i % 2 == 0 { "sync" } else { "copy" };
        let kill = pick_kill(&mut rng, &points, i);
        let dst = sc.dst();
        let args = [
            verb,
            "--retries=1",
            "--bwlimit=8M",
            r.root.as_str(),
            dst.as_str(),
        ];
        f.ended_first += killed_run(&args, &kill) as usize;
        f.at_points += matches!(kill, Kill::At(..)) as usize;
        f.kills += 1;
        f.temps_seen += assert_whole(
            &sc.path("dst"),
            &v,
            &format!("{} after kill {i} ({kill:?})", r.name),
        );
        for _ in 0..4 {
            let f = rng.random_range(0..FILES);
            new_version(&stage, &rel_of(f), &mut rng, &mut v, 5_000 - i as u64);
        }
        upload(&mut r);
    }
    let (s, d) = (r.root.clone(), sc.dst());
    finish(&["sync", &s, &d], r.name);
    finish(&["check", &s, &d], r.name);
    let left: Vec<_> = files(&sc.path("dst")).into_iter().filter(|f| f.1).collect();
    assert!(
        left.is_empty(),
        "{}: temporary files left: {left:?}",
        r.name
    );
    assert!(
        contents(&stage) == contents(&sc.path("dst")),
        "{}: the destination is not the remote after the final run",
        r.name
    );
    f.print(&format!("{}-download", r.name), seed, start);
}

/// local ↔ remote `bisync`, killed at bisync's own crash points and at random moments,
/// with both sides changing between kills: no run ever needs `--resync` again, and
/// the final run leaves both sides equal.
fn bisync_loop(mut r: Remote, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let sc = Scratch::new();
    let local = sc.path("src");
    let mut v = Versions::new();
    for i in 0..FILES / 2 {
        new_version(&local, &rel_of(i), &mut rng, &mut v, 10_000);
    }
    let workdir = sc.path("work").to_string_lossy().into_owned();
    let (l, rr) = (sc.src(), r.root.clone());
    let base = [
        "bisync",
        "--workdir",
        workdir.as_str(),
        l.as_str(),
        rr.as_str(),
    ];
    // bisync wants both roots to exist (an object store has them already).
    let _ = r.rclone.args(["mkdir", &r.root]).output();
    r.rclone = reset_args(&r.rclone);
    let mut first: Vec<&str> = base.to_vec();
    first.push("--resync");
    finish(&first, r.name);
    let (mut f, start) = (Figures::default(), Instant::now());
    for i in 0..kills() {
        let mut cmd = cloud();
        cmd.args(base).stdout(Stdio::null()).stderr(Stdio::null());
        if i % 3 == 2 {
            let mut child = cmd.spawn().unwrap();
            std::thread::sleep(Duration::from_millis(rng.random_range(50..1500)));
            f.ended_first += child.try_wait().unwrap().is_some() as usize;
            let _ = child.kill();
            child.wait().unwrap();
        } else {
            f.at_points += 1;
            cmd.env(
                "FERRY_BISYNC_CRASH_AT",
                rng.random_range(1..12u32).to_string(),
            );
            f.ended_first += !killed_by_signal(&cmd.status().unwrap()) as usize;
        }
        f.kills += 1;
        f.temps_seen += assert_whole(&local, &v, &format!("{} bisync after kill {i}", r.name));
        r.fetch(&sc.path("seen"));
        f.temps_seen += assert_whole(
            &sc.path("seen"),
            &v,
            &format!("{} bisync after kill {i}", r.name),
        );
        // A new file on each side, and a new version of one the local side has.
        new_version(&local, &format!("l/n{i}.bin"), &mut rng, &mut v, 100);
        let f = rng.random_range(0..FILES / 2);
        new_version(&local, &rel_of(f), &mut rng, &mut v, 1_000 - i as u64);
        let side = sc.path("side");
        let _ = fs::remove_dir_all(&side);
        new_version(&side, &format!("r/n{i}.bin"), &mut rng, &mut v, 100);
        let out = r
            .rclone
            .args(["copy", &side.to_string_lossy(), &r.root])
            .output()
            .unwrap();
        r.rclone = reset_args(&r.rclone);
        assert!(out.status.success());
    }
    finish(&base, &format!("{} bisync", r.name));
    r.fetch(&sc.path("seen"));
    let left: Vec<_> = files(&local).into_iter().filter(|f| f.1).collect();
    assert!(
        left.is_empty(),
        "{}: temporary files left: {left:?}",
        r.name
    );
    let d = differ(&contents(&local), &contents(&sc.path("seen")));
    assert!(
        d.is_empty(),
        "{}: bisync's sides differ after the final run: {d:?}",
        r.name
    );
    f.print(&format!("{}-bisync", r.name), seed, start);
}

#[test]
fn s3_sync_and_copy_killed_at_named_points_never_leave_a_broken_object() {
    let Some(r) = s3() else { return };
    upload_loop(r, 0x5eed_0101);
}

#[test]
fn s3_as_a_source_killed_at_named_points_never_leaves_a_broken_file() {
    let Some(r) = s3() else { return };
    download_loop(r, 0x5eed_0102);
}

#[test]
fn azure_sync_and_copy_killed_at_named_points_never_leave_a_broken_blob() {
    let Some(r) = azure() else { return };
    upload_loop(r, 0x5eed_0201);
}

#[test]
fn azure_as_a_source_killed_at_named_points_never_leaves_a_broken_file() {
    let Some(r) = azure() else { return };
    download_loop(r, 0x5eed_0202);
}

#[test]
fn sftp_sync_and_copy_killed_at_named_points_never_leave_a_broken_file() {
    let Some(r) = sftp() else { return };
    upload_loop(r, 0x5eed_0301);
}

#[test]
fn sftp_as_a_source_killed_at_named_points_never_leaves_a_broken_file() {
    let Some(r) = sftp() else { return };
    download_loop(r, 0x5eed_0302);
}

#[test]
fn webdav_and_ftp_sync_killed_at_named_points_never_leave_a_broken_file() {
    if let Some(r) = webdav() {
        upload_loop(r, 0x5eed_0401);
    }
    if let Some(r) = ftp() {
        upload_loop(r, 0x5eed_0501);
    }
}

#[test]
fn webdav_and_ftp_as_a_source_killed_at_named_points_never_leave_a_broken_file() {
    if let Some(r) = webdav() {
        download_loop(r, 0x5eed_0402);
    }
    if let Some(r) = ftp() {
        download_loop(r, 0x5eed_0502);
    }
}

#[test]
fn gcs_sync_and_copy_killed_at_named_points_never_leave_a_broken_object() {
    let Some(r) = gcs() else { return };
    upload_loop(r, 0x5eed_0701);
}

#[test]
fn gcs_as_a_source_killed_at_named_points_never_leaves_a_broken_file() {
    let Some(r) = gcs() else { return };
    download_loop(r, 0x5eed_0702);
}

#[test]
fn smb_sync_and_copy_killed_at_named_points_never_leave_a_broken_file() {
    let Some(r) = smb() else { return };
    upload_loop(r, 0x5eed_0801);
}

#[test]
fn smb_as_a_source_killed_at_named_points_never_leaves_a_broken_file() {
    let Some(r) = smb() else { return };
    download_loop(r, 0x5eed_0802);
}

#[test]
fn bisync_with_s3_and_sftp_killed_anywhere_never_needs_a_resync() {
    if let Some(r) = s3() {
        bisync_loop(r, 0x5eed_0601);
    }
    if let Some(r) = sftp() {
        bisync_loop(r, 0x5eed_0602);
    }
}
