//! rclone's crypt data format: a 32-byte header (`RCLONE\0\0` and a random 24-byte
//! nonce), then the data in 64 KiB blocks, each sealed with NaCl secretbox
//! (XSalsa20-Poly1305: a 16-byte tag, then the ciphertext) under the nonce of the file
//! incremented once per block (little-endian, from the first byte). An empty file is the
//! header alone. Sizes map both ways without reading anything.

use crate::secretbox::SecretBox;

pub const MAGIC: &[u8; 8] = b"RCLONE\0\0";
pub const NONCE_LEN: usize = 24;
pub const HEADER_LEN: u64 = 32;
pub const TAG_LEN: u64 = 16;
pub const BLOCK_DATA: u64 = 64 * 1024;
pub const BLOCK_LEN: u64 = BLOCK_DATA + TAG_LEN;

/// A file's nonce; block `i` is sealed under `nonce + i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce(pub [u8; NONCE_LEN]);

impl Nonce {
    pub fn random() -> std::io::Result<Nonce> {
        let mut n = [0u8; NONCE_LEN];
        getrandom::fill(&mut n).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Nonce(n))
    }

    /// The nonce `blocks` blocks further on (little-endian addition with carry).
    pub fn add(&self, blocks: u64) -> Nonce {
        let mut out = self.0;
        let mut carry = u128::from(blocks);
        for b in out.iter_mut() {
            if carry == 0 {
                break;
            }
            let sum = u128::from(*b) + (carry & 0xFF);
            *b = sum as u8;
            carry = (carry >> 8) + (sum >> 8);
        }
        Nonce(out)
    }

    /// The 32-byte header of a file with this nonce.
    pub fn header(&self) -> [u8; 32] {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(MAGIC);
        h[8..].copy_from_slice(&self.0);
        h
    }
}

/// What is wrong with a file's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadHeader {
    TooShort,
    BadMagic,
}

impl std::fmt::Display for BadHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadHeader::TooShort => "file is too short to be encrypted",
            BadHeader::BadMagic => "not an encrypted file - bad magic string",
        })
    }
}

/// The nonce in a file's first bytes.
pub fn parse_header(h: &[u8]) -> Result<Nonce, BadHeader> {
    if h.len() < HEADER_LEN as usize {
        return Err(BadHeader::TooShort);
    }
    if &h[..8] != MAGIC {
        return Err(BadHeader::BadMagic);
    }
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(&h[8..32]);
    Ok(Nonce(n))
}

/// Size of the stored file for `size` bytes of data.
pub fn encrypted_size(size: u64) -> u64 {
    let (blocks, rest) = (size / BLOCK_DATA, size % BLOCK_DATA);
    HEADER_LEN + blocks * BLOCK_LEN + if rest > 0 { TAG_LEN + rest } else { 0 }
}

/// Size of the data in a stored file of `size` bytes; `None` for a size no file of this
/// format has (shorter than the header, or a last block with no data).
pub fn decrypted_size(size: u64) -> Option<u64> {
    let body = size.checked_sub(HEADER_LEN)?;
    let (blocks, rest) = (body / BLOCK_LEN, body % BLOCK_LEN);
    let last = match rest {
        0 => 0,
        r if r <= TAG_LEN => return None,
        r => r - TAG_LEN,
    };
    Some(blocks * BLOCK_DATA + last)
}

/// The stored byte range to read for data bytes `offset..offset+len`: whole blocks from
/// the one holding `offset`, how many data bytes of the first to skip, and its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub len: Option<u64>,
    pub skip: u64,
    pub first_block: u64,
}

pub fn span(offset: u64, len: Option<u64>) -> Span {
    let first_block = offset / BLOCK_DATA;
    let skip = offset % BLOCK_DATA;
    let len = len.map(|l| {
        let end = skip + l;
        end.div_ceil(BLOCK_DATA).max(1) * BLOCK_LEN
    });
    Span {
        offset: HEADER_LEN + first_block * BLOCK_LEN,
        len,
        skip,
        first_block,
    }
}

/// Seals and opens blocks under one data key.
#[derive(Clone)]
pub struct DataCipher {
    aead: SecretBox,
}

impl DataCipher {
    pub fn new(key: &[u8; 32]) -> DataCipher {
        DataCipher {
            aead: SecretBox::new(key),
        }
    }

    /// Seals `data` (at most one block) into `out`: tag, then ciphertext.
    pub fn seal(&self, nonce: &Nonce, data: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0u8; TAG_LEN as usize]);
        out.extend_from_slice(data);
        self.seal_block(nonce, &mut out[start..]);
    }

    /// Seals a block in place: `block` holds room for the tag, then the data (at most
    /// one block's), and becomes the stored block (tag, then ciphertext).
    pub fn seal_block(&self, nonce: &Nonce, block: &mut [u8]) {
        let (tag, data) = block.split_at_mut(TAG_LEN as usize);
        tag.copy_from_slice(&self.aead.seal(&nonce.0, data));
    }

    /// Whether one stored block (tag, then ciphertext) authenticates; its data is left
    /// enciphered for [`DataCipher::decipher_to`].
    pub fn verify(&self, nonce: &Nonce, block: &[u8]) -> bool {
        if block.len() <= TAG_LEN as usize {
            return false;
        }
        let (tag, body) = block.split_at(TAG_LEN as usize);
        let tag: &[u8; 16] = tag.try_into().expect("split at TAG_LEN");
        self.aead.verify(&nonce.0, body, tag)
    }

    /// Deciphers the verified `block`'s data bytes `from..from + dst.len()` into `dst`.
    pub fn decipher_to(
        &self,
        nonce: &Nonce,
        block: &[u8],
        from: usize,
        dst: &mut [std::mem::MaybeUninit<u8>],
    ) {
        let data = &block[TAG_LEN as usize..];
        let src = &data[from..from + dst.len()];
        self.aead.decipher_to(&nonce.0, from, src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_map_both_ways() {
        for size in [
            0,
            1,
            100,
            BLOCK_DATA - 1,
            BLOCK_DATA,
            BLOCK_DATA + 1,
            5 * BLOCK_DATA + 7,
        ] {
            assert_eq!(decrypted_size(encrypted_size(size)), Some(size), "{size}");
        }
        assert_eq!(encrypted_size(0), 32);
        assert_eq!(encrypted_size(1), 49);
        assert_eq!(decrypted_size(31), None);
        assert_eq!(decrypted_size(32 + 16), None);
    }

    #[test]
    fn nonces_carry_upwards() {
        let mut n = [0u8; NONCE_LEN];
        n[0] = 0xFF;
        n[1] = 0xFF;
        let added = Nonce(n).add(1).0;
        assert_eq!(&added[..3], &[0, 0, 1]);
        assert_eq!(Nonce([0xFF; NONCE_LEN]).add(1).0, [0u8; NONCE_LEN]);
        assert_eq!(
            Nonce([0; NONCE_LEN]).add(0x1_0000_0001).0[..5],
            [1, 0, 0, 0, 1]
        );
    }

    #[test]
    fn spans_cover_whole_blocks() {
        let s = span(0, Some(1));
        assert_eq!((s.offset, s.len, s.skip), (32, Some(BLOCK_LEN), 0));
        let s = span(BLOCK_DATA + 5, Some(BLOCK_DATA));
        assert_eq!(
            (s.offset, s.len, s.skip, s.first_block),
            (32 + BLOCK_LEN, Some(2 * BLOCK_LEN), 5, 1)
        );
        assert_eq!(span(3, None).len, None);
    }

    #[test]
    fn a_block_sealed_in_place_is_the_appended_one() {
        let c = DataCipher::new(&[4; 32]);
        let n = Nonce([9; NONCE_LEN]);
        for len in [1, 31, 32, 33, 1000, BLOCK_DATA as usize] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 11) as u8).collect();
            let mut appended = b"before".to_vec();
            c.seal(&n, &plain, &mut appended);
            let mut block = vec![0u8; TAG_LEN as usize];
            block.extend_from_slice(&plain);
            c.seal_block(&n, &mut block);
            assert_eq!(block, appended[6..], "length {len}");
        }
    }

    #[test]
    fn a_sealed_block_opens_and_a_flipped_bit_does_not() {
        let c = DataCipher::new(&[1; 32]);
        let n = Nonce([2; NONCE_LEN]);
        let mut out = Vec::new();
        c.seal(&n, b"hello", &mut out);
        assert_eq!(out.len(), 21);
        assert!(c.verify(&n, &out));
        let mut plain = [std::mem::MaybeUninit::new(0u8); 5];
        c.decipher_to(&n, &out, 0, &mut plain);
        // SAFETY: initialized above, and written by `decipher_to`.
        assert_eq!(plain.map(|b| unsafe { b.assume_init() }), *b"hello");
        assert!(!c.verify(&n.add(1), &out));
        out[20] ^= 1;
        assert!(!c.verify(&n, &out));
    }
}
