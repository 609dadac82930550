//! Retries: the final counters are those of the attempt that ended the run.

use std::sync::Arc;

use ferry_core::layer::fault::{Calls, Faults};
use ferry_core::layer::{Layered, Op};
use ferry_engine::{AllowAll, Job, Mode, Stats, SyncOptions};
use ferry_local::{LocalBackend, LocalOptions};

#[tokio::test]
async fn a_retry_that_succeeds_reports_its_own_totals() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("flaky.bin"), vec![7u8; 1 << 20]).unwrap();
    std::fs::write(src.join("fine.txt"), b"fine").unwrap();
    let stats = Arc::new(Stats::default());
    let job = Job {
        src: LocalBackend::new(&src, LocalOptions::default()),
        // The first copy of flaky.bin fails for good: the whole run is retried.
        dst: Layered::new(
            LocalBackend::new(&dst, LocalOptions::default()),
            Faults::new().fail(Op::Copy, Calls::First(1), Some("flaky.bin"), false),
        ),
        mode: Mode::Copy,
        opts: SyncOptions::default(),
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
    assert_eq!(outcome.errors, 0);
    let s = stats.snapshot();
    // The second attempt sent the one file the first could not; the totals add up.
    assert_eq!((s.transfers, s.transfers_total), (1, 1), "{s:?}");
    assert_eq!((s.bytes, s.bytes_total), (1 << 20, 1 << 20), "{s:?}");
    assert_eq!(s.errors, 0);
    assert_eq!(std::fs::read(dst.join("flaky.bin")).unwrap().len(), 1 << 20);
}
