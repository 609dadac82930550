//! The tree a walk reads up front (`expect_tree_walk`) against the testbed's emulator:
//! each directory is answered from it once; a directory asked for again, or any listing
//! after a write, goes to the server, so nothing stale is ever listed.

use std::time::SystemTime;

use ferry_core::{Backend, PutOptions, RelPath};
use ferry_gcs::{GcsBackend, GcsOptions};
use ferry_testbed::Testbed;

fn names(entries: &[ferry_core::Entry]) -> Vec<String> {
    let mut v: Vec<String> = entries.iter().map(|e| e.path.to_string()).collect();
    v.sort();
    v
}

async fn put(b: &GcsBackend, path: &str) {
    let data: &'static [u8] = b"x";
    let opts = PutOptions {
        size: 1,
        mtime: SystemTime::now(),
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    };
    b.put(&RelPath::new(path).unwrap(), Box::pin(data), &opts)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tree_read_up_front_is_never_listed_stale() {
    let Some(gcs) = Testbed::gcs() else { return };
    let opts = GcsOptions::from_pairs(&[
        ("anonymous", "true"),
        ("endpoint", &gcs.endpoint),
        ("project_number", &gcs.project),
    ])
    .unwrap();
    let b = GcsBackend::new(&format!("{}/t", gcs.bucket), opts).unwrap();
    for p in ["a.txt", "d/b.txt", "d/e/c.txt"] {
        put(&b, p).await;
    }
    let root = RelPath::root();
    let d = RelPath::new("d").unwrap();
    b.expect_tree_walk();
    let first = b.list_dir(&root).await.unwrap();
    assert_eq!(names(&first.entries), ["a.txt", "d"]);
    assert_eq!(
        names(&b.list_dir(&d).await.unwrap().entries),
        ["d/b.txt", "d/e"]
    );
    // Asked again: from the server, and the same.
    assert_eq!(
        names(&b.list_dir(&root).await.unwrap().entries),
        ["a.txt", "d"]
    );
    // A write drops the rest of the tree: the new file is listed.
    b.expect_tree_walk();
    b.list_dir(&root).await.unwrap();
    put(&b, "d/e/new.txt").await;
    let e = RelPath::new("d/e").unwrap();
    assert_eq!(
        names(&b.list_dir(&e).await.unwrap().entries),
        ["d/e/c.txt", "d/e/new.txt"]
    );
}
