//! Names of files being written: hidden, beside their target, and recognisable as
//! ferry's own. The name carries a random tag and a check of it keyed on the target's
//! name (`.NAME.ferry-RRRRRRRRCCCCCCCC.partial`), so a user's file that merely looks
//! alike (`.notes.ferry-deadbeef.partial`) is never taken for a leftover: only names
//! whose check matches are hidden from listings or cleaned up.

use std::sync::OnceLock;

const MARK: &str = ".ferry-";
/// rclone's default `--partial-suffix`.
const SUFFIX: &str = ".partial";
/// rclone's limit on `--partial-suffix`.
const MAX_SUFFIX: usize = 16;
/// `--partial-suffix`, set once before any file is written.
static CHOSEN: OnceLock<String> = OnceLock::new();
/// Keeps temporary names within the usual 255-byte limit.
const MAX_STEM: usize = 200;
/// Hex digits of the random tag and of its check.
const TAG: usize = 8;

/// Sets the suffix of temporary names (`--partial-suffix`) for the whole process: at most
/// [`MAX_SUFFIX`] bytes, and no `/` or NUL, so the name stays one name in the target's
/// directory. Names with the default suffix are still recognised as ferry's.
pub fn set_suffix(suffix: &str) -> Result<(), String> {
    if suffix.len() > MAX_SUFFIX {
        return Err(format!(
            "--partial-suffix: Expecting suffix length not greater than {MAX_SUFFIX} but got {}",
            suffix.len()
        ));
    }
    if suffix.contains(['/', '\\', '\0']) {
        return Err(format!(
            "--partial-suffix {suffix:?}: a suffix can't hold a slash or a NUL (it would name another directory)"
        ));
    }
    let _ = CHOSEN.set(suffix.to_owned());
    Ok(())
}

fn suffix() -> &'static str {
    CHOSEN.get().map_or(SUFFIX, String::as_str)
}

/// A fresh temporary name for a file about to be written as `name`.
pub fn temp_name(name: &str) -> String {
    let mut cut = name.len().min(MAX_STEM);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = &name[..cut];
    let tag = crate::random::bits() as u32;
    format!(".{stem}{MARK}{tag:08x}{:08x}{}", check(stem, tag), suffix())
}

/// Whether `name` is a temporary name ferry made (its check matches).
pub fn is_temp_name(name: &str) -> bool {
    parse(name).is_some_and(|(stem, tag, sum)| check(stem, tag) == sum)
}

fn parse(name: &str) -> Option<(&str, u32, u32)> {
    let body = name.strip_prefix('.')?;
    let body = body
        .strip_suffix(suffix())
        .or_else(|| body.strip_suffix(SUFFIX))?;
    let split = body.len().checked_sub(2 * TAG)?;
    let (head, hex) = (body.get(..split)?, body.get(split..)?);
    let stem = head.strip_suffix(MARK)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tag = u32::from_str_radix(&hex[..TAG], 16).ok()?;
    let sum = u32::from_str_radix(&hex[TAG..], 16).ok()?;
    Some((stem, tag, sum))
}

/// A CRC-32 over a fixed key, the stem and the tag: not a secret, only a mark that no
/// name gets by chance (one in four billion).
fn check(stem: &str, tag: u32) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(b"ferry temporary file\0");
    h.update(stem.as_bytes());
    h.update(&tag.to_le_bytes());
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ferrys_own_names_are_recognised_lookalikes_are_not() {
        let t = temp_name("report.pdf");
        assert!(
            t.starts_with(".report.pdf.ferry-") && t.ends_with(".partial"),
            "{t}"
        );
        assert!(is_temp_name(&t), "{t}");
        assert!(!is_temp_name("report.pdf"));
        assert!(!is_temp_name(".notes.ferry-deadbeef.partial"));
        assert!(!is_temp_name(".notes.ferry-deadbeef00000000.partial"));
        assert!(!is_temp_name(".hidden.partial"));
        // Renaming a leftover to another stem breaks its check.
        let moved = t.replacen("report", "other!", 1);
        assert!(!is_temp_name(&moved), "{moved}");
        let long = "é".repeat(200);
        let t = temp_name(&long);
        assert!(t.len() < 255 && is_temp_name(&t));
        assert_ne!(temp_name("a"), temp_name("a"));
    }

    #[test]
    fn a_suffix_too_long_or_leaving_the_directory_is_refused() {
        let e = set_suffix(".12345678901234567").unwrap_err();
        assert!(e.contains("not greater than 16 but got 18"), "{e}");
        for bad in ["/x", "..\\x", "a\0b"] {
            assert!(set_suffix(bad).unwrap_err().contains("slash"), "{bad}");
        }
        assert!(CHOSEN.get().is_none(), "a refused suffix is not kept");
    }
}
