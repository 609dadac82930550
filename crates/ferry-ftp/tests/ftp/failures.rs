//! Bad input: a server that isn't there, a wrong password, a certificate not trusted,
//! names that need encoding (or can't be given back), a connection dropped mid-upload.

use std::sync::{Arc, Mutex};

use ferry_core::{Backend, ErrorKind};
use ferry_testbed::Testbed;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_one_temporary_line() {
    let b = open(&[("host", "127.0.0.1".into()), ("port", "1".into())], "").unwrap();
    let e = b.list_dir(&p("")).await.unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert_eq!(
        e.to_string(),
        ":ftp: connection refused to 127.0.0.1:1 — is the endpoint right, and the server running?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_auth_and_names_no_secret() {
    let Some(ftp) = Testbed::ftp() else { return };
    let bad = ferry_core::obscure::obscure("not-the-password").unwrap();
    for o in [ftp.options(), ftp.options_implicit_tls()] {
        let b = open(&with(&o, "pass", &bad), "").unwrap();
        let e = b.list_dir(&p("")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert!(!e.is_temporary());
        let msg = e.to_string();
        assert!(msg.starts_with(":ftp: login to 127.0.0.1:"), "{msg}");
        assert!(msg.contains("check user and pass"), "{msg}");
        assert!(
            !msg.contains("not-the-password") && !msg.contains(&bad),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }
}

/// The test CA is not trusted here: its certificate is refused unless
/// `no_check_certificate`, on both kinds of FTPS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_refused() {
    let Some(ftp) = Testbed::ftp() else { return };
    for o in [ftp.options_explicit_tls(), ftp.options_implicit_tls()] {
        let b = open(&with(&o, "no_check_certificate", "false"), "").unwrap();
        let e = b.list_dir(&p("")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        let msg = e.to_string();
        assert!(msg.contains("TLS with 127.0.0.1:"), "{msg}");
        assert!(msg.contains("no_check_certificate"), "{msg}");
    }
}

/// rclone's ftp encoding (`Slash,Del,Ctl,RightSpace,Dot`, plus `CrLf` in commands): a
/// trailing space, a line break or a tab is stored as its look-alike and listed back as
/// the name it was; a stored name the encoding would never write is reported, not listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_needing_encoding() {
    let Some(ftp) = Testbed::ftp() else { return };
    let b = open(&ftp.options(), &ftp.path("")).unwrap();
    // ferry's names for "trail ", "line\nbreak" and "tab\there".
    for name in ["trail ", "line␊break", "tab␉here", "ünï cödé"] {
        put(&*b, name, name.as_bytes(), t(1_000_000_000)).await;
        assert_eq!(read(&*b, name, 0, None).await, name.as_bytes());
    }
    assert_eq!(
        on_disk(&ftp.local("")),
        ["line␊break", "tab␉here", "trail␠", "ünï cödé"]
    );
    // A real trailing space, stored by something else: it would be read and written as
    // "odd␠", so it is an error of the listing.
    std::fs::write(ftp.local("odd "), b"?").unwrap();
    let (listed, errors) = names(&*b, "").await;
    assert_eq!(listed, ["line␊break", "tab␉here", "trail ", "ünï cödé"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("\"odd \""), "{errors:?}");
    // Not something rclone can remove either (it would ask for "odd␠"): the handle's
    // clean-up needs it gone.
    std::fs::remove_file(ftp.local("odd ")).unwrap();
}

/// A TCP relay to the FTP server whose connections can all be cut at once.
struct Relay {
    port: u16,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let l2 = links.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
                l2.lock().unwrap().push(link);
            }
        });
        Relay {
            port,
            links,
            accept,
        }
    }

    /// Drops every control connection made so far (their sessions end with them).
    fn cut(&self) {
        for l in self.links.lock().unwrap().drain(..) {
            l.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// The control connection drops while an upload is under way: the upload fails as
/// temporary, nothing is left under the final name nor under the temporary one, and the
/// retry (on a new connection) stores the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_leaves_no_partial_file_and_retry_succeeds() {
    let Some(ftp) = Testbed::ftp() else { return };
    let relay = Relay::start(ftp.port).await;
    let o = with(&ftp.options(), "port", &relay.port.to_string());
    let b: Arc<dyn Backend> = open(&o, &ftp.path("")).unwrap();
    b.mkdir(&p("d")).await.unwrap();
    let data = vec![7u8; 1 << 20];
    let (mut tx, rx) = tokio::io::duplex(64 * 1024);
    let b2 = b.clone();
    let size = data.len() as u64;
    let upload = tokio::spawn(async move {
        b2.put(
            &p("d/file.bin"),
            Box::pin(rx),
            &put_opts(size, t(1_000_000_000)),
        )
        .await
    });
    tx.write_all(&data[..256 * 1024]).await.unwrap();
    relay.cut();
    // The rest goes into a data connection whose session is gone (or fails to).
    let _ = tx.write_all(&data[256 * 1024..]).await;
    drop(tx);
    let e = upload.await.unwrap().unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert!(b.stat(&p("d/file.bin")).await.unwrap().is_none());
    assert_eq!(
        on_disk(&ftp.local("d")),
        Vec::<String>::new(),
        "a partial file was left"
    );
    let e = put(&*b, "d/file.bin", &data, t(1_000_000_000)).await;
    assert_eq!(e.size, size);
    assert_eq!(on_disk(&ftp.local("d")), ["file.bin"]);
    assert_eq!(read(&*b, "d/file.bin", 0, None).await, data);
}
