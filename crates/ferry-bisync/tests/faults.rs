//! Transient errors: a failing file or directory fails only itself, the rest is synced,
//! nothing is deleted or resurrected because of it, and the next run retries it
//! without `--resync`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use ferry_bisync::{Ending, Options, Pair};
use ferry_core::layer::{Layer, Layered, Op};
use ferry_core::{Backend, Error, ErrorKind, RelPath, Result};
use ferry_engine::AllowAll;
use ferry_local::{LocalBackend, LocalOptions};

/// Faults for a local backend: writes to names containing `bad` fail temporarily, and
/// listings of `sub` are refused, while `broken` is set.
struct Broken(Arc<AtomicBool>);

#[async_trait]
impl Layer for Broken {
    async fn before(&self, op: Op, path: &RelPath) -> Result<()> {
        if !self.0.load(Ordering::SeqCst) {
            return Ok(());
        }
        let write = matches!(op, Op::Put | Op::Copy | Op::Delete);
        if write && path.as_str().contains("bad") {
            return Err(Error::new(ErrorKind::Io, "server unavailable (injected)")
                .with_path(path.to_string())
                .temporary(true));
        }
        if op == Op::List && path.as_str() == "sub" {
            return Err(
                Error::new(ErrorKind::PermissionDenied, "permission denied (injected)")
                    .with_path("sub"),
            );
        }
        Ok(())
    }
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
}

struct Setup {
    dir: tempfile::TempDir,
    broken: Arc<AtomicBool>,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        for p in ["p1", "p2", "wd"] {
            std::fs::create_dir(dir.path().join(p)).unwrap();
        }
        Setup {
            dir,
            broken: Arc::new(AtomicBool::new(false)),
        }
    }
    fn p(&self, side: &str) -> std::path::PathBuf {
        self.dir.path().join(side)
    }
    async fn run(&self, resync: bool) -> ferry_bisync::Report {
        let open = |side: &str| -> Arc<dyn Backend> {
            Layered::new(
                LocalBackend::new(self.p(side), LocalOptions::default()),
                Broken(self.broken.clone()),
            )
        };
        let pair = Pair {
            path1: open("p1"),
            path2: open("p2"),
            name1: self.p("p1").to_string_lossy().into_owned(),
            name2: self.p("p2").to_string_lossy().into_owned(),
            secret: false,
            legacy_session: None,
            backup1: None,
            backup2: None,
        };
        let opts = Options {
            resync,
            workdir: self.p("wd"),
            retries: 2,
            low_level_retries: 2,
            ..Default::default()
        };
        ferry_bisync::run(&pair, Arc::new(AllowAll), opts).await
    }
}

#[tokio::test]
async fn a_failing_file_fails_alone_and_is_retried_next_run() {
    let s = Setup::new();
    write(&s.p("p1"), "keep.txt", "k");
    write(&s.p("p1"), "old-bad.txt", "o");
    assert_eq!(s.run(true).await.ending, Ending::Success);
    write(&s.p("p1"), "good.txt", "g");
    write(&s.p("p1"), "new-bad.txt", "n");
    std::fs::remove_file(s.p("p2").join("old-bad.txt")).unwrap();
    s.broken.store(true, Ordering::SeqCst);
    let r = s.run(false).await;
    assert_eq!(r.ending, Ending::Failed, "{r:?}");
    assert!(s.p("p2").join("good.txt").exists(), "the rest is synced");
    assert!(!s.p("p2").join("new-bad.txt").exists());
    assert!(
        s.p("p1").join("old-bad.txt").exists(),
        "failed delete stays"
    );
    assert!(
        r.errors.iter().any(|e| e.contains("new-bad.txt")),
        "{:?}",
        r.errors
    );
    // The server is back: a normal run (no --resync) finishes the job.
    s.broken.store(false, Ordering::SeqCst);
    let r = s.run(false).await;
    assert_eq!(r.ending, Ending::Success, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(s.p("p2").join("new-bad.txt")).unwrap(),
        "n"
    );
    assert!(
        !s.p("p1").join("old-bad.txt").exists(),
        "the delete is retried"
    );
    let r = s.run(false).await;
    assert!(r.decisions.is_empty(), "settled: {:?}", r.decisions);
}

#[tokio::test]
async fn an_unlistable_directory_is_left_alone_not_deleted() {
    let s = Setup::new();
    write(&s.p("p1"), "sub/a.txt", "a");
    write(&s.p("p1"), "top.txt", "t");
    assert_eq!(s.run(true).await.ending, Ending::Success);
    write(&s.p("p1"), "top2.txt", "t2");
    s.broken.store(true, Ordering::SeqCst);
    // sub can't be listed on either side: its files must not look deleted.
    let r = s.run(false).await;
    assert_eq!(r.ending, Ending::Failed, "{r:?}");
    assert!(s.p("p1").join("sub/a.txt").exists());
    assert!(s.p("p2").join("sub/a.txt").exists());
    assert!(s.p("p2").join("top2.txt").exists());
    s.broken.store(false, Ordering::SeqCst);
    std::fs::remove_file(s.p("p2").join("sub/a.txt")).unwrap();
    let r = s.run(false).await;
    assert_eq!(r.ending, Ending::Success, "{r:?}");
    assert!(
        !s.p("p1").join("sub/a.txt").exists(),
        "a real delete still propagates"
    );
}
