//! Memory that scales with buffers, never with file sizes: an upload holds at most a few
//! parts or blocks of a file, whatever its size, so `--transfers N` of big files costs
//! N × (parts in flight × part size), the bound rclone documents, not N × file size.
//!
//! Each test uploads four 150 MiB files (sparse: no disk, read as zeros) with
//! `--transfers 4` and reads ferry's peak RSS from `wait4`. Whole-file buffering takes
//! over 600 MiB (six such files took 935 MiB before the fix); the backends' documented
//! bounds are far under the limit.
//!
//! `FERRY_LOAD_FULL=1` (see `scripts/loadtest`) runs the full-scale version instead:
//! 50,000 small files and four 150 MiB files with `--transfers 64` per backend, printing
//! each run's time and peak RSS.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_testbed::Testbed;

use super::common::{cloud, set_age, Scratch};

const MIB: u64 = 1024 * 1024;
/// Big files, and transfers at once, of the regression check.
const FILES: usize = 4;
/// What four transfers of 150 MiB files may hold at their peak: the code, the runtime,
/// the HTTP/SSH stacks and every transfer's parts in flight, but not one whole file each.
const LIMIT: u64 = 300 * MIB;

/// A finished run: its exit code, stderr, wall time and peak resident memory.
struct Measured {
    code: i32,
    stderr: String,
    took: Duration,
    peak_rss: u64,
}

/// Runs `cmd` to the end and reads its peak RSS from `wait4` (exact, for this child
/// only, unlike `RUSAGE_CHILDREN` which other tests' children would share).
#[allow(clippy::zombie_processes)] // reaped by wait4, which std doesn't see
fn run_measured(mut cmd: Command) -> Measured {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry runs");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std never waits on its own here).
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    // A signal shows as 128 + its number, as a shell reports it.
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Measured {
        code,
        stderr: reader.join().expect("stderr reader"),
        took: started.elapsed(),
        // Linux reports kibibytes.
        peak_rss: usage.ru_maxrss as u64 * 1024,
    }
}

/// `count` sparse files of `size` bytes under `dir` (instant, and read back as zeros).
fn big_files(dir: &Path, count: usize, size: u64) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        let p = dir.join(format!("big{i}.bin"));
        std::fs::File::create(&p).unwrap().set_len(size).unwrap();
        set_age(&p, 100);
    }
}

/// `count` small files of a few hundred bytes each, 500 to a directory.
fn small_files(dir: &Path, count: usize) {
    for i in 0..count {
        let sub = dir.join(format!("d{:03}", i / 500));
        if i % 500 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        let body = format!("small file {i}\n").repeat(1 + i % 40);
        std::fs::write(sub.join(format!("f{i}.txt")), body).unwrap();
    }
}

fn full_scale() -> bool {
    std::env::var("FERRY_LOAD_FULL").is_ok_and(|v| v == "1")
}

/// Copies `src` to `remote` with `--transfers N` and extra flags; fails on an error exit.
fn copy_measured(src: &str, remote: &str, transfers: u32, extra: &[&str]) -> Measured {
    let mut cmd = cloud();
    cmd.args(["copy", src, remote, "--transfers", &transfers.to_string()])
        .args(extra);
    let m = run_measured(cmd);
    assert_eq!(m.code, 0, "ferry copy {src} {remote} failed:\n{}", m.stderr);
    m
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / MIB as f64)
}

/// The regression check: four 150 MiB files, four at a time, under [`LIMIT`]. Or, with
/// `FERRY_LOAD_FULL=1`, the full-scale run, reported (and still held to a bound).
fn uploads_stay_bounded(backend: &str, remote: &str, extra: &[&str]) {
    let s = Scratch::new();
    if full_scale() {
        return full_load(backend, &s, remote, extra);
    }
    big_files(&s.path("src"), FILES, 150 * MIB);
    let m = copy_measured(&s.src(), remote, FILES as u32, extra);
    eprintln!(
        "{backend}: {FILES} × 150 MiB, --transfers {FILES}: peak RSS {} in {:.1?}",
        mib(m.peak_rss),
        m.took
    );
    assert!(
        m.peak_rss < LIMIT,
        "{backend}: uploading {FILES} files of 150 MiB took {} of memory (limit {}): an upload holds whole files",
        mib(m.peak_rss),
        mib(LIMIT)
    );
}

/// 50,000 small files, then four 150 MiB files, each with `--transfers 64`.
fn full_load(backend: &str, s: &Scratch, remote: &str, extra: &[&str]) {
    let small = s.path("src/small");
    small_files(&small, 50_000);
    let m = copy_measured(
        &small.to_string_lossy(),
        &format!("{remote}/small"),
        64,
        extra,
    );
    println!(
        "LOAD {backend}: 50,000 small files, --transfers 64: peak RSS {} in {:.1?}",
        mib(m.peak_rss),
        m.took
    );
    let big = s.path("src/big");
    big_files(&big, 4, 150 * MIB);
    let m2 = copy_measured(&big.to_string_lossy(), &format!("{remote}/big"), 64, extra);
    println!(
        "LOAD {backend}: 4 × 150 MiB, --transfers 64: peak RSS {} in {:.1?}",
        mib(m2.peak_rss),
        m2.took
    );
    // Four whole files would be 600 MiB on their own.
    assert!(
        m.peak_rss.max(m2.peak_rss) < LIMIT,
        "{backend}: over {}",
        mib(LIMIT)
    );
}

/// The testbed remote string with extra options: `:kind,...,k=v:`.
fn with_options(remote: &str, extra: &[(&str, &str)]) -> String {
    let mut s = remote[..remote.len() - 1].to_owned();
    for (k, v) in extra {
        s.push_str(&format!(",{k}={v}"));
    }
    s.push(':');
    s
}

#[test]
fn an_s3_upload_holds_a_buffer_not_the_whole_file() {
    let Some(s3) = Testbed::s3() else { return };
    // 150 MiB is under the default upload_cutoff (200 MiB): one PutObject each.
    let remote = s3.rclone_path("mem");
    uploads_stay_bounded("s3", &remote, &[]);
}

#[test]
fn an_azure_upload_holds_blocks_not_the_whole_file() {
    let Some(az) = Testbed::azure() else { return };
    // A Put Blob limit above the file size (azcopy's --put-blob-size-mb allows 5000 MiB)
    // must not make ferry read whole files into memory.
    // Four blocks in flight (rclone's default is 16) keep the bound, 4 × 4 × 4 MiB, far
    // from the limit, so that only whole files could reach it.
    let base = with_options(
        &az.rclone_remote(),
        &[("upload_cutoff", "200Mi"), ("upload_concurrency", "4")],
    );
    let remote = format!("{base}{}/mem", az.container);
    uploads_stay_bounded("azureblob", &remote, &[]);
}

#[test]
fn a_webdav_upload_streams_the_file() {
    let Some(w) = Testbed::webdav() else { return };
    uploads_stay_bounded("webdav", &w.rclone_path("mem"), &[]);
}

#[test]
fn an_smb_upload_streams_the_file() {
    let Some(smb) = Testbed::smb() else { return };
    uploads_stay_bounded("smb", &smb.rclone_path("mem"), &[]);
}

#[test]
fn an_sftp_upload_holds_a_buffer_not_the_whole_file() {
    let Some(sftp) = Testbed::sftp() else { return };
    uploads_stay_bounded("sftp", &sftp.rclone_path("mem"), &[]);
}

/// A server that reads the start of each request and then drops the connection, as a
/// server refusing a body or closing an idle keep-alive connection does. Returns its port.
fn rude_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = vec![0u8; 64 * 1024];
            let _ = conn.read(&mut buf);
            // Dropped with the body unread: the kernel answers the client's next
            // writes with a reset.
        }
    });
    port
}

/// Found by the load test: with SIGPIPE's default action, a connection the server closes
/// while ferry is still sending a body killed ferry on the spot, silently (exit 141, no
/// error, nothing reported), instead of failing that request.
#[test]
fn a_connection_dropped_mid_upload_fails_the_file_not_the_process() {
    let s = Scratch::new();
    big_files(&s.path("src"), 1, 20 * MIB);
    let port = rude_server();
    let remote = format!(
        ":s3,provider=Other,access_key_id=k,secret_access_key=s,endpoint='http://127.0.0.1:{port}',region=us-east-1,no_check_bucket=true:bkt/dir"
    );
    let mut cmd = cloud();
    cmd.args(["copy", &s.src(), &remote, "--no-check-dest"])
        .args(["--retries", "1", "--low-level-retries", "4"]);
    let m = run_measured(cmd);
    // 5: rclone's "temporary error" exit, for a failure more retries might fix.
    assert_eq!(
        m.code, 5,
        "ferry must report the failed upload and exit 5 (141 is death by SIGPIPE):\n{}",
        m.stderr
    );
    assert!(
        m.stderr.contains("big0.bin") && m.stderr.contains("ERROR"),
        "{}",
        m.stderr
    );
}
