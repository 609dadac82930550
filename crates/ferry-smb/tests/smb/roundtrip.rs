//! Writing, listing, reading, moving and removing through the trait, and what the share's
//! directory holds afterwards.

use std::time::{Duration, UNIX_EPOCH};

use ferry_core::ErrorKind;
use ferry_testbed::Testbed;
use tokio::io::AsyncReadExt;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_round_trip_with_times_to_the_millisecond() {
    let Some(smb) = Testbed::smb() else { return };
    let b = open(&smb.options(), &smb.path("")).unwrap();
    let e = put(&*b, "a/b/c.txt", b"hello", t(1_600_000_000)).await;
    assert_eq!(e.size, 5);
    // 100 ns on the wire: within rclone's declared 1 ms of what was asked.
    let diff = e.mtime.duration_since(t(1_600_000_000)).unwrap_or_default();
    assert!(diff < Duration::from_millis(1), "{:?}", e.mtime);
    let st = b.stat(&p("a/b/c.txt")).await.unwrap().unwrap();
    assert_eq!((st.size, st.mtime), (5, e.mtime));
    assert_eq!(read(&*b, "a/b/c.txt", 0, None).await, b"hello");
    assert_eq!(read(&*b, "a/b/c.txt", 1, Some(3)).await, b"ell");
    assert_eq!(names(&*b, "a").await, (vec!["b".to_string()], vec![]));
    assert_eq!(on_disk(&smb.local("a/b")), ["c.txt"]);
    // Times set afterwards, and overwrites.
    b.set_modtime(&p("a/b/c.txt"), t(1_000_000_000))
        .await
        .unwrap();
    let st = b.stat(&p("a/b/c.txt")).await.unwrap().unwrap();
    assert_eq!(
        st.mtime.duration_since(UNIX_EPOCH).unwrap().as_millis(),
        1_000_000_000_678
    );
    put(&*b, "a/b/c.txt", b"x", t(1)).await;
    assert_eq!(read(&*b, "a/b/c.txt", 0, None).await, b"x");
    // Moves within the share, into a directory that doesn't exist yet.
    let moved = b
        .move_from(&*b, &p("a/b/c.txt"), &p("z/moved.txt"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.size, 1);
    assert!(b.stat(&p("a/b/c.txt")).await.unwrap().is_none());
    b.delete_file(&p("z/moved.txt")).await.unwrap();
    let e = b.delete_file(&p("z/moved.txt")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    b.rmdir(&p("z")).await.unwrap();
    let e = b.rmdir(&p("a")).await.unwrap_err();
    assert_ne!(e.kind(), ErrorKind::DirNotFound, "a is not empty: {e}");
    let e = b.list_dir(&p("nope")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DirNotFound, "{e}");
    b.mkdir(&p("empty/dir")).await.unwrap();
    assert!(b.stat(&p("empty/dir")).await.unwrap().unwrap().is_dir());
}

/// The server's top level lists its shares (IPC$ hidden, as rclone hides `$` shares); a
/// share that doesn't exist is a missing directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_top_level_lists_shares() {
    let Some(smb) = Testbed::smb() else { return };
    let b = open(&smb.options(), "").unwrap();
    let (shares, errors) = names(&*b, "").await;
    assert_eq!(shares, std::slice::from_ref(&smb.share));
    assert!(errors.is_empty(), "{errors:?}");
    let all = open(&with(&smb.options(), "hide_special_share", "false"), "").unwrap();
    assert!(names(&*all, "").await.0.contains(&"IPC$".to_string()));
    assert!(b.stat(&p(&smb.share)).await.unwrap().unwrap().is_dir());
    assert!(b.stat(&p("no-such-share")).await.unwrap().is_none());
    let e = b.list_dir(&p("no-such-share")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DirNotFound, "{e}");
    let e = b
        .put(&p("x"), stream(vec![]), &put_opts(0, t(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

/// A large file is streamed both ways in blocks (never held whole) and arrives intact;
/// nothing but the file is left in its directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_streams_both_ways() {
    let Some(smb) = Testbed::smb() else { return };
    let b = open(&smb.options(), &smb.path("")).unwrap();
    const SIZE: u64 = 48 << 20;
    let pattern = |i: u64| (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    // A reader that makes the bytes as it goes.
    let (mut tx, rx) = tokio::io::duplex(1 << 16);
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut buf = vec![0u8; 1 << 16];
        let mut i = 0u64;
        while i < SIZE {
            for (k, byte) in buf.iter_mut().enumerate() {
                *byte = pattern(i + k as u64);
            }
            tx.write_all(&buf).await.unwrap();
            i += buf.len() as u64;
        }
    });
    let e = b
        .put(
            &p("big.bin"),
            Box::pin(rx),
            &put_opts(SIZE, t(1_700_000_000)),
        )
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!(e.size, SIZE);
    assert_eq!(on_disk(&smb.local("")), ["big.bin"]);
    let mut s = b.open(&p("big.bin"), 0, None).await.unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut at = 0u64;
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        for (k, byte) in buf[..n].iter().enumerate() {
            assert_eq!(*byte, pattern(at + k as u64), "byte {}", at + k as u64);
        }
        at += n as u64;
    }
    assert_eq!(at, SIZE);
}

/// A stream that ends before its declared size stores nothing, and the share stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_stream_keeps_nothing() {
    let Some(smb) = Testbed::smb() else { return };
    let b = open_with_timeout(&smb.options(), &smb.path(""), Duration::from_secs(10)).unwrap();
    let e = b
        .put(&p("short"), stream(vec![1; 500]), &put_opts(1000, t(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
    assert!(b.stat(&p("short")).await.unwrap().is_none());
    assert_eq!(names(&*b, "").await, (vec![], vec![]));
    assert_eq!(on_disk(&smb.local("")), Vec::<String>::new());
}
