//! CRC32C, GCS's own checksum: every object has one (a composite object has no MD5, only
//! this). rclone declares only MD5 for GCS and has no CRC32C hash type, so ferry shows
//! none either; it uses CRC32C where it buys safety without a second pass over the data:
//! a download of an object without an MD5 is checked against the CRC32C the server sends
//! with it (`X-Goog-Hash`), and uploads carry theirs so GCS refuses damaged bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use http::HeaderMap;

/// GCS's form of a CRC32C: the four bytes, big-endian, in base64.
pub(crate) fn encode(crc: u32) -> String {
    STANDARD.encode(crc.to_be_bytes())
}

pub(crate) fn decode(v: &str) -> Option<u32> {
    let raw = STANDARD.decode(v.trim()).ok()?;
    Some(u32::from_be_bytes(raw.try_into().ok()?))
}

/// The hashes an `X-Goog-Hash` header (or several) names: `crc32c=...,md5=...`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct GoogHash {
    pub crc32c: Option<u32>,
    pub md5: Option<String>,
}

impl GoogHash {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut h = GoogHash::default();
        let values = headers.get_all("x-goog-hash").iter();
        for part in values
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
        {
            match part.trim().split_once('=') {
                Some(("crc32c", v)) => h.crc32c = decode(v),
                Some(("md5", v)) if !v.trim().is_empty() => h.md5 = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        h
    }

    /// The header value for an upload's last request.
    pub fn header(crc: u32, md5: &[u8]) -> String {
        format!("crc32c={},md5={}", encode(crc), STANDARD.encode(md5))
    }
}

/// `body`, failing at its end if its CRC32C is not `want` (nothing is lost by checking
/// late: the caller has not kept the copy until the stream ends cleanly).
pub(crate) fn verified<S>(body: S, want: u32) -> impl Stream<Item = std::io::Result<Bytes>>
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let state = (Box::pin(body), 0u32);
    futures::stream::try_unfold(state, move |(mut body, crc)| async move {
        match body.try_next().await? {
            Some(chunk) => {
                let crc = crc32c::crc32c_append(crc, &chunk);
                Ok(Some((chunk, (body, crc))))
            }
            None if crc == want => Ok(None),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "corrupted on download: the CRC32C of the bytes received is {}, GCS has {} (the object has no MD5); retry the transfer",
                    encode(crc),
                    encode(want)
                ),
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_as_gcs_writes_it() {
        // GCS's documented example: "hello world" is yZRlqg==.
        let crc = crc32c::crc32c(b"hello world");
        assert_eq!(encode(crc), "yZRlqg==");
        assert_eq!(decode("yZRlqg=="), Some(crc));
        let mut h = HeaderMap::new();
        h.append("x-goog-hash", "crc32c=yZRlqg==".parse().unwrap());
        h.append(
            "x-goog-hash",
            "md5=XrY7u+Ae7tCTyyK7j1rNww==".parse().unwrap(),
        );
        let g = GoogHash::from_headers(&h);
        assert_eq!(g.crc32c, Some(crc));
        assert_eq!(g.md5.as_deref(), Some("XrY7u+Ae7tCTyyK7j1rNww=="));
    }

    #[tokio::test]
    async fn a_wrong_crc_fails_at_the_end() {
        let chunks =
            || futures::stream::iter([&b"hello "[..], b"world"].map(|c| Ok(Bytes::from_static(c))));
        let good = crc32c::crc32c(b"hello world");
        let got: Vec<Bytes> = verified(chunks(), good).try_collect().await.unwrap();
        assert_eq!(got.concat(), b"hello world");
        let e = verified(chunks(), good ^ 1)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("CRC32C"), "{e}");
    }
}
