//! An upload's MD5s, taken on a thread of their own while blocks are read and sent: the
//! whole object's (kept with it for later checks) and, where the store checks each block
//! or part against one, that block's, both in one pass over the bytes
//! ([`ferry_core::md5::Pieces`]).
//!
//! Hashing on the loop that reads the source made every block wait for the MD5 of the
//! one before it; on its own thread the hash runs beside the reads and the uploads. A
//! block's upload waits for its own MD5, and the commit, which needs the whole one, for
//! what is left.

use bytes::Bytes;
use ferry_core::md5::{Digest, Md5, Pieces};
use ferry_core::{Error, ErrorKind, Result};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Blocks queued for the hash at most; the reader waits when the hash is this far
/// behind, so memory stays bounded by the blocks in flight plus these.
const QUEUED: usize = 2;

/// A block to hash, and where its own MD5 goes (none: only the whole is wanted).
type Job = (Bytes, Option<oneshot::Sender<[u8; 16]>>);

pub struct UploadMd5 {
    tx: mpsc::Sender<Job>,
    done: JoinHandle<[u8; 16]>,
}

/// A block's MD5, once the hashing thread has reached it.
pub struct BlockMd5(oneshot::Receiver<[u8; 16]>);

impl BlockMd5 {
    pub async fn get(self) -> Result<[u8; 16]> {
        self.0.await.map_err(|_| failed())
    }
}

impl UploadMd5 {
    pub fn start() -> UploadMd5 {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUED);
        let done = tokio::task::spawn_blocking(move || {
            let mut whole = Pieces::new();
            while let Some((block, own)) = rx.blocking_recv() {
                let md5 = whole.piece(&block);
                if let Some(own) = own {
                    // The block's upload may have been dropped (another one failed).
                    let _ = own.send(md5);
                }
            }
            whole.finish()
        });
        UploadMd5 { tx, done }
    }

    /// Adds the next block (a shared reference to its bytes, not a copy).
    pub async fn update(&self, block: Bytes) -> Result<()> {
        self.tx.send((block, None)).await.map_err(|_| failed())
    }

    /// Adds the next block and gives its own MD5 when it is ready.
    pub async fn block(&self, block: Bytes) -> Result<BlockMd5> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send((block, Some(tx)))
            .await
            .map_err(|_| failed())?;
        Ok(BlockMd5(rx))
    }

    /// The MD5 of every block given, in order.
    pub async fn finish(self) -> Result<[u8; 16]> {
        drop(self.tx);
        self.done.await.map_err(|_| failed())
    }
}

/// One block's MD5 on the blocking pool, for an upload that keeps no whole MD5.
pub async fn block_md5(block: Bytes) -> Result<[u8; 16]> {
    tokio::task::spawn_blocking(move || Md5::digest(&block).into())
        .await
        .map_err(|_| failed())
}

fn failed() -> Error {
    Error::new(ErrorKind::Io, "the upload's hashing task failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5(data: &[u8]) -> [u8; 16] {
        Md5::digest(data).into()
    }

    #[tokio::test]
    async fn hashes_each_block_and_the_whole_in_order() {
        let h = UploadMd5::start();
        // Whole 64-byte blocks (hashed in one pass), then uneven ones (apart).
        let blocks: Vec<Bytes> = [640usize, 1024, 64, 1000, 7, 512]
            .iter()
            .enumerate()
            .map(|(i, n)| Bytes::from(vec![i as u8 + 1; *n]))
            .collect();
        let mut owns = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            if i % 3 == 2 {
                h.update(b.clone()).await.unwrap();
            } else {
                owns.push((h.block(b.clone()).await.unwrap(), md5(b)));
            }
        }
        for (got, want) in owns {
            assert_eq!(got.get().await.unwrap(), want);
        }
        let all: Vec<u8> = blocks.iter().flat_map(|b| b.to_vec()).collect();
        assert_eq!(h.finish().await.unwrap(), md5(&all));
        assert_eq!(UploadMd5::start().finish().await.unwrap(), md5(b""));
        assert_eq!(
            block_md5(Bytes::from_static(b"abc")).await.unwrap(),
            md5(b"abc")
        );
    }
}
