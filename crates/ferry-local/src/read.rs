//! Reading a source file: its first bytes in the same worker-thread hop as the open.
//!
//! A file up to [`HEAD`] bytes (most files in most trees) costs one hop to the blocking
//! pool instead of four (open, stat, read, end of file); the rest of a larger file then
//! streams from the same descriptor, a chunk ahead of its reader ([`crate::readahead`]).

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use ferry_core::{ByteStream, Error, Result};
use tokio::io::AsyncReadExt;

/// Bytes read with the open.
const HEAD: u64 = 256 * 1024;

/// Opens `full` for reading from `offset`, for at most `len` bytes.
pub(crate) async fn open(
    full: PathBuf,
    rel: String,
    offset: u64,
    len: Option<u64>,
) -> Result<ByteStream> {
    let want = len.unwrap_or(u64::MAX);
    let (head, rest) = crate::blocking(move || {
        let mut file = std::fs::File::open(&full)
            .map_err(|e| Error::io("failed to open source", e).with_path(rel.clone()))?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| Error::io("failed to seek", e).with_path(rel.clone()))?;
        }
        let cap = want.min(HEAD);
        let mut head = Vec::with_capacity(cap.min(64 * 1024) as usize);
        (&mut file)
            .take(cap)
            .read_to_end(&mut head)
            .map_err(|e| Error::io("failed to read source", e).with_path(rel))?;
        // Short of the cap: the file (or the range) ended here.
        let more = head.len() as u64 == cap && cap < want;
        Ok((head, more.then_some(file)))
    })
    .await?;
    let head = std::io::Cursor::new(head);
    let Some(file) = rest else {
        return Ok(Box::pin(head));
    };
    let rest = crate::readahead::ReadAhead::new(file, want - HEAD, crate::write::BUFFER);
    Ok(Box::pin(AsyncReadExt::chain(head, rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_range(path: &std::path::Path, offset: u64, len: Option<u64>) -> Vec<u8> {
        let mut s = open(path.to_path_buf(), "f".into(), offset, len)
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn ranges_on_both_sides_of_the_head_read_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(3 * HEAD as usize + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let big = dir.path().join("big");
        std::fs::write(&big, &data).unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, &data[..1000]).unwrap();
        let h = HEAD as usize;
        assert_eq!(read_range(&big, 0, None).await, data);
        assert_eq!(read_range(&small, 0, None).await, &data[..1000]);
        assert_eq!(read_range(&big, 5, Some(10)).await, &data[5..15]);
        assert_eq!(read_range(&big, 0, Some(HEAD)).await, &data[..h]);
        assert_eq!(read_range(&big, 0, Some(HEAD + 1)).await, &data[..h + 1]);
        assert_eq!(
            read_range(&big, 7, Some(2 * HEAD)).await,
            &data[7..7 + 2 * h]
        );
        assert_eq!(read_range(&big, HEAD + 3, None).await, &data[h + 3..]);
        assert!(read_range(&small, 5000, None).await.is_empty());
    }

    #[tokio::test]
    async fn a_missing_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path().join("nope"), "a/nope".into(), 0, None)
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("a/nope"), "{e}");
    }
}
