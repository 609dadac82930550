//! rclone-compatible "obscure": AES-256-CTR under rclone's published fixed
//! key, a random 16-byte IV in front, URL-safe base64 without padding.
//!
//! This is obfuscation, not encryption: anyone with rclone (or ferry) can
//! reveal the value. It only keeps passwords from being read at a glance.

use aes::Aes256;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use ctr::cipher::{KeyIvInit, StreamCipher};

/// What can go wrong obscuring or revealing a value. No variant carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObscureError {
    /// The value given to `reveal` is not URL-safe base64.
    #[error("base64 decode failed when revealing password - is it obscured? (bad character or length at byte {offset})")]
    Base64 {
        /// Byte offset of the first problem, as reported by the decoder.
        offset: usize,
    },
    /// The value given to `reveal` decodes to fewer than 16 bytes.
    #[error("input too short when revealing password - is it obscured? (an obscured value is at least 22 characters)")]
    TooShort,
    /// The revealed bytes are not UTF-8.
    #[error(
        "revealed value is not valid UTF-8 - is it obscured? (use reveal_bytes for binary secrets)"
    )]
    NotUtf8,
    /// The system random number generator failed.
    #[error("can't obscure: the system random number generator failed: {reason}")]
    Random {
        /// What the generator reported.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, ObscureError>;

/// AES block size, and the length of the IV that prefixes every value.
const IV_LEN: usize = 16;

/// rclone's fixed obscure key (public: it is in rclone's source and docs).
const KEY: [u8; 32] = [
    0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
    0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
];

/// The counter is the whole IV taken as one big-endian 128-bit number, as
/// in Go's `cipher.NewCTR`.
type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Unpadded URL-safe base64 that, like Go's non-strict decoder, accepts
/// non-zero trailing bits.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

fn apply(iv: &[u8; IV_LEN], buf: &mut [u8]) {
    let mut cipher = Aes256Ctr::new(&KEY.into(), iv.into());
    cipher.apply_keystream(buf);
}

/// Obscure `plain` with a fresh random IV.
pub fn obscure(plain: &str) -> Result<String> {
    obscure_bytes(plain.as_bytes())
}

/// Obscure arbitrary bytes with a fresh random IV.
pub fn obscure_bytes(plain: &[u8]) -> Result<String> {
    let mut iv = [0u8; IV_LEN];
    getrandom::fill(&mut iv).map_err(|e| ObscureError::Random {
        reason: e.to_string(),
    })?;
    Ok(obscure_with_iv(plain, &iv))
}

/// Obscure with a given IV. Deterministic: for tests and test vectors only;
/// real use must call [`obscure`] so that every value gets a fresh IV.
pub fn obscure_with_iv(plain: &[u8], iv: &[u8; IV_LEN]) -> String {
    let mut out = Vec::with_capacity(IV_LEN + plain.len());
    out.extend_from_slice(iv);
    out.extend_from_slice(plain);
    apply(iv, &mut out[IV_LEN..]);
    B64.encode(out)
}

/// Reveal a value made by `rclone obscure` or [`obscure`].
///
/// Fails on bad base64, on input shorter than one IV, and on a result that
/// is not UTF-8 (see [`reveal_bytes`] for binary secrets).
pub fn reveal(obscured: &str) -> Result<String> {
    String::from_utf8(reveal_bytes(obscured)?).map_err(|_| ObscureError::NotUtf8)
}

/// Reveal to raw bytes.
pub fn reveal_bytes(obscured: &str) -> Result<Vec<u8>> {
    let mut data = B64.decode(obscured).map_err(|e| ObscureError::Base64 {
        offset: match e {
            base64::DecodeError::InvalidByte(o, _) => o,
            base64::DecodeError::InvalidLastSymbol(o, _) => o,
            base64::DecodeError::InvalidLength(o) => o,
            base64::DecodeError::InvalidPadding => obscured.find('=').unwrap_or(obscured.len()),
        },
    })?;
    if data.len() < IV_LEN {
        return Err(ObscureError::TooShort);
    }
    let mut iv = [0u8; IV_LEN];
    iv.copy_from_slice(&data[..IV_LEN]);
    apply(&iv, &mut data[IV_LEN..]);
    Ok(data.split_off(IV_LEN))
}

/// True if `value` reveals successfully, i.e. it already looks obscured.
///
/// `config create` uses this (as rclone does) to avoid obscuring twice.
pub fn looks_obscured(value: &str) -> bool {
    reveal(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fresh_iv() {
        for s in ["", "a", "password", "pässwörd 🔑", &"x".repeat(1000)] {
            let a = obscure(s).unwrap();
            let b = obscure(s).unwrap();
            assert_ne!(a, b, "each obscure must use a new IV");
            assert_eq!(reveal(&a).unwrap(), s);
            assert_eq!(reveal(&b).unwrap(), s);
            assert!(!a.contains('=') && !a.contains('+') && !a.contains('/'));
        }
    }

    #[test]
    fn known_iv_is_deterministic() {
        let iv = [7u8; 16];
        let a = obscure_with_iv(b"secret", &iv);
        assert_eq!(a, obscure_with_iv(b"secret", &iv));
        assert_eq!(reveal(&a).unwrap(), "secret");
    }

    #[test]
    fn counter_carries_across_the_whole_iv() {
        // An IV of all 0xff makes the big-endian counter wrap on the second
        // block; a 64-bit counter would differ here.
        let iv = [0xffu8; 16];
        let plain = vec![0u8; 48];
        let o = obscure_with_iv(&plain, &iv);
        assert_eq!(reveal_bytes(&o).unwrap(), plain);
    }

    #[test]
    fn reveal_errors() {
        let e = reveal("!!!").unwrap_err();
        assert_eq!(
            e.to_string(),
            "base64 decode failed when revealing password - is it obscured? (bad character or length at byte 0)"
        );
        let e = reveal("abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "input too short when revealing password - is it obscured? (an obscured value is at least 22 characters)"
        );
        assert!(matches!(
            reveal("abc="),
            Err(ObscureError::Base64 { offset: 3 })
        ));
        // Standard-alphabet characters are not URL-safe base64.
        assert!(matches!(
            reveal("ab+/ab+/ab+/ab+/ab+/ab+/"),
            Err(ObscureError::Base64 { .. })
        ));
        // Decodes fine but to bytes that are not UTF-8.
        let o = obscure_with_iv(&[0xff, 0xfe], &[1u8; 16]);
        assert!(matches!(reveal(&o), Err(ObscureError::NotUtf8)));
        assert_eq!(reveal_bytes(&o).unwrap(), vec![0xff, 0xfe]);
        assert!(!looks_obscured("hunter2"));
        assert!(looks_obscured(&obscure("hunter2").unwrap()));
    }
}
