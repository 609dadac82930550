//! Decrypting a file of the local disk (the wrapped remote's `local_path`): each batch
//! of blocks read at its offset and verified by the same worker thread, then deciphered
//! into the reader's buffer ([`crate::decipher`]).
//!
//! Read through the local remote's stream, every byte was copied from its read-ahead
//! buffer into the batch, and each batch took two trips to the blocking pool (one to read
//! a chunk, one to open the blocks). Here the kernel reads straight into the batch and one
//! trip does both: on a 1 GiB decrypt the user-space copies were a fifth of the CPU time,
//! and this is half of them.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use ferry_core::ByteStream;
use futures::stream::{self, StreamExt};

use crate::data::{parse_header, DataCipher, Nonce, BLOCK_LEN, HEADER_LEN};
use crate::decipher::{verify_batch, Deciphering, Verified};
use crate::stream::{bad, check_last_block, on_pool, Batch, Decrypt, Start, BATCH, OPENING};

/// Stored files up to this size past the header are read whole with the open, and their
/// blocks verified as the reader is made: most files of most trees cost one trip to the
/// blocking pool and no task (2,000 small files took three trips and a task each, and the
/// thread hand-offs made ferry's system time higher than rclone's).
const SMALL: u64 = 4 * BLOCK_LEN;

/// A stored file opened for decrypting: its descriptor, size and header (`Err` when the
/// header is not rclone's), and for a small file all of its blocks.
pub struct Opened {
    file: File,
    size: u64,
    header: Result<Nonce, String>,
    blocks: Option<Vec<u8>>,
}

impl Opened {
    /// Opens `path` and reads its header (and a small file's blocks), in one trip to the
    /// blocking pool.
    pub async fn open(path: PathBuf) -> io::Result<Opened> {
        on_pool(move || {
            let file = File::open(&path)?;
            let size = file.metadata()?.len();
            let mut header = Vec::with_capacity(HEADER_LEN as usize);
            read_at_most(&file, &mut header, HEADER_LEN as usize, 0)?;
            let header = parse_header(&header).map_err(|e| e.to_string());
            let rest = size.saturating_sub(HEADER_LEN);
            let blocks = match header.is_ok() && rest <= SMALL {
                true => {
                    let mut blocks = Vec::with_capacity(rest as usize);
                    read_at_most(&file, &mut blocks, rest as usize, HEADER_LEN)?;
                    Some(blocks)
                }
                false => None,
            };
            Ok(Opened {
                file,
                size,
                header,
                blocks,
            })
        })
        .await?
    }

    /// The file's nonce, or why its header is not rclone's.
    pub fn nonce(&self) -> Result<Nonce, &str> {
        self.header.as_ref().copied().map_err(String::as_str)
    }

    /// The data from stored byte `from` (a block boundary past the header, the block
    /// `d.start` names) to `until` (or the end of the file), decrypted as `d` says.
    pub fn decrypt(self, from: u64, until: Option<u64>, d: Decrypt) -> ByteStream {
        let first = match (&d.start, &self.header) {
            (Start::At(n), _) => *n,
            (Start::Header, Ok(n)) => *n,
            (Start::Header, Err(e)) => {
                let e = bad(&d.name, e);
                return read_now(Err(e), d);
            }
        };
        let end = until.unwrap_or(u64::MAX).min(self.size);
        if let (Some(blocks), HEADER_LEN) = (self.blocks, from) {
            return verified_now(blocks, end.saturating_sub(from), first, d);
        }
        let (file, cipher, name) = (Arc::new(self.file), d.cipher.clone(), d.name.clone());
        let batches = stream::iter(Plan::new(from, end, first))
            .map(move |(at, want, first)| {
                let (file, cipher, name) = (file.clone(), cipher.clone(), name.clone());
                on_pool(move || read_and_verify(&file, at, want, first, &cipher, &name))
            })
            .buffered(OPENING)
            .map(|done| done.and_then(|batch| batch))
            // A short batch is the end of the file, which may have shrunk since it was
            // opened: nothing after it is read.
            .scan(true, |more, item| {
                let item = (*more).then(|| {
                    *more = matches!(item, Ok((true, _)));
                    item.map(|(_, verified)| verified)
                });
                futures::future::ready(item)
            });
        Box::pin(Deciphering::new(Box::pin(batches), d))
    }
}

/// The first `len` bytes of a small file's `blocks`, verified now.
fn verified_now(mut blocks: Vec<u8>, len: u64, first: Nonce, d: Decrypt) -> ByteStream {
    blocks.truncate(len as usize);
    let verified = check_last_block(&blocks, &d.name)
        .map(|()| verify_batch(&d.cipher, Batch { first, buf: blocks }));
    read_now(verified, d)
}

/// The data of blocks already verified (or an error already known), read without a
/// task of its own.
fn read_now(verified: io::Result<Verified>, d: Decrypt) -> ByteStream {
    Box::pin(Deciphering::new(Box::pin(stream::iter([verified])), d))
}

/// Reads `want` bytes at `at` and verifies them as blocks whose first has the nonce
/// `first`; whether all of them were there, and the verified blocks.
fn read_and_verify(
    file: &File,
    at: u64,
    want: usize,
    first: Nonce,
    cipher: &DataCipher,
    name: &str,
) -> io::Result<(bool, Verified)> {
    let mut buf = Vec::with_capacity(want);
    read_at_most(file, &mut buf, want, at)?;
    check_last_block(&buf, name)?;
    let full = buf.len() == want;
    Ok((full, verify_batch(cipher, Batch { first, buf })))
}

/// Where each batch is read: from `at`, growing from one block to [`BATCH`] as a
/// stream's batches do, so a small file costs no large buffer.
struct Plan {
    at: u64,
    end: u64,
    blocks: usize,
    nonce: Nonce,
}

impl Plan {
    fn new(at: u64, end: u64, nonce: Nonce) -> Plan {
        Plan {
            at,
            end,
            blocks: 1,
            nonce,
        }
    }
}

impl Iterator for Plan {
    /// The offset, the bytes to read, the first block's nonce.
    type Item = (u64, usize, Nonce);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let want = (self.blocks as u64 * BLOCK_LEN).min(self.end - self.at);
        let item = (self.at, want as usize, self.nonce);
        self.at += want;
        self.nonce = self.nonce.add(self.blocks as u64);
        self.blocks = (self.blocks * 2).min(BATCH);
        Some(item)
    }
}

/// Appends up to `want` bytes read at `offset` to `buf` (fewer only at the end of the
/// file), read into its spare capacity: zeroing a megabyte first costs as much as a copy.
fn read_at_most(file: &File, buf: &mut Vec<u8>, want: usize, mut offset: u64) -> io::Result<()> {
    buf.reserve(want);
    let stop = buf.len() + want;
    while buf.len() < stop {
        let n = read_spare(file, buf, stop - buf.len(), offset)?;
        if n == 0 {
            break;
        }
        offset += n as u64;
    }
    Ok(())
}

/// One read of at most `max` bytes at `offset` into `buf`'s spare capacity.
#[cfg(unix)]
fn read_spare(file: &File, buf: &mut Vec<u8>, max: usize, offset: u64) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let spare = buf.spare_capacity_mut();
    let max = max.min(spare.len());
    let off = libc::off_t::try_from(offset).map_err(io::Error::other)?;
    loop {
        // SAFETY: the kernel writes at most `max` bytes into the spare capacity, which
        // has room for them; only the bytes it reports written become part of `buf`.
        let n = unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), max, off) };
        if n >= 0 {
            let n = n as usize;
            // SAFETY: the first `n` spare bytes were just written by the read.
            unsafe { buf.set_len(buf.len() + n) };
            return Ok(n);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(not(unix))]
fn read_spare(file: &File, buf: &mut Vec<u8>, max: usize, offset: u64) -> io::Result<usize> {
    let start = buf.len();
    buf.resize(start + max, 0);
    let n = std::os::windows::fs::FileExt::seek_read(file, &mut buf[start..], offset);
    buf.truncate(start + *n.as_ref().unwrap_or(&0));
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{span, BLOCK_DATA};
    use crate::stream::tests::dec;
    use tokio::io::AsyncReadExt;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 13 % 251) as u8).collect()
    }

    async fn stored(plain: &[u8], cipher: &DataCipher) -> Vec<u8> {
        let src: ByteStream = Box::pin(std::io::Cursor::new(plain.to_vec()));
        let mut out = Vec::new();
        crate::stream::encrypt(src, cipher.clone(), Nonce([4; 24]))
            .read_to_end(&mut out)
            .await
            .unwrap();
        out
    }

    fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[at] ^= 1;
        out
    }

    /// Plaintext bytes `off..off + n` (all of them for `None`), as the backend reads them.
    async fn read(
        path: &std::path::Path,
        cipher: &DataCipher,
        off: u64,
        n: Option<u64>,
    ) -> io::Result<Vec<u8>> {
        let opened = Opened::open(path.to_path_buf()).await?;
        let sp = span(off, n);
        let start = match off {
            0 => Start::Header,
            _ => Start::At(opened.nonce().unwrap().add(sp.first_block)),
        };
        let until = sp.len.map(|l| sp.offset + l);
        let mut out = Vec::new();
        opened
            .decrypt(sp.offset, until, dec(cipher, start, sp.skip, n))
            .read_to_end(&mut out)
            .await?;
        Ok(out)
    }

    #[tokio::test]
    async fn reads_whole_files_and_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let cipher = DataCipher::new(&[8; 32]);
        let b = BLOCK_DATA as usize;
        for len in [0, 1, b - 1, b, b + 1, 3 * b + 5, 40 * b + 7] {
            let plain = sample(len);
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, stored(&plain, &cipher).await).unwrap();
            assert_eq!(read(&path, &cipher, 0, None).await.unwrap(), plain, "{len}");
            let l = len as u64;
            for (off, n) in [
                (0, 10),
                (5, b as u64),
                (b as u64 - 1, 2),
                (2 * b as u64 + 3, 31 * b as u64),
            ] {
                if off + n > l {
                    continue;
                }
                let got = read(&path, &cipher, off, Some(n)).await.unwrap();
                assert_eq!(
                    got,
                    plain[off as usize..(off + n) as usize],
                    "{len} {off} {n}"
                );
            }
        }
    }

    #[tokio::test]
    async fn bad_files_fail_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cipher = DataCipher::new(&[8; 32]);
        // Small files are opened with the read, larger ones batch by batch.
        for blocks in [3, 40] {
            let good = stored(&sample(blocks * BLOCK_DATA as usize), &cipher).await;
            let late = good.len() - 70_000;
            let cases: [(&str, Vec<u8>, &str); 5] = [
                ("corrupt", flipped(&good, 70_000), "failed to authenticate"),
                (
                    "corrupt-late",
                    flipped(&good, late),
                    "failed to authenticate",
                ),
                (
                    "truncated",
                    good[..good.len() - (BLOCK_LEN as usize - 10)].to_vec(),
                    "truncated block header",
                ),
                (
                    "plain",
                    b"not an encrypted file at all, no".repeat(4),
                    "bad magic",
                ),
                ("short", good[..20].to_vec(), "too short"),
            ];
            for (name, bytes, want) in cases {
                let path = dir.path().join(format!("{name}-{blocks}"));
                std::fs::write(&path, bytes).unwrap();
                let err = read(&path, &cipher, 0, None).await.unwrap_err();
                let msg = err.to_string();
                assert!(
                    msg.contains("secret:f") && msg.contains(want),
                    "{name}, {blocks} blocks: {msg}"
                );
            }
        }
        let missing = Opened::open(dir.path().join("absent")).await.err().unwrap();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }
}
