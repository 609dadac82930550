//! Side by side with rclone 1.75: a tree written by ferry is listed and read identically
//! by rclone (names, sizes, bytes, times to rclone's 1 ms), and the other way round.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use ferry_core::{Backend, RelPath};
use ferry_testbed::{run, Testbed};

use crate::common::*;

/// Files of the tree: ferry's name, contents, time (ms since the epoch).
fn tree() -> Vec<(&'static str, Vec<u8>, u64)> {
    vec![
        ("plain.txt", b"plain\n".to_vec(), 1_500_000_000_123),
        (
            "dir/nested/deep.bin",
            (0..3_000_000u32).map(|i| (i % 251) as u8).collect(),
            1_400_000_001_456,
        ),
        ("dir/with space.txt", b"sp".to_vec(), 1_300_000_002_000),
        // Windows can't store these as they are: rclone's smb encoding.
        ("what? a:b.", b"enc".to_vec(), 1_200_000_003_789),
        ("trailing space ", b"ts".to_vec(), 1_200_000_003_001),
        (
            "ünïcödé/ファイル.txt",
            "ü".as_bytes().to_vec(),
            1_100_000_004_999,
        ),
        ("empty", Vec::new(), 1_000_000_005_000),
    ]
}

/// `path -> (size, ms)` as rclone lists the remote.
fn rclone_listing(smb: &ferry_testbed::Smb) -> BTreeMap<String, (u64, i64)> {
    let out = run(smb
        .rclone()
        .args(["lsjson", "-R", "--files-only", &smb.rclone_path("")]));
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    items
        .iter()
        .map(|i| {
            let t = chrono::DateTime::parse_from_rfc3339(i["ModTime"].as_str().unwrap()).unwrap();
            (
                i["Path"].as_str().unwrap().to_owned(),
                (i["Size"].as_u64().unwrap(), t.timestamp_millis()),
            )
        })
        .collect()
}

/// `path -> (size, ms)` as ferry lists the backend, walking it.
async fn ferry_listing(b: &dyn Backend) -> BTreeMap<String, (u64, i64)> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![RelPath::root()];
    while let Some(d) = dirs.pop() {
        let listing = b.list_dir(&d).await.unwrap();
        assert!(listing.errors.is_empty(), "{:?}", listing.errors);
        for e in listing.entries {
            if e.is_dir() {
                dirs.push(e.path.clone());
            } else {
                let ms = e.mtime.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
                out.insert(e.path.to_string(), (e.size, ms));
            }
        }
    }
    out
}

fn expected() -> BTreeMap<String, (u64, i64)> {
    tree()
        .into_iter()
        .map(|(n, d, ms)| (n.to_owned(), (d.len() as u64, ms as i64)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_reads_what_ferry_wrote() {
    let Some(smb) = Testbed::smb() else { return };
    let b = open(&smb.options(), &smb.path("")).unwrap();
    for (name, data, ms) in tree() {
        put(&*b, name, &data, UNIX_EPOCH + Duration::from_millis(ms)).await;
    }
    assert_eq!(rclone_listing(&smb), expected());
    for (name, data, _) in tree() {
        let got = run(smb.rclone().args(["cat", &smb.rclone_path(name)]));
        assert_eq!(got, data, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_reads_what_rclone_wrote() {
    let Some(smb) = Testbed::smb() else { return };
    let local = tempfile::tempdir().unwrap();
    for (name, data, ms) in tree() {
        let path = local.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &data).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_millis(ms))
            .unwrap();
    }
    run(smb
        .rclone()
        .args(["copy", local.path().to_str().unwrap(), &smb.rclone_path("")]));
    let b = open(&smb.options(), &smb.path("")).unwrap();
    assert_eq!(ferry_listing(&*b).await, expected());
    for (name, data, _) in tree() {
        assert_eq!(read(&*b, name, 0, None).await, data, "{name}");
    }
    // What rclone stored under the smb encoding is what ferry stores.
    assert_eq!(
        on_disk(&smb.local("")),
        [
            "dir",
            "empty",
            "plain.txt",
            "trailing space␠",
            "what？ a：b．",
            "ünïcödé"
        ]
    );
}
