//! Encrypting and decrypting streams: one 64 KiB block in memory at a time, so a
//! transfer's memory is bounded whatever the file's size.

use std::io;

use bytes::Bytes;
use ferry_core::ByteStream;
use futures::stream::{self, Stream};
use tokio_util::io::StreamReader;

use crate::data::{parse_header, DataCipher, Nonce, BLOCK_DATA, BLOCK_LEN, HEADER_LEN, TAG_LEN};
use crate::decipher::{verify_batch, Deciphering};

/// Sealed blocks prepared ahead of the reader: the crypto of the next blocks overlaps the
/// writing of this one (a 1 GiB decrypt to a local disk took 1.5x as long without).
const AHEAD: usize = 4;

/// Verified batches of a streamed decrypt read ahead of the reader (up to 1 MiB each),
/// besides the [`OPENING`] being verified: the source is read while the reader writes.
const AHEAD_BATCHES: usize = 2;

/// `s` run by a task of its own, up to `ahead` items before they are taken; dropping
/// the stream stops the task at its next item.
fn spawned<T: Send + 'static>(
    s: impl Stream<Item = T> + Send + 'static,
    ahead: usize,
) -> impl Stream<Item = T> + Send + 'static {
    use futures::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel::<T>(ahead);
    tokio::spawn(async move {
        let mut s = Box::pin(s);
        while let Some(item) = s.next().await {
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// Blocks sealed or opened at once, on the blocking pool (the cipher is the slow part:
/// one core seals about 1.3 GB/s with AVX2), and given back in order.
const PARALLEL: usize = 4;

/// `f` on the blocking pool.
pub(crate) async fn on_pool<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("crypt worker failed: {e}")))
}

/// Plain data up to this size is sealed whole as it is read, in the reader's task: no trip
/// to the blocking pool and no task of its own for most files of most trees.
const SMALL: usize = 4 * BLOCK_DATA as usize;

/// `src` encrypted: the header with `nonce`, then the sealed blocks.
pub fn encrypt(src: ByteStream, cipher: DataCipher, nonce: Nonce) -> ByteStream {
    use futures::StreamExt;
    let out = stream::once(async move {
        let mut src = src;
        let head = match read_up_to(&mut src, SMALL + 1).await {
            Ok(head) => head,
            Err(e) => return stream::iter([Err(e)]).boxed(),
        };
        if head.len() <= SMALL {
            return stream::iter([Ok(sealed_now(&cipher, nonce, &head))]).boxed();
        }
        let src: ByteStream = Box::pin(tokio::io::AsyncReadExt::chain(
            std::io::Cursor::new(head),
            src,
        ));
        spawned(sealed(src, cipher, nonce), AHEAD).boxed()
    })
    .flatten();
    Box::pin(StreamReader::new(Box::pin(out)))
}

/// The header and every block of `plain`, sealed now.
fn sealed_now(cipher: &DataCipher, nonce: Nonce, plain: &[u8]) -> Bytes {
    let blocks = plain.len().div_ceil(BLOCK_DATA as usize);
    let mut out = Vec::with_capacity(HEADER_LEN as usize + plain.len() + blocks * TAG_LEN as usize);
    out.extend_from_slice(&nonce.header());
    for (i, block) in plain.chunks(BLOCK_DATA as usize).enumerate() {
        cipher.seal(&nonce.add(i as u64), block, &mut out);
    }
    Bytes::from(out)
}

/// The header with `nonce`, then the blocks of `src` sealed on the blocking pool.
fn sealed(
    src: ByteStream,
    cipher: DataCipher,
    nonce: Nonce,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    use futures::StreamExt;
    // Plain blocks with their nonces, read in order after room for the tag, into spare
    // capacity, and sealed where they are: zeroing each buffer first, then copying the
    // data after the tag, were a tenth of a 1 GiB encrypt's CPU time (perf). The read
    // ends at the first error.
    let blocks = stream::unfold(Some((src, nonce)), |state| async move {
        let (mut src, nonce) = state?;
        let mut block = Vec::with_capacity((TAG_LEN + BLOCK_DATA) as usize);
        block.extend_from_slice(&[0u8; TAG_LEN as usize]);
        match read_more(&mut src, &mut block, BLOCK_DATA as usize).await {
            Ok(()) if block.len() == TAG_LEN as usize => None,
            Ok(()) => Some((Ok((nonce, block)), Some((src, nonce.add(1))))),
            Err(e) => Some((Err(e), None)),
        }
    });
    let sealed = blocks
        .map(move |item: io::Result<(Nonce, Vec<u8>)>| {
            let cipher = cipher.clone();
            async move {
                let (nonce, mut block) = item?;
                on_pool(move || {
                    cipher.seal_block(&nonce, &mut block);
                    Bytes::from(block)
                })
                .await
            }
        })
        .buffered(PARALLEL);
    let header = stream::once(futures::future::ready(Ok(Bytes::copy_from_slice(
        &nonce.header(),
    ))));
    header.chain(sealed)
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

pub(crate) fn bad(name: &str, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {what}"))
}

/// Blocks read and opened together, at most: one trip to the blocking pool per batch
/// instead of per 64 KiB block (16,384 trips and wake-ups per GiB), and one read of the
/// source per batch.
pub(crate) const BATCH: usize = 16;

/// Whole stored blocks from one read (the last may be short), the first one's nonce.
pub(crate) struct Batch {
    pub first: Nonce,
    pub buf: Vec<u8>,
}

impl Batch {
    fn blocks(&self) -> usize {
        self.buf.len().div_ceil(BLOCK_LEN as usize)
    }
}

/// Batches verified at once: two keep both cores of a small machine busy with one
/// transfer, and bound its memory to a few MiB.
pub(crate) const OPENING: usize = 2;

type Batches = std::pin::Pin<Box<dyn Stream<Item = io::Result<Batch>> + Send>>;

/// `src` (stored bytes) decrypted.
pub fn decrypt(src: ByteStream, d: Decrypt) -> ByteStream {
    use futures::StreamExt;
    let nonce = match d.start {
        Start::Header => None,
        Start::At(n) => Some(n),
    };
    // Batches read in order, growing from one block to [`BATCH`] (a small file costs no
    // more than it did, a large one few trips); the header first, when the stream starts
    // with it. The read ends at the first error.
    let state = Some((src, nonce, d.name.clone(), 1usize));
    let batches: Batches = Box::pin(stream::unfold(state, |state| async move {
        let (mut src, nonce, name, blocks) = state?;
        match read_batch(&mut src, nonce, blocks, &name).await {
            Ok(None) => None,
            Ok(Some(b)) => {
                let next = b.first.add(b.blocks() as u64);
                let grown = (blocks * 2).min(BATCH);
                Some((Ok(b), Some((src, Some(next), name, grown))))
            }
            Err(e) => Some((Err(e), None)),
        }
    }));
    let cipher = d.cipher.clone();
    let verified = batches
        .map(move |item: io::Result<Batch>| {
            let cipher = cipher.clone();
            async move {
                let batch = item?;
                on_pool(move || verify_batch(&cipher, batch)).await
            }
        })
        .buffered(OPENING);
    Box::pin(Deciphering::new(
        Box::pin(spawned(verified, AHEAD_BATCHES)),
        d,
    ))
}

/// The next `blocks` stored blocks and the first one's nonce (`nonce` is `None` before
/// the header is read); `None` at the end.
async fn read_batch(
    src: &mut ByteStream,
    nonce: Option<Nonce>,
    blocks: usize,
    name: &str,
) -> io::Result<Option<Batch>> {
    let first = match nonce {
        Some(n) => n,
        None => {
            let mut header = [0u8; HEADER_LEN as usize];
            let got = ferry_core::fill(src, &mut header).await?;
            parse_header(&header[..got]).map_err(|e| bad(name, e))?
        }
    };
    let buf = read_up_to(src, blocks * BLOCK_LEN as usize).await?;
    if buf.is_empty() {
        return Ok(None);
    }
    check_last_block(&buf, name)?;
    Ok(Some(Batch { first, buf }))
}

/// Up to `want` bytes of `src` (fewer only at its end), read into spare capacity:
/// zeroing a megabyte per batch first cost as much as a copy.
async fn read_up_to(src: &mut ByteStream, want: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want);
    read_more(src, &mut buf, want).await?;
    Ok(buf)
}

/// Appends up to `want` bytes of `src` to `buf` (fewer only at its end), read into
/// spare capacity.
async fn read_more(src: &mut ByteStream, buf: &mut Vec<u8>, want: usize) -> io::Result<()> {
    use bytes::BufMut;
    use tokio::io::AsyncReadExt;
    buf.reserve(want);
    let stop = buf.len() + want;
    while buf.len() < stop {
        let left = stop - buf.len();
        let mut room = (&mut *buf).limit(left);
        if src.read_buf(&mut room).await? == 0 {
            break;
        }
    }
    Ok(())
}

/// Fails a read of whole blocks whose last one is too short to hold any data.
pub(crate) fn check_last_block(buf: &[u8], name: &str) -> io::Result<()> {
    let last = buf.len() % BLOCK_LEN as usize;
    if last != 0 && last <= TAG_LEN as usize {
        return Err(bad(name, "file has truncated block header"));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

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

    /// A decrypt of the test file `secret:f`.
    pub(crate) fn dec(cipher: &DataCipher, start: Start, skip: u64, limit: Option<u64>) -> Decrypt {
        Decrypt {
            cipher: cipher.clone(),
            start,
            skip,
            limit,
            pass_bad_blocks: false,
            name: "secret:f".into(),
        }
    }

    /// Bytes `off..off + n` of the plaintext, decrypted from the part of `stored` (a whole
    /// encrypted file) that a ranged read of them fetches.
    async fn read_range(
        stored: &[u8],
        cipher: &DataCipher,
        nonce: Nonce,
        off: u64,
        n: u64,
    ) -> Vec<u8> {
        let sp = crate::data::span(off, Some(n));
        let end = (sp.offset + sp.len.unwrap()).min(stored.len() as u64);
        let part = stored[sp.offset as usize..end as usize].to_vec();
        let start = Start::At(nonce.add(sp.first_block));
        all(decrypt(
            stream_of(part),
            dec(cipher, start, sp.skip, Some(n)),
        ))
        .await
        .unwrap()
    }

    /// Files sealed whole as they are read come out as the streamed ones do.
    #[tokio::test]
    async fn small_files_seal_as_streamed_ones() {
        use futures::StreamExt;
        let cipher = DataCipher::new(&[5; 32]);
        let nonce = Nonce([7; 24]);
        for len in [0usize, 1, 65535, 65536, 65537, SMALL - 1, SMALL] {
            let plain = sample(len);
            let now = all(encrypt(stream_of(plain.clone()), cipher.clone(), nonce))
                .await
                .unwrap();
            let parts: Vec<io::Result<Bytes>> = sealed(stream_of(plain), cipher.clone(), nonce)
                .collect()
                .await;
            let streamed: Vec<u8> = parts.into_iter().flat_map(|p| p.unwrap()).collect();
            assert_eq!(now, streamed, "length {len}");
        }
    }

    #[tokio::test]
    async fn round_trips_and_reads_ranges() {
        let cipher = DataCipher::new(&[3; 32]);
        let nonce = Nonce([9; 24]);
        for len in [
            0usize,
            1,
            65536,
            65537,
            200_000,
            SMALL,
            SMALL + 1,
            1_000_000,
        ] {
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
                let got = read_range(&stored, &cipher, nonce, off, n).await;
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

    /// Past the first batches (1, 2, 4, 8, then 16 blocks): whole files, ranges that
    /// start and end inside later batches, and a last block of one byte.
    #[tokio::test]
    async fn round_trips_across_batches() {
        let cipher = DataCipher::new(&[4; 32]);
        let nonce = Nonce([0xFE; 24]);
        let len = 40 * 65536 + 1;
        let plain = sample(len);
        let stored = all(encrypt(stream_of(plain.clone()), cipher.clone(), nonce))
            .await
            .unwrap();
        let back = all(decrypt(
            stream_of(stored.clone()),
            dec(&cipher, Start::Header, 0, None),
        ))
        .await
        .unwrap();
        assert!(back == plain, "whole file");
        for (off, n) in [
            (31 * 65536 - 3, 6u64),
            (5 * 65536 + 9, 30 * 65536),
            (40 * 65536, 1),
        ] {
            let got = read_range(&stored, &cipher, nonce, off, n).await;
            assert!(got == plain[off as usize..(off + n) as usize], "{off} {n}");
        }
    }

    /// A damaged block in a later batch fails the stream after the blocks before it; a
    /// file cut inside a later block's tag fails as truncated.
    #[tokio::test]
    async fn a_bad_block_deep_in_a_file_fails_it_there() {
        let cipher = DataCipher::new(&[5; 32]);
        let plain = sample(20 * 65536);
        let mut stored = all(encrypt(
            stream_of(plain.clone()),
            cipher.clone(),
            Nonce([2; 24]),
        ))
        .await
        .unwrap();
        let block = 65536 + 16;
        let mut s = decrypt(
            stream_of(stored[..32 + 17 * block + 10].to_vec()),
            dec(&cipher, Start::Header, 0, None),
        );
        let mut got = Vec::new();
        let err = s.read_to_end(&mut got).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("secret:f: file has truncated block header"),
            "{err}"
        );

        stored[32 + 18 * block + 100] ^= 1;
        let mut s = decrypt(stream_of(stored), dec(&cipher, Start::Header, 0, None));
        let mut got = Vec::new();
        let err = s.read_to_end(&mut got).await.unwrap_err();
        assert!(
            err.to_string().contains("secret:f: failed to authenticate"),
            "{err}"
        );
        assert!(
            got.len() <= 18 * 65536,
            "nothing of the bad block or after it"
        );
        assert!(got == plain[..got.len()], "what came before it is the data");
    }

    #[tokio::test]
    async fn pass_bad_blocks_reads_a_damaged_block_as_zeros() {
        let cipher = DataCipher::new(&[3; 32]);
        let plain = sample(2 * 65536 + 10);
        let mut stored = all(encrypt(
            stream_of(plain.clone()),
            cipher.clone(),
            Nonce([1; 24]),
        ))
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
