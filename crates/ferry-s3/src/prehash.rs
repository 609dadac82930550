//! A local source hashed before its upload (as rclone does, so `md5chksum` can go into
//! the upload's metadata from the start). For a multipart upload every part's MD5 is
//! taken too, by a second thread that reads the file on its own beside the one hashing
//! the whole: the upload then sends those as Content-MD5 and checks each part's ETag
//! against them, so it hashes nothing again, and what S3 stored is checked against the
//! bytes that gave `md5chksum` (a source changed in between fails the upload).
//!
//! The two threads never wait for each other: an earlier version handed each part to a
//! thread of its own and joined it before reading the next, so on a busy machine every
//! part waited for whichever of the two had been descheduled.
//!
//! The whole file's MD5 is asked of the source backend ([`of_source`]): the local backend
//! answers from its hash cache when the file is unchanged since it was last hashed, and
//! keeps what it computes there, so uploading the same file again reads it only once,
//! while it is sent (its parts are then hashed as they go, see `upload`).

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use ferry_core::md5::{Digest, Md5};
use ferry_core::{Backend, Entry, Error, ErrorKind, HashKind, PutOptions, RelPath, Result};

/// What was learnt of a source before its upload.
#[derive(Clone, Debug)]
pub(crate) struct Prehashed {
    /// The whole file's MD5, hex.
    pub md5: String,
    /// Each part's MD5 in order, for a multipart upload in parts of `part_size`.
    pub parts: Option<PartDigests>,
}

#[derive(Clone, Debug)]
pub(crate) struct PartDigests {
    pub part_size: u64,
    pub digests: Vec<[u8; 16]>,
}

impl Prehashed {
    /// The part MD5s, if they were taken in parts of `part_size` covering `size` bytes.
    pub fn parts_for(&self, part_size: u64, size: u64) -> Option<&[[u8; 16]]> {
        let p = self.parts.as_ref()?;
        let count = size.div_ceil(part_size).max(1);
        (p.part_size == part_size && p.digests.len() as u64 == count).then_some(&p.digests[..])
    }
}

/// What is known of the local file `file` (the source's `path`) before its upload: its
/// MD5 from the source backend (cached, or hashed and kept for the next time) and, with
/// `part_size`, each part's, read beside it on another thread. When the source knows the
/// MD5 without reading the file, the parts are left to the upload, which hashes each as
/// it sends it (so nothing is read before the first part goes out).
pub(crate) async fn of_source(
    src: &dyn Backend,
    path: &RelPath,
    file: PathBuf,
    opts: &PutOptions,
    part_size: Option<u64>,
) -> Result<Prehashed> {
    let listed = Entry::file(path.clone(), opts.size, opts.mtime);
    match src.cheap_hash(&listed, HashKind::Md5).await {
        Ok(Some(md5)) => {
            tracing::debug!("{path}: md5 known before the upload without reading the file");
            return Ok(Prehashed { md5, parts: None });
        }
        Ok(None) => {}
        // Only a shortcut: the file is read instead.
        Err(e) => tracing::debug!("{path}: no cached md5: {e}"),
    }
    let shown = path.to_string();
    let parts = async move {
        let Some(part_size) = part_size else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || {
            let mut f = File::open(&file)
                .map_err(|e| Error::io("failed to open source", e).with_path(shown.clone()))?;
            part_md5s(&mut f, part_size)
                .map(|digests| Some(PartDigests { part_size, digests }))
                .map_err(|e| Error::io("failed to read source", e).with_path(shown))
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("hashing task failed: {e}")))?
    };
    let (whole, parts) = tokio::join!(src.hash(path, HashKind::Md5), parts);
    let md5 = whole?.ok_or_else(|| {
        Error::new(ErrorKind::Io, "the source gave no md5 to send").with_path(path.to_string())
    })?;
    Ok(Prehashed { md5, parts: parts? })
}

/// Bytes read at a time: small enough to stay in the CPU's cache between the read and
/// the hash, large enough that the system calls cost nothing.
const READ: usize = 1 << 20;

/// The MD5 of each `part_size` bytes of `f` in order; an empty file has one empty part,
/// and a file that is an exact multiple has no empty last part.
fn part_md5s(f: &mut File, part_size: u64) -> std::io::Result<Vec<[u8; 16]>> {
    let mut digests = Vec::new();
    // One buffer for the whole pass: no allocation or zeroing per part.
    let mut buf = vec![0u8; READ];
    loop {
        let mut h = Md5::new();
        let mut got = 0u64;
        while got < part_size {
            let want = (part_size - got).min(READ as u64) as usize;
            match f.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => {
                    h.update(&buf[..n]);
                    got += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if got == 0 && !digests.is_empty() {
            return Ok(digests);
        }
        digests.push(h.finalize().into());
        if got < part_size {
            return Ok(digests);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    fn file_of(len: usize) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        (dir, path, data)
    }

    fn parts_of(path: &Path, part_size: u64) -> Vec<[u8; 16]> {
        part_md5s(&mut File::open(path).unwrap(), part_size).unwrap()
    }

    fn expected_parts(data: &[u8], part: usize) -> Vec<[u8; 16]> {
        data.chunks(part)
            .map(|c| <[u8; 16]>::from(Md5::digest(c)))
            .collect()
    }

    #[test]
    fn parts_match_a_plain_hash_of_each() {
        let (_d, path, data) = file_of(2500);
        let parts = parts_of(&path, 1000);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts, expected_parts(&data, 1000));
        let p = Prehashed {
            md5: String::new(),
            parts: Some(PartDigests {
                part_size: 1000,
                digests: parts,
            }),
        };
        assert!(p.parts_for(1000, 2500).is_some());
        // Another part size or size: not usable for that upload.
        assert!(p.parts_for(500, 2500).is_none());
        assert!(p.parts_for(1000, 3500).is_none());
    }

    #[test]
    fn parts_larger_than_one_read_and_not_a_multiple_of_it() {
        let part = READ + READ / 2 + 3;
        let (_d, path, data) = file_of(3 * READ + 17);
        let parts = parts_of(&path, part as u64);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts, expected_parts(&data, part));
    }

    #[test]
    fn an_exact_multiple_has_no_empty_last_part() {
        let (_d, path, _) = file_of(2000);
        assert_eq!(parts_of(&path, 1000).len(), 2);
        let (_d, path, _) = file_of(0);
        assert_eq!(parts_of(&path, 1000).len(), 1);
    }

    /// The first upload of a file reads it for its MD5 and its parts' and leaves the MD5
    /// in the local hash cache; the next upload of the same file takes it from there and
    /// reads nothing (its parts are hashed as they are sent); a changed file is read again.
    /// (Over 1 MiB: the local backend simply hashes a smaller file when asked.)
    #[tokio::test]
    async fn a_cached_md5_spares_the_read_until_the_file_changes() {
        const SIZE: usize = 2_500_000;
        const PART: usize = 1_000_000;
        let (dir, path, data) = file_of(SIZE);
        let cache = Arc::new(ferry_local::HashCache::at(dir.path().join("hashes.redb")));
        let local = ferry_local::LocalBackend::new(
            dir.path(),
            ferry_local::LocalOptions {
                hash_cache: Some(cache),
                ..Default::default()
            },
        );
        let rel = RelPath::new("f").unwrap();
        let opts = PutOptions {
            size: SIZE as u64,
            mtime: SystemTime::now(),
            inplace: false,
            hashes: Default::default(),
            metadata: None,
        };
        let hashed = || of_source(&*local, &rel, path.clone(), &opts, Some(PART as u64));
        // The cache keeps no hash of a file changed within the last seconds.
        std::thread::sleep(Duration::from_millis(2100));
        let first = hashed().await.unwrap();
        assert_eq!(first.md5, hex::encode(Md5::digest(&data)));
        let parts = first.parts_for(PART as u64, SIZE as u64).unwrap();
        assert_eq!(parts, &expected_parts(&data, PART)[..]);
        let again = hashed().await.unwrap();
        assert_eq!(again.md5, first.md5);
        assert!(again.parts.is_none(), "read again: {again:?}");

        let changed: Vec<u8> = data.iter().map(|b| b ^ 1).collect();
        std::fs::write(&path, &changed).unwrap();
        let after = hashed().await.unwrap();
        assert_eq!(after.md5, hex::encode(Md5::digest(&changed)));
        let parts = after.parts_for(PART as u64, SIZE as u64).unwrap();
        assert_eq!(parts, &expected_parts(&changed, PART)[..]);
    }
}
