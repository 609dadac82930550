//! How a crypt remote writes names: each path segment encrypted (EME over AES-256, PKCS#7
//! padded, then base32hex lower case without padding, base64 URL-safe, or base32768),
//! obfuscated (a keyed rotation), or left plain with a suffix on file names. Directory
//! segments are left plain when `directory_name_encryption` is off.

use data_encoding::{Encoding, Specification};

use crate::eme::{Direction, Eme, MAX_BLOCKS};
use crate::keys::Keys;
use crate::version;

/// `filename_encryption`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Standard,
    Obfuscate,
    Off,
}

/// `filename_encoding`: how encrypted bytes become a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameEncoding {
    Base32,
    Base64,
    Base32768,
}

/// Why a name is not one this remote wrote (rclone's wording, so logs read the same).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadName(pub &'static str);

impl std::fmt::Display for BadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Names of one crypt remote, both ways.
#[derive(Clone)]
pub struct NameCipher {
    mode: Mode,
    encoding: NameEncoding,
    dir_names: bool,
    suffix: String,
    eme: Eme,
    name_key: [u8; 32],
}

/// Lenient decoders, as Go's: trailing bits of the last character are not checked.
fn lenient(symbols: &str, pad: Option<char>) -> Encoding {
    let mut spec = Specification::new();
    spec.symbols.push_str(symbols);
    spec.padding = pad;
    spec.check_trailing_bits = false;
    spec.encoding().expect("valid specification")
}

fn base32hex() -> &'static Encoding {
    static E: std::sync::OnceLock<Encoding> = std::sync::OnceLock::new();
    E.get_or_init(|| lenient("0123456789ABCDEFGHIJKLMNOPQRSTUV", None))
}

fn base64url() -> &'static Encoding {
    static E: std::sync::OnceLock<Encoding> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        lenient(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            None,
        )
    })
}

impl NameEncoding {
    fn encode(self, data: &[u8]) -> String {
        match self {
            NameEncoding::Base32 => base32hex().encode(data).to_ascii_lowercase(),
            NameEncoding::Base64 => base64url().encode(data),
            NameEncoding::Base32768 => crate::base32768::encode(data),
        }
    }

    fn decode(self, text: &str) -> Result<Vec<u8>, BadName> {
        match self {
            NameEncoding::Base32 => {
                if text.ends_with('=') {
                    return Err(BadName("bad base32 filename encoding"));
                }
                base32hex()
                    .decode(text.to_ascii_uppercase().as_bytes())
                    .map_err(|_| BadName("illegal base32 data"))
            }
            NameEncoding::Base64 => base64url()
                .decode(text.as_bytes())
                .map_err(|_| BadName("illegal base64 data")),
            NameEncoding::Base32768 => {
                crate::base32768::decode(text).map_err(|_| BadName("illegal base32768 data"))
            }
        }
    }
}

const QUOTE: char = '!';

impl NameCipher {
    pub fn new(
        keys: &Keys,
        mode: Mode,
        encoding: NameEncoding,
        dir_names: bool,
        suffix: &str,
    ) -> NameCipher {
        NameCipher {
            mode,
            encoding,
            dir_names,
            suffix: suffix.to_owned(),
            eme: Eme::new(&keys.name, keys.tweak),
            name_key: keys.name,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The stored form of a file's path (relative, `/`-separated).
    pub fn encrypt_file(&self, path: &str) -> String {
        if self.mode == Mode::Off {
            return format!("{path}{}", self.suffix);
        }
        self.encrypt_path(path)
    }

    /// The stored form of a directory's path.
    pub fn encrypt_dir(&self, path: &str) -> String {
        if self.mode == Mode::Off || !self.dir_names {
            return path.to_owned();
        }
        self.encrypt_path(path)
    }

    /// A file's path from its stored form.
    pub fn decrypt_file(&self, path: &str) -> Result<String, BadName> {
        if self.mode == Mode::Off {
            let Some(plain) = path
                .strip_suffix(self.suffix.as_str())
                .filter(|p| !p.is_empty())
            else {
                return Err(BadName("not an encrypted file - does not match suffix"));
            };
            if version::split(plain).is_some_and(|(bare, _)| bare.is_empty()) {
                return Err(BadName("not an encrypted file - does not match suffix"));
            }
            return Ok(plain.to_owned());
        }
        self.decrypt_path(path)
    }

    /// A directory's path from its stored form.
    pub fn decrypt_dir(&self, path: &str) -> Result<String, BadName> {
        if self.mode == Mode::Off || !self.dir_names {
            return Ok(path.to_owned());
        }
        self.decrypt_path(path)
    }

    fn encrypt_path(&self, path: &str) -> String {
        let segments: Vec<&str> = path.split('/').collect();
        let last = segments.len() - 1;
        let out: Vec<String> = segments
            .iter()
            .enumerate()
            .map(|(i, seg)| {
                if i != last && !self.dir_names {
                    return (*seg).to_owned();
                }
                // A version stamp (`-v2006-01-02-150405-000`) stays readable on the last
                // segment, as rclone keeps it for `--b2-versions` style names.
                if i == last {
                    if let Some((bare, stamp)) = version::split(seg) {
                        return version::join(&self.encrypt_segment(&bare), &stamp);
                    }
                }
                self.encrypt_segment(seg)
            })
            .collect();
        out.join("/")
    }

    fn decrypt_path(&self, path: &str) -> Result<String, BadName> {
        let segments: Vec<&str> = path.split('/').collect();
        let last = segments.len() - 1;
        let mut out = Vec::with_capacity(segments.len());
        for (i, seg) in segments.iter().enumerate() {
            if i != last && !self.dir_names {
                out.push((*seg).to_owned());
                continue;
            }
            if i == last {
                if let Some((bare, stamp)) = version::split(seg) {
                    out.push(version::join(&self.decrypt_segment(&bare)?, &stamp));
                    continue;
                }
            }
            out.push(self.decrypt_segment(seg)?);
        }
        Ok(out.join("/"))
    }

    /// One segment (a name) encrypted or obfuscated.
    pub fn encrypt_segment(&self, plain: &str) -> String {
        if plain.is_empty() {
            return String::new();
        }
        match self.mode {
            Mode::Obfuscate => self.obfuscate(plain),
            _ => {
                let padded = pkcs7_pad(plain.as_bytes());
                let blocks = padded.len() / 16;
                if blocks > MAX_BLOCKS {
                    // rclone can't encrypt such a name either; no store keeps names
                    // this long, so the store's own refusal follows.
                    return self.encoding.encode(&padded);
                }
                self.encoding
                    .encode(&self.eme.transform(&padded, Direction::Encrypt))
            }
        }
    }

    /// One segment decrypted or de-obfuscated.
    pub fn decrypt_segment(&self, stored: &str) -> Result<String, BadName> {
        if stored.is_empty() {
            return Ok(String::new());
        }
        if self.mode == Mode::Obfuscate {
            return self.deobfuscate(stored);
        }
        let raw = self.encoding.decode(stored)?;
        if raw.len() % 16 != 0 {
            return Err(BadName("not a multiple of blocksize"));
        }
        if raw.is_empty() {
            return Err(BadName("too short after base32 decode"));
        }
        if raw.len() > 2048 {
            return Err(BadName("too long after base32 decode"));
        }
        let padded = self.eme.transform(&raw, Direction::Decrypt);
        let plain = pkcs7_unpad(&padded).ok_or(BadName("bad padding"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| BadName("bad decryption - utf-8 invalid"))
    }

    fn key_sum(&self) -> i64 {
        self.name_key.iter().map(|&b| i64::from(b)).sum()
    }

    /// rclone's "obfuscate": every letter, digit and Latin-1 or wider character rotated
    /// by an amount from the name and the key, the name's own part written in front.
    fn obfuscate(&self, plain: &str) -> String {
        let own: i64 = plain.chars().map(|c| i64::from(u32::from(c))).sum::<i64>() % 256;
        let mut out = format!("{own}.");
        let dir = own + self.key_sum();
        for c in plain.chars() {
            let r = i64::from(u32::from(c));
            match c {
                QUOTE => {
                    out.push(QUOTE);
                    out.push(QUOTE);
                }
                '0'..='9' => out.push(from_code('0' as i64 + (r - '0' as i64 + dir % 9 + 1) % 10)),
                'A'..='Z' | 'a'..='z' => {
                    let mut pos = r - 'A' as i64;
                    if pos >= 26 {
                        pos -= 6;
                    }
                    pos = (pos + dir % 25 + 1) % 52;
                    if pos >= 26 {
                        pos += 6;
                    }
                    out.push(from_code('A' as i64 + pos));
                }
                '\u{A0}'..='\u{FF}' => out.push(from_code(0xA0 + (r - 0xA0 + dir % 95 + 1) % 96)),
                _ if r >= 0x100 => {
                    let base = r - r % 256;
                    let rotated = base + (r - base + dir % 127 + 1) % 256;
                    match char::from_u32(rotated as u32) {
                        Some(ch) => out.push(ch),
                        None => {
                            out.push(QUOTE);
                            out.push(c);
                        }
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn deobfuscate(&self, stored: &str) -> Result<String, BadName> {
        let not_ours = BadName("not an encrypted file - does not match suffix");
        let (num, rest) = stored.split_once('.').ok_or(not_ours.clone())?;
        if num == "!" {
            return Ok(rest.to_owned());
        }
        let own = parse_go_int(num).ok_or(not_ours)?;
        let dir = own + self.key_sum();
        let mut out = String::with_capacity(rest.len());
        let mut quoted = false;
        for c in rest.chars() {
            let r = i64::from(u32::from(c));
            if quoted {
                out.push(c);
                quoted = false;
                continue;
            }
            match c {
                QUOTE => quoted = true,
                '0'..='9' => {
                    let mut n = r - (dir % 9 + 1);
                    if n < '0' as i64 {
                        n += 10;
                    }
                    out.push(from_code(n));
                }
                'A'..='Z' | 'a'..='z' => {
                    let mut pos = r - 'A' as i64;
                    if pos >= 26 {
                        pos -= 6;
                    }
                    pos -= dir % 25 + 1;
                    if pos < 0 {
                        pos += 52;
                    }
                    if pos >= 26 {
                        pos += 6;
                    }
                    out.push(from_code('A' as i64 + pos));
                }
                '\u{A0}'..='\u{FF}' => {
                    let mut n = r - (dir % 95 + 1);
                    if n < 0xA0 {
                        n += 96;
                    }
                    out.push(from_code(n));
                }
                _ if r >= 0x100 => {
                    let base = r - r % 256;
                    let mut n = r - (dir % 127 + 1);
                    if n < base {
                        n += 256;
                    }
                    out.push(from_code(n));
                }
                _ => out.push(c),
            }
        }
        Ok(out)
    }
}

/// A code point computed by the rotations; one that is not a character (a surrogate,
/// reached only by de-obfuscating a name rclone didn't write) becomes U+FFFD, as Go's
/// string building does.
fn from_code(n: i64) -> char {
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn pkcs7_pad(data: &[u8]) -> Vec<u8> {
    let pad = 16 - data.len() % 16;
    let mut out = Vec::with_capacity(data.len() + pad);
    out.extend_from_slice(data);
    out.resize(data.len() + pad, pad as u8);
    out
}

fn pkcs7_unpad(data: &[u8]) -> Option<&[u8]> {
    let &pad = data.last()?;
    let pad = usize::from(pad);
    if pad == 0 || pad > 16 || pad > data.len() {
        return None;
    }
    let (body, tail) = data.split_at(data.len() - pad);
    tail.iter().all(|&b| usize::from(b) == pad).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(mode: Mode, encoding: NameEncoding) -> NameCipher {
        let keys = Keys::derive("", "").unwrap();
        NameCipher::new(&keys, mode, encoding, true, ".bin")
    }

    #[test]
    fn every_mode_and_encoding_round_trips() {
        let names = [
            "a",
            "hello world.txt",
            "ünïcødé/日本語/x",
            "!quote!",
            "0123456789",
            "a/b/c",
        ];
        for mode in [Mode::Standard, Mode::Obfuscate, Mode::Off] {
            for enc in [
                NameEncoding::Base32,
                NameEncoding::Base64,
                NameEncoding::Base32768,
            ] {
                let c = cipher(mode, enc);
                for n in names {
                    let stored = c.encrypt_file(n);
                    assert_eq!(c.decrypt_file(&stored).unwrap(), n, "{mode:?} {enc:?} {n}");
                    assert_eq!(c.decrypt_dir(&c.encrypt_dir(n)).unwrap(), n);
                }
            }
        }
    }

    #[test]
    fn padding_is_checked() {
        assert_eq!(pkcs7_unpad(&[1u8; 16]).unwrap().len(), 15);
        assert!(pkcs7_unpad(&[0u8; 16]).is_none());
        let mut bad = [3u8; 16];
        bad[14] = 2;
        assert!(pkcs7_unpad(&bad).is_none());
    }

    #[test]
    fn off_needs_the_suffix() {
        let c = cipher(Mode::Off, NameEncoding::Base32);
        assert_eq!(c.encrypt_file("a/b"), "a/b.bin");
        assert!(c.decrypt_file("a/b").is_err());
        assert!(c.decrypt_file(".bin").is_err());
    }
}
