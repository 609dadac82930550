//! Helpers for driving the real `ferry` binary over temporary trees.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

pub fn ferry() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.env_remove("FERRY_CONFIG")
        .env("HOME", std::env::temp_dir());
    cmd
}

/// `ferry` without cloud credentials or endpoints from the environment, so a test's
/// remote (on 127.0.0.1) says everything, and without an AWS SDK probe of the
/// instance-metadata address; no standard input.
pub fn cloud() -> Command {
    let mut c = ferry();
    c.env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AZURE_STORAGE_ACCOUNT_KEY")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .stdin(std::process::Stdio::null());
    c
}

/// Runs [`cloud`] with `args`; returns (exit code, stdout, stderr).
pub fn cloud_run(args: &[&str]) -> (i32, String, String) {
    split(cloud().args(args).output().expect("ferry runs"))
}

/// Runs [`cloud`] with `args`, which must succeed; returns (stdout, stderr).
#[track_caller]
pub fn cloud_ok(args: &[&str]) -> (String, String) {
    ok_with(cloud(), args)
}

/// Runs `cmd` with `args`, which must succeed; returns (stdout, stderr).
#[track_caller]
pub fn ok_with(mut cmd: Command, args: &[&str]) -> (String, String) {
    let (code, out, err) = split(cmd.args(args).output().expect("ferry runs"));
    assert_eq!(
        code, 0,
        "ferry {args:?} failed\nstdout: {out}\nstderr: {err}"
    );
    (out, err)
}

/// Runs ferry with `args`; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = ferry().args(args).output().expect("ferry runs");
    split(out)
}

pub fn split(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scratch area with `src` and `dst` directories.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("src")).unwrap();
        Scratch { dir }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn src(&self) -> String {
        self.path("src").to_string_lossy().into_owned()
    }
    pub fn dst(&self) -> String {
        self.path("dst").to_string_lossy().into_owned()
    }
    /// Writes `rel` (under the scratch root) with `content` and an mtime `age` seconds ago.
    pub fn write(&self, rel: &str, content: &str, age: u64) {
        write_file(&self.path(rel), content.as_bytes(), age);
    }
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }
    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).symlink_metadata().is_ok()
    }
}

pub fn write_file(path: &Path, content: &[u8], age: u64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
    set_age(path, age);
}

pub fn set_age(path: &Path, age: u64) {
    let t = SystemTime::now() - Duration::from_secs(age);
    filetime::set_file_mtime(path, filetime::FileTime::from_system_time(t)).unwrap();
}

/// Gives `to` the same mtime as `from`.
pub fn copy_mtime(from: &Path, to: &Path) {
    filetime::set_file_mtime(to, filetime::FileTime::from_system_time(mtime(from))).unwrap();
}

pub fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Every file under `root`: relative path → (content, mtime).
pub fn tree(root: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, SystemTime)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd {
        let e = e.unwrap();
        let p = e.path();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(root, &p, out);
        } else if ft.is_file() {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, (std::fs::read(&p).unwrap(), mtime(&p)));
        }
    }
}

/// Asserts both trees hold the same files with the same bytes and mtimes.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let ka: Vec<_> = ta.keys().collect();
    let kb: Vec<_> = tb.keys().collect();
    assert_eq!(ka, kb, "different file sets");
    for (k, (ca, ma)) in &ta {
        let (cb, mb) = &tb[k];
        assert!(ca == cb, "{k}: contents differ");
        assert_eq!(ma, mb, "{k}: mtimes differ");
    }
}

/// The rclone named by `FERRY_TEST_RCLONE`, or `None` with a visible SKIPPED notice;
/// under `CI=true` a missing rclone fails the test instead.
pub fn rclone() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("FERRY_TEST_RCLONE").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(bin));
    }
    let msg = "FERRY_TEST_RCLONE is not set; run `scripts/testbed install` and \
               `eval \"$(scripts/testbed env)\"` first (scripts/test does both)";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: {msg}");
    }
    let thread = std::thread::current();
    let line = format!("SKIPPED: {}: {msg}\n", thread.name().unwrap_or("?"));
    // Written past the test harness's capture, so the skip is always visible.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    None
}

/// Runs rclone in `cwd` with no config, a private HOME, TZ=UTC and one checker (so its
/// output order is stable); returns (exit code, stdout, stderr).
pub fn rclone_in(bin: &Path, cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(bin)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .env("RCLONE_CONFIG", "/dev/null")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .arg("--checkers")
        .arg("1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("can't run rclone {}: {e}", bin.display()));
    split(out)
}

/// Runs ferry in `cwd`; returns (exit code, stdout, stderr).
pub fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    split(
        ferry()
            .current_dir(cwd)
            .args(args)
            .output()
            .expect("ferry runs"),
    )
}

/// `ferry ARGS` under a pseudo-terminal (util-linux `script`), each argument quoted for
/// the shell `script` runs it with.
pub fn pty_command(args: &[&str]) -> Command {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_ferry"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &quoted.join(" "), "/dev/null"]);
    cmd
}

/// Runs ferry under a pseudo-terminal (util-linux `script`), feeding `answers`.
pub fn run_in_pty(args: &[&str], answers: &str) -> (i32, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = pty_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` is needed to give ferry a terminal");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// One command run by rclone (`rclone`: a configured rclone [`Command`]) and by ferry
/// with the same arguments: each one's exit code and standard output, to compare.
pub fn side_by_side(mut rclone: Command, args: &[&str]) -> ((i32, String), (i32, String)) {
    let (rc, rout, _) = split(rclone.args(args).output().expect("rclone runs"));
    let (fc, fout, _) = cloud_run(args);
    ((rc, rout), (fc, fout))
}

/// The commands whose results on a missing prefix `missing` (and `missing_file`, a file
/// name under no object) of an object store rclone treats as an empty directory, with `dst`
/// an existing local directory; and on `gone`, a path in a bucket that does not exist.
pub fn missing_prefix_commands<'a>(
    missing: &'a str,
    missing_file: &'a str,
    gone: &'a str,
    dst: &'a str,
) -> Vec<Vec<&'a str>> {
    let mut cmds: Vec<Vec<&str>> = vec![
        vec!["copy", missing_file, dst],
        vec!["copy", missing, dst],
        vec!["sync", missing, dst],
        vec!["move", missing, dst],
        vec!["purge", missing],
        vec!["delete", missing],
        vec!["check", missing, dst],
        vec!["check", dst, missing],
        vec!["size", missing],
        vec!["rmdirs", missing],
    ];
    for ls in ["ls", "lsf", "lsjson", "lsd", "md5sum"] {
        cmds.push(vec![ls, missing]);
        cmds.push(vec![ls, gone]);
    }
    cmds.extend([
        vec!["copy", gone, dst],
        vec!["check", gone, dst],
        vec!["size", gone],
        vec!["purge", gone],
        vec!["move", gone, dst],
    ]);
    // rclone's failures retry the run; once is enough to compare.
    for c in cmds
        .iter_mut()
        .filter(|c| ["copy", "sync", "move"].contains(&c[0]))
    {
        c.extend(["--retries", "1"]);
    }
    cmds
}

/// A listing with the times of directories blanked: the directories a recursive listing
/// of an object store only implies are timed when it ran, by rclone as by ferry. Knows
/// `lsjson` lines and `lsf --format pst` lines (directories end in `/`).
pub fn dir_times_blanked(out: &str) -> String {
    let blank = |l: &str| -> String {
        if l.contains("\"IsDir\":true") {
            if let Some(at) = l.find("\"ModTime\":\"") {
                let from = at + "\"ModTime\":\"".len();
                let to = from + l[from..].find('"').unwrap_or(0);
                return format!("{}TIME{}", &l[..from], &l[to..]);
            }
        }
        let mut fields: Vec<&str> = l.split(';').collect();
        if fields.len() >= 3 && fields[0].ends_with('/') {
            fields[2] = "TIME";
        }
        fields.join(";")
    };
    out.lines().map(|l| blank(l) + "\n").collect()
}

/// The last stats object `--use-json-log` wrote to `stderr` (a run's final stats).
#[track_caller]
pub fn last_stats(stderr: &str) -> serde_json::Value {
    stderr
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|v| v.get("stats").cloned())
        .unwrap_or_else(|| panic!("no stats line in:\n{stderr}"))
}

/// A count from a stats object (0 where absent).
pub fn stat(stats: &serde_json::Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap_or(0)
}

/// The lines of `text`, sorted: for output whose order is not part of the contract.
pub fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// Transfers, deletes and errors of a run, from its final `--use-json-log` stats.
#[track_caller]
pub fn transfers_deletes_errors(stderr: &str) -> (u64, u64, u64) {
    let s = last_stats(stderr);
    (
        stat(&s, "transfers"),
        stat(&s, "deletes"),
        stat(&s, "errors"),
    )
}

/// Writes one file per name below `root`, each holding `content {i} of {name}` and
/// `100 + i` seconds old, so every file differs in bytes and in time.
pub fn write_named(root: &Path, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        write_file(
            &root.join(name),
            format!("content {i} of {name}").as_bytes(),
            100 + i as u64,
        );
    }
}

/// The log lines of `stderr` as `LEVEL: message` (rclone's `2026/01/02 15:04:05 LEVEL : `
/// prefix without the time), sorted; the stats block (an INFO line with no message and the
/// lines under it) left out. For asserting every line a failure prints, and no others.
pub fn log_messages(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = stderr
        .lines()
        .filter_map(|line| {
            // The date and time take the first 20 characters.
            let rest = line
                .get(20..)
                .filter(|_| line.as_bytes().get(4) == Some(&b'/'))?;
            // `ERROR : `, `INFO  : `, but `NOTICE: `.
            let (level, msg) = rest.split_once(':')?;
            let msg = msg.strip_prefix(' ')?.trim_end();
            (!msg.is_empty()).then(|| format!("{}: {msg}", level.trim()))
        })
        .collect();
    out.sort();
    out
}

/// The shard (of `n`) that owns `path`, as the README documents it: FNV-1a 64 over the
/// UTF-8 bytes of the file's unit, modulo N. `by` is the summary's `shard.by`: `path`
/// (the unit is the path) or `subtree:SPLIT` (the unit is the path's first segment below
/// the directory SPLIT, `""` being the root; outside SPLIT, its first segment off the way
/// to it).
pub fn shard_owner(path: &str, n: u64, by: &str) -> u64 {
    let unit = match by.strip_prefix("subtree:") {
        None => path.to_string(),
        Some(split) => {
            let (p, s): (Vec<&str>, Vec<&str>) = (
                path.split('/').collect(),
                split.split('/').filter(|x| !x.is_empty()).collect(),
            );
            let mut depth = 0;
            while depth < s.len() && depth + 1 < p.len() && p[depth] == s[depth] {
                depth += 1;
            }
            p[..=depth].join("/")
        }
    };
    let h = unit.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    h % n
}
