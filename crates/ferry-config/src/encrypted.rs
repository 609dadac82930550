//! rclone's encrypted config files (`rclone config encryption set`), read and written as
//! rclone does, so an encrypted `rclone.conf` works unchanged.
//!
//! The file is `# Encrypted rclone configuration File`, a blank line, `RCLONE_ENCRYPT_V0:`
//! and base64 of a 24-byte nonce followed by a NaCl secretbox (XSalsa20-Poly1305: a
//! 16-byte tag, then the ciphertext) of the plain config. The key is the SHA-256 of
//! `[PASSWORD][rclone-config]`, the password NFKC-normalised.

use base64::Engine as _;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Nonce, Tag, XSalsa20Poly1305};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// The first line rclone writes.
pub const HEADER: &str = "# Encrypted rclone configuration File";
/// The line before the payload, with the only version there is.
const MARKER_V0: &str = "RCLONE_ENCRYPT_V0:";
/// Any version's marker.
const MARKER: &str = "RCLONE_ENCRYPT_V";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why an encrypted config could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// A marker other than V0 (written by a newer rclone).
    Version,
    /// The payload is not base64, or too short to hold a nonce and a tag.
    Damaged(String),
    /// The key opened nothing: most likely the wrong password.
    WrongPassword,
}

/// Whether `text` is an encrypted config: its first line that is neither blank nor a
/// comment is a `RCLONE_ENCRYPT_V…` marker.
pub fn is_encrypted(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !(l.is_empty() || l.starts_with('#') || l.starts_with(';')))
        .is_some_and(|l| l.starts_with(MARKER))
}

/// The key rclone derives from a password.
fn key(password: &str) -> [u8; 32] {
    let normal: String = password.nfkc().collect();
    Sha256::digest(format!("[{normal}][rclone-config]").as_bytes()).into()
}

/// The plain config inside `text` (an encrypted config), opened with `password`.
pub fn decrypt(text: &str, password: &str) -> Result<String, Unreadable> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty() || l.starts_with('#') || l.starts_with(';'));
    match lines.next() {
        Some(MARKER_V0) => {}
        _ => return Err(Unreadable::Version),
    }
    let payload: String = lines.collect();
    let mut data = base64::engine::general_purpose::STANDARD
        .decode(payload.as_bytes())
        .map_err(|e| Unreadable::Damaged(format!("failed to load base64 encoded data: {e}")))?;
    if data.len() < NONCE_LEN + TAG_LEN {
        return Err(Unreadable::Damaged("configuration data too short".into()));
    }
    let mut plain = data.split_off(NONCE_LEN + TAG_LEN);
    let nonce = Nonce::clone_from_slice(&data[..NONCE_LEN]);
    let tag = Tag::clone_from_slice(&data[NONCE_LEN..]);
    XSalsa20Poly1305::new(&key(password).into())
        .decrypt_in_place_detached(&nonce, b"", &mut plain, &tag)
        .map_err(|_| Unreadable::WrongPassword)?;
    String::from_utf8(plain).map_err(|_| Unreadable::Damaged("not UTF-8 text inside".into()))
}

/// `plain` encrypted with `password` under a fresh nonce, as rclone writes the file.
pub fn encrypt(plain: &str, password: &str) -> std::io::Result<String> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut data = plain.as_bytes().to_vec();
    let tag = XSalsa20Poly1305::new(&key(password).into())
        .encrypt_in_place_detached(&Nonce::from(nonce), b"", &mut data)
        .map_err(|_| std::io::Error::other("encryption failed"))?;
    let mut boxed = nonce.to_vec();
    boxed.extend_from_slice(&tag);
    boxed.extend_from_slice(&data);
    let payload = base64::engine::general_purpose::STANDARD.encode(boxed);
    // rclone ends the file with the payload, no newline.
    Ok(format!("{HEADER}\n\n{MARKER_V0}\n{payload}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encrypted_opens_with_its_password_only() {
        let plain = "[remote]\ntype = local\n";
        let text = encrypt(plain, "pässword").unwrap();
        assert!(is_encrypted(&text));
        assert!(text.starts_with("# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\n"));
        assert_eq!(decrypt(&text, "pässword").unwrap(), plain);
        // NFKC: the composed and decomposed spellings are one password.
        assert_eq!(decrypt(&text, "pa\u{308}ssword").unwrap(), plain);
        assert_eq!(decrypt(&text, "wrong"), Err(Unreadable::WrongPassword));
    }

    #[test]
    fn rclones_own_file_opens() {
        // Written by `rclone config encryption set` (rclone 1.75), password "secretpw".
        let text = "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\n\
            rct5njcUgNeDzIdg2XPEc1t/G8wJHHEUm2NNlQyJUhoFmzeDf8KPBIxWsFPz1L+6G1TwfgI/xKzrn0Ny";
        assert!(is_encrypted(text));
        assert_eq!(
            decrypt(text, "secretpw").unwrap(),
            "[loc]\ntype = local\n\n"
        );
    }

    #[test]
    fn plain_configs_and_other_versions_are_told_apart() {
        assert!(!is_encrypted("# comment\n[a]\ntype = local\n"));
        assert!(is_encrypted("\n; note\nRCLONE_ENCRYPT_V1:\nxx\n"));
        assert_eq!(
            decrypt("RCLONE_ENCRYPT_V1:\nxx", "p"),
            Err(Unreadable::Version)
        );
        assert!(matches!(
            decrypt("RCLONE_ENCRYPT_V0:\nAAAA", "p"),
            Err(Unreadable::Damaged(_))
        ));
    }
}
