//! Names as ferry prints them for people: in log lines, listings and prompts.
//!
//! A name may hold any character, and a control character printed raw can forge a log
//! line (`x\n2026/12/04 12:00:00 ERROR : forged`), overwrite one (`\r`) or drive the
//! terminal (ESC sequences). As rclone shows such names, each control character is
//! replaced by its visible look-alike from Unicode's Control Pictures block (`\n` →
//! `␊`, tab → `␉`, ESC → `␛`, DEL → `␡`), and a look-alike that was in the name
//! already is marked with rclone's quote character `‛`, so the two stay apart.
//!
//! Machine formats (`lsjson`, `--use-json-log` fields, `--json` reports) keep the real
//! names: their own escaping is exact.

use std::borrow::Cow;

/// rclone's quote character, put before a look-alike that is really in the name.
const QUOTE: char = '‛';

/// The look-alike shown for control character `c`, if it is one.
fn picture(c: char) -> Option<char> {
    match c {
        '\0'..='\x1f' => char::from_u32(0x2400 + c as u32),
        '\x7f' => Some('\u{2421}'),
        _ => None,
    }
}

/// True for the look-alikes [`picture`] produces.
fn is_picture(c: char) -> bool {
    matches!(c, '\u{2400}'..='\u{241f}' | '\u{2421}')
}

/// `text` safe to print on one line: control characters as their look-alikes.
pub fn name(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| picture(c).is_some() || is_picture(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if let Some(p) = picture(c) {
            out.push(p);
        } else {
            if is_picture(c) {
                out.push(QUOTE);
            }
            out.push(c);
        }
    }
    Cow::Owned(out)
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
        // A look-alike already in the name is quoted, as rclone quotes it.
        assert_eq!(name("plain\u{240a}x"), "plain\u{201b}\u{240a}x");
        // Other characters (C1 controls included, as rclone) pass.
        assert_eq!(name("c1\u{9b}x ünï"), "c1\u{9b}x ünï");
    }
}
