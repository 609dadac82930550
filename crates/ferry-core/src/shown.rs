//! Names as ferry prints them for people: in log lines, listings and prompts.
//!
//! ferry's names are rclone's standard names ([`crate::encoding`]): a control character
//! in a file name is already its visible look-alike from Unicode's Control Pictures
//! block (`\n` → `␊`, tab → `␉`, DEL → `␡`), and a look-alike that was really in the
//! name is already marked with rclone's quote character `‛`. So a name prints as it is,
//! byte for byte as rclone prints it.
//!
//! Other text that reaches a log line (an error from a server, a path the user typed)
//! may still hold a raw control character, which could forge a log line
//! (`x\n2026/12/04 12:00:00 ERROR : forged`), overwrite one (`\r`) or drive the
//! terminal (ESC sequences): [`name`] replaces each by its look-alike as well.

use std::borrow::Cow;

/// The look-alike shown for control character `c`, if it is one.
fn picture(c: char) -> Option<char> {
    match c {
        '\0'..='\x1f' => char::from_u32(0x2400 + c as u32),
        '\x7f' => Some('\u{2421}'),
        _ => None,
    }
}

/// `text` safe to print on one line: raw control characters as their look-alikes.
pub fn name(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| picture(c).is_some()) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| picture(c).unwrap_or(c)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_look_alikes_as_in_rclone() {
        assert_eq!(name("plain/ok.txt"), "plain/ok.txt");
        assert!(matches!(name("plain"), Cow::Borrowed(_)));
        assert_eq!(name("nl\nx"), "nl\u{240a}x");
        assert_eq!(name("cr\rx"), "cr\u{240d}x");
        assert_eq!(name("tab\tx"), "tab\u{2409}x");
        assert_eq!(name("esc\x1b[31mx"), "esc\u{241b}[31mx");
        assert_eq!(name("del\x7fx"), "del\u{2421}x");
        assert_eq!(name("nul\0"), "nul\u{2400}");
        // ferry's names are rclone's standard names already: printed unchanged.
        assert_eq!(name("tab\u{2409}x"), "tab\u{2409}x");
        assert_eq!(name("\u{201b}\u{2409}pic"), "\u{201b}\u{2409}pic");
        // Other characters (C1 controls included, as rclone) pass.
        assert_eq!(name("c1\u{9b}x ünï"), "c1\u{9b}x ünï");
    }
}
