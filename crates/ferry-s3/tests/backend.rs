//! The backend called directly: failures injected into uploads (against the testbed's S3
//! server), and throttling answered by a tiny fake S3 on 127.0.0.1.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use ferry_core::{Backend, ErrorKind, PutOptions, RelPath};
use ferry_s3::{S3Backend, S3Options};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

/// Yields `good` bytes, then fails.
struct FailingReader {
    good: usize,
}

impl AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.good == 0 {
            return Poll::Ready(Err(io::Error::other("injected read failure")));
        }
        let n = self.good.min(buf.remaining()).min(64 * 1024);
        buf.put_slice(&vec![7u8; n]);
        self.good -= n;
        Poll::Ready(Ok(()))
    }
}

fn testbed_backend(s3: &ferry_testbed::S3, extra: impl FnOnce(&mut S3Options)) -> Arc<S3Backend> {
    let mut o = S3Options {
        provider: "Other".into(),
        access_key_id: Some(s3.access_key.clone()),
        secret_access_key: Some(s3.secret_key.clone()),
        endpoint: Some(s3.endpoint.clone()),
        region: Some(s3.region.clone()),
        ..S3Options::default()
    };
    extra(&mut o);
    S3Backend::new(&format!("{}/inj", s3.bucket), o).unwrap()
}

fn opts(size: u64) -> PutOptions {
    PutOptions {
        size,
        mtime: SystemTime::now(),
        inplace: false,
        hashes: Default::default(),
        metadata: None,
    }
}

async fn open_uploads(b: &S3Backend, bucket: &str) -> usize {
    let out = b
        .store()
        .client()
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.uploads().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_multipart_upload_is_aborted() {
    let Some(s3) = ferry_testbed::Testbed::s3() else {
        return;
    };
    let b = testbed_backend(&s3, |o| {
        o.upload_cutoff = 5 << 20;
        o.chunk_size = 5 << 20;
    });
    let path = RelPath::new("broken.bin").unwrap();
    // The source fails after two and a half parts.
    let reader = Box::pin(FailingReader { good: 12 << 20 });
    let err = b.put(&path, reader, &opts(20 << 20)).await.unwrap_err();
    assert!(err.to_string().contains("injected read failure"), "{err}");
    assert_eq!(open_uploads(&b, &s3.bucket).await, 0);
    assert!(b.stat(&path).await.unwrap().is_none());

    // A source shorter than announced fails too, and is aborted as well.
    let short = Box::pin(std::io::Cursor::new(vec![1u8; 11 << 20]));
    let err = b.put(&path, short, &opts(20 << 20)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    assert_eq!(open_uploads(&b, &s3.bucket).await, 0);

    // And one longer than announced (single part: nothing is sent at all).
    let b2 = testbed_backend(&s3, |_| {});
    let long = Box::pin(std::io::Cursor::new(vec![1u8; 100]));
    let err = b2.put(&path, long, &opts(99)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    assert!(b2.stat(&path).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_sizes_raise_the_part_size() {
    let o = S3Options::default();
    let size = 2u64 << 40; // 2 TiB
    let part = o.part_size(size);
    assert!(size.div_ceil(part) <= 10_000);
    assert!(part >= o.chunk_size);
}

/// A fake S3 that answers `fail` requests with 503 SlowDown, then lists one directory.
async fn fake_s3(fail: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let (status, body) = if n < fail {
                    (
                        "503 Slow Down",
                        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_owned(),
                    )
                } else {
                    (
                        "200 OK",
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes></ListBucketResult>".to_owned(),
                    )
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), count)
}

fn fake_backend(endpoint: &str) -> Arc<S3Backend> {
    S3Backend::new(
        "b",
        S3Options {
            access_key_id: Some("k".into()),
            secret_access_key: Some("s".into()),
            endpoint: Some(endpoint.into()),
            ..S3Options::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowdown_is_retried_with_backoff() {
    let (endpoint, count) = fake_s3(2).await;
    let b = fake_backend(&endpoint);
    let started = std::time::Instant::now();
    let list = b.list_dir(&RelPath::root()).await.unwrap().entries;
    assert_eq!(list.len(), 1);
    assert!(list[0].is_dir() && list[0].name() == "dir");
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_slowdown_is_a_temporary_error() {
    let (endpoint, count) = fake_s3(usize::MAX).await;
    let b = fake_backend(&endpoint);
    let err = b.list_dir(&RelPath::root()).await.unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert!(err.to_string().contains("SlowDown"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_open_ranges_delete() {
    let Some(s3) = ferry_testbed::Testbed::s3() else {
        return;
    };
    let b = testbed_backend(&s3, |_| {});
    let path = RelPath::new("d/f.txt").unwrap();
    let data = b"0123456789".to_vec();
    let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_234_567_890, 123);
    let put = PutOptions { mtime, ..opts(10) };
    let stored = b
        .put(&path, Box::pin(std::io::Cursor::new(data)), &put)
        .await
        .unwrap();
    assert_eq!(
        stored.hashes.get(ferry_core::HashKind::Md5),
        Some("781e5e245d69b566979b86e28d23f2c7")
    );
    let e = b.stat(&path).await.unwrap().unwrap();
    assert_eq!((e.size, e.mtime), (10, mtime));
    let dir = b.stat(&RelPath::new("d").unwrap()).await.unwrap().unwrap();
    assert!(dir.is_dir());
    assert!(b.stat(&RelPath::root()).await.unwrap().unwrap().is_dir());
    let read = |off: u64, len: Option<u64>| {
        let b = b.clone();
        let path = path.clone();
        async move {
            let mut s = String::new();
            b.open(&path, off, len)
                .await
                .unwrap()
                .read_to_string(&mut s)
                .await
                .unwrap();
            s
        }
    };
    assert_eq!(read(0, None).await, "0123456789");
    assert_eq!(read(3, Some(4)).await, "3456");
    assert_eq!(read(8, None).await, "89");
    assert_eq!(read(10, None).await, "");
    assert_eq!(read(2, Some(0)).await, "");
    b.delete_file(&path).await.unwrap();
    assert!(b.stat(&path).await.unwrap().is_none());
    // A prefix with nothing under it is an empty directory, as rclone has it.
    let listed = b.list_dir(&RelPath::new("d").unwrap()).await.unwrap();
    assert!(listed.entries.is_empty() && listed.errors.is_empty());
    let missing = b.open(&path, 0, None).await.err().unwrap();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_stream_gets_md5chksum_afterwards() {
    let Some(s3) = ferry_testbed::Testbed::s3() else {
        return;
    };
    let b = testbed_backend(&s3, |o| {
        o.upload_cutoff = 5 << 20;
        o.chunk_size = 5 << 20;
    });
    let path = RelPath::new("stream.bin").unwrap();
    let data: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 251) as u8).collect();
    let size = data.len() as u64;
    let stored = b
        .put(&path, Box::pin(std::io::Cursor::new(data)), &opts(size))
        .await
        .unwrap();
    let md5 = stored
        .hashes
        .get(ferry_core::HashKind::Md5)
        .unwrap()
        .to_owned();
    // A stream's MD5 is known only at the end: it is stored by a metadata rewrite.
    let head = b
        .store()
        .client()
        .head_object()
        .bucket(&s3.bucket)
        .key("inj/stream.bin")
        .send()
        .await
        .unwrap();
    let meta = head.metadata().unwrap();
    assert_eq!(
        ferry_s3::meta::md5_from_meta(&meta["md5chksum"]).as_deref(),
        Some(md5.as_str())
    );
    assert!(meta.contains_key("mtime"));
    assert_eq!(head.content_type(), Some("application/octet-stream"));
    let e = b.stat(&path).await.unwrap().unwrap();
    assert_eq!(e.hashes.get(ferry_core::HashKind::Md5), Some(md5.as_str()));
}

/// A local file hashed before its multipart upload (as `copy_from` does): the upload
/// sends each part with the MD5 taken then and checks the part's ETag against it, so a
/// source that changed in between is caught part by part, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_hashed_before_the_upload_catch_a_changed_source() {
    use ferry_core::md5::Digest;
    let Some(s3) = ferry_testbed::Testbed::s3() else {
        return;
    };
    let b = testbed_backend(&s3, |o| {
        o.upload_cutoff = 5 << 20;
        o.chunk_size = 5 << 20;
    });
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let local = ferry_local::LocalBackend::new(dir.path(), Default::default());
    let src = RelPath::new("big.bin").unwrap();
    let o = opts(data.len() as u64);

    // Unchanged: stored, with its md5chksum, and verified without a hash of the stream.
    let path = RelPath::new("prehashed.bin").unwrap();
    assert!(b
        .copy_from(&*local, &src, &path, &o)
        .await
        .unwrap()
        .is_none());
    assert!(b.put_verifies(&path, &o));
    let stored = b
        .put(&path, Box::pin(io::Cursor::new(data.clone())), &o)
        .await
        .unwrap();
    let md5 = hex::encode(ferry_core::md5::Md5::digest(&data));
    assert_eq!(
        stored.hashes.get(ferry_core::HashKind::Md5),
        Some(md5.as_str())
    );
    let e = b.stat(&path).await.unwrap().unwrap();
    assert_eq!(e.hashes.get(ferry_core::HashKind::Md5), Some(md5.as_str()));

    // One byte of the second part changed after the hashing: that part fails.
    let path = RelPath::new("changed.bin").unwrap();
    assert!(b
        .copy_from(&*local, &src, &path, &o)
        .await
        .unwrap()
        .is_none());
    let mut changed = data.clone();
    changed[(5 << 20) + 3] ^= 0xff;
    let err = b
        .put(&path, Box::pin(io::Cursor::new(changed)), &o)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupted, "{err}");
    assert!(err.to_string().contains("part 2"), "{err}");
    assert!(err.is_temporary(), "{err}");
    assert!(b.stat(&path).await.unwrap().is_none());
    let open = b
        .store()
        .client()
        .list_multipart_uploads()
        .bucket(&s3.bucket)
        .prefix("inj/changed.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(open.uploads().len(), 0, "the failed upload was aborted");

    // Nothing hashed beforehand (another source): the stream is hashed as before.
    assert!(!b.put_verifies(&path, &o));
}

/// A local file whose MD5 the hash cache holds (from an earlier upload or check) is not
/// read before its multipart upload: `md5chksum` comes from the cache, each part is
/// hashed as it is sent (with the whole stream, in one pass) and checked against its
/// ETag, and the whole stream's MD5 against the cached one, so the upload verifies the
/// transfer itself and the caller needn't hash the stream. Bytes that don't match the
/// cached MD5 fail the upload and leave nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_md5_spares_the_read_before_a_multipart_upload() {
    use ferry_core::md5::Digest;
    let Some(s3) = ferry_testbed::Testbed::s3() else {
        return;
    };
    let b = testbed_backend(&s3, |o| {
        o.upload_cutoff = 5 << 20;
        o.chunk_size = 5 << 20;
    });
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let cache = Arc::new(ferry_local::HashCache::at(dir.path().join("hashes.redb")));
    let local = ferry_local::LocalBackend::new(
        dir.path(),
        ferry_local::LocalOptions {
            hash_cache: Some(cache),
            ..Default::default()
        },
    );
    let src = RelPath::new("big.bin").unwrap();
    let o = opts(data.len() as u64);
    let md5 = hex::encode(ferry_core::md5::Md5::digest(&data));
    // The cache keeps no hash of a file changed within the last seconds.
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // First upload: read beforehand (which fills the cache), verified by the upload.
    let first = RelPath::new("cold.bin").unwrap();
    assert!(b
        .copy_from(&*local, &src, &first, &o)
        .await
        .unwrap()
        .is_none());
    assert!(b.put_verifies(&first, &o));
    b.put(&first, Box::pin(io::Cursor::new(data.clone())), &o)
        .await
        .unwrap();

    // Other bytes than those the cached MD5 is of: refused, nothing stored.
    let bad = RelPath::new("bad.bin").unwrap();
    assert!(b
        .copy_from(&*local, &src, &bad, &o)
        .await
        .unwrap()
        .is_none());
    assert!(b.put_verifies(&bad, &o));
    let mut other = data.clone();
    other[7 << 20] ^= 1;
    let e = b
        .put(&bad, Box::pin(io::Cursor::new(other)), &o)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("md5 hashes differ"), "{e}");
    assert!(b.stat(&bad).await.unwrap().is_none());

    // Again: the MD5 from the cache, the parts hashed while sent.
    let path = RelPath::new("warm.bin").unwrap();
    assert!(b
        .copy_from(&*local, &src, &path, &o)
        .await
        .unwrap()
        .is_none());
    assert!(
        b.put_verifies(&path, &o),
        "the upload checks the whole stream against the cached MD5"
    );
    let stored = b
        .put(&path, Box::pin(io::Cursor::new(data.clone())), &o)
        .await
        .unwrap();
    assert_eq!(
        stored.hashes.get(ferry_core::HashKind::Md5),
        Some(md5.as_str())
    );
    let head = b
        .store()
        .client()
        .head_object()
        .bucket(&s3.bucket)
        .key("inj/warm.bin")
        .send()
        .await
        .unwrap();
    let meta = head.metadata().unwrap();
    assert_eq!(
        ferry_s3::meta::md5_from_meta(&meta["md5chksum"]).as_deref(),
        Some(md5.as_str())
    );
    assert!(head.e_tag().unwrap().contains("-3"), "{:?}", head.e_tag());
}

/// What S3 does its own way through the object-store hooks: `dir/` markers list as
/// 0-byte directories and go with rmdir when alone, a fuller prefix is refused, a move
/// is a server-side copy and a delete, and a GET's headers give the exact entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_copies_and_reads_through_the_store_hooks() {
    use ferry_core::{Declared, HashKind};
    use futures::TryStreamExt;
    let Some(s3) = ferry_testbed::Testbed::s3() else {
        return;
    };
    let b = testbed_backend(&s3, |_| {});
    let p = |s: &str| RelPath::new(s).unwrap();
    b.store()
        .client()
        .put_object()
        .bucket(&s3.bucket)
        .key("inj/hooks/dir/")
        .body(Vec::new().into())
        .send()
        .await
        .unwrap();
    let listed = b.list_dir(&p("hooks")).await.unwrap();
    let dir = listed.entries.iter().find(|e| e.path == p("hooks/dir"));
    assert_eq!(dir.map(|d| (d.is_dir(), d.dir_size)), Some((true, Some(0))));
    let flat: Vec<_> = b
        .clone()
        .list_recursive(&p("hooks"))
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        flat.iter()
            .map(|e| (e.path.as_str(), e.dir_size))
            .collect::<Vec<_>>(),
        [("hooks/dir", Some(0))]
    );
    b.rmdir(&p("hooks/dir")).await.unwrap();
    assert!(b.list_dir(&p("hooks")).await.unwrap().entries.is_empty());

    let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_500_000_000, 7);
    let put = PutOptions { mtime, ..opts(3) };
    let data = Box::pin(std::io::Cursor::new(b"abc".to_vec()));
    b.put(&p("hooks/a.txt"), data, &put).await.unwrap();
    let full = b.rmdir(&p("hooks")).await.unwrap_err();
    assert!(full.to_string().contains("not empty"), "{full}");
    // No move of its own (as rclone's S3): a move is a server-side copy and a delete.
    let none = b
        .move_declared(b.as_ref(), &p("hooks/a.txt"), &p("hooks/b.txt"))
        .await
        .unwrap();
    assert!(none.is_none());
    let copied = b
        .copy_declared(b.as_ref(), &p("hooks/a.txt"), &p("hooks/b.txt"), &put)
        .await
        .unwrap()
        .unwrap();
    let abc = "900150983cd24fb0d6963f7d28e17f72";
    assert_eq!(copied.hashes.get(HashKind::Md5), Some(abc));
    b.delete_file(&p("hooks/a.txt")).await.unwrap();
    assert!(b.stat(&p("hooks/a.txt")).await.unwrap().is_none());
    let (_, got) = b.open_entry(&p("hooks/b.txt"), 0, None).await.unwrap();
    let got = got.unwrap();
    assert_eq!((got.size, got.mtime), (3, mtime));
    assert_eq!(got.hashes.get(HashKind::Md5), Some(abc));
    b.delete_file(&p("hooks/b.txt")).await.unwrap();
}
