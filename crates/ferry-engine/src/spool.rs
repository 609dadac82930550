//! A file of unknown size (rclone's -1: a GCS object decompressed as it is read) copied
//! through this machine. Every destination's `put` is told the size first and fails a
//! write of any other (so nothing partial is kept under the final name), so the bytes are
//! read to their end before the write: kept in memory while small, else in a temporary
//! file that is unlinked at once (gone however the run ends). rclone streams such a file
//! where the destination can (`PutStream`) and spools it where not; ferry always spools.

use ferry_core::{ByteStream, Error, RelPath, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Bytes kept in memory before spilling to a temporary file (as `rcat`).
const MEMORY_LIMIT: usize = 8 * 1024 * 1024;

/// The whole of a source read to its end, ready to be written with its size known.
pub enum Spooled {
    Memory(Vec<u8>),
    File(tokio::fs::File, u64),
}

impl Spooled {
    pub fn len(&self) -> u64 {
        match self {
            Spooled::Memory(v) => v.len() as u64,
            Spooled::File(_, n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn into_stream(self) -> ByteStream {
        match self {
            Spooled::Memory(v) => Box::pin(std::io::Cursor::new(v)),
            Spooled::File(f, _) => Box::pin(f),
        }
    }
}

/// Reads `reader` (the source of `path`) to its end.
pub async fn spool<R: AsyncRead + Unpin>(mut reader: R, path: &RelPath) -> Result<Spooled> {
    let read_err = |e| Error::io("failed to read the source", e).with_path(path.to_string());
    let mut mem = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).await.map_err(read_err)?;
        if n == 0 {
            return Ok(Spooled::Memory(mem));
        }
        mem.extend_from_slice(&buf[..n]);
        if mem.len() > MEMORY_LIMIT {
            break;
        }
    }
    let mut file = temp_file(path).await?;
    let write_err = |e| {
        Error::io(
            format!(
                "failed to spool the source to a temporary file in {} (a file of unknown size is read whole before it is written; give --temp-dir or set TMPDIR: a disk with room)",
                std::env::temp_dir().display()
            ),
            e,
        )
        .with_path(path.to_string())
    };
    file.write_all(&mem).await.map_err(write_err)?;
    let mut total = mem.len() as u64;
    drop(mem);
    loop {
        let n = reader.read(&mut buf).await.map_err(read_err)?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).await.map_err(write_err)?;
        total += n as u64;
    }
    file.flush().await.map_err(write_err)?;
    file.rewind().await.map_err(write_err)?;
    Ok(Spooled::File(file, total))
}

/// A new file in the temporary directory, already unlinked where the system allows it.
async fn temp_file(path: &RelPath) -> Result<tokio::fs::File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = std::env::temp_dir().join(format!(
        ".ferry-spool-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = tokio::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&name)
        .await
        .map_err(|e| {
            Error::io(
                format!("can't make a temporary file {} to spool the source to (give --temp-dir or set TMPDIR: a writable directory)", name.display()),
                e,
            )
            .with_path(path.to_string())
        })?;
    // Unlinked: nothing is left behind however the run ends (Windows keeps it until closed).
    let _ = tokio::fs::remove_file(&name).await;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip(n: usize) -> (u64, Vec<u8>) {
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        let s = spool(
            std::io::Cursor::new(data.clone()),
            &RelPath::new("f").unwrap(),
        )
        .await
        .unwrap();
        let len = s.len();
        let mut back = Vec::new();
        s.into_stream().read_to_end(&mut back).await.unwrap();
        assert_eq!(back, data);
        (len, back)
    }

    #[tokio::test]
    async fn small_and_big_sources_come_back_whole_with_their_size() {
        assert_eq!(round_trip(0).await.0, 0);
        assert_eq!(round_trip(1000).await.0, 1000);
        // Past the memory limit: through the temporary file.
        let big = MEMORY_LIMIT + 300_000;
        assert_eq!(round_trip(big).await.0, big as u64);
    }
}
