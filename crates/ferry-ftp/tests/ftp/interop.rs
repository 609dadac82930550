//! Side by side with rclone 1.75: a tree written by ferry is listed and read identically
//! by rclone (names, sizes, bytes, times), and the other way round.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use ferry_core::{Backend, RelPath};
use ferry_testbed::{run, Testbed};

use crate::common::*;

/// Files of the tree: ferry's name, contents, time (whole seconds).
fn tree() -> Vec<(&'static str, Vec<u8>, u64)> {
    vec![
        ("plain.txt", b"plain\n".to_vec(), 1_500_000_000),
        (
            "dir/nested/deep.bin",
            (0..70_000u32).map(|i| i as u8).collect(),
            1_400_000_001,
        ),
        ("dir/with space.txt", b"sp".to_vec(), 1_300_000_002),
        ("trailing space ", b"ts".to_vec(), 1_200_000_003),
        (
            "ünïcödé/ファイル.txt",
            "ü".as_bytes().to_vec(),
            1_100_000_004,
        ),
        ("empty", Vec::new(), 1_000_000_005),
    ]
}

/// `path -> (size, seconds)` as rclone lists the remote (times in UTC).
fn rclone_listing(ftp: &ferry_testbed::Ftp) -> BTreeMap<String, (u64, u64)> {
    let out = run(ftp.rclone().env("TZ", "UTC").args([
        "lsf",
        "-R",
        "--files-only",
        "--format",
        "pst",
        "--separator",
        "|",
        &ftp.rclone_path(""),
    ]));
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let mut f = l.split('|');
            let (path, size, time) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let t = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").unwrap();
            (
                path.to_owned(),
                (size.parse().unwrap(), t.and_utc().timestamp() as u64),
            )
        })
        .collect()
}

/// `path -> (size, seconds)` as ferry lists the backend, walking it.
async fn ferry_listing(b: &dyn Backend) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![RelPath::root()];
    while let Some(d) = dirs.pop() {
        let listing = b.list_dir(&d).await.unwrap();
        assert!(listing.errors.is_empty(), "{:?}", listing.errors);
        let mut entries = listing.entries;
        ferry_core::exact_mtimes(b, &mut entries, 4).await.unwrap();
        for e in entries {
            if e.is_dir() {
                dirs.push(e.path.clone());
            } else {
                out.insert(e.path.to_string(), (e.size, whole(e.mtime)));
            }
        }
    }
    out
}

fn expected() -> BTreeMap<String, (u64, u64)> {
    tree()
        .into_iter()
        .map(|(n, d, s)| (n.to_owned(), (d.len() as u64, s)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_reads_what_ferry_wrote() {
    let Some(ftp) = Testbed::ftp() else { return };
    let b = open(&ftp.options(), &ftp.path("")).unwrap();
    for (name, data, secs) in tree() {
        put(&*b, name, &data, UNIX_EPOCH + Duration::from_secs(secs)).await;
    }
    assert_eq!(rclone_listing(&ftp), expected());
    for (name, data, _) in tree() {
        let got = run(ftp.rclone().args(["cat", &ftp.rclone_path(name)]));
        assert_eq!(got, data, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_reads_what_rclone_wrote() {
    let Some(ftp) = Testbed::ftp() else { return };
    let local = tempfile::tempdir().unwrap();
    for (name, data, secs) in tree() {
        let path = local.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &data).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(250))
            .unwrap();
    }
    run(ftp
        .rclone()
        .args(["copy", local.path().to_str().unwrap(), &ftp.rclone_path("")]));
    for o in [ftp.options(), ftp.options_implicit_tls()] {
        let b = open(&o, &ftp.path("")).unwrap();
        assert_eq!(ferry_listing(&*b).await, expected());
        for (name, data, _) in tree() {
            assert_eq!(read(&*b, name, 0, None).await, data, "{name}");
        }
    }
    // What rclone stored under the FTP encoding is what ferry stores.
    assert_eq!(
        on_disk(&ftp.local("")),
        ["dir", "empty", "plain.txt", "trailing space␠", "ünïcödé"]
    );
}
