//! Downloads of objects without an MD5 (GCS's composite objects) are checked against the
//! CRC32C the server sends with them: a server started here answers every download with
//! a CRC32C only, and bytes that don't have it are refused at the end of the stream.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ferry_core::{Backend, RelPath};
use ferry_gcs::{GcsBackend, GcsOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const STORED: &[u8] = b"the bytes GCS stored for a composite object";

/// Answers each request with `body` and `X-Goog-Hash: crc32c=` of STORED (no md5).
async fn serve(listener: TcpListener, body: &'static [u8]) {
    let crc = STANDARD.encode(crc32c::crc32c(STORED).to_be_bytes());
    loop {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nx-goog-hash: crc32c={crc}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(body).await;
    }
}

async fn read_from(body: &'static [u8]) -> std::io::Result<Vec<u8>> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, body));
    let opts = GcsOptions::from_pairs(&[("anonymous", "true"), ("endpoint", &endpoint)]).unwrap();
    let b = GcsBackend::new("bkt", opts).unwrap();
    let path = RelPath::new("composite.bin").unwrap();
    let mut r = b.open(&path, 0, None).await.unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).await.map(|_| out)
}

#[tokio::test]
async fn a_composite_object_is_checked_by_its_crc32c() {
    assert_eq!(read_from(STORED).await.unwrap(), STORED);
    let mut damaged = STORED.to_vec();
    damaged[5] ^= 0x20;
    let e = read_from(Box::leak(damaged.into_boxed_slice()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("CRC32C"), "{e}");
}
