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

/// Bytes read at a time: small enough to stay in the CPU's cache between the read and
/// the hash, large enough that the system calls cost nothing.
const READ: usize = 1 << 20;

/// Hashes `file` (shown as `shown` in errors): its MD5, and with `part_size` each part's.
pub(crate) fn hash_file(file: &Path, part_size: Option<u64>, shown: &str) -> Result<Prehashed> {
    let read_err = |e| Error::io("failed to read source", e).with_path(shown.to_owned());
    let open = || {
        File::open(file)
            .map_err(|e| Error::io("failed to open source", e).with_path(shown.to_owned()))
    };
    let mut f = open()?;
    let Some(part_size) = part_size else {
        return Ok(Prehashed {
            md5: hex::encode(whole_md5(&mut f).map_err(read_err)?),
            parts: None,
        });
    };
    // Opened here so a file that vanished fails before either thread starts.
    let mut g = open()?;
    let (whole, digests) = std::thread::scope(|s| {
        let parts = s.spawn(move || part_md5s(&mut g, part_size));
        let whole = whole_md5(&mut f);
        (whole, parts.join())
    });
    let digests = digests
        .map_err(|_| Error::new(ferry_core::ErrorKind::Io, "hashing thread failed"))?
        .map_err(read_err)?;
    let whole = whole.map_err(read_err)?;
    Ok(Prehashed {
        md5: hex::encode(whole),
        parts: Some(PartDigests { part_size, digests }),
    })
}

/// The MD5 of everything `f` has left.
fn whole_md5(f: &mut File) -> std::io::Result<[u8; 16]> {
    let mut h = Md5::new();
    let mut buf = vec![0u8; READ];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(h.finalize().into()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

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
    fn parts_larger_than_one_read_and_not_a_multiple_of_it() {
        let part = READ as u64 + READ as u64 / 2 + 3;
        let (_d, path, data) = file_of(3 * READ + 17);
        let p = hash_file(&path, Some(part), "f").unwrap();
        assert_eq!(p.md5, hex::encode(Md5::digest(&data)));
        let parts = p.parts_for(part, data.len() as u64).unwrap();
        for (i, d) in parts.iter().enumerate() {
            let start = i * part as usize;
            let end = (start + part as usize).min(data.len());
            assert_eq!(*d, <[u8; 16]>::from(Md5::digest(&data[start..end])));
        }
        assert_eq!(parts.len(), 3);
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
