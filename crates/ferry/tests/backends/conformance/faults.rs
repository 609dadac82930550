//! Cases that run the sync engine over a backend seen through the fault-injection layer:
//! temporary faults are retried, and a sync deletes nothing once a fault was not
//! recovered, with the backend as source and as destination.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::layer::fault::{Calls, Faults};
use ferry_core::layer::{Layered, Op};
use ferry_core::{Backend, RelPath};
use ferry_engine::{AllowAll, Job, Mode, Outcome, Stats, SyncOptions};

use super::open::Fixture;

/// A local directory to sync with, holding `files` (name, content).
fn local(files: &[(&str, &str)]) -> (tempfile::TempDir, Arc<dyn Backend>) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let backend = ferry_local::LocalBackend::new(dir.path(), Default::default());
    (dir, backend)
}

async fn put(b: &dyn Backend, name: &str, content: &str) {
    let opts = ferry_core::PutOptions {
        size: content.len() as u64,
        mtime: std::time::SystemTime::now(),
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    };
    let data = Box::pin(std::io::Cursor::new(content.as_bytes().to_vec()));
    b.put(&RelPath::new(name).unwrap(), data, &opts)
        .await
        .unwrap_or_else(|e| panic!("put {name}: {e}"));
}

async fn sync(src: Arc<dyn Backend>, dst: Arc<dyn Backend>, mode: Mode) -> Outcome {
    let job = Job {
        src,
        dst,
        mode,
        opts: SyncOptions {
            low_level_retries: 3,
            ..SyncOptions::default()
        },
        select: Arc::new(AllowAll),
        src_file: None,
        backup: None,
        alt_dests: None,
        confirm: None,
        observer: Arc::new(()),
        stats: Arc::new(Stats::default()),
        approve_deletes: None,
    };
    ferry_engine::run(job, 1, Duration::ZERO)
        .await
        .expect("the run itself starts")
}

fn read(dir: &tempfile::TempDir, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.path().join(name)).ok()
}

/// Temporary faults of reads from the backend, and of writes to it, are retried.
pub async fn temporary_faults_are_retried(fx: &Fixture) {
    put(&*fx.writer, "a.txt", "alpha").await;
    put(&*fx.writer, "d/b.txt", "bravo").await;
    let faults = Layered::new(
        fx.backend.clone(),
        Faults::new().fail(Op::Open, Calls::First(2), None, true),
    );
    let (dir, dst) = local(&[]);
    let out = sync(faults.clone(), dst, Mode::Copy).await;
    assert_eq!(out.errors, 0, "{:?}", out.last_error);
    assert_eq!(read(&dir, "a.txt").as_deref(), Some("alpha"));
    assert_eq!(read(&dir, "d/b.txt").as_deref(), Some("bravo"));
    assert!(faults.layer().calls(Op::Open) >= 4, "the faults were met");
    if fx.features().caps.read_only {
        return eprintln!("{}: read only; writes not checked", fx.describe());
    }

    let (_dir, src) = local(&[("up.txt", "upload")]);
    let faults = Layered::new(
        fx.backend.clone(),
        Faults::new()
            .fail(Op::Put, Calls::First(1), Some("up.txt"), true)
            .fail(Op::Copy, Calls::First(1), Some("up.txt"), true),
    );
    let out = sync(src, faults, Mode::Copy).await;
    assert_eq!(out.errors, 0, "{:?}", out.last_error);
    let stored = fx.stat(&RelPath::new("up.txt").unwrap()).await.unwrap();
    assert_eq!(stored.map(|e| e.size), Some(6));
}

/// A fault that is never recovered is an error of the run, and the sync then deletes
/// nothing at the destination, whichever side the backend is.
pub async fn a_sync_deletes_nothing_after_an_unrecovered_fault(fx: &Fixture) {
    put(&*fx.writer, "extra.txt", "only here").await;
    if !fx.features().caps.read_only {
        as_destination(fx).await;
    }

    // The backend as source: one read always fails.
    let (dir, dst) = local(&[("stale.txt", "keep me")]);
    let faults = Layered::new(
        fx.backend.clone(),
        Faults::new().fail(Op::Open, Calls::Every, Some("extra.txt"), false),
    );
    let out = sync(faults, dst, Mode::Sync).await;
    assert!(out.errors > 0, "the fault is an error of the run");
    assert_eq!(read(&dir, "stale.txt").as_deref(), Some("keep me"));
}

/// The backend as destination: one upload always fails; `extra.txt` stays.
async fn as_destination(fx: &Fixture) {
    let (_dir, src) = local(&[("ok.txt", "fine"), ("bad.txt", "never")]);
    let faults = Layered::new(
        fx.backend.clone(),
        Faults::new()
            .fail(Op::Put, Calls::Every, Some("bad.txt"), false)
            .fail(Op::Copy, Calls::Every, Some("bad.txt"), false),
    );
    let out = sync(src, faults, Mode::Sync).await;
    assert!(out.errors > 0, "the fault is an error of the run");
    let extra = fx.stat(&RelPath::new("extra.txt").unwrap()).await.unwrap();
    assert!(extra.is_some(), "deleted after an unrecovered fault");
}
