//! What is written reads back the same: bytes, sizes, times, directories; over plain FTP,
//! explicit FTPS (MLSD, MFMT) and implicit FTPS (LIST, MDTM).

use std::time::Duration;

use ferry_core::ErrorKind;
use ferry_testbed::Testbed;

use crate::common::*;

/// A tree written, listed, read (whole and ranged), timed, moved and removed.
async fn round_trip(opts: &[(&'static str, String)], ftp: &ferry_testbed::Ftp, sub: &str) {
    let b = open(opts, &ftp.path(sub)).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let e = put(&*b, "a/b/big.bin", &data, t(1_600_000_000)).await;
    assert_eq!(e.size, data.len() as u64);
    put(&*b, "top.txt", b"hello\r\nworld\n", t(1_500_000_000)).await;
    // Times are kept to the second, and the server said so once connected.
    assert_eq!(
        b.features().semantics.modtime_precision,
        Some(Duration::from_secs(1))
    );
    let st = b.stat(&p("a/b/big.bin")).await.unwrap().unwrap();
    assert_eq!((st.size, whole(st.mtime)), (300_000, 1_600_000_000));
    assert!(!st.is_dir());
    let st = b.stat(&p("a/b")).await.unwrap().unwrap();
    assert!(st.is_dir());
    assert_eq!(
        names(&*b, "").await,
        (vec!["a".into(), "top.txt".into()], vec![])
    );
    // Entries listed without an exact time get it on request (LIST servers: MDTM).
    let mut listed = b.list_dir(&p("a/b")).await.unwrap().entries;
    ferry_core::exact_mtimes(&*b, &mut listed, 2).await.unwrap();
    assert_eq!(whole(listed[0].mtime), 1_600_000_000);
    // Binary transfers, byte for byte; ranges via REST.
    assert_eq!(read(&*b, "top.txt", 0, None).await, b"hello\r\nworld\n");
    assert_eq!(read(&*b, "a/b/big.bin", 0, None).await, data);
    assert_eq!(
        read(&*b, "a/b/big.bin", 70_000, Some(5)).await,
        data[70_000..70_005]
    );
    assert_eq!(
        read(&*b, "a/b/big.bin", 299_990, None).await,
        data[299_990..]
    );
    // Overwrite in place of an existing file, new time set.
    put(&*b, "top.txt", b"v2", t(1_400_000_000)).await;
    let st = b.stat(&p("top.txt")).await.unwrap().unwrap();
    assert_eq!((st.size, whole(st.mtime)), (2, 1_400_000_000));
    b.set_modtime(&p("top.txt"), t(1_300_000_000))
        .await
        .unwrap();
    let st = b.stat(&p("top.txt")).await.unwrap().unwrap();
    assert_eq!(whole(st.mtime), 1_300_000_000);
    // No temporary file is left beside what was written.
    assert_eq!(on_disk(&ftp.local(sub)), ["a", "top.txt"]);
    assert_eq!(on_disk(&ftp.local(&format!("{sub}/a/b"))), ["big.bin"]);
    // Server-side move.
    let moved = b
        .move_from(&*b, &p("top.txt"), &p("c/moved.txt"))
        .await
        .unwrap();
    assert_eq!(moved.map(|e| e.size), Some(2));
    assert!(b.stat(&p("top.txt")).await.unwrap().is_none());
    // Directories: made with parents, refused while not empty, removed when empty.
    b.mkdir(&p("x/y/z")).await.unwrap();
    b.mkdir(&p("x/y/z")).await.unwrap();
    let e = b.rmdir(&p("x/y")).await.unwrap_err();
    assert_ne!(e.kind(), ErrorKind::DirNotFound, "{e}");
    b.rmdir(&p("x/y/z")).await.unwrap();
    assert_eq!(names(&*b, "x/y").await.0, Vec::<String>::new());
    b.delete_file(&p("a/b/big.bin")).await.unwrap();
    // What is missing says so.
    assert!(b.stat(&p("a/b/big.bin")).await.unwrap().is_none());
    let e = b.delete_file(&p("a/b/big.bin")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = b.list_dir(&p("nope")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DirNotFound, "{e}");
    let e = b.rmdir(&p("nope")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DirNotFound, "{e}");
    match b.open(&p("nope.txt"), 0, None).await {
        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "{e}"),
        Ok(_) => panic!("opened a missing file"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_ftp_round_trip() {
    let Some(ftp) = Testbed::ftp() else { return };
    round_trip(&ftp.options(), &ftp, "plain").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_tls_round_trip() {
    let Some(ftp) = Testbed::ftp() else { return };
    round_trip(&ftp.options_explicit_tls(), &ftp, "explicit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_round_trip_over_list_and_mdtm() {
    let Some(ftp) = Testbed::ftp() else { return };
    round_trip(&ftp.options_implicit_tls(), &ftp, "implicit").await;
}

/// Forced fallbacks on the MLSD server: PASV instead of EPSV, LIST instead of MLSD, one
/// connection at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasv_and_list_fallbacks_with_one_connection() {
    let Some(ftp) = Testbed::ftp() else { return };
    let mut o = with(&ftp.options(), "disable_epsv", "true");
    o = with(&o, "disable_mlsd", "true");
    o = with(&o, "concurrency", "1");
    round_trip(&o, &ftp, "fallbacks").await;
}

/// A server that can't set times (vsftpd without `writing_mdtm`) keeps none as far as
/// ferry plans: no precision, and setting one is refused rather than faked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_settable_times_means_no_precision() {
    let Some(ftp) = Testbed::ftp() else { return };
    let o = with(&ftp.options_implicit_tls(), "writing_mdtm", "false");
    let b = open(&o, &ftp.path("")).unwrap();
    b.prepare_write().await;
    assert_eq!(b.features().semantics.modtime_precision, None);
    assert!(!b.features().caps.set_modtime);
    put(&*b, "f.txt", b"x", t(1_000_000_000)).await;
    let e = b.set_modtime(&p("f.txt"), t(1)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

/// ferry's temporary names are never listed; an old one is removed once a run writes
/// here, a recent one (another run may be writing it) is left; a user's file that only
/// looks like one is an ordinary file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftover_temporary_files_are_hidden_and_old_ones_removed() {
    let Some(ftp) = Testbed::ftp() else { return };
    let old = ferry_core::partial::temp_name("a.txt");
    let young = ferry_core::partial::temp_name("b.txt");
    let lookalike = ".c.txt.ferry-deadbeef00000000.partial";
    for name in [old.as_str(), young.as_str(), lookalike] {
        std::fs::write(ftp.local(name), b"partial").unwrap();
    }
    let f = std::fs::File::options()
        .write(true)
        .open(ftp.local(&old))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    let b = open(&ftp.options(), &ftp.path("")).unwrap();
    assert_eq!(names(&*b, "").await, (vec![lookalike.to_owned()], vec![]));
    assert_eq!(
        on_disk(&ftp.local("")).len(),
        3,
        "a read-only run removes nothing"
    );
    b.prepare_write().await;
    assert_eq!(names(&*b, "").await.0, [lookalike]);
    let mut want = vec![lookalike.to_owned(), young];
    want.sort();
    assert_eq!(on_disk(&ftp.local("")), want);
}

/// `force_list_hidden` lists dot files on both servers (`LIST -a`, MLSD off); without it a
/// LIST server hides them, as rclone's listing does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_list_hidden_shows_dot_files() {
    let Some(ftp) = Testbed::ftp() else { return };
    std::fs::write(ftp.local(".hidden"), b"h").unwrap();
    std::fs::write(ftp.local("shown"), b"s").unwrap();
    for o in [ftp.options_implicit_tls(), ftp.options()] {
        let plain = with(&o, "disable_mlsd", "true");
        let b = open(&plain, &ftp.path("")).unwrap();
        assert_eq!(names(&*b, "").await.0, ["shown"]);
        let b = open(&with(&o, "force_list_hidden", "true"), &ftp.path("")).unwrap();
        assert_eq!(names(&*b, "").await.0, [".hidden", "shown"]);
    }
}

/// TLS 1.2 only, and no session cache where the server doesn't insist on reuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_without_session_cache() {
    let Some(ftp) = Testbed::ftp() else { return };
    let mut o = with(&ftp.options_explicit_tls(), "disable_tls13", "true");
    o = with(&o, "tls_cache_size", "0");
    let b = open(&o, &ftp.path("")).unwrap();
    put(&*b, "x/tls12.txt", b"twelve", t(1_234_567_890)).await;
    assert_eq!(read(&*b, "x/tls12.txt", 0, None).await, b"twelve");
}

/// A source that gives a few bytes per read, so each chunk of an upload is gathered
/// from many reads while the one before it is being sent.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
}

impl tokio::io::AsyncRead for Trickle {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = buf.remaining().min(7_919).min(self.data.len() - self.pos);
        let from = self.pos;
        buf.put_slice(&self.data[from..from + n]);
        self.pos += n;
        std::task::Poll::Ready(Ok(()))
    }
}

/// An upload of several chunks arrives whole from a source that trickles; one whose
/// source gives fewer or more bytes than its size is refused and leaves no file, under
/// its name or a temporary one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_uploads_arrive_whole_and_a_wrong_size_leaves_nothing() {
    let Some(ftp) = Testbed::ftp() else { return };
    let sub = "chunked";
    let b = open(&ftp.options(), &ftp.path(sub)).unwrap();
    let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 13 % 253) as u8).collect();
    let trickle = |d: &[u8]| -> ferry_core::ByteStream {
        Box::pin(Trickle {
            data: d.to_vec(),
            pos: 0,
        })
    };
    let size = data.len() as u64;
    let e = b
        .put(
            &p("whole.bin"),
            trickle(&data),
            &put_opts(size, t(1_600_000_000)),
        )
        .await
        .unwrap();
    assert_eq!(e.size, size);
    assert_eq!(read(&*b, "whole.bin", 0, None).await, data);
    for (name, sent) in [("short.bin", &data[..600_000]), ("long.bin", &data[..])] {
        let declared = if name == "short.bin" { size } else { 700_000 };
        let err = b
            .put(
                &p(name),
                trickle(sent),
                &put_opts(declared, t(1_600_000_000)),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupted, "{name}: {err}");
    }
    assert_eq!(on_disk(&ftp.local(sub)), ["whole.bin"]);
}
