//! The backend through the `Backend` trait against the testbed's WebDAV server (wsgidav,
//! vendor `other`). Each test skips (or fails under CI=true) when the server is missing.

mod common;

use std::collections::BTreeSet;

use common::*;
use ferry_core::{Backend, ErrorKind};
use ferry_testbed::Testbed;

async fn names(b: &dyn Backend, dir: &str) -> BTreeSet<String> {
    let l = b
        .list_dir(&rel(dir))
        .await
        .unwrap_or_else(|e| panic!("list {dir:?}: {e}"));
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    l.entries.iter().map(|e| e.name().to_owned()).collect()
}

#[tokio::test]
async fn files_and_folders_round_trip() {
    let Some(w) = Testbed::webdav() else { return };
    let b = open(&w, "root", &[]);
    b.mkdir(&rel("")).await.unwrap();
    let data = payload(100_000);
    let e = put(&*b, "a/b c/d#?%.bin", &data).await;
    assert_eq!((e.size, e.is_dir()), (100_000, false));
    assert_eq!(read(&*b, "a/b c/d#?%.bin", 0, None).await, data);
    assert_eq!(
        read(&*b, "a/b c/d#?%.bin", 99_990, None).await,
        &data[99_990..]
    );
    assert_eq!(
        read(&*b, "a/b c/d#?%.bin", 10, Some(5)).await,
        &data[10..15]
    );
    assert_eq!(names(&*b, "").await, BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        names(&*b, "a/b c").await,
        BTreeSet::from(["d#?%.bin".to_owned()])
    );
    let dir = b.stat(&rel("a/b c")).await.unwrap().expect("a folder");
    assert!(dir.is_dir());
    assert!(b.stat(&rel("a/nothing")).await.unwrap().is_none());
    put(&*b, "a/b c/d#?%.bin", b"short").await;
    assert_eq!(read(&*b, "a/b c/d#?%.bin", 0, None).await, b"short");
    // Nothing but the files themselves on the server: no temporary names left.
    let on_disk: Vec<_> = std::fs::read_dir(w.local_path("root/a/b c").unwrap())
        .unwrap()
        .collect();
    assert_eq!(on_disk.len(), 1);
    b.delete_file(&rel("a/b c/d#?%.bin")).await.unwrap();
    assert_eq!(
        b.delete_file(&rel("a/b c/d#?%.bin"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    b.rmdir(&rel("a/b c")).await.unwrap();
    assert_eq!(
        b.list_dir(&rel("a/b c")).await.unwrap_err().kind(),
        ErrorKind::DirNotFound
    );
}

#[tokio::test]
async fn rmdir_keeps_a_folder_with_anything_in_it() {
    let Some(w) = Testbed::webdav() else { return };
    let b = open(&w, "", &[]);
    put(&*b, "full/x", b"x").await;
    assert!(b.rmdir(&rel("full")).await.is_err());
    assert!(b.stat(&rel("full/x")).await.unwrap().is_some());
    assert_eq!(
        b.rmdir(&rel("never")).await.unwrap_err().kind(),
        ErrorKind::DirNotFound
    );
}

#[tokio::test]
async fn a_short_or_long_stream_leaves_nothing() {
    let Some(w) = Testbed::webdav() else { return };
    let b = open(&w, "", &[]);
    let short = b
        .put(&rel("s"), stream(&payload(500)), &opts(1000))
        .await
        .unwrap_err();
    assert_eq!(short.kind(), ErrorKind::Corrupted, "{short}");
    let long = b
        .put(&rel("l"), stream(&payload(1500)), &opts(1000))
        .await
        .unwrap_err();
    assert_eq!(long.kind(), ErrorKind::Corrupted, "{long}");
    assert!(names(&*b, "").await.is_empty());
    let left: Vec<_> = std::fs::read_dir(w.local_path("").unwrap())
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn plain_servers_keep_no_times_so_none_are_promised() {
    let Some(w) = Testbed::webdav() else { return };
    let b = open(&w, "", &[]);
    let f = b.features();
    assert!(
        f.semantics.modtime_precision.is_none()
            && !f.caps.set_modtime
            && f.semantics.hashes.is_empty()
    );
    assert!(f.caps.atomic_put && f.semantics.empty_dirs && f.caps.server_side_copy());
    put(&*b, "t", b"t").await;
    assert_eq!(
        b.set_modtime(&rel("t"), when()).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn copies_and_moves_stay_on_the_server() {
    let Some(w) = Testbed::webdav() else { return };
    let a = open(&w, "one", &[]);
    let b = open(&w, "two", &[]);
    let data = payload(5000);
    put(&*a, "src.bin", &data).await;
    let copied = b
        .copy_from(&*a, &rel("src.bin"), &rel("deep/copy.bin"), &opts(5000))
        .await
        .unwrap();
    assert_eq!(copied.map(|e| e.size), Some(5000));
    assert_eq!(read(&*b, "deep/copy.bin", 0, None).await, data);
    let moved = b
        .move_from(&*a, &rel("src.bin"), &rel("moved.bin"))
        .await
        .unwrap();
    assert_eq!(moved.map(|e| e.size), Some(5000));
    assert!(a.stat(&rel("src.bin")).await.unwrap().is_none());
    assert_eq!(read(&*b, "moved.bin", 0, None).await, data);
    // Another login is another peer: no server-side copy between them.
    let anon = common::open_pairs(&[("url", w.url.as_str())], &w.path("two")).unwrap();
    assert!(anon
        .copy_from(&*b, &rel("moved.bin"), &rel("x"), &opts(5000))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn names_needing_encoding_are_stored_as_rclone_stores_them() {
    let Some(w) = Testbed::webdav() else { return };
    let b = open(&w, "", &[]);
    let names_in = [
        "back\\slash",
        "trailing.",
        "tab\u{2409}name",
        "\u{FF0F}fullwidth",
        " lead",
        "\u{FF0E}\u{FF0E}",
        "star*?:<>|\"'.txt",
    ];
    for n in names_in {
        put(&*b, n, n.as_bytes()).await;
    }
    assert_eq!(
        names(&*b, "").await,
        names_in.iter().map(|n| n.to_string()).collect()
    );
    // Identity (rclone's default here): the stored names are ferry's names themselves.
    let on_disk: BTreeSet<String> = std::fs::read_dir(w.local_path("").unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(on_disk, names_in.iter().map(|n| n.to_string()).collect());
    // With an encoding set, it applies: `:` and the tab as rclone would store them.
    let enc = open(&w, "enc", &[("encoding", "Slash,Colon,Ctl,Dot")]);
    put(&*enc, "a:b\u{2409}", b"x").await;
    let stored: Vec<String> = std::fs::read_dir(w.local_path("enc").unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(stored, ["a\u{FF1A}b\u{2409}"]);
    assert_eq!(
        names(&*enc, "").await,
        BTreeSet::from(["a:b\u{2409}".to_owned()])
    );
}

#[cfg(unix)]
#[tokio::test]
async fn names_the_server_lists_are_checked() {
    use std::os::unix::ffi::OsStrExt;
    let Some(w) = Testbed::webdav() else { return };
    let b = open(&w, "", &[]);
    put(&*b, "good", b"g").await;
    let dir = w.local_path("").unwrap();
    // Planted behind the server's back: a name that is not UTF-8 (no name of ferry's is
    // stored so under identity).
    std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"bad\xff")), b"b").unwrap();
    let l = b.list_dir(&rel("")).await.unwrap();
    let listed: Vec<&str> = l.entries.iter().map(|e| e.name()).collect();
    assert_eq!(listed, ["good"]);
    assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
    assert!(
        l.errors.iter().all(|e| e.kind() == ErrorKind::InvalidPath),
        "{:?}",
        l.errors
    );
}

#[tokio::test]
async fn a_wrong_password_is_one_line_naming_the_remote() {
    let Some(w) = Testbed::webdav() else { return };
    let bad = ferry_core::obscure::obscure("wrong").unwrap();
    let b = common::open_pairs(
        &[
            ("url", w.url.as_str()),
            ("user", w.user.as_str()),
            ("pass", bad.as_str()),
        ],
        &w.dir,
    )
    .unwrap();
    let e = b.list_dir(&rel("")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    let msg = e.to_string();
    assert!(
        msg.starts_with(":webdav: refused the login (HTTP 401"),
        "{msg}"
    );
    assert!(msg.contains("check the remote's user and pass"), "{msg}");
    assert!(
        !msg.contains('\n') && !msg.contains("wrong") && !msg.contains(&bad),
        "{msg}"
    );
    assert!(!e.is_temporary());
}

#[tokio::test]
async fn an_unreachable_server_is_a_temporary_error_saying_where() {
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/dav/");
    let b = common::open_pairs(&[("url", &url)], "x").unwrap();
    let e = b.stat(&rel("f")).await.unwrap_err();
    assert!(e.is_temporary(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("connection refused to 127.0.0.1:{port}")),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

#[tokio::test]
async fn unsupported_vendors_and_bad_options_fail_at_open() {
    for (pairs, want) in [
        (
            vec![("url", "http://h/"), ("vendor", "sharepoint")],
            "not supported by ferry",
        ),
        (vec![("url", "ftp://h/")], "http:// or https://"),
        (
            vec![("url", "http://h/"), ("vendor", "nope")],
            "expected one of",
        ),
        (
            vec![("url", "http://h/"), ("auth_redirect", "maybe")],
            "true or false",
        ),
    ] {
        let e = common::open_pairs(&pairs, "").err().expect("refused");
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[tokio::test]
async fn bearer_tokens_are_sent_and_a_refused_one_says_so() {
    let Some(w) = Testbed::webdav() else { return };
    // The testbed's server knows only user and password: a token is refused.
    let b = common::open_pairs(
        &[("url", w.url.as_str()), ("bearer_token", "tok-123")],
        &w.dir,
    )
    .unwrap();
    let e = b.list_dir(&rel("")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("refused the bearer token"), "{e}");
    assert!(!e.to_string().contains("tok-123"), "{e}");
    // A token command runs when the remote is opened; one that fails stops it there.
    let ok = common::open_pairs(
        &[
            ("url", w.url.as_str()),
            ("bearer_token_command", "echo tok"),
        ],
        "",
    );
    assert!(ok.is_ok());
    let e = common::open_pairs(
        &[("url", w.url.as_str()), ("bearer_token_command", "false")],
        "",
    )
    .err()
    .expect("refused");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(
        e.to_string()
            .starts_with(":webdav: bearer_token_command \"false\" failed"),
        "{e}"
    );
}

#[tokio::test]
async fn redirects_are_followed_for_reads_and_refused_for_writes() {
    let Some(w) = Testbed::webdav() else { return };
    let direct = open(&w, "", &[]);
    put(&*direct, "d/f.txt", b"moved").await;
    // The testbed's server redirects /moved/... to /...
    let pass = ferry_core::obscure::obscure(&w.password).unwrap();
    let moved_url = format!("{}moved/", w.url);
    let pairs = [
        ("url", moved_url.as_str()),
        ("user", w.user.as_str()),
        ("pass", pass.as_str()),
    ];
    let moved = common::open_pairs(&pairs, &w.dir).unwrap();
    assert_eq!(
        names(&*moved, "d").await,
        BTreeSet::from(["f.txt".to_owned()])
    );
    assert_eq!(read(&*moved, "d/f.txt", 0, None).await, b"moved");
    let e = moved
        .put(&rel("d/g.txt"), stream(b"g"), &opts(1))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("redirected to http://127.0.0.1:"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("set url to the server's real address"),
        "{e}"
    );
}

#[tokio::test]
async fn a_url_naming_a_missing_folder_says_so() {
    let Some(w) = Testbed::webdav() else { return };
    let pass = ferry_core::obscure::obscure(&w.password).unwrap();
    let url = format!("{}{}/not-there/", w.url, w.dir);
    let pairs = [
        ("url", url.as_str()),
        ("user", w.user.as_str()),
        ("pass", pass.as_str()),
    ];
    let b = common::open_pairs(&pairs, "").unwrap();
    for e in [
        b.put(&rel("f"), stream(b"f"), &opts(1)).await.unwrap_err(),
        b.mkdir(&rel("d/e")).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::DirNotFound, "{e}");
        assert!(
            e.to_string()
                .contains("the folder the url names is not on the server"),
            "{e}"
        );
        assert!(!e.is_temporary());
    }
}
