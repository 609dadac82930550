//! Server faults through the testbed's TCP fault proxy (`ferry_testbed::proxy`), in
//! front of the real S3, Azure, SFTP, WebDAV, FTP, GCS and SMB test servers: connections reset,
//! cut short or stalled after some bytes, slowed, and the server "killed and restarted"
//! mid-transfer (an outage: every connection reset, new ones refused for a while).
//! Transient faults are retried and the run succeeds with every file whole; faults that
//! never stop give exit 5 (a temporary error) and delete nothing; a stalled server never
//! holds a run much past `--timeout`.
//!
//! `FERRY_SOAK_FAULTS=N` repeats the transient round N times per backend (the soak).
//! Each backend prints a `figures:` line (read by `scripts/soak`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testbed::proxy::{Conns, Fault, FaultProxy, Rule};
use ferry_testbed::Testbed;
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

use super::common::{cloud, write_file, Scratch};

/// A test server seen through a proxy: ferry's remote for this test's directory through
/// the proxy, and rclone's straight to the server (to check what really arrived).
struct Target {
    name: &'static str,
    upstream: String,
    /// The remote through the proxy at `addr` (the test's directory).
    via: Box<dyn Fn(&str) -> String>,
    direct: String,
    rclone: Command,
    /// Whether the file data crosses the proxied connection (FTP's data connections
    /// go straight to the server's passive ports).
    data_proxied: bool,
    /// Where the test's directory is on this machine, for the backends that remove only
    /// leftovers older than an hour (see `remote_kills::age_temps`).
    aged: Option<std::path::PathBuf>,
    _keep: Box<dyn std::any::Any>,
}

fn s3() -> Option<Target> {
    let s = Testbed::s3()?;
    let host = s.endpoint.trim_start_matches("http://").to_owned();
    let remote = s.rclone_path("f");
    Some(Target {
        name: "s3",
        upstream: host.clone(),
        via: Box::new(move |addr| remote.replace(&host, addr)),
        direct: s.rclone_path("f"),
        rclone: s.rclone(),
        data_proxied: true,
        aged: None,
        _keep: Box::new(s),
    })
}

fn azure() -> Option<Target> {
    let a = Testbed::azure()?;
    let host = a
        .endpoint
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let remote = a.rclone_path("f");
    Some(Target {
        name: "azure",
        upstream: host.clone(),
        via: Box::new(move |addr| remote.replace(&host, addr)),
        direct: a.rclone_path("f"),
        rclone: a.rclone(),
        data_proxied: true,
        aged: None,
        _keep: Box::new(a),
    })
}

fn sftp() -> Option<Target> {
    let s = Testbed::sftp()?;
    let remote = s.rclone_path("f");
    let upstream = format!("{}:{}", s.host, s.port);
    let (line, kh, port) = (s.hostkey_line.clone(), s.known_hosts.clone(), s.port);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().to_path_buf();
    Some(Target {
        name: "sftp",
        upstream,
        via: Box::new(move |addr| {
            // The host key, known under the proxy's port too.
            let p = addr.rsplit(':').next().unwrap();
            let file = dir.join(format!("known_hosts_{p}"));
            let moved = line.replace(&format!("]:{port} "), &format!("]:{p} "));
            std::fs::write(&file, format!("{moved}\n")).unwrap();
            remote
                .replace(&format!("port={port},"), &format!("port={p},"))
                .replace(&kh.to_string_lossy().into_owned(), &file.to_string_lossy())
        }),
        direct: s.rclone_path("f"),
        rclone: s.rclone(),
        data_proxied: true,
        aged: Some(std::path::PathBuf::from(s.path("f"))),
        _keep: Box::new((s, scratch)),
    })
}

fn webdav() -> Option<Target> {
    let w = Testbed::webdav()?;
    let host = w
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let remote = w.rclone_path("f");
    Some(Target {
        name: "webdav",
        upstream: host.clone(),
        via: Box::new(move |addr| remote.replace(&host, addr)),
        direct: w.rclone_path("f"),
        rclone: w.rclone(),
        data_proxied: true,
        aged: w.local_path("f"),
        _keep: Box::new(w),
    })
}

fn ftp() -> Option<Target> {
    let f = Testbed::ftp()?;
    let remote = f.rclone_path("f");
    let upstream = format!("{}:{}", f.host, f.port);
    let port = f.port;
    Some(Target {
        name: "ftp",
        upstream,
        via: Box::new(move |addr| {
            let p = addr.rsplit(':').next().unwrap();
            remote.replace(&format!("port={port},"), &format!("port={p},"))
        }),
        direct: f.rclone_path("f"),
        rclone: f.rclone(),
        data_proxied: false,
        aged: Some(f.local("f")),
        _keep: Box::new(f),
    })
}

fn gcs() -> Option<Target> {
    let g = Testbed::gcs()?;
    let host = g.endpoint.trim_start_matches("http://").to_owned();
    let remote = g.rclone_path("f");
    Some(Target {
        name: "gcs",
        upstream: host.clone(),
        via: Box::new(move |addr| remote.replace(&host, addr)),
        direct: g.rclone_path("f"),
        // Read back by ferry: the emulator makes each object's download link (which
        // rclone follows) from the address the upload came in on, the proxy's, gone by
        // then; ferry downloads from its endpoint and checks each object's MD5.
        rclone: super::common::cloud(),
        data_proxied: true,
        aged: None,
        _keep: Box::new(g),
    })
}

fn smb() -> Option<Target> {
    let s = Testbed::smb()?;
    let remote = s.rclone_path("f");
    let upstream = format!("{}:{}", s.host, s.port);
    let port = s.port;
    Some(Target {
        name: "smb",
        upstream,
        via: Box::new(move |addr| {
            let p = addr.rsplit(':').next().unwrap();
            remote.replace(&format!("port={port},"), &format!("port={p},"))
        }),
        direct: s.rclone_path("f"),
        rclone: s.rclone(),
        data_proxied: true,
        aged: Some(s.local("f")),
        _keep: Box::new(s),
    })
}

/// A local tree of `n` files, two of them some MiB.
fn tree(root: &Path, n: usize, rng: &mut SmallRng) {
    for i in 0..n {
        let len = if i < 2 {
            rng.random_range(3 << 20..6 << 20)
        } else {
            rng.random_range(1..40 << 10)
        };
        let mut b = vec![0u8; len];
        rng.fill_bytes(&mut b);
        write_file(&root.join(format!("d{}/f{i}.bin", i % 3)), &b, 1000);
    }
}

/// ferry with the retry settings these tests use; returns (code, stderr, how long).
fn ferry_bounded(args: &[&str], limit: Duration) -> (i32, String, Duration) {
    let start = Instant::now();
    let mut child = cloud()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (
                st.code().unwrap_or(-1),
                reader.join().unwrap(),
                start.elapsed(),
            );
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ferry {args:?} still running after {limit:?}: {}",
                reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The remote's files, read straight from the server by rclone, match `src`; returns
/// the temporary files seen beside them.
#[track_caller]
fn assert_arrived(t: &mut Target, src: &Path, what: &str) -> usize {
    let seen = tempfile::tempdir().unwrap();
    let out = t
        .rclone
        .args(["copy", &t.direct, &seen.path().to_string_lossy()])
        .output()
        .unwrap();
    t.rclone = super::remote_kills::reset_args(&t.rclone);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A connection lost mid-upload can leave a temporary file the failed attempt
    // could not remove: hidden from listings, and not counted here (the next writing
    // run removes it, see `transient`).
    let temps = |m: &mut std::collections::BTreeMap<String, Vec<u8>>| {
        let before = m.len();
        m.retain(|k, _| !ferry_core::partial::is_temp_name(k.rsplit('/').next().unwrap_or(k)));
        before - m.len()
    };
    let (want, mut got) = (
        super::remote_kills::contents(src),
        super::remote_kills::contents(seen.path()),
    );
    let left = temps(&mut got);
    let differ: Vec<String> = want
        .keys()
        .chain(got.keys())
        .filter(|k| want.get(*k) != got.get(*k))
        .map(|k| {
            let len = |m: &std::collections::BTreeMap<String, Vec<u8>>| m.get(k).map(Vec::len);
            format!(
                "{k}: {:?} bytes at the source, {:?} at the remote",
                len(&want),
                len(&got)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{}: {what}: the remote's files are not the source's: {differ:?}",
        t.name
    );
    left
}

/// Faults that stop: each round resets, truncates and slows some connections (in the
/// direction the data goes), and one round has an outage mid-transfer.
fn transient(mut t: Target, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let sc = Scratch::new();
    // The soak's faults per backend: a round per five, and more rounds (up to four
    // times as many) while a backend that opens few connections (SFTP, SMB: one or two
    // a run) has had fewer.
    let wanted = std::env::var("FERRY_SOAK_FAULTS")
        .ok()
        .and_then(|n| n.parse::<u64>().ok());
    let rounds = wanted.map_or(1, |n| n.div_ceil(5).max(1) as usize);
    let start = Instant::now();
    let (mut injected, mut leftovers, mut round, mut conns) = (0, 0, 0, 0);
    while round < rounds || wanted.is_some_and(|n| injected < n && round < 4 * rounds) {
        let src = sc.path(&format!("src{round}"));
        tree(&src, 12, &mut rng);
        // FTP's control connection carries only commands and replies: a few hundred bytes.
        let span = if t.data_proxied {
            2_000..200_000
        } else {
            150..900
        };
        let after = |rng: &mut SmallRng| rng.random_range(span.clone());
        let rule = |f: Fault, rng: &mut SmallRng| {
            let r = Rule::new(f).after(after(rng));
            if t.data_proxied {
                r.up()
            } else {
                r
            }
        };
        let rules = vec![
            rule(Fault::Reset, &mut rng).on(Conns::Nth(1)),
            rule(Fault::Truncate, &mut rng).on(Conns::Nth(2)),
            rule(Fault::Reset, &mut rng).on(Conns::Nth(3)),
            rule(
                Fault::Slow {
                    bytes_per_sec: 2 << 20,
                },
                &mut rng,
            )
            .on(Conns::Nth(4)),
            // A client that spreads a run over many connections (the S3 SDK: about 16,
            // most carrying one small request) meets resets on later ones too.
            Rule::new(Fault::Reset)
                .after(rng.random_range(300..4_000))
                .up()
                .on(Conns::EveryNth(6)),
        ];
        let proxy = FaultProxy::start(&t.upstream, rules);
        let remote = (t.via)(&proxy.addr().to_string());
        let s = src.to_string_lossy().into_owned();
        let args = [
            "sync",
            // No pause between whole runs: the outage (1.5 s) must end within the
            // backends' own backoff (ferry_core::retry) between low-level retries.
            "--retries=4",
            "--low-level-retries=10",
            "--timeout=10s",
            "--contimeout=5s",
            "--bwlimit=20M",
            &s,
            &remote,
        ];
        // The server "dies" once the transfer is under way, and comes back.
        let outage = std::thread::scope(|scope| {
            let p = &proxy;
            let cut = scope.spawn(move || {
                std::thread::sleep(Duration::from_millis(700));
                p.outage(Duration::from_millis(1500));
            });
            let r = ferry_bounded(&args, Duration::from_secs(240));
            cut.join().unwrap();
            r
        });
        let (code, err, _) = outage;
        assert_eq!(
            code, 0,
            "{}: round {round}: faults that stop must be retried: {err}",
            t.name
        );
        injected += proxy.faults();
        conns += proxy.connections();
        drop(proxy);
        leftovers += assert_arrived(&mut t, &src, &format!("round {round}"));
        round += 1;
    }
    // The next writing run, with no fault, removes what the failed attempts left.
    if let Some(dir) = &t.aged {
        super::remote_kills::age_temps(dir);
    }
    let last = sc.path("last");
    tree(&last, 3, &mut rng);
    let (l, d) = (last.to_string_lossy().into_owned(), t.direct.clone());
    let (code, err, _) = ferry_bounded(&["sync", &l, &d], Duration::from_secs(120));
    assert_eq!(code, 0, "{}: {err}", t.name);
    let left = assert_arrived(&mut t, &last, "the run after the faults");
    assert_eq!(
        left, 0,
        "{}: temporary files outlived the next writing run",
        t.name
    );
    eprintln!(
        "figures: server-faults {} seed={seed:#x} rounds={round} faults={injected} connections={conns} \
         failed-runs=0 lost=0 leftovers-cleaned={leftovers} time={:.1?}",
        t.name,
        start.elapsed()
    );
}

/// Faults that never stop: exit 5, and the file only the destination has is kept.
fn unrecovered(mut t: Target) {
    let sc = Scratch::new();
    let mut rng = SmallRng::seed_from_u64(7);
    tree(&sc.path("src"), 4, &mut rng);
    // The destination: a file the sync would delete.
    let keep = sc.path("keep");
    write_file(&keep.join("only-dst.txt"), b"keep me", 1000);
    let out = t
        .rclone
        .args(["copy", &keep.to_string_lossy(), &t.direct])
        .output()
        .unwrap();
    t.rclone = super::remote_kills::reset_args(&t.rclone);
    assert!(out.status.success());
    // Every connection is reset once an upload is under way (FTP: once logged in,
    // its data goes around the proxy).
    let rule = if t.data_proxied {
        Rule::new(Fault::Reset).after(64 << 10).up()
    } else {
        Rule::new(Fault::Reset).after(120).on(Conns::Every)
    };
    let proxy = FaultProxy::start(&t.upstream, vec![rule]);
    let remote = (t.via)(&proxy.addr().to_string());
    let s = sc.src();
    let (code, err, _) = ferry_bounded(
        &[
            "sync",
            "--retries=2",
            "--low-level-retries=2",
            "--timeout=5s",
            "--contimeout=5s",
            &s,
            &remote,
        ],
        Duration::from_secs(240),
    );
    assert_eq!(
        code, 5,
        "{}: faults that never stop are exit 5: {err}",
        t.name
    );
    drop(proxy);
    let seen = tempfile::tempdir().unwrap();
    let out = t
        .rclone
        .args(["copy", &t.direct, &seen.path().to_string_lossy()])
        .output()
        .unwrap();
    t.rclone = super::remote_kills::reset_args(&t.rclone);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(seen.path().join("only-dst.txt"))
            .ok()
            .as_deref(),
        Some(&b"keep me"[..]),
        "{}: a sync that failed deleted a file: {err}",
        t.name
    );
}

/// A server that stops answering mid-transfer: the run ends, with an error, not long
/// after `--timeout` (per retry), instead of hanging.
fn stalled(t: Target) {
    let sc = Scratch::new();
    let mut rng = SmallRng::seed_from_u64(8);
    tree(&sc.path("src"), 3, &mut rng);
    let rule = if t.data_proxied {
        Rule::new(Fault::Stall).after(100 << 10).up()
    } else {
        Rule::new(Fault::Stall).after(120)
    };
    let proxy = FaultProxy::start(&t.upstream, vec![rule]);
    let remote = (t.via)(&proxy.addr().to_string());
    let s = sc.src();
    let (code, err, took) = ferry_bounded(
        &[
            "copy",
            "-v",
            "--retries=1",
            "--low-level-retries=1",
            "--timeout=3s",
            "--contimeout=3s",
            &s,
            &remote,
        ],
        Duration::from_secs(90),
    );
    assert_ne!(code, 0, "{}: a stalled server is an error: {err}", t.name);
    // Each stalled call ends after --timeout; a few of them in a row, never a hang.
    assert!(
        took < Duration::from_secs(60),
        "{}: a stall held the run {took:?}: {err}",
        t.name
    );
    eprintln!(
        "figures: stall {} exit={code} took={took:.1?} (--timeout=3s)",
        t.name
    );
}

#[test]
fn s3_server_faults_are_retried_or_fail_with_exit_5_and_delete_nothing() {
    let Some(t) = s3() else { return };
    transient(t, 0xfa01);
    unrecovered(s3().unwrap());
    stalled(s3().unwrap());
}

#[test]
fn azure_server_faults_are_retried_or_fail_with_exit_5_and_delete_nothing() {
    let Some(t) = azure() else { return };
    transient(t, 0xfa02);
    unrecovered(azure().unwrap());
    stalled(azure().unwrap());
}

#[test]
fn sftp_server_faults_are_retried_or_fail_with_exit_5_and_delete_nothing() {
    let Some(t) = sftp() else { return };
    stalled(t);
    transient(sftp().unwrap(), 0xfa03);
    unrecovered(sftp().unwrap());
}

/// A server restarting while ferry connects (every connection reset or refused for
/// 1.5 s): SFTP's and SMB's connects are tried again after growing pauses, and the run
/// succeeds without `--retries` (the pauses were missing: SFTP's four whole-run tries
/// came and went in milliseconds).
fn connects_wait_out_a_server_restart(t: Target) {
    let sc = Scratch::new();
    write_file(&sc.path("src/a.txt"), b"after the restart", 1000);
    let proxy = FaultProxy::start(&t.upstream, vec![]);
    let remote = (t.via)(&proxy.addr().to_string());
    let s = sc.src();
    let (code, err, took) = std::thread::scope(|scope| {
        let p = &proxy;
        let cut = scope.spawn(move || p.outage(Duration::from_millis(1500)));
        std::thread::sleep(Duration::from_millis(100));
        let r = ferry_bounded(
            &["copy", "--retries=1", &s, &remote],
            Duration::from_secs(60),
        );
        cut.join().unwrap();
        r
    });
    assert_eq!(
        code, 0,
        "{}: the connect must wait the restart out: {err}",
        t.name
    );
    assert!(
        took >= Duration::from_millis(1200),
        "{}: {took:?}: {err}",
        t.name
    );
    assert!(proxy.faults() > 1, "{}: the outage refused nothing", t.name);
}

#[test]
fn sftp_connects_wait_out_a_server_restart() {
    let Some(t) = sftp() else { return };
    connects_wait_out_a_server_restart(t);
}

#[test]
fn smb_connects_wait_out_a_server_restart() {
    let Some(t) = smb() else { return };
    connects_wait_out_a_server_restart(t);
}

#[test]
fn webdav_server_faults_are_retried_or_fail_with_exit_5_and_delete_nothing() {
    let Some(t) = webdav() else { return };
    transient(t, 0xfa04);
    unrecovered(webdav().unwrap());
    stalled(webdav().unwrap());
}

#[test]
fn ftp_server_faults_are_retried_or_fail_with_exit_5_and_delete_nothing() {
    let Some(t) = ftp() else { return };
    transient(t, 0xfa05);
    unrecovered(ftp().unwrap());
    stalled(ftp().unwrap());
}

#[test]
fn gcs_server_faults_are_retried_or_fail_with_exit_5_and_delete_nothing() {
    let Some(t) = gcs() else { return };
    transient(t, 0xfa06);
    unrecovered(gcs().unwrap());
    stalled(gcs().unwrap());
}

#[test]
fn smb_server_faults_are_retried_or_fail_with_exit_5_and_delete_nothing() {
    let Some(t) = smb() else { return };
    transient(t, 0xfa07);
    unrecovered(smb().unwrap());
    stalled(smb().unwrap());
}
