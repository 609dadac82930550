//! Encrypting and decrypting streams: one 64 KiB block in memory at a time, so a
//! transfer's memory is bounded whatever the file's size.

use std::io;

use bytes::Bytes;
use ferry_core::ByteStream;
use futures::stream::{self, Stream};
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;

use crate::data::{parse_header, DataCipher, Nonce, BLOCK_DATA, BLOCK_LEN, HEADER_LEN, TAG_LEN};

/// Reads until `buf` is full or the stream ends; how many bytes arrived.
async fn fill(src: &mut ByteStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = src.read(&mut buf[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

fn reader(s: impl Stream<Item = io::Result<Bytes>> + Send + 'static) -> ByteStream {
    Box::pin(StreamReader::new(Box::pin(s)))
}

/// `src` encrypted: the header with `nonce`, then the sealed blocks.
pub fn encrypt(src: ByteStream, cipher: DataCipher, nonce: Nonce) -> ByteStream {
    struct State {
        src: ByteStream,
        cipher: DataCipher,
        nonce: Nonce,
        started: bool,
        done: bool,
        buf: Vec<u8>,
    }
    let state = State {
        src,
        cipher,
        nonce,
        started: false,
        done: false,
        buf: vec![0u8; BLOCK_DATA as usize],
    };
    reader(stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if !st.started {
            st.started = true;
            let header = Bytes::copy_from_slice(&st.nonce.header());
            return Some((Ok(header), st));
        }
        let n = match fill(&mut st.src, &mut st.buf).await {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) => {
                st.done = true;
                return Some((Err(e), st));
            }
        };
        let mut out = Vec::with_capacity(n + TAG_LEN as usize);
        st.cipher.seal(&st.nonce, &st.buf[..n], &mut out);
        st.nonce = st.nonce.add(1);
        Some((Ok(Bytes::from(out)), st))
    }))
}

/// The hash of every byte read through a [`hashed`] stream, once it has ended.
pub type SharedHasher = std::sync::Arc<std::sync::Mutex<Option<ferry_core::MultiHasher>>>;

/// `src`, hashing what passes (the stored bytes of an upload, to check against the hash
/// the wrapped remote reports for what it stored).
pub fn hashed(src: ByteStream, hasher: SharedHasher) -> ByteStream {
    struct Tee {
        src: ByteStream,
        hasher: SharedHasher,
    }
    impl tokio::io::AsyncRead for Tee {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            let before = buf.filled().len();
            let polled = self.src.as_mut().poll_read(cx, buf);
            if let std::task::Poll::Ready(Ok(())) = &polled {
                let mut h = self.hasher.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(h) = h.as_mut() {
                    h.update(&buf.filled()[before..]);
                }
            }
            polled
        }
    }
    Box::pin(Tee { src, hasher })
}

/// Where the nonce of a decrypted stream comes from.
pub enum Start {
    /// The stream starts with the file's header.
    Header,
    /// The stream starts at a block boundary; this is that block's nonce.
    At(Nonce),
}

/// What a decrypting stream needs besides its source.
pub struct Decrypt {
    pub cipher: DataCipher,
    pub start: Start,
    /// Data bytes of the first block to drop (a read from inside a block).
    pub skip: u64,
    /// Data bytes to give at most.
    pub limit: Option<u64>,
    /// Blocks that don't authenticate become zeros (rclone's `pass_bad_blocks`).
    pub pass_bad_blocks: bool,
    /// Names the file in errors (the remote and the path).
    pub name: String,
}

fn bad(name: &str, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {what}"))
}

/// `src` (stored bytes) decrypted.
pub fn decrypt(src: ByteStream, d: Decrypt) -> ByteStream {
    struct State {
        src: ByteStream,
        d: Decrypt,
        nonce: Option<Nonce>,
        done: bool,
        buf: Vec<u8>,
    }
    let nonce = match d.start {
        Start::Header => None,
        Start::At(n) => Some(n),
    };
    let state = State {
        src,
        d,
        nonce,
        done: false,
        buf: vec![0u8; BLOCK_LEN as usize],
    };
    reader(stream::unfold(state, |mut st| async move {
        if st.done || st.d.limit == Some(0) {
            return None;
        }
        let item = next_block(&mut st.src, &mut st.d, &mut st.nonce, &mut st.buf).await;
        match item {
            Ok(None) => None,
            Ok(Some(bytes)) => Some((Ok(bytes), st)),
            Err(e) => {
                st.done = true;
                Some((Err(e), st))
            }
        }
    }))
}

/// The next block's data (after the skip and within the limit); `None` at the end.
async fn next_block(
    src: &mut ByteStream,
    d: &mut Decrypt,
    nonce: &mut Option<Nonce>,
    buf: &mut [u8],
) -> io::Result<Option<Bytes>> {
    let current = match nonce {
        Some(n) => *n,
        None => {
            let mut header = [0u8; HEADER_LEN as usize];
            let got = fill(src, &mut header).await?;
            let n = parse_header(&header[..got]).map_err(|e| bad(&d.name, e))?;
            *nonce = Some(n);
            n
        }
    };
    let got = fill(src, buf).await?;
    if got == 0 {
        return Ok(None);
    }
    if got <= TAG_LEN as usize {
        return Err(bad(&d.name, "file has truncated block header"));
    }
    let block = &mut buf[..got];
    if !d.cipher.open(&current, block) {
        if !d.pass_bad_blocks {
            return Err(bad(
                &d.name,
                "failed to authenticate decrypted block - bad password?",
            ));
        }
        tracing::error!("{}: ignoring a block that does not authenticate (pass_bad_blocks): its bytes are zeros", d.name);
        block.fill(0);
    }
    *nonce = Some(current.add(1));
    let data = &block[TAG_LEN as usize..];
    let skip = (d.skip as usize).min(data.len());
    d.skip -= skip as u64;
    let mut data = &data[skip..];
    if let Some(limit) = d.limit.as_mut() {
        let take = (*limit).min(data.len() as u64) as usize;
        data = &data[..take];
        *limit -= take as u64;
    }
    Ok(Some(Bytes::copy_from_slice(data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(data: Vec<u8>) -> ByteStream {
        Box::pin(std::io::Cursor::new(data))
    }

    async fn all(mut s: ByteStream) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok(out)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn dec(cipher: &DataCipher, start: Start, skip: u64, limit: Option<u64>) -> Decrypt {
        Decrypt {
            cipher: cipher.clone(),
            start,
            skip,
            limit,
            pass_bad_blocks: false,
            name: "secret:f".into(),
        }
    }

    #[tokio::test]
    async fn round_trips_and_reads_ranges() {
        let cipher = DataCipher::new(&[3; 32]);
        let nonce = Nonce([9; 24]);
        for len in [0usize, 1, 65536, 65537, 200_000] {
            let plain = sample(len);
            let stored = all(encrypt(stream_of(plain.clone()), cipher.clone(), nonce))
                .await
                .unwrap();
            assert_eq!(stored.len() as u64, crate::data::encrypted_size(len as u64));
            let back = all(decrypt(
                stream_of(stored.clone()),
                dec(&cipher, Start::Header, 0, None),
            ))
            .await
            .unwrap();
            assert_eq!(back, plain);
            for (off, n) in [(0u64, 10u64), (70_000, 100_000), (65_535, 2), (131_072, 5)] {
                if off + n > len as u64 {
                    continue;
                }
                let sp = crate::data::span(off, Some(n));
                let end = (sp.offset + sp.len.unwrap()).min(stored.len() as u64);
                let part = stored[sp.offset as usize..end as usize].to_vec();
                let start = Start::At(nonce.add(sp.first_block));
                let got = all(decrypt(
                    stream_of(part),
                    dec(&cipher, start, sp.skip, Some(n)),
                ))
                .await
                .unwrap();
                assert_eq!(
                    got,
                    plain[off as usize..(off + n) as usize],
                    "{len} {off} {n}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_corrupted_block_is_an_error_naming_the_file() {
        let cipher = DataCipher::new(&[3; 32]);
        let mut stored = all(encrypt(
            stream_of(sample(1000)),
            cipher.clone(),
            Nonce([1; 24]),
        ))
        .await
        .unwrap();
        stored[100] ^= 0x40;
        let err = all(decrypt(
            stream_of(stored.clone()),
            dec(&cipher, Start::Header, 0, None),
        ))
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("secret:f: failed to authenticate"),
            "{err}"
        );
        let err = all(decrypt(
            stream_of(stored[..40].to_vec()),
            dec(&cipher, Start::Header, 0, None),
        ))
        .await
        .unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = all(decrypt(
            stream_of(b"plain text, not ours".repeat(3)),
            dec(&cipher, Start::Header, 0, None),
        ))
        .await
        .unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
    }

    #[tokio::test]
    async fn pass_bad_blocks_reads_a_damaged_block_as_zeros() {
        let cipher = DataCipher::new(&[3; 32]);
        let plain = sample(2 * 65536 + 10);
        let mut stored = all(encrypt(stream_of(plain.clone()), cipher.clone(), Nonce([1; 24])))
            .await
            .unwrap();
        stored[32 + 65552 + 40] ^= 1;
        let mut d = dec(&cipher, Start::Header, 0, None);
        d.pass_bad_blocks = true;
        let got = all(decrypt(stream_of(stored), d)).await.unwrap();
        assert_eq!(got.len(), plain.len());
        assert_eq!(got[..65536], plain[..65536]);
        assert!(got[65536..131072].iter().all(|&b| b == 0));
        assert_eq!(got[131072..], plain[131072..]);
    }
}
