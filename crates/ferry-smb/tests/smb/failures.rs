//! Bad input: a server that isn't there, a wrong password, Kerberos asked for, a share
//! that doesn't exist, a connection dropped mid-upload.

use std::sync::{Arc, Mutex};

use ferry_core::{Backend, ErrorKind};
use ferry_testbed::Testbed;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_one_temporary_line() {
    let o = [
        ("host", "127.0.0.1".to_owned()),
        ("port", "1".to_owned()),
        ("user", "u".to_owned()),
    ];
    let b = open(&o, "share").unwrap();
    let e = b.list_dir(&p("")).await.unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert_eq!(
        e.to_string(),
        ":smb: connection refused to 127.0.0.1:1 — is the endpoint right, and the server running?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_auth_and_names_no_secret() {
    let Some(smb) = Testbed::smb() else { return };
    let bad = ferry_core::obscure::obscure("not-the-password").unwrap();
    for root in [smb.path(""), String::new()] {
        let b = open(&with(&smb.options(), "pass", &bad), &root).unwrap();
        let e = b.list_dir(&p("")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert!(!e.is_temporary());
        let msg = e.to_string();
        assert!(msg.starts_with(":smb: login to 127.0.0.1:"), "{msg}");
        assert!(msg.contains("check user, pass and domain"), "{msg}");
        assert!(
            !msg.contains("not-the-password") && !msg.contains(&bad),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }
}

#[test]
fn kerberos_is_refused_when_asked_for() {
    let o = [
        ("host", "h".to_owned()),
        ("use_kerberos", "true".to_owned()),
    ];
    let e = open(&o, "").err().expect("refused");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("use_kerberos"), "{e}");
}

/// A TCP relay to the SMB server whose connections can all be cut at once.
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

    /// Drops every connection made so far.
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

/// The connection drops while an upload is under way: the upload fails as temporary
/// (promptly, well within the `--timeout` this test sets: the reset ends the connection),
/// nothing is left under the final name, and the
/// retry (on a new connection) stores the file; the temporary file the server may keep is
/// not listed and doesn't stop the retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_leaves_no_partial_file_and_retry_succeeds() {
    let Some(smb) = Testbed::smb() else { return };
    let relay = Relay::start(smb.port).await;
    let o = with(&smb.options(), "port", &relay.port.to_string());
    let idle = std::time::Duration::from_secs(4);
    let b: Arc<dyn Backend> = open_with_timeout(&o, &smb.path(""), idle).unwrap();
    b.mkdir(&p("d")).await.unwrap();
    let data = vec![7u8; 4 << 20];
    let started = std::time::Instant::now();
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
    tx.write_all(&data[..1 << 20]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    relay.cut();
    let _ = tx.write_all(&data[1 << 20..]).await;
    drop(tx);
    let e = upload.await.unwrap().unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert!(started.elapsed() < 4 * idle, "{:?}", started.elapsed());
    assert!(b.stat(&p("d/file.bin")).await.unwrap().is_none());
    assert!(
        !on_disk(&smb.local("d")).contains(&"file.bin".to_string()),
        "a partial file was left under the final name"
    );
    assert_eq!(names(&*b, "d").await, (vec![], vec![]));
    let e = put(&*b, "d/file.bin", &data, t(1_000_000_000)).await;
    assert_eq!(e.size, size);
    assert_eq!(read(&*b, "d/file.bin", 0, None).await, data);
    assert!(on_disk(&smb.local("d")).contains(&"file.bin".to_string()));
}
