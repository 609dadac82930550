//! `SyncOptions::keep_dirs` (a shard of a split run): files go as usual, but no
//! directory is removed, neither one only the destination has (sync) nor an emptied
//! source one (move with `--delete-empty-src-dirs`).

use std::path::Path;
use std::sync::Arc;

use ferry_engine::{AllowAll, Job, Mode, Stats, SyncOptions};
use ferry_local::{LocalBackend, LocalOptions};

async fn run(src: &Path, dst: &Path, mode: Mode, opts: SyncOptions) {
    let job = Job {
        src: LocalBackend::new(src, LocalOptions::default()),
        dst: LocalBackend::new(dst, LocalOptions::default()),
        mode,
        opts,
        select: Arc::new(AllowAll),
        src_file: None,
        backup: None,
        alt_dests: None,
        confirm: None,
        observer: Arc::new(()),
        stats: Arc::new(Stats::default()),
        approve_deletes: None,
    };
    let outcome = ferry_engine::run(job, 1, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(outcome.errors, 0);
}

#[tokio::test]
async fn a_sync_keeping_dirs_deletes_files_but_no_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(dst.join("old/deeper")).unwrap();
    std::fs::write(dst.join("old/deeper/x.txt"), b"x").unwrap();
    let keep = SyncOptions {
        keep_dirs: true,
        ..SyncOptions::default()
    };
    run(&src, &dst, Mode::Sync, keep).await;
    assert!(
        !dst.join("old/deeper/x.txt").exists(),
        "the extraneous file was kept"
    );
    assert!(dst.join("old/deeper").is_dir(), "a directory went");
    // Without it the same sync removes them.
    run(&src, &dst, Mode::Sync, SyncOptions::default()).await;
    assert!(!dst.join("old").exists());
}

#[tokio::test]
async fn a_move_keeping_dirs_leaves_emptied_source_directories() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::fs::write(src.join("a/b/f.txt"), b"f").unwrap();
    let opts = SyncOptions {
        keep_dirs: true,
        delete_empty_src_dirs: true,
        ..SyncOptions::default()
    };
    run(&src, &dst, Mode::Move, opts).await;
    assert!(dst.join("a/b/f.txt").exists());
    assert!(!src.join("a/b/f.txt").exists());
    assert!(src.join("a/b").is_dir(), "an emptied source directory went");
}
