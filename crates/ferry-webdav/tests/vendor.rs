//! Vendors that keep modification times: `rclone serve webdav` takes X-OC-Mtime as
//! rclone's `rclone` vendor expects, so times survive, a second sync compares them and
//! transfers nothing, and rclone lists the same times ferry wrote.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::*;
use ferry_engine::Mode;
use ferry_testbed::Testbed;

/// `rclone serve webdav` on a free loopback port, serving a temporary folder; stopped on drop.
struct Served {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `None` (or a panic under CI=true) without the testbed's rclone.
fn serve() -> Option<Served> {
    // The WebDAV testbed's variables carry rclone's path; the folder is our own.
    let w = Testbed::webdav()?;
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = w
        .rclone()
        .args([
            "serve", "webdav", "--addr", &addr, "--user", "u", "--pass", "p",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rclone serve webdav starts");
    let served = Served {
        child,
        url: format!("http://{addr}/"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "rclone serve webdav did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(served)
}

fn pairs(s: &Served, pass: &str) -> Vec<(&'static str, String)> {
    vec![
        ("url", s.url.clone()),
        ("vendor", "rclone".into()),
        ("user", "u".into()),
        ("pass", pass.into()),
    ]
}

fn open_served(s: &Served, root: &str) -> std::sync::Arc<dyn ferry_core::Backend> {
    let pass = ferry_core::obscure::obscure("p").unwrap();
    let owned = pairs(s, &pass);
    let refs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    open_pairs(&refs, root).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_are_kept_and_compared() {
    let Some(s) = serve() else { return };
    let b = open_served(&s, "t");
    let f = b.features();
    assert_eq!(f.semantics.modtime_precision, Some(Duration::from_secs(1)));
    assert!(!f.caps.set_modtime, "rclone's server can't change a time");
    let e = put(&*b, "dir/f.txt", b"timed").await;
    let secs = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(secs(e.mtime), secs(when()));

    let (src_dir, src) = local(&[("a.txt", b"alpha"), ("d/b.txt", b"bravo")]);
    let old = filetime::FileTime::from_unix_time(1_500_000_000, 0);
    filetime::set_file_mtime(src_dir.path().join("a.txt"), old).unwrap();
    let dst = open_served(&s, "sync");
    assert_eq!(run(src.clone(), dst.clone(), Mode::Sync).await.transfers, 2);
    let again = run(src.clone(), dst.clone(), Mode::Sync).await;
    assert_eq!(again.transfers, 0, "times compared equal: {again:?}");
    let listed = dst.stat(&rel("a.txt")).await.unwrap().unwrap();
    assert_eq!(secs(listed.mtime), 1_500_000_000);

    // Same size, another time: the time can't be set there, so the file goes again.
    let newer = filetime::FileTime::from_unix_time(1_600_000_000, 0);
    filetime::set_file_mtime(src_dir.path().join("a.txt"), newer).unwrap();
    assert_eq!(run(src.clone(), dst.clone(), Mode::Sync).await.transfers, 1);
    let listed = dst.stat(&rel("a.txt")).await.unwrap().unwrap();
    assert_eq!(secs(listed.mtime), 1_600_000_000);

    // rclone, as the `rclone` vendor, lists the names, sizes and times ferry wrote.
    let w = Testbed::webdav().unwrap();
    let remote = format!(
        ":webdav,url='{}',vendor=rclone,user=u,pass={}:sync",
        s.url,
        ferry_core::obscure::obscure("p").unwrap()
    );
    let lsf = |target: &str| {
        let out = ferry_testbed::run(w.rclone().args([
            "lsf",
            "-R",
            "--files-only",
            "--format",
            "pst",
            target,
        ]));
        let mut lines: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(lsf(&remote), lsf(src_dir.path().to_str().unwrap()));
}
