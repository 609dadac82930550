//! EME (ECB-Mix-ECB, Halevi and Rogaway 2003), the wide-block mode rclone encrypts each
//! name segment with: deterministic (a name always encrypts the same), and every output
//! byte depends on every input byte (names sharing a prefix share nothing encrypted).
//! Written from the paper's description; rclone uses the same mode over AES-256.

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;

/// Most blocks EME takes (as the reference implementation rclone uses limits it).
pub const MAX_BLOCKS: usize = 128;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Encrypt,
    Decrypt,
}

/// An EME transform keyed once.
#[derive(Clone)]
pub struct Eme {
    aes: Aes256,
    tweak: [u8; 16],
}

type Block = [u8; 16];

/// Multiplication by x in GF(2^128), bytes little-endian (the paper's convention).
fn times_two(b: &Block) -> Block {
    let mut out = [0u8; 16];
    out[0] = b[0] << 1;
    if b[15] & 0x80 != 0 {
        out[0] ^= 135;
    }
    for j in 1..16 {
        out[j] = (b[j] << 1) | (b[j - 1] >> 7);
    }
    out
}

fn xor(a: &Block, b: &Block) -> Block {
    std::array::from_fn(|i| a[i] ^ b[i])
}

impl Eme {
    pub fn new(key: &[u8; 32], tweak: [u8; 16]) -> Eme {
        Eme {
            aes: Aes256::new(key.into()),
            tweak,
        }
    }

    fn aes(&self, b: &Block, dir: Direction) -> Block {
        let mut block = aes::Block::clone_from_slice(b);
        match dir {
            Direction::Encrypt => self.aes.encrypt_block(&mut block),
            Direction::Decrypt => self.aes.decrypt_block(&mut block),
        }
        block.into()
    }

    /// Transforms `data` (1 to [`MAX_BLOCKS`] whole 16-byte blocks; the caller checks).
    pub fn transform(&self, data: &[u8], dir: Direction) -> Vec<u8> {
        debug_assert!(data.len().is_multiple_of(16) && !data.is_empty());
        let m = data.len() / 16;
        // L_j = 2^(j+1) * AES(0)
        let mut l = self.aes(&[0u8; 16], Direction::Encrypt);
        let table: Vec<Block> = (0..m)
            .map(|_| {
                l = times_two(&l);
                l
            })
            .collect();
        let mut c: Vec<Block> = data
            .chunks_exact(16)
            .zip(&table)
            .map(|(p, lj)| {
                let p: Block = p.try_into().expect("16 bytes");
                self.aes(&xor(&p, lj), dir)
            })
            .collect();
        let mp = c.iter().fold(self.tweak, |acc, b| xor(&acc, b));
        let mc = self.aes(&mp, dir);
        let mut mask = xor(&mp, &mc);
        for cj in c.iter_mut().skip(1) {
            mask = times_two(&mask);
            *cj = xor(cj, &mask);
        }
        c[0] = c[1..]
            .iter()
            .fold(xor(&mc, &self.tweak), |acc, b| xor(&acc, b));
        let mut out = Vec::with_capacity(data.len());
        for (cj, lj) in c.iter().zip(&table) {
            out.extend_from_slice(&xor(&self.aes(cj, dir), lj));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypt_undoes_encrypt_for_every_length() {
        let eme = Eme::new(&[7u8; 32], [9u8; 16]);
        for blocks in [1, 2, 3, 16, MAX_BLOCKS] {
            let data: Vec<u8> = (0..blocks * 16).map(|i| i as u8).collect();
            let enc = eme.transform(&data, Direction::Encrypt);
            assert_ne!(enc, data);
            assert_eq!(eme.transform(&enc, Direction::Decrypt), data);
        }
    }

    #[test]
    fn doubling_carries_into_the_next_byte_and_reduces() {
        let mut b = [0u8; 16];
        b[0] = 0x80;
        assert_eq!(times_two(&b)[1], 1);
        let mut top = [0u8; 16];
        top[15] = 0x80;
        assert_eq!(times_two(&top)[0], 135);
    }
}
