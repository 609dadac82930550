//! The cases: each takes a fresh, empty backend root and checks one rule through the
//! `Backend` trait alone. A case that needs a capability the backend doesn't declare
//! returns early, saying so.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::{Backend, Entry, ErrorKind, HashKind, PutOptions, RelPath};
use futures::StreamExt;
use tokio::io::AsyncReadExt;

use super::open::Fixture;

pub use super::faults::{
    a_sync_deletes_nothing_after_an_unrecovered_fault, temporary_faults_are_retried,
};

fn rel(p: &str) -> RelPath {
    RelPath::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// A fixed modification time with nanoseconds, so precision shows.
fn when() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789)
}

fn opts(size: usize, mtime: SystemTime) -> PutOptions {
    PutOptions {
        size: size as u64,
        mtime,
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    }
}

/// Writes a test file through the fixture's writer (the backend itself unless it is
/// read only).
async fn put(fx: &Fixture, path: &str, data: &[u8]) -> Entry {
    let b = &*fx.writer;
    let stream = Box::pin(std::io::Cursor::new(data.to_vec()));
    b.put(&rel(path), stream, &opts(data.len(), when()))
        .await
        .unwrap_or_else(|e| panic!("put {path}: {e}"))
}

async fn read(b: &dyn Backend, path: &str, offset: u64, len: Option<u64>) -> Vec<u8> {
    let mut r = b
        .open(&rel(path), offset, len)
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let mut out = Vec::new();
    r.read_to_end(&mut out)
        .await
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    out
}

/// The entry for `path`, with its exact modification time.
async fn stat(b: &dyn Backend, path: &str) -> Option<Entry> {
    let mut e = b
        .stat(&rel(path))
        .await
        .unwrap_or_else(|e| panic!("stat {path}: {e}"))?;
    ferry_core::exact_mtime(b, &mut e)
        .await
        .unwrap_or_else(|e| panic!("exact mtime of {path}: {e}"));
    Some(e)
}

async fn names_of(b: &dyn Backend, dir: &str) -> BTreeSet<String> {
    let listing = b
        .list_dir(&rel(dir))
        .await
        .unwrap_or_else(|e| panic!("list {dir:?}: {e}"));
    assert!(listing.errors.is_empty(), "{:?}", listing.errors);
    listing
        .entries
        .iter()
        .map(|e| e.name().to_owned())
        .collect()
}

/// True (saying so) when the backend only reads: a case that writes through it has
/// nothing to check.
fn read_only(fx: &Fixture) -> bool {
    if fx.features().caps.read_only {
        lacks(fx, "writes (it is read only)");
    }
    fx.features().caps.read_only
}

fn lacks(fx: &Fixture, what: &str) {
    eprintln!(
        "{}: does not declare {what}; nothing to check",
        fx.describe()
    );
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// Names with spaces, Unicode and nested directories come back as they were written.
pub async fn names_round_trip(fx: &Fixture) {
    let b = &**fx;
    for name in [
        "plain.txt",
        "with space.txt",
        "ünïcødé ß.txt",
        "日本語.md",
        "dir/sub/deep.bin",
    ] {
        let data = name.as_bytes();
        put(fx, name, data).await;
        let e = stat(b, name).await.unwrap_or_else(|| panic!("{name} lost"));
        assert_eq!((e.size, e.is_dir()), (data.len() as u64, false), "{name}");
        assert_eq!(read(b, name, 0, None).await, data, "{name}");
    }
    let top = names_of(b, "").await;
    assert!(
        [
            "plain.txt",
            "with space.txt",
            "ünïcødé ß.txt",
            "日本語.md",
            "dir"
        ]
        .iter()
        .all(|n| top.contains(*n)),
        "{top:?}"
    );
    assert_eq!(
        names_of(b, "dir/sub").await,
        BTreeSet::from(["deep.bin".to_owned()])
    );
}

/// Names in ferry's (rclone's standard) form that a backend can't store as they are: it
/// stores them through its encoding and lists them back exactly.
pub async fn names_needing_encoding_round_trip(fx: &Fixture) {
    // A read-only backend's files were stored by another one, through its encoding.
    if read_only(fx) {
        return;
    }
    let b = &**fx;
    let names = [
        "back\\slash.txt",
        "trailing.",
        "tab\u{2409}name",
        "\u{FF0F}fullwidth slash",
        "lead space",
        "\u{FF0E}\u{FF0E}",
        "star*?.txt",
    ];
    for name in names {
        put(fx, name, name.as_bytes()).await;
    }
    let listed = names_of(b, "").await;
    for name in names {
        assert!(
            listed.contains(name),
            "{name:?} not listed back: {listed:?}"
        );
        assert_eq!(read(b, name, 0, None).await, name.as_bytes(), "{name:?}");
    }
    assert_eq!(listed.len(), names.len(), "{listed:?}");
}

pub async fn empty_file(fx: &Fixture) {
    let b = &**fx;
    put(fx, "empty", b"").await;
    assert_eq!(stat(b, "empty").await.map(|e| e.size), Some(0));
    assert!(read(b, "empty", 0, None).await.is_empty());
}

pub async fn overwrite_replaces(fx: &Fixture) {
    let b = &**fx;
    put(fx, "f", b"a longer first version").await;
    put(fx, "f", b"short").await;
    assert_eq!(read(b, "f", 0, None).await, b"short");
    assert_eq!(stat(b, "f").await.map(|e| e.size), Some(5));
}

pub async fn ranged_read(fx: &Fixture) {
    let b = &**fx;
    let data = payload(1000);
    put(fx, "r.bin", &data).await;
    assert_eq!(read(b, "r.bin", 100, Some(50)).await, &data[100..150]);
    assert_eq!(read(b, "r.bin", 990, None).await, &data[990..]);
    assert_eq!(read(b, "r.bin", 0, Some(1)).await, &data[..1]);
}

/// The time a file was written with comes back within the precision declared.
pub async fn mtime_at_declared_precision(fx: &Fixture) {
    let b = &**fx;
    let Some(precision) = b.features().semantics.modtime_precision else {
        return lacks(fx, "modification times");
    };
    put(fx, "t", b"time").await;
    let got = stat(b, "t").await.expect("written").mtime;
    let diff = got.duration_since(when()).unwrap_or_else(|e| e.duration());
    assert!(diff <= precision, "{got:?} vs {:?} ({precision:?})", when());
}

pub async fn set_modtime(fx: &Fixture) {
    let b = &**fx;
    let Some(precision) = b
        .features()
        .semantics
        .modtime_precision
        .filter(|_| b.features().caps.set_modtime)
    else {
        return lacks(fx, "setting modification times");
    };
    put(fx, "t", b"time").await;
    let later = when() + Duration::new(86_400, 987_654_321);
    b.set_modtime(&rel("t"), later).await.expect("set_modtime");
    let got = stat(b, "t").await.expect("still there").mtime;
    let diff = got.duration_since(later).unwrap_or_else(|e| e.duration());
    assert!(diff <= precision, "{got:?} vs {later:?} ({precision:?})");
    assert_eq!(read(b, "t", 0, None).await, b"time", "content unchanged");
}

/// Each declared hash is the hash of the bytes written (MD5 checked independently).
pub async fn hashes_match_the_bytes(fx: &Fixture) {
    let b = &**fx;
    let declared = b.features().semantics.hashes;
    if declared.iter().next().is_none() {
        return lacks(fx, "any hash");
    }
    let data = payload(70_000);
    put(fx, "h.bin", &data).await;
    let mut hasher = ferry_core::MultiHasher::new(declared);
    hasher.update(&data);
    let expected = hasher.finish();
    for kind in declared.iter() {
        let got = b.hash(&rel("h.bin"), kind).await.expect("hash");
        assert_eq!(got.as_deref(), expected.get(kind), "{kind:?}");
    }
    if declared.iter().any(|k| k == HashKind::Md5) {
        use md5::Digest;
        let md5 = hex::encode(md5::Md5::digest(&data));
        let got = b.hash(&rel("h.bin"), HashKind::Md5).await.expect("md5");
        assert_eq!(got.as_deref(), Some(md5.as_str()));
    }
}

pub async fn delete_file(fx: &Fixture) {
    if read_only(fx) {
        return;
    }
    let b = &**fx;
    put(fx, "gone", b"x").await;
    put(fx, "kept", b"y").await;
    b.delete_file(&rel("gone")).await.expect("delete");
    assert!(stat(b, "gone").await.is_none());
    assert_eq!(names_of(b, "").await, BTreeSet::from(["kept".to_owned()]));
}

pub async fn stat_of_a_missing_file(fx: &Fixture) {
    let b = &**fx;
    assert!(stat(b, "no-such-file").await.is_none());
    assert!(stat(b, "no/such/dir/file").await.is_none());
}

/// A missing directory: "directory not found", except where directories are key
/// prefixes (an empty one, as rclone lists it).
pub async fn missing_directory(fx: &Fixture) {
    let b = &**fx;
    match b.list_dir(&rel("no/such/dir")).await {
        Ok(l) if b.features().semantics.bucket_dirs => assert!(l.entries.is_empty()),
        Ok(l) => panic!("listed a missing directory: {:?}", l.entries),
        Err(e) => {
            assert!(!b.features().semantics.bucket_dirs, "{e}");
            assert_eq!(e.kind(), ErrorKind::DirNotFound, "{e}");
        }
    }
}

pub async fn mkdir_and_rmdir(fx: &Fixture) {
    if read_only(fx) {
        return;
    }
    let b = &**fx;
    if !b.features().semantics.empty_dirs {
        return lacks(fx, "empty directories");
    }
    b.mkdir(&rel("e/f")).await.expect("mkdir");
    let e = stat(b, "e/f").await.expect("made");
    assert!(e.is_dir());
    assert_eq!(names_of(b, "e").await, BTreeSet::from(["f".to_owned()]));
    put(fx, "e/f/x", b"x").await;
    assert!(
        b.rmdir(&rel("e/f")).await.is_err(),
        "a full directory stays"
    );
    b.delete_file(&rel("e/f/x")).await.expect("delete");
    b.rmdir(&rel("e/f")).await.expect("rmdir");
    b.rmdir(&rel("e")).await.expect("rmdir parent");
    assert!(stat(b, "e").await.is_none());
}

/// Where a backend lists recursively, it lists what walking directory by directory finds.
pub async fn recursive_listing_matches_the_walk(fx: &Fixture) {
    let files = ["a", "b/c", "b/d/e", "b/d/f", "b-x/g", "h/i/j/k"];
    for f in files {
        put(fx, f, f.as_bytes()).await;
    }
    let stream = fx.backend.clone().list_recursive(&RelPath::root());
    assert_eq!(
        stream.is_some(),
        fx.features().caps.recursive_list,
        "the declaration and list_recursive disagree"
    );
    let Some(stream) = stream else {
        return lacks(fx, "recursive listings");
    };
    let listed: Vec<Entry> = stream
        .map(|r| r.unwrap_or_else(|e| panic!("recursive listing: {e}")))
        .collect()
        .await;
    let found: BTreeSet<String> = listed
        .iter()
        .filter(|e| !e.is_dir())
        .map(|e| e.path.to_string())
        .collect();
    assert_eq!(found, files.iter().map(|f| f.to_string()).collect());
    let dirs: Vec<String> = listed
        .iter()
        .filter(|e| e.is_dir())
        .map(|e| e.path.to_string())
        .collect();
    let unique: BTreeSet<&String> = dirs.iter().collect();
    assert_eq!(unique.len(), dirs.len(), "each directory once: {dirs:?}");
    assert_eq!(
        unique.into_iter().cloned().collect::<Vec<_>>(),
        ["b", "b-x", "b/d", "h", "h/i", "h/i/j"]
    );
}

pub async fn server_side_copy(fx: &Fixture) {
    let b = &**fx;
    if !b.features().caps.server_side_copy() {
        return lacks(fx, "server-side copies");
    }
    let data = payload(3000);
    put(fx, "orig", &data).await;
    let copied = b
        .copy_from(b, &rel("orig"), &rel("sub/copy"), &opts(data.len(), when()))
        .await
        .expect("copy");
    assert!(copied.is_some(), "declared, but did not copy");
    assert_eq!(read(b, "sub/copy", 0, None).await, data);
    assert_eq!(read(b, "orig", 0, None).await, data, "the original stays");
}

/// A move within one backend, where it declares moves: the data under the new name only.
pub async fn move_within(fx: &Fixture) {
    let b = &**fx;
    if !b.features().caps.moves {
        return lacks(fx, "moves");
    }
    let data = payload(2000);
    put(fx, "before", &data).await;
    match b.move_from(b, &rel("before"), &rel("moved/after")).await {
        Ok(Some(e)) => assert_eq!(e.size, data.len() as u64),
        Ok(None) => panic!("declared, but did not move"),
        Err(e) => panic!("move: {e}"),
    }
    assert!(stat(b, "before").await.is_none());
    assert_eq!(read(b, "moved/after", 0, None).await, data);
}

/// A write whose stream ends short of the announced size fails and leaves nothing under
/// the final name (nor a half-written file in the listing).
pub async fn short_write_keeps_nothing(fx: &Fixture) {
    let b = &**fx;
    let data = payload(500);
    let stream = Box::pin(std::io::Cursor::new(data.clone()));
    let result = b.put(&rel("short"), stream, &opts(1000, when())).await;
    assert!(result.is_err(), "a short stream was accepted");
    assert!(
        stat(b, "short").await.is_none(),
        "kept under the final name"
    );
    assert!(names_of(b, "").await.is_empty(), "left something behind");
}

/// Names holding URL metacharacters (`%`, `#`, `?`, `&`, `;`, `+`, `=`) and a literal
/// escape sequence come back as they were written.
pub async fn names_with_url_metacharacters(fx: &Fixture) {
    let b = &**fx;
    let names = [
        "100%.txt",
        "percent%20literal",
        "hash#frag",
        "what?query=1",
        "a&b;c+d=e",
        "dir with %2F/inner #1.txt",
    ];
    for name in names {
        put(fx, name, name.as_bytes()).await;
    }
    for name in names {
        let e = stat(b, name).await.unwrap_or_else(|| panic!("{name} lost"));
        assert_eq!(e.size, name.len() as u64, "{name}");
        assert_eq!(read(b, name, 0, None).await, name.as_bytes(), "{name}");
    }
    let top = names_of(b, "").await;
    for name in names.iter().filter(|n| !n.contains('/')) {
        assert!(top.contains(*name), "{name:?} not listed: {top:?}");
    }
    assert!(top.contains("dir with %2F"), "{top:?}");
    assert_eq!(
        names_of(b, "dir with %2F").await,
        BTreeSet::from(["inner #1.txt".to_owned()])
    );
}

/// A backend that declares itself read only refuses every write with an error naming
/// the path, and what it holds stays as it was.
pub async fn writes_are_refused(fx: &Fixture) {
    let b = &**fx;
    if !b.features().caps.read_only {
        return lacks(
            fx,
            "being read only (its writes are checked by the other cases)",
        );
    }
    put(fx, "kept", b"kept").await;
    let data = Box::pin(std::io::Cursor::new(b"new".to_vec()));
    let refusals = [
        (
            "put",
            b.put(&rel("new"), data, &opts(3, when())).await.err(),
        ),
        ("delete_file", b.delete_file(&rel("kept")).await.err()),
        (
            "set_modtime",
            b.set_modtime(&rel("kept"), when()).await.err(),
        ),
        ("mkdir", b.mkdir(&rel("d")).await.err()),
        ("rmdir", b.rmdir(&rel("d")).await.err()),
    ];
    for (op, err) in refusals {
        let e = err.unwrap_or_else(|| panic!("{op} succeeded on a read-only backend"));
        assert!(e.to_string().contains("read only"), "{op}: {e}");
        assert!(
            e.path().is_some_and(|p| !p.is_empty()),
            "{op} names no path: {e}"
        );
    }
    assert_eq!(read(b, "kept", 0, None).await, b"kept");
    assert_eq!(names_of(b, "").await, BTreeSet::from(["kept".to_owned()]));
}
