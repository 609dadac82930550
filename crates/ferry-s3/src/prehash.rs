//! A local source hashed before its upload (as rclone does, so `md5chksum` can go into
//! the upload's metadata from the start). For a multipart upload the same read also
//! takes every part's MD5, on a second thread beside the whole file's: the upload then
//! sends those as Content-MD5 and checks each part's ETag against them, so it reads
//! the file once more but hashes nothing again, and what S3 stored is checked against
//! the bytes that gave `md5chksum` (a source changed in between fails the upload).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use ferry_core::{Error, Result};
use md5::{Digest, Md5};

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

/// Hashes `file` (shown as `shown` in errors): its MD5, and with `part_size` each part's.
pub(crate) fn hash_file(file: &Path, part_size: Option<u64>, shown: &str) -> Result<Prehashed> {
    let read_err = |e| Error::io("failed to read source", e).with_path(shown.to_owned());
    let mut f = File::open(file)
        .map_err(|e| Error::io("failed to open source", e).with_path(shown.to_owned()))?;
    let Some(part_size) = part_size else {
        let mut h = Md5::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(read_err)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        return Ok(Prehashed {
            md5: hex::encode(h.finalize()),
            parts: None,
        });
    };
    let mut whole = Md5::new();
    let mut digests = Vec::new();
    // One buffer for every part, filled in place: no allocation or zeroing per part.
    let mut buf = vec![0u8; part_size as usize];
    loop {
        let n = fill(&mut f, &mut buf).map_err(read_err)?;
        if n == 0 && !digests.is_empty() {
            break;
        }
        let part = &buf[..n];
        // The part's MD5 on a second thread while this one adds the part to the whole:
        // the pass then takes one MD5's time, not two.
        let digest = std::thread::scope(|s| {
            let h = s.spawn(|| -> [u8; 16] { Md5::digest(part).into() });
            whole.update(part);
            h.join()
        })
        .map_err(|_| Error::new(ferry_core::ErrorKind::Io, "hashing thread failed"))?;
        digests.push(digest);
        if n < buf.len() {
            break;
        }
    }
    Ok(Prehashed {
        md5: hex::encode(whole.finalize()),
        parts: Some(PartDigests { part_size, digests }),
    })
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
fn fill(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(len: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        (dir, path, data)
    }

    #[test]
    fn parts_and_whole_match_a_plain_hash() {
        let (_d, path, data) = file_of(2500);
        let p = hash_file(&path, Some(1000), "f").unwrap();
        assert_eq!(p.md5, hex::encode(Md5::digest(&data)));
        let parts = p.parts_for(1000, 2500).unwrap();
        assert_eq!(parts.len(), 3);
        for (i, d) in parts.iter().enumerate() {
            let end = ((i + 1) * 1000).min(2500);
            assert_eq!(*d, <[u8; 16]>::from(Md5::digest(&data[i * 1000..end])));
        }
        // Another part size or size: not usable for that upload.
        assert!(p.parts_for(500, 2500).is_none());
        assert!(p.parts_for(1000, 3500).is_none());
        let whole = hash_file(&path, None, "f").unwrap();
        assert_eq!(whole.md5, p.md5);
        assert!(whole.parts.is_none());
    }

    #[test]
    fn an_exact_multiple_has_no_empty_last_part() {
        let (_d, path, _) = file_of(2000);
        let p = hash_file(&path, Some(1000), "f").unwrap();
        assert_eq!(p.parts_for(1000, 2000).unwrap().len(), 2);
        let (_d, path, _) = file_of(0);
        let p = hash_file(&path, Some(1000), "f").unwrap();
        assert_eq!(p.parts_for(1000, 0).unwrap().len(), 1);
    }
}
