//! Mapping between the bytes of local file names and ferry's UTF-8 names.
//!
//! Names that are not valid UTF-8 are carried as rclone carries them: each invalid
//! byte becomes the quote character `‛` followed by its two hex digits, so
//! `gro\xdf` is listed as `gro‛DF` and written back as the same bytes.

use std::ffi::{OsStr, OsString};

const QUOTE: char = '‛';

/// Converts an on-disk name to ferry's name; `None` when it was valid UTF-8 already.
pub fn encode(name: &OsStr) -> Result<String, String> {
    if let Some(s) = name.to_str() {
        return Ok(s.to_owned());
    }
    Err(encode_bytes(os_bytes(name)))
}

fn encode_bytes(mut bytes: &[u8]) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                for b in &rest[..bad] {
                    out.push(QUOTE);
                    out.push_str(&format!("{b:02X}"));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

/// Converts ferry's name back to on-disk bytes, undoing [`encode`].
pub fn decode(name: &str) -> OsString {
    if !name.contains(QUOTE) {
        return OsString::from(name);
    }
    let mut out = Vec::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find(QUOTE) {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let after = &rest[i + QUOTE.len_utf8()..];
        match after.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b)
                if b >= 0x80
                    && after.as_bytes()[..2]
                        .iter()
                        .all(|c| !c.is_ascii_lowercase()) =>
            {
                out.push(b);
                rest = &after[2..];
            }
            _ => {
                out.extend_from_slice(QUOTE.to_string().as_bytes());
                rest = after;
            }
        }
    }
    out.extend_from_slice(rest.as_bytes());
    bytes_os(out)
}

#[cfg(unix)]
fn os_bytes(name: &OsStr) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes()
}

#[cfg(unix)]
fn bytes_os(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn os_bytes(name: &OsStr) -> &[u8] {
    name.as_encoded_bytes()
}

#[cfg(not(unix))]
fn bytes_os(bytes: Vec<u8>) -> OsString {
    OsString::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn invalid_bytes_round_trip() {
        let raw = OsStr::from_bytes(b"gro\xdf");
        let enc = encode(raw).unwrap_err();
        assert_eq!(enc, "gro‛DF");
        assert_eq!(decode(&enc), raw);
    }

    #[test]
    fn valid_names_pass_through() {
        assert_eq!(encode(OsStr::new("plain ü")).unwrap(), "plain ü");
        assert_eq!(decode("plain ü"), OsStr::new("plain ü"));
        // A literal quote character not followed by a high byte stays as it is.
        assert_eq!(decode("a‛zz"), OsStr::new("a‛zz"));
    }
}
