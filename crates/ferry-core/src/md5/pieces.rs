//! One stream's MD5 and the MD5 of each of its pieces, taken in one pass: a multipart
//! upload sends each part's MD5 (Content-MD5) and keeps the whole object's. Hashed one
//! after the other, that is every byte hashed twice; in one pass the two chains share
//! each block's loads and the core's idle units ([`compress_lanes`]), so both cost about
//! 1.1 times one.

use digest::core_api::CoreWrapper;

use super::{compress, compress_lanes, Digest, Md5, Md5Core};

/// The whole stream's MD5 and each piece's own: `piece` for every piece in order, then
/// `finish` for the whole.
#[derive(Clone, Default)]
pub struct Pieces {
    whole: Md5Core,
    /// The whole's bytes past its last full block (fewer than 64).
    tail: Vec<u8>,
}

impl Pieces {
    pub fn new() -> Pieces {
        Pieces::default()
    }

    /// Adds `piece` to the whole and returns `piece`'s own MD5.
    pub fn piece(&mut self, piece: &[u8]) -> [u8; 16] {
        if !self.tail.is_empty() {
            // The piece starts inside one of the whole's blocks, so the two chains' blocks
            // don't line up: hashed apart (only pieces of a size that is not a multiple of
            // 64 bytes get here).
            let own = Md5::digest(piece).into();
            self.add_to_whole(piece);
            return own;
        }
        let full = piece.len() / 64 * 64;
        let mut own = Md5Core::default();
        for block in piece[..full].chunks_exact(64) {
            compress_lanes([&mut self.whole.state, &mut own.state], block);
        }
        let blocks = (full / 64) as u64;
        self.whole.blocks = self.whole.blocks.wrapping_add(blocks);
        own.blocks = blocks;
        self.tail.extend_from_slice(&piece[full..]);
        let mut own = CoreWrapper::from_core(own);
        own.update(&piece[full..]);
        own.finalize().into()
    }

    /// The MD5 of every piece given, in order.
    pub fn finish(self) -> [u8; 16] {
        let mut whole = CoreWrapper::from_core(self.whole);
        whole.update(&self.tail);
        whole.finalize().into()
    }

    fn add_to_whole(&mut self, mut data: &[u8]) {
        let take = (64 - self.tail.len()).min(data.len());
        self.tail.extend_from_slice(&data[..take]);
        data = &data[take..];
        if self.tail.len() < 64 {
            return;
        }
        compress(&mut self.whole.state, &self.tail);
        self.tail.clear();
        let full = data.len() / 64 * 64;
        for block in data[..full].chunks_exact(64) {
            compress(&mut self.whole.state, block);
        }
        self.whole.blocks = self.whole.blocks.wrapping_add(1 + (full / 64) as u64);
        self.tail.extend_from_slice(&data[full..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect()
    }

    /// Cuts `data` into pieces of the sizes given (cycled) and checks every piece's MD5
    /// and the whole's against one-pass hashes.
    fn check(data: &[u8], sizes: &[usize]) {
        let mut p = Pieces::new();
        let mut rest = data;
        for size in sizes.iter().cycle() {
            let (piece, after) = rest.split_at((*size).min(rest.len()));
            let own: [u8; 16] = Md5::digest(piece).into();
            assert_eq!(
                p.piece(piece),
                own,
                "a piece of {} bytes in {sizes:?}",
                piece.len()
            );
            rest = after;
            if rest.is_empty() {
                break;
            }
        }
        let whole: [u8; 16] = Md5::digest(data).into();
        assert_eq!(
            p.finish(),
            whole,
            "{} bytes in pieces of {sizes:?}",
            data.len()
        );
    }

    #[test]
    fn every_piece_and_the_whole_equal_separate_hashes() {
        let d = data(5000);
        // Whole blocks (the multipart case), uneven pieces, a short last piece, and
        // pieces that fall back to hashing apart and then line up again.
        for sizes in [
            &[64][..],
            &[128, 640],
            &[1024],
            &[1],
            &[37],
            &[63, 1],
            &[65, 63],
            &[100, 28, 256],
            &[4999],
            &[5000],
            &[0, 64, 0, 3],
        ] {
            check(&d, sizes);
        }
        for len in [0, 1, 63, 64, 65, 127, 128, 129] {
            check(&d[..len], &[64]);
            check(&d[..len], &[7]);
        }
    }

    #[test]
    fn no_piece_gives_the_empty_md5() {
        assert_eq!(Pieces::new().finish(), <[u8; 16]>::from(Md5::digest(b"")),);
    }
}
