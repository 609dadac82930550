//! NaCl's secretbox (XSalsa20 and Poly1305), the AEAD of rclone's data blocks.
//!
//! The same construction as `crypto_secretbox::XSalsa20Poly1305`, byte for byte (the tests
//! compare the two), over this crate's multi-block Salsa20: HSalsa20 turns the key and the
//! nonce's first 16 bytes into a subkey; the subkey's keystream under the nonce's last 8
//! bytes starts with the 32-byte Poly1305 key, and the rest encrypts the data; the tag
//! authenticates the ciphertext.

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::salsa::Salsa20;

pub use crate::mac::TAG_LEN;

/// One key; sealing and opening take the 24-byte nonce. The key is wiped when the box
/// is dropped, so no copy of it outlives its use in freed memory.
#[derive(Clone)]
pub struct SecretBox {
    key: [u8; 32],
}

impl Drop for SecretBox {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox { key: *key }
    }

    /// Encrypts `data` in place and returns its tag.
    pub fn seal(&self, nonce: &[u8; 24], data: &mut [u8]) -> [u8; TAG_LEN] {
        let (stream, block0) = self.start(nonce);
        xor_after_mac_key(&stream, &block0, data);
        crate::mac::tag(mac_key(&block0), data)
    }

    /// Checks `tag` over the ciphertext `data`, then decrypts it in place. `false` (and
    /// `data` untouched): it does not authenticate. The tests' reference for the two
    /// steps readers take apart ([`SecretBox::verify`], then [`SecretBox::decipher_to`]).
    #[cfg(test)]
    pub fn open(&self, nonce: &[u8; 24], data: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        let (stream, block0) = self.start(nonce);
        if !authentic(&block0, data, tag) {
            return false;
        }
        xor_after_mac_key(&stream, &block0, data);
        true
    }

    /// Whether `data` (ciphertext) authenticates under `nonce` and `tag`; deciphering
    /// is left to [`SecretBox::decipher_to`].
    pub fn verify(&self, nonce: &[u8; 24], data: &[u8], tag: &[u8; TAG_LEN]) -> bool {
        authentic(&self.start(nonce).1, data, tag)
    }

    /// Deciphers `src`, the ciphertext from byte `from` of a box's data, into `dst` (of
    /// the same length, initialized or not). Only for data [`SecretBox::verify`] accepted.
    pub fn decipher_to(
        &self,
        nonce: &[u8; 24],
        from: usize,
        src: &[u8],
        dst: &mut [std::mem::MaybeUninit<u8>],
    ) {
        assert_eq!(src.len(), dst.len(), "source and destination lengths");
        let (stream, block0) = self.start(nonce);
        // The data's byte k is the keystream's byte 32 + k (the first 32 are the MAC key).
        let pos = 32 + from;
        let (block, off) = ((pos / 64) as u64, pos % 64);
        let head = src.len().min((64 - off) % 64);
        if head > 0 {
            let mut keys = block0;
            if block > 0 {
                keys = [0u8; 64];
                stream.apply(block, &mut keys);
            }
            for ((d, s), k) in dst.iter_mut().zip(&src[..head]).zip(&keys[off..]) {
                d.write(s ^ k);
            }
        }
        let next = if head > 0 { block + 1 } else { block };
        stream.apply_to(next, &src[head..], &mut dst[head..]);
    }

    /// The stream under the derived subkey and its first block, whose first 32 bytes
    /// key the MAC.
    fn start(&self, nonce: &[u8; 24]) -> (Salsa20, [u8; 64]) {
        let prefix: &[u8; 16] = nonce[..16].try_into().expect("16 of 24 bytes");
        let suffix: &[u8; 8] = nonce[16..].try_into().expect("8 of 24 bytes");
        let subkey =
            salsa20::hsalsa::<salsa20::cipher::consts::U10>(&self.key.into(), prefix.into());
        let stream = Salsa20::new(&subkey.into(), suffix);
        let mut block0 = [0u8; 64];
        stream.apply(0, &mut block0);
        (stream, block0)
    }
}

fn authentic(block0: &[u8; 64], data: &[u8], tag: &[u8; TAG_LEN]) -> bool {
    bool::from(crate::mac::tag(mac_key(block0), data).ct_eq(tag))
}

fn mac_key(block0: &[u8; 64]) -> &[u8; 32] {
    block0[..32].try_into().expect("32 of 64 bytes")
}

/// The data's keystream begins 32 bytes into block 0, after the MAC key.
fn xor_after_mac_key(stream: &Salsa20, block0: &[u8; 64], data: &mut [u8]) {
    let (head, rest) = data.split_at_mut(data.len().min(32));
    for (d, k) in head.iter_mut().zip(&block0[32..]) {
        *d ^= k;
    }
    stream.apply(1, rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_secretbox::aead::AeadInPlace;
    use crypto_secretbox::{KeyInit, XSalsa20Poly1305};

    fn bytes<const N: usize>(seed: u8) -> [u8; N] {
        std::array::from_fn(|i| (i as u8).wrapping_mul(73).wrapping_add(seed))
    }

    /// Seals exactly as crypto_secretbox does, for lengths around every boundary
    /// (block 0's 32 data bytes, the 4- and 8-block groups, rclone's 64 KiB blocks).
    #[test]
    fn seals_as_crypto_secretbox() {
        let (key, nonce) = (bytes::<32>(1), bytes::<24>(2));
        let reference = XSalsa20Poly1305::new(&key.into());
        let ours = SecretBox::new(&key);
        for len in [
            0, 1, 31, 32, 33, 95, 96, 97, 287, 288, 289, 544, 1000, 65_536,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut a = plain.clone();
            let tag = ours.seal(&nonce, &mut a);
            let mut b = plain.clone();
            let want = reference
                .encrypt_in_place_detached(&nonce.into(), b"", &mut b)
                .unwrap();
            assert_eq!(a, b, "ciphertext, length {len}");
            assert_eq!(tag.as_slice(), want.as_slice(), "tag, length {len}");
            assert!(ours.open(&nonce, &mut a, &tag), "length {len}");
            assert_eq!(a, plain, "round trip, length {len}");
        }
    }

    #[test]
    fn refuses_a_changed_byte_a_changed_tag_or_another_nonce() {
        let b = SecretBox::new(&bytes::<32>(5));
        let nonce = bytes::<24>(6);
        let mut data = b"some data to protect".to_vec();
        let tag = b.seal(&nonce, &mut data);
        let sealed = data.clone();

        data[3] ^= 1;
        assert!(!b.open(&nonce, &mut data, &tag));
        assert_eq!(data[3], sealed[3] ^ 1, "a refused block is left as it was");

        let mut bad_tag = tag;
        bad_tag[0] ^= 0x80;
        assert!(!b.open(&nonce, &mut sealed.clone(), &bad_tag));
        assert!(!b.open(&bytes::<24>(7), &mut sealed.clone(), &tag));
    }

    /// Verifying, then deciphering any stretch of the data out of place, gives the bytes
    /// `open` gives: across the MAC key's half block, block edges and the end.
    #[test]
    fn decipher_to_gives_any_stretch_of_what_open_gives() {
        let b = SecretBox::new(&bytes::<32>(8));
        let nonce = bytes::<24>(9);
        let plain: Vec<u8> = (0..3000).map(|i| (i * 13) as u8).collect();
        let mut sealed = plain.clone();
        let tag = b.seal(&nonce, &mut sealed);
        assert!(b.verify(&nonce, &sealed, &tag));
        let mut bad = sealed.clone();
        bad[2999] ^= 1;
        assert!(!b.verify(&nonce, &bad, &tag));
        for (from, len) in [
            (0, 3000),
            (0, 1),
            (0, 32),
            (5, 27),
            (31, 2),
            (32, 64),
            (33, 1000),
            (95, 1),
            (96, 2904),
            (2999, 1),
            (1500, 0),
        ] {
            let mut out = vec![std::mem::MaybeUninit::new(0u8); len];
            b.decipher_to(&nonce, from, &sealed[from..from + len], &mut out);
            // SAFETY: every byte was initialized above (and written by `decipher_to`).
            let got: Vec<u8> = out.iter().map(|x| unsafe { x.assume_init() }).collect();
            assert_eq!(got, &plain[from..from + len], "from {from}, length {len}");
        }
    }
}
