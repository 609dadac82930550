//! ferry's azcopy personality (`ferry azcopy …`, or the binary named `azcopy`) side by side
//! with azcopy 10.32 itself on Azurite: the same commands on two fresh containers, one
//! per tool, then the same blob sets (names, sizes, MD5), local trees, exit codes, JSON
//! message types and summary counts. The commands include seed 003's local↔Blob examples.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{ferry, split, tree, write_file, Scratch};
use ferry_testbed::{Azure, Testbed};

/// One tool's side: its container and its scratch directory.
struct Side {
    az: Azure,
    s: Scratch,
    /// Runs azcopy (true) or ferry's personality.
    reference: bool,
}

/// What one run printed and how it ended.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

impl Side {
    fn new(reference: bool) -> Option<Side> {
        let az = Testbed::azure()?;
        if reference {
            // Skips (or fails under CI) when azcopy is not installed.
            az.azcopy()?;
        }
        Some(Side {
            az,
            s: Scratch::new(),
            reference,
        })
    }

    fn command(&self) -> Command {
        if self.reference {
            return self.az.azcopy().expect("checked in new");
        }
        let mut c = ferry();
        c.arg("azcopy")
            .env_remove("AZURE_STORAGE_ACCOUNT_KEY")
            .env("AZCOPY_LOG_LOCATION", self.s.path("logs"))
            .env("AZCOPY_JOB_PLAN_LOCATION", self.s.path("plans"))
            .stdin(Stdio::null());
        c
    }

    /// `{src}` is this side's scratch directory, `{url:REL}` a SAS URL in its container.
    fn expand(&self, arg: &str) -> String {
        let arg = arg.replace("{dir}", &self.s.dir.path().to_string_lossy());
        match arg.strip_prefix("{url:") {
            Some(rest) => {
                let rel = rest.trim_end_matches('}');
                let (rel, star) = match rel.strip_suffix("/*") {
                    Some(r) => (r, "/*"),
                    None => (rel, ""),
                };
                let url = self.az.sas_url(rel);
                let (base, q) = url.split_once('?').unwrap();
                format!("{base}{star}?{q}")
            }
            None => arg,
        }
    }

    fn run(&self, args: &[&str]) -> Ran {
        self.run_in(self.s.dir.path(), args)
    }

    /// [`Side::run`] in JSON mode answering each `Prompt` record with the next of
    /// `answers` (azcopy drops what stdin holds before it asks); stdin stays open until
    /// the job's last record, as azcopy spins forever on a closed one.
    fn run_answering(&self, args: &[&str], answers: &[&str]) -> Ran {
        use std::io::{BufRead, Write};
        let args: Vec<String> = args.iter().map(|a| self.expand(a)).collect();
        let mut cmd = self.command();
        cmd.current_dir(self.s.dir.path())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("runs");
        let mut stdin = child.stdin.take().unwrap();
        let reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let mut answers: Vec<String> = answers.iter().rev().map(|a| format!("{a}\n")).collect();
        std::thread::spawn(move || {
            let mut out = String::new();
            for line in reader.lines().map_while(Result::ok) {
                if line.contains("\"MessageType\":\"Prompt\"") {
                    if let Some(a) = answers.pop() {
                        let _ = stdin.write_all(a.as_bytes());
                        let _ = stdin.flush();
                    }
                }
                let end = line.contains("\"MessageType\":\"EndOfJob\"");
                out.push_str(&line);
                out.push('\n');
                if end {
                    break;
                }
            }
            let _ = tx.send((out, stdin));
        });
        let (out, stdin) = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the job ends within a minute");
        drop(stdin);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if std::time::Instant::now() > deadline {
                // azcopy after its job, spinning on the closed stdin.
                let _ = child.kill();
                let _ = child.wait();
                break 0;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        Ran {
            code,
            out,
            err: String::new(),
        }
    }

    /// [`Side::run`] in the working directory `cwd`.
    fn run_in(&self, cwd: &Path, args: &[&str]) -> Ran {
        let args: Vec<String> = args.iter().map(|a| self.expand(a)).collect();
        let mut cmd = self.command();
        cmd.current_dir(cwd).args(&args);
        let (code, out, err) = split(cmd.output().expect("runs"));
        Ran { code, out, err }
    }

    /// name → (size, MD5 of the content) of every blob in the container.
    fn blobs(&self) -> BTreeMap<String, (u64, String)> {
        let rclone = |args: &[&str]| {
            String::from_utf8(ferry_testbed::run(self.az.rclone().args(args))).unwrap()
        };
        let root = self.az.rclone_path("");
        let sizes = rclone(&["lsf", "-R", "--files-only", "--format", "sp", &root]);
        let sums = rclone(&["md5sum", "--download", &root]);
        let md5: BTreeMap<&str, &str> = sums
            .lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(h, p)| (p, h))
            .collect();
        sizes
            .lines()
            .filter_map(|l| l.split_once(';'))
            .map(|(size, p)| (p.to_owned(), (size.parse().unwrap(), md5[p].to_owned())))
            .collect()
    }
}

/// Both sides, or None (SKIPPED) without Azurite or azcopy.
fn pair() -> Option<(Side, Side)> {
    Some((Side::new(true)?, Side::new(false)?))
}

/// Runs the same command on both sides; both must end with the same exit code.
#[track_caller]
fn both(sides: &(Side, Side), args: &[&str]) -> (Ran, Ran) {
    let (a, b) = (sides.0.run(args), sides.1.run(args));
    assert_eq!(
        a.code, b.code,
        "{args:?}: azcopy exited {}, ferry {}\nazcopy: {}{}\nferry: {}{}",
        a.code, b.code, a.out, a.err, b.out, b.err
    );
    (a, b)
}

/// The same tree on both sides, files `age` seconds old.
fn seed(sides: &(Side, Side), files: &[(&str, &str)], age: u64) {
    for side in [&sides.0, &sides.1] {
        for (rel, body) in files {
            write_file(&side.s.path(rel), body.as_bytes(), age);
        }
    }
}

/// The job's message types without `Info` (azcopy adds notes about HTTP and folders) and
/// with each run of `Progress` as one, and the final counts from `EndOfJob`.
fn json_job(out: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut types = Vec::new();
    let mut counts = BTreeMap::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for key in [
            "TimeStamp",
            "MessageType",
            "MessageContent",
            "PromptDetails",
        ] {
            assert!(v.get(key).is_some(), "{key} missing: {line}");
        }
        let t = v["MessageType"].as_str().unwrap().to_owned();
        if t == "EndOfJob" {
            let c: serde_json::Value =
                serde_json::from_str(v["MessageContent"].as_str().unwrap()).unwrap();
            for k in [
                "JobStatus",
                "TotalTransfers",
                "TransfersCompleted",
                "TransfersFailed",
                "TransfersSkipped",
                "TotalBytesTransferred",
                "DeleteTransfersCompleted",
            ] {
                counts.insert(k.to_owned(), c[k].to_string());
            }
        }
        if t == "Progress" {
            let c: serde_json::Value =
                serde_json::from_str(v["MessageContent"].as_str().unwrap()).unwrap();
            let failed = c["FailedTransfers"].as_array().map_or(0, |a| a.len());
            counts.insert("FailedTransfers listed".to_owned(), failed.to_string());
        }
        // azcopy reports progress every two seconds: how many Progress records a job gets
        // depends on how long it ran, so a run of them counts as one.
        let repeated = t == "Progress" && types.last() == Some(&t);
        if t != "Info" && !repeated {
            types.push(t);
        }
    }
    (types, counts)
}

/// `Key: value` lines of the text summary.
fn text_summary(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .skip_while(|l| !(l.starts_with("Job ") && l.to_lowercase().ends_with(" summary")))
        .skip(1)
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| !k.starts_with("Elapsed"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The `DRYRUN:` lines, sorted, with this side's directory and container as placeholders.
fn dry_lines(side: &Side, out: &str) -> Vec<String> {
    let dir = side.s.dir.path().to_string_lossy().into_owned();
    let url = side.az.blob_url("");
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("DRYRUN: "))
        .map(|l| l.replace(&dir, "{dir}").replace(&url, "{url}"))
        .collect();
    v.sort();
    v
}

/// A dry run on both sides: the same lines, nothing changed.
#[track_caller]
fn same_dry_run(sides: &(Side, Side), args: &[&str]) {
    let before = (sides.0.blobs(), sides.1.blobs());
    let mut args = args.to_vec();
    args.push("--dry-run");
    let (a, b) = both(sides, &args);
    let (la, lb) = (dry_lines(&sides.0, &a.out), dry_lines(&sides.1, &b.out));
    assert!(
        !la.is_empty(),
        "{args:?}: azcopy would do nothing\n{}",
        a.out
    );
    assert_eq!(la, lb, "{args:?}");
    assert_eq!(
        before,
        (sides.0.blobs(), sides.1.blobs()),
        "dry run changed blobs"
    );
}

#[track_caller]
fn same_json(sides: &(Side, Side), args: &[&str]) {
    let mut args = args.to_vec();
    args.extend(["--output-type", "json"]);
    let (a, b) = both(sides, &args);
    assert_eq!(
        json_job(&a.out),
        json_job(&b.out),
        "{args:?}\nferry: {}",
        b.out
    );
}

const TREE: [(&str, &str); 5] = [
    ("src/a.txt", "alpha"),
    ("src/photo.jpg", "jpeg bytes"),
    ("src/sub/b.txt", "bravo!"),
    ("src/sub/deep/c.log", "charlie log"),
    ("src/foo-report.pdf", "pdf"),
];

#[test]
fn uploads_land_where_azcopy_puts_them() {
    let Some(sides) = pair() else { return };
    seed(&sides, &TREE, 100);
    let up = ["--from-to", "LocalBlob"];
    for cmd in [
        vec!["copy", "{dir}/src", "{url:d1}", "--recursive"],
        vec!["cp", "{dir}/src/*", "{url:star}"],
        vec![
            "copy",
            "{dir}/src",
            "{url:nosub}",
            "--recursive",
            "--as-subdir=false",
        ],
        vec!["copy", "{dir}/src/a.txt", "{url:path/to/blob}"],
        vec!["copy", "{dir}/src/a.txt", "{url:}"],
        vec!["copy", "{dir}/src/sub/b.txt", "{url:vdir/}"],
        vec![
            "copy",
            "{dir}/src",
            "{url:pat}",
            "--recursive",
            "--include-pattern",
            "*.txt;c.log",
            "--exclude-pattern=b*",
        ],
        vec![
            "copy",
            "{dir}/src",
            "{url:regex}",
            "--recursive",
            "--exclude-regex",
            "sub/.*",
        ],
        vec![
            "copy",
            "{dir}/src",
            "{url:xp}",
            "--recursive",
            "--exclude-path",
            "sub/deep",
        ],
        vec![
            "copy",
            "{dir}/src",
            "{url:ip}",
            "--recursive",
            "--include-path",
            "sub;a.txt",
        ],
        vec![
            "copy",
            "{dir}/src",
            "{url:md5}",
            "--recursive",
            "--put-md5",
            "--check-length=true",
        ],
        vec![
            "copy",
            "{dir}/src",
            "{url:cap}",
            "--recursive",
            "--cap-mbps",
            "100",
            "--block-size-mb",
            "4",
        ],
        // A folder without --recursive or /*: refused by both, exit 1.
        vec!["copy", "{dir}/src", "{url:refused}"],
        vec!["copy", "{dir}/missing", "{url:refused}", "--recursive"],
    ] {
        let mut args = cmd.clone();
        args.extend(up);
        let (a, b) = both(&sides, &args);
        if a.code == 0 {
            assert_eq!(text_summary(&a.out), text_summary(&b.out), "{args:?}");
        }
    }
    // `.` is the current directory, copied under its own name.
    for side in [&sides.0, &sides.1] {
        let args = [
            "copy",
            ".",
            "{url:dot}",
            "--recursive",
            "--from-to",
            "LocalBlob",
        ];
        let r = side.run_in(&side.s.path("src/sub"), &args);
        assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    }
    assert!(sides.1.blobs().contains_key("dot/sub/b.txt"));
    assert_eq!(sides.0.blobs(), sides.1.blobs());
    // A failed job in JSON: Init, then Error; exit 1.
    same_json(
        &sides,
        &[
            "copy",
            "{dir}/missing",
            "{url:gone}",
            "--recursive",
            "--from-to",
            "LocalBlob",
        ],
    );
    // --dry-run changes nothing; JSON records as azcopy's.
    both(
        &sides,
        &[
            "copy",
            "{dir}/src",
            "{url:dry}",
            "--recursive",
            "--dry-run",
            "--from-to",
            "LocalBlob",
        ],
    );
    same_json(
        &sides,
        &[
            "copy",
            "{dir}/src",
            "{url:json}",
            "--recursive",
            "--from-to",
            "LocalBlob",
        ],
    );
    assert_eq!(sides.0.blobs(), sides.1.blobs());
}

#[test]
fn copy_overwrite_modes_and_include_after() {
    let Some(sides) = pair() else { return };
    seed(&sides, &TREE, 3600);
    let base = [
        "copy",
        "{dir}/src",
        "{url:o}",
        "--recursive",
        "--as-subdir=false",
        "--from-to",
        "LocalBlob",
    ];
    same_json(&sides, &base);
    for mode in ["false", "ifSourceNewer", "true"] {
        let mut args = base.to_vec();
        args.extend(["--overwrite", mode]);
        same_json(&sides, &args);
    }
    // A source file newer than its blob is copied with ifSourceNewer.
    seed(&sides, &[("src/a.txt", "alpha, again")], 0);
    let mut args = base.to_vec();
    args.extend(["--overwrite", "ifSourceNewer"]);
    same_json(&sides, &args);
    // Only what changed in the last minute, by --include-after.
    let after = chrono::Utc::now() - chrono::Duration::seconds(60);
    let after = after.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let args = [
        "copy",
        "{dir}/src",
        "{url:after}",
        "--recursive",
        "--include-after",
        &after,
        "--from-to",
        "LocalBlob",
    ];
    same_json(&sides, &args);
    // And only what is older, by --include-before.
    let args = [
        "copy",
        "{dir}/src",
        "{url:before}",
        "--recursive",
        "--include-before",
        &after,
        "--from-to",
        "LocalBlob",
    ];
    same_json(&sides, &args);
    assert_eq!(sides.0.blobs(), sides.1.blobs());
}

#[test]
fn sync_follows_azcopy_rules() {
    let Some(sides) = pair() else { return };
    seed(&sides, &TREE, 100);
    seed(
        &sides,
        &[
            ("file.txt", "one file"),
            ("newer.txt", "newer at the destination"),
        ],
        100,
    );
    let up = ["--from-to", "LocalBlob"];
    // Seed 003's examples for local → Blob.
    for cmd in [
        vec!["sync", "{dir}/file.txt", "{url:path/to/blob}"],
        vec!["sync", "{dir}/file.txt", "{url:path/to/blob2}", "--put-md5"],
        vec!["sync", "{dir}/src", "{url:vdir}"],
        vec!["sync", "{dir}/src", "{url:vdir-md5}", "--put-md5"],
        vec!["sync", "{dir}/src", "{url:top}", "--recursive=false"],
        vec![
            "sync",
            "{dir}/src",
            "{url:inc}",
            "--include-pattern=*.jpg;*.pdf;a.txt",
        ],
        vec![
            "sync",
            "{dir}/src",
            "{url:exc}",
            "--exclude-pattern=foo*;*.log",
        ],
    ] {
        let mut args = cmd.clone();
        args.extend(up);
        same_json(&sides, &args);
    }
    // Nothing changed: nothing to do.
    same_json(
        &sides,
        &["sync", "{dir}/src", "{url:vdir}", "--from-to", "LocalBlob"],
    );
    // A newer source file goes; a blob newer than its source stays; an extra blob stays
    // (--delete-destination=false is azcopy's default).
    seed(&sides, &[("src/sub/b.txt", "bravo, changed")], 0);
    both(
        &sides,
        &[
            "copy",
            "{dir}/newer.txt",
            "{url:vdir/a.txt}",
            "--from-to",
            "LocalBlob",
        ],
    );
    for side in [&sides.0, &sides.1] {
        std::fs::remove_file(side.s.path("src/photo.jpg")).unwrap();
    }
    same_json(
        &sides,
        &["sync", "{dir}/src", "{url:vdir}", "--from-to", "LocalBlob"],
    );
    assert_eq!(sides.0.blobs(), sides.1.blobs());
    same_dry_run(
        &sides,
        &[
            "sync",
            "{dir}/src",
            "{url:vdir}",
            "--delete-destination=true",
            "--from-to",
            "LocalBlob",
        ],
    );
    // --delete-destination=true removes it.
    same_json(
        &sides,
        &[
            "sync",
            "{dir}/src",
            "{url:vdir}",
            "--delete-destination=true",
            "--from-to",
            "LocalBlob",
        ],
    );
    // A source file rewritten now is newer than its blob (which was newer before).
    seed(&sides, &[("src/a.txt", "alpha")], 0);
    // Same size, same old time, new content: only --compare-hash=MD5 sees it.
    let ch = ["sync", "{dir}/ch", "{url:ch}", "--from-to", "LocalBlob"];
    seed(&sides, &[("ch/a.txt", "aaa")], 3600);
    same_json(&sides, &ch);
    // (The same time exactly: ferry compares with the source time it stored on the blob,
    // azcopy with the blob's upload time; both skip here, and differ for a source time
    // between those two.)
    for side in [&sides.0, &sides.1] {
        let path = side.s.path("ch/a.txt");
        let was = common::mtime(&path);
        std::fs::write(&path, "bbb").unwrap();
        filetime::set_file_mtime(&path, filetime::FileTime::from_system_time(was)).unwrap();
    }
    same_json(&sides, &ch);
    let mut hashed = ch.to_vec();
    hashed.push("--compare-hash=MD5");
    same_json(&sides, &hashed);
    assert_eq!(sides.0.blobs(), sides.1.blobs());
    // Text summaries agree too.
    let (a, b) = both(
        &sides,
        &["sync", "{dir}/src", "{url:vdir}", "--from-to", "LocalBlob"],
    );
    let (sa, sb) = (text_summary(&a.out), text_summary(&b.out));
    for k in [
        "Number of Copy Transfers Completed",
        "Number of Deletions at Destination",
        "Final Job Status",
    ] {
        assert_eq!(
            sa.get(k),
            sb.get(k),
            "{k}\nazcopy: {}\nferry: {}",
            a.out,
            b.out
        );
    }
}

/// `TREE` on both sides, and uploaded by each tool into its own container (`src/…`).
fn uploaded(sides: &(Side, Side)) {
    seed(sides, &TREE, 100);
    let up = [
        "copy",
        "{dir}/src",
        "{url:}",
        "--recursive",
        "--from-to",
        "LocalBlob",
    ];
    both(sides, &up);
}

fn contents(root: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(root).into_iter().map(|(k, (c, _))| (k, c)).collect()
}

#[test]
fn downloads_and_syncs_to_local_as_azcopy() {
    let Some(sides) = pair() else { return };
    uploaded(&sides);
    let down = ["--from-to", "BlobLocal"];
    for cmd in [
        vec!["copy", "{url:src}", "{dir}/down", "--recursive"],
        vec!["copy", "{url:src/*}", "{dir}/flat", "--recursive"],
        vec!["copy", "{url:src/a.txt}", "{dir}/one.txt"],
        vec!["sync", "{url:src}", "{dir}/synced"],
        vec![
            "sync",
            "{url:src}",
            "{dir}/filtered",
            "--exclude-pattern=*.jpg",
        ],
    ] {
        for side in [&sides.0, &sides.1] {
            for d in ["synced", "filtered"] {
                std::fs::create_dir_all(side.s.path(d)).unwrap();
            }
        }
        let mut args = cmd.clone();
        args.extend(down);
        same_json(&sides, &args);
    }
    // A directory where a file should go: that file fails, the rest is copied; exit 1.
    for side in [&sides.0, &sides.1] {
        std::fs::create_dir_all(side.s.path("blocked/src/sub/b.txt")).unwrap();
    }
    same_json(
        &sides,
        &[
            "copy",
            "{url:src}",
            "{dir}/blocked",
            "--recursive",
            "--from-to",
            "BlobLocal",
        ],
    );
    let (a, _) = both(
        &sides,
        &[
            "copy",
            "{url:src}",
            "{dir}/blocked",
            "--recursive",
            "--from-to",
            "BlobLocal",
        ],
    );
    assert_eq!(a.code, 1);
    let strip = |s: &Side| {
        let mut t = contents(s.s.dir.path());
        t.retain(|k, _| !k.starts_with("logs/") && !k.starts_with("plans/"));
        t
    };
    assert_eq!(strip(&sides.0), strip(&sides.1));
}

#[test]
fn personality_entry_points_and_refusals() {
    let Some(sides) = pair() else { return };
    let ferry_side = &sides.1;
    // Invoked through a link named azcopy.
    let link = ferry_side.s.path("azcopy");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ferry"), &link).unwrap();
    let (code, out, _) = split(Command::new(&link).arg("--version").output().unwrap());
    assert_eq!(code, 0);
    assert!(out.starts_with("azcopy version 10.32"), "{out}");
    // Unknown flags are usage errors with exit 1, as azcopy's.
    let (a, _) = both(&sides, &["copy", "{dir}/src", "{url:}", "--no-such-flag"]);
    assert_eq!(a.code, 1);
    // azcopy flags ferry doesn't implement: one line saying so, exit 1.
    let r = ferry_side.run(&["copy", "{dir}/src", "{url:}", "--preserve-smb-info"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("--preserve-smb-info is not implemented"),
        "{}",
        r.err
    );
    // A value of a flag ferry implements only in part: named, exit 1, nothing uploaded.
    let r = ferry_side.run(&["copy", "{dir}/src", "{url:}", "--blob-type=PageBlob"]);
    assert_eq!(r.code, 1);
    assert!(
        r.out.contains("--blob-type=PageBlob is not implemented"),
        "{}",
        r.out
    );
    assert!(ferry_side.blobs().is_empty());
    let r = ferry_side.run(&["bench", "{url:}"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("bench command is not implemented"),
        "{}",
        r.err
    );
    // login: no Entra ID; the message says what to use instead.
    let r = ferry_side.run(&["login"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("SAS") && r.err.contains("AZURE_STORAGE_ACCOUNT_KEY"),
        "{}",
        r.err
    );
    // make, list and remove on ferry's side (azcopy can't address loopback accounts for
    // make and remove; `list` is compared in `list_prints_what_azcopy_prints`).
    write_file(&ferry_side.s.path("src/x.txt"), b"x", 10);
    let r = ferry_side.run(&[
        "copy",
        "{dir}/src/x.txt",
        "{url:d/x.txt}",
        "--from-to",
        "LocalBlob",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let r = ferry_side.run(&["list", "{url:}", "--machine-readable", "--running-tally"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("\nd/x.txt; Content Length: 1\n"),
        "{}",
        r.out
    );
    assert!(r.out.contains("File count: 1"), "{}", r.out);
    // Blob to Blob (azcopy's service-to-service copy needs what Azurite lacks): the same
    // rules, the folder lands under its name.
    let r = ferry_side.run(&[
        "copy",
        "{url:d}",
        "{url:b2b}",
        "--recursive",
        "--from-to",
        "BlobBlob",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(ferry_side.blobs().contains_key("b2b/d/x.txt"));
    let r = ferry_side.run(&["remove", "{url:b2b}", "--recursive"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let r = ferry_side.run(&["remove", "{url:d}", "--recursive"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(ferry_side.blobs().is_empty());
}

/// The `--flags` a `--help` text lists.
fn help_flags(help: &str) -> Vec<String> {
    let mut v: Vec<String> = help
        .lines()
        .map(str::trim_start)
        .filter_map(|l| l.strip_prefix("-h, ").or(Some(l)))
        .filter_map(|l| l.strip_prefix("--"))
        .map(|l| {
            l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .filter(|f| !f.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn every_azcopy_flag_is_implemented_or_declared() {
    let Some(sides) = pair() else { return };
    for command in ["copy", "sync", "list", "make", "remove"] {
        let reference = sides.0.run(&[command, "--help"]);
        let theirs = help_flags(&reference.out);
        assert!(
            theirs.len() > 3,
            "{command}: no flags in\n{}",
            reference.out
        );
        let ours = help_flags(&sides.1.run(&[command, "--help"]).out);
        for flag in theirs.iter().filter(|f| !ours.contains(f)) {
            let r = sides.1.run(&[command, "a", "b", &format!("--{flag}=x")]);
            assert_eq!(r.code, 1, "{command} --{flag}: {}", r.err);
            assert!(
                r.err.contains(&format!("--{flag} is not implemented")),
                "{command} --{flag} is neither implemented nor declared: {}",
                r.err
            );
        }
    }
}

/// The properties of a blob azcopy's upload flags set: content headers, access tier,
/// user metadata (keys lower-case: ferry keeps rclone's lower-case keys, azcopy the case
/// given; ferry's own `mtime` key left out) and index tags.
fn blob_props(side: &Side, rel: &str) -> BTreeMap<String, String> {
    let head = Command::new("curl")
        .args(["-sS", "-I", &side.az.sas_url(rel)])
        .output()
        .expect("curl runs");
    let mut props: BTreeMap<String, String> = String::from_utf8_lossy(&head.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .filter(|(k, _)| {
            k.starts_with("content-") && !["content-length", "content-md5"].contains(&k.as_str())
                || k.starts_with("x-ms-meta-") && k != "x-ms-meta-mtime"
                || ["cache-control", "x-ms-access-tier", "x-ms-blob-type"].contains(&k.as_str())
        })
        .collect();
    let tags = Command::new("curl")
        .args(["-sS", &format!("{}&comp=tags", side.az.sas_url(rel))])
        .output()
        .expect("curl runs");
    // azcopy sends the tags in a random order (a Go map), which the service keeps.
    let mut tags: Vec<String> = String::from_utf8_lossy(&tags.stdout)
        .split("<Tag>")
        .skip(1)
        .map(|t| t.split("</Tag>").next().unwrap().to_owned())
        .collect();
    tags.sort();
    props.insert("tags".into(), tags.join(" "));
    props
}

#[test]
fn upload_properties_and_download_times_as_azcopy() {
    let Some(sides) = pair() else { return };
    seed(&sides, &TREE, 100);
    let up = [
        "copy",
        "{dir}/src",
        "{url:}",
        "--recursive",
        "--from-to",
        "LocalBlob",
        "--metadata",
        "project=ferry;Owner=ops;bare",
        "--content-type",
        "text/x-test",
        "--content-encoding",
        "identity",
        "--content-disposition",
        "inline",
        "--content-language",
        "en",
        "--cache-control",
        "no-cache",
        "--block-blob-tier",
        "cool",
        "--blob-tags",
        "team=sync&stage%20name=one",
        "--blob-type",
        "BlockBlob",
    ];
    same_json(&sides, &up);
    assert_eq!(sides.0.blobs(), sides.1.blobs());
    for (rel, _) in TREE {
        let (a, b) = (blob_props(&sides.0, rel), blob_props(&sides.1, rel));
        assert_eq!(a, b, "{rel}");
        assert_eq!(a["content-type"], "text/x-test", "{a:?}");
        assert_eq!(a["x-ms-access-tier"], "Cool");
        assert!(a["tags"].contains("<Key>stage name</Key>"), "{a:?}");
    }
    // Without --content-type azcopy guesses: its table for web files, the system's by
    // extension without a charset, else from the first bytes; --no-guess-mime-type stores
    // none. The same Content-Type, exactly.
    let kinds: [(&str, &[u8]); 7] = [
        ("kinds/page.html", b"<p>hi</p>"),
        ("kinds/app.js", b"let x = 1;"),
        ("kinds/notes.md", b"# title"),
        ("kinds/README", b"plain words\n"),
        ("kinds/blob", b"\x00\x01\x02\x03"),
        ("kinds/picture", b"\x89PNG\x0D\x0A\x1A\x0Adata"),
        ("kinds/empty", b""),
    ];
    for side in [&sides.0, &sides.1] {
        for (rel, body) in kinds {
            write_file(&side.s.path(rel), body, 100);
        }
    }
    for args in [
        vec!["copy", "{dir}/src/a.txt", "{url:guess/a.txt}"],
        vec!["copy", "{dir}/kinds", "{url:}", "--recursive"],
        vec![
            "copy",
            "{dir}/src/a.txt",
            "{url:plain/a.txt}",
            "--no-guess-mime-type",
        ],
    ] {
        let mut args = args.clone();
        args.extend(["--from-to", "LocalBlob"]);
        both(&sides, &args);
    }
    let types: Vec<&str> = ["guess/a.txt", "plain/a.txt"]
        .into_iter()
        .chain(kinds.iter().map(|(rel, _)| *rel))
        .collect();
    for rel in types {
        let (a, b) = (blob_props(&sides.0, rel), blob_props(&sides.1, rel));
        assert!(a.contains_key("content-type"), "{rel}: {a:?}");
        assert_eq!(a.get("content-type"), b.get("content-type"), "{rel}");
    }
    // Refusals and parse errors end the job before anything moves, as azcopy's.
    for bad in [
        vec!["--block-blob-tier", "Warm"],
        vec!["--blob-type", "Foo"],
    ] {
        let mut args = vec![
            "copy",
            "{dir}/src/a.txt",
            "{url:bad/a.txt}",
            "--from-to",
            "LocalBlob",
        ];
        args.extend(bad);
        let (_, b) = both(&sides, &args);
        assert!(b.out.contains("couldn't parse"), "{}{}", b.out, b.err);
    }
    // Downloads: the time they were written, or with --preserve-last-modified-time the
    // blob's (ferry's blob time is the source time it stored, azcopy's the upload time:
    // both are older than this test's start).
    let start = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    let down = |side: &Side, to: &str, extra: &[&str]| {
        let mut args = vec![
            "copy",
            "{url:src}",
            to,
            "--recursive",
            "--from-to",
            "BlobLocal",
        ];
        args.extend(extra);
        let r = side.run(&args);
        assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    };
    for side in [&sides.0, &sides.1] {
        down(side, "{dir}/now", &[]);
        down(side, "{dir}/kept", &["--preserve-last-modified-time"]);
        let mtime = |p: &str| {
            std::fs::metadata(side.s.path(p))
                .unwrap()
                .modified()
                .unwrap()
        };
        let who = if side.reference { "azcopy" } else { "ferry" };
        assert!(
            mtime("now/src/a.txt") >= start,
            "{who}: a download is stamped now"
        );
        assert!(
            mtime("kept/src/a.txt") < start,
            "{who}: kept the blob's time"
        );
    }
    let (a, b) = both(
        &sides,
        &[
            "copy",
            "{url:src}",
            "{dir}/bad",
            "--recursive",
            "--from-to",
            "BlobLocal",
            "--content-type",
            "x/y",
        ],
    );
    assert_eq!(a.code, 1);
    assert!(
        b.out
            .contains("no-guess-mime-type is not supported while downloading"),
        "{}",
        b.out
    );
}

/// A side's output with its own job id, container URL and directory as placeholders.
fn generic(side: &Side, id: &str, out: &str) -> String {
    let url = side.az.blob_url("");
    let url = url.trim_end_matches('/');
    out.replace(id, "{id}")
        .replace(url, "{url}")
        .replace(&*side.s.dir.path().to_string_lossy(), "{dir}")
}

/// The id of the newest job `jobs list` shows.
fn newest_job(side: &Side) -> String {
    let r = side.run(&["jobs", "list"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    r.out
        .lines()
        .find_map(|l| l.strip_prefix("JobId: "))
        .unwrap_or_else(|| panic!("no job listed:\n{}", r.out))
        .trim()
        .to_owned()
}

#[test]
fn jobs_list_show_resume_remove_as_azcopy() {
    let Some(sides) = pair() else { return };
    uploaded(&sides);
    // A download that fails on one file (a directory stands where it goes).
    for side in [&sides.0, &sides.1] {
        std::fs::create_dir_all(side.s.path("down/src/sub/b.txt")).unwrap();
    }
    let get = [
        "copy",
        "{url:src}",
        "{dir}/down",
        "--recursive",
        "--from-to",
        "BlobLocal",
    ];
    let (a, _) = both(&sides, &get);
    assert_eq!(a.code, 1);
    let ids = (newest_job(&sides.0), newest_job(&sides.1));
    let each = |args: &[&str]| {
        let (a, b) = both(&sides, args);
        (a, b)
    };
    // The list: the same status and command (its SAS signature redacted).
    let (a, b) = each(&["jobs", "list"]);
    let block = |side: &Side, id: &str, out: &str| {
        let g = generic(side, id, out);
        let start = g.find("JobId: {id}").expect("listed");
        let lines: Vec<String> = g[start..]
            .lines()
            .take(4)
            .filter(|l| !l.starts_with("Start Time: "))
            .map(|l| l.split("?sv=").next().unwrap().to_owned())
            .collect();
        lines
    };
    assert_eq!(
        block(&sides.0, &ids.0, &a.out),
        block(&sides.1, &ids.1, &b.out)
    );
    assert!(a.out.contains("sig=-REDACTED-") && b.out.contains("sig=-REDACTED-"));
    assert!(
        !b.out.contains(&sides.1.az.sas_url("")[60..]),
        "no SAS in the list"
    );
    // show: the summary, and the transfers by status.
    for extra in [vec![], vec!["--with-status=Failed"]] {
        let (mut args_a, mut args_b) = (vec!["jobs", "show", &ids.0], vec!["jobs", "show", &ids.1]);
        args_a.extend(&extra);
        args_b.extend(&extra);
        let (a, b) = (sides.0.run(&args_a), sides.1.run(&args_b));
        assert_eq!((a.code, b.code), (0, 0), "{}{}", b.out, b.err);
        assert_eq!(
            generic(&sides.0, &ids.0, &a.out),
            generic(&sides.1, &ids.1, &b.out),
            "{extra:?}"
        );
    }
    // resume: the failed file goes once the obstacle is gone; totals cover the job.
    for side in [&sides.0, &sides.1] {
        std::fs::remove_dir(side.s.path("down/src/sub/b.txt")).unwrap();
    }
    let sas = |side: &Side| side.az.sas_url("").split_once('?').unwrap().1.to_owned();
    let (sa, sb) = (sas(&sides.0), sas(&sides.1));
    let a = sides
        .0
        .run(&["jobs", "resume", &ids.0, "--source-sas", &sa]);
    let b = sides
        .1
        .run(&["jobs", "resume", &ids.1, "--source-sas", &sb]);
    assert_eq!(
        (a.code, b.code),
        (0, 0),
        "azcopy: {}\nferry: {}{}",
        a.out,
        b.out,
        b.err
    );
    assert_eq!(
        text_summary(&a.out)["Number of File Transfers Completed"],
        "5"
    );
    assert_eq!(text_summary(&a.out), text_summary(&b.out));
    let strip = |s: &Side| {
        let mut t = contents(&s.s.path("down"));
        t.retain(|k, _| !k.starts_with("logs/"));
        t
    };
    assert_eq!(strip(&sides.0), strip(&sides.1));
    let sorted = |side: &Side, id: &str, out: &str| {
        let mut v: Vec<String> = generic(side, id, out).lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    let a = sides
        .0
        .run(&["jobs", "show", &ids.0, "--with-status=Success"]);
    let b = sides
        .1
        .run(&["jobs", "show", &ids.1, "--with-status=Success"]);
    assert_eq!(
        sorted(&sides.0, &ids.0, &a.out),
        sorted(&sides.1, &ids.1, &b.out)
    );
    // Bad ids, a missing job, removal, clean: the same messages and exit codes.
    for args in [
        vec!["jobs", "show", "nonsense"],
        vec!["jobs", "show", "00000000-0000-0000-0000-000000000001"],
        vec!["jobs", "remove", "00000000-0000-0000-0000-000000000001"],
    ] {
        let (a, b) = each(&args);
        assert_eq!(a.code, 1);
        let first = |r: &Ran| {
            format!("{}{}", r.out, r.err)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .replace("Error: ", "")
        };
        assert_eq!(first(&a), first(&b), "{args:?}");
    }
    let a = sides.0.run(&["jobs", "remove", &ids.0]);
    let b = sides.1.run(&["jobs", "remove", &ids.1]);
    assert_eq!((a.code, b.code), (0, 0));
    assert_eq!(
        generic(&sides.0, &ids.0, &a.out),
        generic(&sides.1, &ids.1, &b.out)
    );
    let b = sides.1.run(&["jobs", "show", &ids.1]);
    assert_eq!(b.code, 1, "removed: {}", b.out);
    let (a, b) = each(&["jobs", "clean"]);
    assert!(a.out.contains("Successfully removed all jobs."));
    assert!(
        b.out.contains("Successfully removed all jobs."),
        "{}",
        b.out
    );
    let b = sides.1.run(&["jobs", "list"]);
    assert!(!b.out.contains("JobId"), "{}", b.out);
}

#[test]
fn a_killed_copy_resumes_without_sending_finished_files_again() {
    let Some(az) = Testbed::azure() else { return };
    let side = Side {
        az,
        s: Scratch::new(),
        reference: false,
    };
    let body = vec![b'x'; 48 * 1024];
    for i in 0..24 {
        write_file(&side.s.path(&format!("src/f{i:02}")), &body, 100);
    }
    // About 0.4 s a file at 1 Mb/s, one file at a time: killed well before the end.
    let args: Vec<String> = [
        "copy",
        "{dir}/src",
        "{url:}",
        "--recursive",
        "--from-to",
        "LocalBlob",
        "--cap-mbps",
        "1",
    ]
    .iter()
    .map(|a| side.expand(a))
    .collect();
    let mut child = side
        .command()
        .current_dir(side.s.dir.path())
        .env("AZCOPY_CONCURRENCY_VALUE", "1")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done_file = || {
        std::fs::read_dir(side.s.path("plans"))
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".ferry-done"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while done_file().is_none_or(|d| d.lines().count() < 4) {
        assert!(
            std::time::Instant::now() < deadline,
            "no progress journaled"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished: Vec<String> = done_file()
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<(String, u64)>(l).ok())
        .map(|(path, _)| path)
        .collect();
    assert!(finished.len() < 24, "killed too late: {finished:?}");
    let id = newest_job(&side);
    let listed = side.run(&["jobs", "list"]).out;
    assert!(listed.contains("Status: InProgress"), "{listed}");
    let modified = |rel: &str| {
        let head = Command::new("curl")
            .args(["-sS", "-I", &side.az.sas_url(&format!("src/{rel}"))])
            .output()
            .unwrap();
        String::from_utf8_lossy(&head.stdout)
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("x-ms-creation-time"))
            .map(str::to_owned)
    };
    let before: Vec<_> = finished.iter().map(|f| modified(f)).collect();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let sas = side.az.sas_url("").split_once('?').unwrap().1.to_owned();
    let r = side.run(&["jobs", "resume", &id, "--destination-sas", &sas]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let summary = text_summary(&r.out);
    assert_eq!(
        summary["Number of File Transfers Completed"], "24",
        "{}",
        r.out
    );
    assert_eq!(summary["Final Job Status"], "Completed");
    assert_eq!(side.blobs().len(), 24);
    let after: Vec<_> = finished.iter().map(|f| modified(f)).collect();
    assert_eq!(before, after, "finished files were sent again");
    let listed = side.run(&["jobs", "list"]).out;
    assert!(listed.contains("Status: Completed"), "{listed}");
}

#[test]
fn sync_hash_storage_flags_map_onto_the_hash_cache() {
    let Some(sides) = pair() else { return };
    seed(&sides, &TREE, 100);
    let meta = |side: &Side| side.s.path("hashmeta");
    for side in [&sides.0, &sides.1] {
        std::fs::create_dir_all(meta(side)).unwrap();
    }
    fn sync<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "sync",
            "{dir}/src",
            "{url:hs}",
            "--from-to",
            "LocalBlob",
            "--compare-hash=MD5",
        ];
        args.extend(extra);
        args
    }
    let flags = [
        "--local-hash-storage-mode=HiddenFiles",
        "--hash-meta-dir",
        "{dir}/hashmeta",
    ];
    same_json(&sides, &sync(&flags));
    assert_eq!(sides.0.blobs(), sides.1.blobs());
    // Newer source times, same content: the hashes decide (nothing is sent) and are kept:
    // azcopy in hidden files there, ferry in its hash store.
    for side in [&sides.0, &sides.1] {
        for (rel, body) in TREE {
            write_file(&side.s.path(rel), body.as_bytes(), 0);
        }
    }
    same_json(&sides, &sync(&flags));
    let store = meta(&sides.1).join("hashes.redb");
    assert!(
        std::fs::metadata(&store).is_ok_and(|m| m.len() > 0),
        "no hash store in --hash-meta-dir"
    );
    assert!(
        std::fs::read_dir(meta(&sides.0)).unwrap().next().is_some(),
        "azcopy kept nothing"
    );
    let (a, b) = both(&sides, &sync(&["--local-hash-storage-mode=Bogus"]));
    assert_eq!(a.code, 1);
    assert!(
        b.out
            .contains("couldn't parse \"Bogus\" into a \"HashStorageMode\""),
        "{}",
        b.out
    );
}

#[test]
fn list_of_files_picks_files_and_folders_as_azcopy() {
    let Some(sides) = pair() else { return };
    seed(&sides, &TREE, 100);
    seed(
        &sides,
        &[("src/odd[1].txt", "brackets"), ("src/odd1.txt", "no")],
        100,
    );
    for side in [&sides.0, &sides.1] {
        std::fs::write(
            side.s.path("list.txt"),
            "a.txt\nsub/deep\nodd[1].txt\n\nmissing.txt\n",
        )
        .unwrap();
    }
    let args = [
        "copy",
        "{dir}/src",
        "{url:}",
        "--recursive",
        "--from-to",
        "LocalBlob",
        "--list-of-files",
        "{dir}/list.txt",
    ];
    both(&sides, &args);
    let names = |s: &Side| s.blobs().into_keys().collect::<Vec<_>>();
    assert_eq!(names(&sides.0), names(&sides.1));
    assert_eq!(
        names(&sides.1),
        ["src/a.txt", "src/odd[1].txt", "src/sub/deep/c.log"]
    );
    // remove takes the same list (azcopy can't remove on a loopback account: ferry only).
    let ferry_side = &sides.1;
    std::fs::write(ferry_side.s.path("rm.txt"), "src/sub\nsrc/a.txt\n").unwrap();
    let r = ferry_side.run(&[
        "remove",
        "{url:}",
        "--recursive",
        "--list-of-files",
        "{dir}/rm.txt",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert_eq!(names(ferry_side), ["src/odd[1].txt"]);
    let r = ferry_side.run(&[
        "remove",
        "{url:}",
        "--recursive",
        "--list-of-files",
        "{dir}/none.txt",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.out.contains("cannot read the --list-of-files file"),
        "{}",
        r.out
    );
}

/// ferry's side alone (azcopy can't reach a loopback S3 or GCS server), with `TREE`
/// written under its scratch directory.
fn ferry_alone(az: Azure) -> Side {
    let side = Side {
        az,
        s: Scratch::new(),
        reference: false,
    };
    for (rel, body) in TREE {
        write_file(&side.s.path(rel), body.as_bytes(), 100);
    }
    side
}

/// `copy URL CONTAINER --recursive --from-to FROM_TO` with ferry's azcopy and `env`.
fn copy_from_url(side: &Side, url: &str, to: &str, from_to: &str, env: &[(&str, String)]) -> Ran {
    let mut cmd = side.command();
    cmd.current_dir(side.s.dir.path())
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "copy",
            url,
            &side.expand(to),
            "--recursive",
            "--from-to",
            from_to,
        ]);
    let (code, out, err) = split(cmd.output().unwrap());
    Ran { code, out, err }
}

/// The blobs of `side` are `TREE`'s files, by name.
#[track_caller]
fn holds_the_tree(side: &Side) {
    let names: Vec<String> = side.blobs().into_keys().collect();
    let mut want: Vec<String> = TREE.iter().map(|(rel, _)| rel.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn an_s3_url_copies_to_blob_as_azcopy_takes_it() {
    let Some(az) = Testbed::azure() else { return };
    let Some(s3) = Testbed::s3() else { return };
    let side = ferry_alone(az);
    let src = side.s.path("src").to_string_lossy().into_owned();
    ferry_testbed::run(s3.rclone().args(["copy", &src, &s3.rclone_path("src")]));
    // azcopy's virtual-hosted form; the endpoint comes from AWS_ENDPOINT_URL (the test
    // server), as an AWS SDK takes it, and the keys from AWS_ACCESS_KEY_ID/…SECRET….
    let url = format!("https://{}.s3.{}.amazonaws.com/src", s3.bucket, s3.region);
    let r = copy_from_url(&side, &url, "{url:}", "S3Blob", &s3.env());
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    holds_the_tree(&side);
    assert_eq!(text_summary(&r.out)["Final Job Status"], "Completed");
    // The wrong --from-to is named.
    let r = copy_from_url(&side, &url, "{url:x}", "BlobBlob", &s3.env());
    assert_eq!(r.code, 1);
    assert!(
        r.out
            .contains("the source is Blob, but the source path is S3"),
        "{}",
        r.out
    );
}

#[test]
fn overwrite_prompt_asks_per_conflict_as_azcopy() {
    let Some(sides) = pair() else { return };
    seed(&sides, &TREE, 100);
    let up = [
        "copy",
        "{dir}/src",
        "{url:}",
        "--recursive",
        "--from-to",
        "LocalBlob",
    ];
    both(&sides, &up);
    let mut ask = up.to_vec();
    ask.extend(["--overwrite=prompt", "--output-type", "json"]);
    // No, yes, then no for all: 1 replaced, 4 kept; then yes for all: all 5 replaced.
    for input in [&["n", "y", "l"][..], &["a"]] {
        let (a, b) = (
            sides.0.run_answering(&ask, input),
            sides.1.run_answering(&ask, input),
        );
        assert_eq!((a.code, b.code), (0, 0), "{}{}", b.out, b.err);
        // Which file is asked about second is the tools' own order: bytes may differ.
        let job = |r: &Ran| {
            let (types, mut counts) = json_job(&r.out);
            counts.remove("TotalBytesTransferred");
            (types, counts)
        };
        assert_eq!(job(&a), job(&b), "{input:?}\nferry: {}", b.out);
        let prompts = |r: &Ran| r.out.matches("\"MessageType\":\"Prompt\"").count();
        assert_eq!(prompts(&a), prompts(&b), "{input:?}");
        assert!(b.out.contains("\"PromptType\":\"Overwrite\""));
    }
    // Text output needs a terminal to ask on: no job, exit 1 (azcopy would wait forever).
    let r = sides.1.run(&[
        "copy",
        "{dir}/src",
        "{url:}",
        "--recursive",
        "--overwrite=prompt",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.out.contains("--overwrite=prompt needs a terminal"),
        "{}",
        r.out
    );
}

#[test]
fn a_gcs_url_copies_to_blob_as_azcopy_takes_it() {
    let Some(az) = Testbed::azure() else { return };
    let Some(gcs) = Testbed::gcs() else { return };
    let side = ferry_alone(az);
    let src = side.s.path("src").to_string_lossy().into_owned();
    ferry_testbed::run(gcs.rclone().args(["copy", &src, &gcs.rclone_path("src")]));
    // azcopy's form; the emulator comes from STORAGE_EMULATOR_HOST, as Google's
    // libraries take it (and then no credentials are sent).
    let url = format!("https://storage.cloud.google.com/{}/src", gcs.bucket);
    let host = gcs.endpoint.trim_start_matches("http://").to_owned();
    let r = copy_from_url(
        &side,
        &url,
        "{url:}",
        "GCPBlob",
        &[("STORAGE_EMULATOR_HOST", host)],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    holds_the_tree(&side);
}

/// The sizes of a blob's committed blocks, in order (Get Block List).
fn block_sizes(side: &Side, rel: &str) -> Vec<u64> {
    let list = Command::new("curl")
        .args([
            "-sS",
            &format!(
                "{}&comp=blocklist&blocklisttype=committed",
                side.az.sas_url(rel)
            ),
        ])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&list.stdout)
        .split("<Size>")
        .skip(1)
        .map(|s| s.split("</Size>").next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_large_upload_is_cut_into_azcopys_blocks() {
    let Some(sides) = pair() else { return };
    // 20 MiB and a bit: azcopy's 8 MiB blocks give three (rclone's 4 MiB would give six).
    let body = vec![b'x'; 20 * 1024 * 1024 + 5];
    for side in [&sides.0, &sides.1] {
        std::fs::write(side.s.path("big.bin"), &body).unwrap();
    }
    for args in [
        [
            "copy",
            "{dir}/big.bin",
            "{url:default/big.bin}",
            "--from-to",
            "LocalBlob",
        ]
        .as_slice(),
        &[
            "copy",
            "{dir}/big.bin",
            "{url:given/big.bin}",
            "--from-to",
            "LocalBlob",
            "--block-size-mb",
            "2",
        ],
    ] {
        let (a, _) = both(&sides, args);
        assert_eq!(a.code, 0, "{args:?}: {}{}", a.out, a.err);
    }
    for rel in ["default/big.bin", "given/big.bin"] {
        let (want, got) = (block_sizes(&sides.0, rel), block_sizes(&sides.1, rel));
        assert!(want.len() > 1, "azcopy committed {want:?} for {rel}");
        assert_eq!(got, want, "{rel}: ferry's blocks against azcopy's");
    }
}

/// Both sides with `files` written under their scratch directories and `src/*`
/// uploaded by each tool into its own container, Content-MD5 included.
fn with_uploaded(files: &[(&str, &str)]) -> Option<(Side, Side)> {
    let sides = pair()?;
    seed(&sides, files, 10);
    for side in [&sides.0, &sides.1] {
        let r = side.run(&[
            "copy",
            "{dir}/src/*",
            "{url:}",
            "--recursive",
            "--from-to",
            "LocalBlob",
            "--put-md5",
        ]);
        assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    }
    Some(sides)
}

/// `list` as azcopy prints it: `NAME; Content Length: SIZE`, named relative to the URL,
/// with the properties asked for and a tally; in JSON, `ListObject`, `ListSummary` and
/// `EndOfJob` records. The same lines from both tools (compared as sets: azcopy's
/// parallel crawl changes the order of a level between runs).
#[test]
fn list_prints_what_azcopy_prints() {
    let files = [
        ("src/a.txt", "aaa\n"),
        ("src/z.txt", "c\n"),
        ("src/sub/b.txt", "bb\n"),
        ("src/sub/deep/d.txt", "d\n"),
    ];
    let Some(sides) = with_uploaded(&files) else {
        return;
    };
    let lines = |r: &Ran| {
        let mut v: Vec<String> = r
            .out
            .lines()
            .filter(|l| !l.starts_with("INFO:"))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    for args in [
        &["list", "{url:}", "--location", "Blob"][..],
        &[
            "list",
            "{url:}",
            "--location=Blob",
            "--machine-readable",
            "--running-tally",
        ],
        &[
            "list",
            "{url:}",
            "--location",
            "Blob",
            "--properties",
            "ContentMD5;BlobType;BlobAccessTier",
        ],
        &[
            "list",
            "{url:sub}",
            "--location",
            "Blob",
            "--mega-units",
            "--running-tally",
        ],
    ] {
        let (a, b) = both(&sides, args);
        assert_eq!(
            lines(&a),
            lines(&b),
            "{args:?}\nazcopy: {}\nferry: {}",
            a.out,
            b.out
        );
        assert!(
            lines(&b)
                .iter()
                .any(|l| l.starts_with("deep/d.txt; ") || l.starts_with("sub/deep/d.txt; ")),
            "{}",
            b.out
        );
    }
    let records = |r: &Ran| {
        let mut v: Vec<(String, String)> = r
            .out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["MessageType"] != "Info")
            .map(|v| {
                let text = |k: &str| v[k].as_str().unwrap().to_owned();
                (text("MessageType"), text("MessageContent"))
            })
            .collect();
        v.sort();
        v
    };
    let (a, b) = both(
        &sides,
        &[
            "list",
            "{url:}",
            "--location",
            "Blob",
            "--output-type",
            "json",
            "--running-tally",
            "--properties",
            "ContentMD5",
        ],
    );
    assert_eq!(
        records(&a),
        records(&b),
        "azcopy: {}\nferry: {}",
        a.out,
        b.out
    );
    assert_eq!(
        records(&b).len(),
        6,
        "4 blobs, the tally, the end: {}",
        b.out
    );
}

/// `remove` of a virtual directory without `--recursive` removes only the blobs right in
/// it, and of a name nothing is stored under, nothing (a completed job, exit 0): what
/// azcopy does, side by side.
#[test]
fn remove_without_recursive_takes_one_level() {
    let files = [
        ("src/a.txt", "a"),
        ("src/sub/b.txt", "b"),
        ("src/sub/c.txt", "c"),
        ("src/sub/deep/d.txt", "d"),
    ];
    let Some(sides) = with_uploaded(&files) else {
        return;
    };
    let names = |s: &Side| s.blobs().into_keys().collect::<Vec<_>>();
    let (_, b) = both(&sides, &["remove", "{url:sub}", "--from-to", "BlobTrash"]);
    assert_eq!(b.code, 0, "{}{}", b.out, b.err);
    assert_eq!(names(&sides.0), names(&sides.1));
    assert_eq!(names(&sides.1), ["a.txt", "sub/deep/d.txt"]);
    let (a, b) = both(
        &sides,
        &["remove", "{url:nope.txt}", "--from-to", "BlobTrash"],
    );
    assert_eq!(b.code, 0, "{}{}", b.out, b.err);
    assert!(
        a.out.contains("Completed") && b.out.contains("Completed"),
        "{}\n{}",
        a.out,
        b.out
    );
    assert_eq!(names(&sides.1), ["a.txt", "sub/deep/d.txt"]);
}

/// `set-properties`: tiers and metadata of one blob, of one level, or with `--recursive`
/// of everything; the dry run's lines and records, the job's counts, the refusals, all as
/// azcopy's, side by side.
#[test]
fn set_properties_as_azcopy() {
    let files = [
        ("src/a.txt", "a"),
        ("src/sub/b.txt", "b"),
        ("src/sub/deep/c.txt", "c"),
    ];
    let Some(sides) = with_uploaded(&files) else {
        return;
    };
    let tiers = |s: &Side| {
        ["a.txt", "sub/b.txt", "sub/deep/c.txt"].map(|f| {
            blob_props(s, f)
                .get("x-ms-access-tier")
                .cloned()
                .unwrap_or_default()
        })
    };
    same_dry_run(
        &sides,
        &[
            "set-properties",
            "{url:sub}",
            "--block-blob-tier=Cool",
            "--recursive",
            "--from-to",
            "BlobNone",
        ],
    );
    let (a, b) = both(
        &sides,
        &[
            "set-properties",
            "{url:sub}",
            "--block-blob-tier=cool",
            "--from-to",
            "BlobNone",
        ],
    );
    assert_eq!(b.code, 0, "{}{}", b.out, b.err);
    assert_eq!(text_summary(&a.out), text_summary(&b.out));
    assert_eq!(tiers(&sides.0), tiers(&sides.1));
    assert_eq!(tiers(&sides.1)[1], "Cool");
    let (_, b) = both(
        &sides,
        &[
            "sp",
            "{url:}",
            "--block-blob-tier=Archive",
            "--recursive",
            "--from-to",
            "BlobNone",
        ],
    );
    assert_eq!(b.code, 0, "{}{}", b.out, b.err);
    assert_eq!(tiers(&sides.1), ["Archive", "Archive", "Archive"]);
    assert_eq!(tiers(&sides.0), tiers(&sides.1));
    // Metadata replaces what the blob had; `clear` removes it.
    let (_, b) = both(
        &sides,
        &[
            "set-properties",
            "{url:sub/b.txt}",
            "--block-blob-tier=Hot",
            "--metadata=k1=v1;k2=v2",
            "--from-to",
            "BlobNone",
        ],
    );
    assert_eq!(b.code, 0, "{}{}", b.out, b.err);
    let meta = |s: &Side| {
        blob_props(s, "sub/b.txt")
            .into_iter()
            .filter(|(k, _)| k.starts_with("x-ms-meta-"))
            .collect::<Vec<_>>()
    };
    assert_eq!(meta(&sides.0), meta(&sides.1));
    assert_eq!(meta(&sides.1).len(), 2, "{:?}", meta(&sides.1));
    both(
        &sides,
        &[
            "set-properties",
            "{url:sub/b.txt}",
            "--metadata=clear",
            "--from-to",
            "BlobNone",
        ],
    );
    assert!(meta(&sides.1).is_empty());
    assert_eq!(meta(&sides.0), meta(&sides.1));
    // Tags replace the blob's too; `clear` removes them.
    let tags = |s: &Side| blob_props(s, "sub/b.txt")["tags"].clone();
    let args = [
        "set-properties",
        "{url:sub/b.txt}",
        "--blob-tags=team=data&tier=two",
        "--from-to",
        "BlobNone",
    ];
    let (_, b) = both(&sides, &args);
    assert_eq!(b.code, 0, "{}{}", b.out, b.err);
    assert_eq!(tags(&sides.0), tags(&sides.1));
    assert!(
        tags(&sides.1).contains("<Key>team</Key><Value>data</Value>"),
        "{}",
        tags(&sides.1)
    );
    both(
        &sides,
        &[
            "set-properties",
            "{url:sub/b.txt}",
            "--blob-tags=clear",
            "--from-to",
            "BlobNone",
        ],
    );
    assert_eq!(tags(&sides.1), "");
    assert_eq!(tags(&sides.0), tags(&sides.1));
    same_json(
        &sides,
        &[
            "set-properties",
            "{url:sub}",
            "--block-blob-tier=Hot",
            "--recursive",
            "--from-to",
            "BlobNone",
        ],
    );
    // Refusals: one line, exit 1, nothing changed.
    for (args, want) in [
        (vec!["set-properties", "{url:a.txt}", "--block-blob-tier=Warm", "--from-to", "BlobNone"], "failed to parse user input due to error: couldn't parse \"Warm\" into a \"BlockBlobTier\""),
        (vec!["set-properties", "{url:a.txt}", "--block-blob-tier=Archive", "--metadata=k=v", "--from-to", "BlobNone"], "metadata can't be set if blob is set to be archived"),
    ] {
        let (a, b) = both(&sides, &args);
        assert_eq!(b.code, 1, "{args:?}");
        for r in [&a, &b] {
            assert!(r.out.contains(want) || r.err.contains(want), "{args:?}\n{}{}", r.out, r.err);
        }
    }
}

/// A local source that doesn't exist, without --recursive: azcopy's reason, not a hint
/// about --recursive.
#[test]
fn a_missing_local_source_is_named_as_missing() {
    let Some(sides) = pair() else { return };
    for args in [&["copy", "{dir}/nope", "{url:}", "--from-to", "LocalBlob"][..]] {
        let (a, b) = both(&sides, args);
        assert_eq!(b.code, 1);
        for r in [&a, &b] {
            assert!(
                r.out.contains("failed to scan path ")
                    && r.out.contains("/nope: no such file or directory"),
                "{args:?}\n{}{}",
                r.out,
                r.err
            );
        }
    }
}

/// Each `Dryrun` record's transfer (this side's directory and container as placeholders,
/// sorted: azcopy's crawl order varies) and the order of the message types, `Info`
/// records (the notes before a scan) with their text.
fn dry_records(side: &Side, out: &str) -> (Vec<String>, Vec<String>) {
    let dir = side.s.dir.path().to_string_lossy().into_owned();
    let url = side.az.blob_url("");
    // A container copied to disk lands in a folder of its name.
    let container = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (mut records, mut types) = (Vec::new(), Vec::new());
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let (t, content) = (
            v["MessageType"].as_str().unwrap(),
            v["MessageContent"].as_str().unwrap(),
        );
        match t {
            "Dryrun" => records.push(
                content
                    .replace(&dir, "{dir}")
                    .replace(&url, "{url}")
                    .replace(&format!("/{container}/"), "/{container}/"),
            ),
            "Info" => types.push(format!("Info {content}")),
            _ if types.last().map(String::as_str) != Some(t) => types.push(t.to_owned()),
            _ => {}
        }
    }
    records.sort();
    (records, types)
}

/// `--dry-run --output-type json` as azcopy writes it: a `Dryrun` record per planned
/// transfer (a blob's size, content type, MD5 and, in a copy, tier; a deletion without a
/// destination), then an empty `EndOfJob`; and the `INFO:` notes azcopy prints before a
/// real run (plain HTTP, what happens to empty folders).
#[test]
fn dry_run_records_and_notes_match_azcopy() {
    let files = [
        ("src/a.txt", "aaa\n"),
        ("src/sub/b.txt", "bb\n"),
        ("src/sub/deep/d.json", "{}\n"),
    ];
    let Some(sides) = with_uploaded(&files) else {
        return;
    };
    seed(
        &sides,
        &[("dl/sub/extra.txt", "x"), ("dl/old.txt", "o")],
        10,
    );
    let runs: [&[&str]; 4] = [
        &[
            "copy",
            "{url:}",
            "{dir}/cp",
            "--recursive",
            "--from-to",
            "BlobLocal",
        ],
        &[
            "sync",
            "{url:sub}",
            "{dir}/dl",
            "--from-to",
            "BlobLocal",
            "--delete-destination",
            "true",
        ],
        &[
            "remove",
            "{url:sub}",
            "--recursive",
            "--from-to",
            "BlobTrash",
        ],
        &[
            "copy",
            "{dir}/src",
            "{url:up}",
            "--recursive",
            "--from-to",
            "LocalBlob",
        ],
    ];
    for args in runs {
        let args = [args, &["--dry-run", "--output-type", "json"]].concat();
        let (a, b) = both(&sides, &args);
        let (ra, rb) = (dry_records(&sides.0, &a.out), dry_records(&sides.1, &b.out));
        assert!(
            !ra.0.is_empty(),
            "{args:?}: azcopy plans nothing\n{}",
            a.out
        );
        assert_eq!(ra, rb, "{args:?}\nazcopy: {}\nferry: {}", a.out, b.out);
    }
    // One blob by its own URL, in text.
    let (a, b) = both(
        &sides,
        &[
            "remove",
            "{url:a.txt}",
            "--from-to",
            "BlobTrash",
            "--dry-run",
        ],
    );
    assert_eq!(dry_lines(&sides.0, &a.out), dry_lines(&sides.1, &b.out));
    assert_eq!(dry_lines(&sides.1, &b.out), ["DRYRUN: remove {url}/a.txt"]);
    // The notes before real runs.
    let notes = |r: &Ran| -> Vec<String> {
        r.out
            .lines()
            .filter(|l| l.starts_with("INFO:"))
            .map(str::to_owned)
            .collect()
    };
    let real: [&[&str]; 4] = [
        &[
            "copy",
            "{dir}/src/a.txt",
            "{url:one.txt}",
            "--from-to",
            "LocalBlob",
        ],
        &["sync", "{dir}/src", "{url:}", "--from-to", "LocalBlob"],
        &[
            "remove",
            "{url:sub}",
            "--recursive",
            "--include-pattern",
            "*.json",
            "--from-to",
            "BlobTrash",
        ],
        &[
            "remove",
            "{url:sub}",
            "--recursive",
            "--from-to",
            "BlobTrash",
        ],
    ];
    for args in real {
        let (a, b) = both(&sides, args);
        assert_eq!(
            notes(&a),
            notes(&b),
            "{args:?}\nazcopy: {}\nferry: {}",
            a.out,
            b.out
        );
        assert!(
            notes(&b).iter().any(|l| l.contains("HTTP is in use")),
            "{}",
            b.out
        );
    }
}
