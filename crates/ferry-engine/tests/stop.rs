//! A run stopped from outside (`SyncOptions::stop`): nothing new starts, nothing is
//! deleted, and the run says why it ended.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ferry_engine::{AllowAll, Job, Mode, Stats, StopReason, SyncOptions};
use ferry_local::{LocalBackend, LocalOptions};

#[tokio::test]
async fn a_stopped_sync_starts_no_transfer_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(src.join("new.txt"), b"new").unwrap();
    std::fs::write(dst.join("extra.txt"), b"extra").unwrap();
    let stats = Arc::new(Stats::default());
    let job = Job {
        src: LocalBackend::new(&src, LocalOptions::default()),
        dst: LocalBackend::new(&dst, LocalOptions::default()),
        mode: Mode::Sync,
        opts: SyncOptions {
            stop: Some(Arc::new(AtomicBool::new(true))),
            ..SyncOptions::default()
        },
        select: Arc::new(AllowAll),
        src_file: None,
        backup: None,
        alt_dests: None,
        confirm: None,
        observer: Arc::new(()),
        stats: stats.clone(),
        approve_deletes: None,
    };
    let outcome = ferry_engine::run(job, 3, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(outcome.stop, Some(StopReason::Stopped));
    assert_eq!(outcome.errors, 0);
    assert!(!dst.join("new.txt").exists());
    assert!(dst.join("extra.txt").exists(), "deleted after the stop");
}
