//! `--check-first`: every check is done and every transfer queued before the first
//! transfer, so a display's totals are final from the start; without it the totals grow
//! while transfers run, and say so (`totals_final` is false).

use std::sync::{Arc, Mutex};

use ferry_engine::{
    Action, ActionKind, AllowAll, Job, Mode, Observer, Stats, StatsSnapshot, SyncOptions,
};
use ferry_local::{LocalBackend, LocalOptions};

/// The stats as they were when the first file arrived.
struct FirstCopy {
    stats: Arc<Stats>,
    seen: Mutex<Option<StatsSnapshot>>,
}

impl Observer for FirstCopy {
    fn action(&self, action: &Action) {
        let mut seen = self.seen.lock().unwrap();
        if action.kind == ActionKind::CopiedNew && seen.is_none() {
            *seen = Some(self.stats.snapshot());
        }
    }
}

const FILES: u64 = 300;

async fn first_copy(check_first: bool) -> (StatsSnapshot, StatsSnapshot) {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    for i in 0..FILES {
        let sub = src.join(format!("d{}", i % 10));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i}")), vec![b'x'; 100]).unwrap();
    }
    let stats = Arc::new(Stats::default());
    let observer = Arc::new(FirstCopy {
        stats: stats.clone(),
        seen: Mutex::new(None),
    });
    let job = Job {
        src: LocalBackend::new(&src, LocalOptions::default()),
        dst: LocalBackend::new(&dst, LocalOptions::default()),
        mode: Mode::Sync,
        opts: SyncOptions {
            check_first,
            transfers: 1,
            ..SyncOptions::default()
        },
        select: Arc::new(AllowAll),
        src_file: None,
        backup: None,
        alt_dests: None,
        confirm: None,
        observer: observer.clone(),
        stats: stats.clone(),
        approve_deletes: None,
    };
    let outcome = ferry_engine::run(job, 1, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(outcome.errors, 0);
    let first = observer
        .seen
        .lock()
        .unwrap()
        .clone()
        .expect("a file was copied");
    (first, stats.snapshot())
}

#[tokio::test]
async fn with_check_first_the_totals_are_final_before_the_first_transfer() {
    let (first, end) = first_copy(true).await;
    assert!(first.listing_done && first.totals_final, "{first:?}");
    assert_eq!(first.transfers_total, FILES);
    assert_eq!(first.bytes_total, FILES * 100);
    assert_eq!(end.transfers, FILES);
    assert!(end.transferring.is_empty(), "nothing left under way");
    assert!(!end.transfer_time.is_zero());
}

#[tokio::test]
async fn without_it_the_totals_grow_and_say_they_are_not_final() {
    let (first, end) = first_copy(false).await;
    assert!(!first.totals_final, "{first:?}");
    assert!(first.transfers_total < FILES, "{first:?}");
    assert!(end.listing_done && end.totals_final);
    assert_eq!(end.transfers_total, FILES);
}
