//! What each rule does to one path segment, as rclone's `transformPathSegment` does it.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use unicode_normalization::UnicodeNormalization;

use crate::spec::Op;

/// `s` after `op`.
pub(crate) fn apply(op: &Op, s: &str) -> Result<String, String> {
    Ok(match op {
        Op::None => s.to_owned(),
        Op::Nfc => s.nfc().collect(),
        Op::Nfd => s.nfd().collect(),
        Op::Nfkc => s.nfkc().collect(),
        Op::Nfkd => s.nfkd().collect(),
        Op::Replace { old, new } => replace_all(s, old, new),
        Op::Prefix(p) => format!("{p}{s}"),
        Op::Suffix(x) => format!("{s}{x}"),
        Op::SuffixKeepExtension(x) => {
            let (base, exts) = ferry_core::mime::split_extension(s);
            format!("{base}{x}{exts}")
        }
        Op::TrimPrefix(p) => s.strip_prefix(p.as_str()).unwrap_or(s).to_owned(),
        Op::TrimSuffix(x) => s.strip_suffix(x.as_str()).unwrap_or(s).to_owned(),
        Op::Truncate {
            max,
            bytes: false,
            keep_extension,
        } => truncate_chars(s, *max, *keep_extension)?,
        Op::Truncate {
            max,
            bytes: true,
            keep_extension,
        } => truncate_bytes(s, *max, *keep_extension)?,
        Op::Base64Encode => URL_SAFE.encode(s),
        Op::Base64Decode => base64_decode(s)?,
        Op::Encode(e) => e.encode(s).into_owned(),
        Op::Decode(e) => e.decode(s).into_owned(),
        Op::Charmap(map) => map.apply(s),
        Op::Lowercase => s.chars().map(simple_lower).collect(),
        Op::Uppercase => s.chars().map(simple_upper).collect(),
        Op::Titlecase => s.chars().map(simple_title).collect(),
        Op::Ascii => s.chars().filter(char::is_ascii).collect(),
        Op::Url => query_escape(s),
        Op::Regex { re, replacement } => re.replace_all(s, replacement.as_str()).into_owned(),
        Op::Command(program) => run_command(program, s)?,
    })
}

/// A segment may not become blank, nor hold a `/` (it would make two).
pub(crate) fn validate(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("transform cannot render path segments empty".into());
    }
    if s.contains('/') {
        return Err(format!("transform cannot add path separators: {s}"));
    }
    Ok(())
}

/// Go's `strings.ReplaceAll`: an empty `old` inserts `new` around every character.
fn replace_all(s: &str, old: &str, new: &str) -> String {
    if !old.is_empty() {
        return s.replace(old, new);
    }
    let mut out = String::from(new);
    for c in s.chars() {
        out.push(c);
        out.push_str(new);
    }
    out
}

fn truncate_chars(s: &str, max: i64, keep_extension: bool) -> Result<String, String> {
    let count = s.chars().count();
    if max <= 0 || count as i64 <= max {
        return Ok(s.to_owned());
    }
    let (base, exts) = if keep_extension {
        ferry_core::mime::split_extension(s)
    } else {
        (s, "")
    };
    let keep = max - exts.chars().count() as i64;
    if keep <= 0 {
        return Err("extension is longer than the truncation limit".into());
    }
    Ok(base
        .chars()
        .take(keep as usize)
        .chain(exts.chars())
        .collect())
}

/// As [`truncate_chars`], counting bytes, never cutting a character in two.
fn truncate_bytes(s: &str, max: i64, keep_extension: bool) -> Result<String, String> {
    if max <= 0 || s.len() as i64 <= max {
        return Ok(s.to_owned());
    }
    let (base, exts) = if keep_extension {
        ferry_core::mime::split_extension(s)
    } else {
        (s, "")
    };
    let room = max - exts.len() as i64;
    (1..=room.max(0) as usize)
        .rev()
        .find(|&i| base.is_char_boundary(i))
        .map(|i| format!("{}{exts}", &base[..i]))
        .ok_or_else(|| "could not truncate to valid UTF-8".into())
}

fn base64_decode(s: &str) -> Result<String, String> {
    // rclone leaves macOS's folder files alone.
    if s == ".DS_Store" {
        return Ok(s.to_owned());
    }
    let bytes = URL_SAFE.decode(s).map_err(|e| match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            format!("illegal base64 data at input byte {at}")
        }
        _ => format!("illegal base64 data at input byte {}", s.len()),
    })?;
    String::from_utf8(bytes).map_err(|_| format!("{s:?} decodes to a name that is not UTF-8"))
}

/// Go's `unicode.ToLower`: one character for one (a character whose lower case is
/// longer, such as `İ`, keeps the first).
fn simple_lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Go's `unicode.ToUpper`: one character for one (`ß`, whose upper case is `SS`, stays).
fn simple_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: upper case, except the four Latin digraphs, which have a
/// title case of their own (`ǆ` becomes `ǅ`, not `Ǆ`).
fn simple_title(c: char) -> char {
    match c {
        '\u{01C4}'..='\u{01C6}' => '\u{01C5}',
        '\u{01C7}'..='\u{01C9}' => '\u{01C8}',
        '\u{01CA}'..='\u{01CC}' => '\u{01CB}',
        '\u{01F1}'..='\u{01F3}' => '\u{01F2}',
        _ => simple_upper(c),
    }
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` as they are, a space as `+`, every
/// other byte as `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// rclone's `command=`: the program's output (trimmed) is the new name; it is given the
/// old name as its one argument.
fn run_command(program: &str, s: &str) -> Result<String, String> {
    let out = std::process::Command::new(program)
        .arg(s)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("error running command \"{program} {s}\": {e}"))?;
    let mut text = out.stdout;
    text.extend_from_slice(&out.stderr);
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    if !out.status.success() {
        return Err(format!(
            "{text}: error running command \"{program} {s}\": {}",
            out.status
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(max: i64, bytes: bool, keep: bool) -> Op {
        Op::Truncate {
            max,
            bytes,
            keep_extension: keep,
        }
    }

    #[test]
    fn truncation_counts_characters_or_bytes_and_may_keep_extensions() {
        assert_eq!(apply(&t(4, false, false), "héllo.txt").unwrap(), "héll");
        assert_eq!(apply(&t(7, false, true), "héllo.txt").unwrap(), "hél.txt");
        assert_eq!(apply(&t(9, false, true), "a.tar.gz").unwrap(), "a.tar.gz");
        assert_eq!(apply(&t(6, false, true), "abcdef.txt").unwrap(), "ab.txt");
        // Bytes: `é` is two, never cut in half.
        assert_eq!(apply(&t(2, true, false), "héllo").unwrap(), "h");
        assert_eq!(apply(&t(3, true, false), "héllo").unwrap(), "hé");
        assert_eq!(
            apply(&t(3, false, true), "a.html").unwrap_err(),
            "extension is longer than the truncation limit"
        );
        assert_eq!(
            apply(&t(3, true, true), "ab.html").unwrap_err(),
            "could not truncate to valid UTF-8"
        );
        assert_eq!(apply(&t(0, true, true), "abcdef").unwrap(), "abcdef");
    }

    #[test]
    fn case_maps_one_character_to_one_as_go() {
        assert_eq!(apply(&Op::Uppercase, "straße ǆ").unwrap(), "STRAßE Ǆ");
        assert_eq!(apply(&Op::Titlecase, "straße ǆ").unwrap(), "STRAßE ǅ");
        assert_eq!(apply(&Op::Lowercase, "ÀB İ").unwrap(), "àb i");
    }

    #[test]
    fn url_and_base64_are_go_s() {
        assert_eq!(apply(&Op::Url, "a b~*/é").unwrap(), "a+b~%2A%2F%C3%A9");
        assert_eq!(apply(&Op::Base64Encode, "a?>").unwrap(), "YT8-");
        assert_eq!(apply(&Op::Base64Decode, "YT8-").unwrap(), "a?>");
        assert_eq!(apply(&Op::Base64Decode, ".DS_Store").unwrap(), ".DS_Store");
        assert_eq!(
            apply(&Op::Base64Decode, "a!bc").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
    }

    #[test]
    fn an_empty_search_string_surrounds_every_character() {
        let op = Op::Replace {
            old: String::new(),
            new: "-".into(),
        };
        assert_eq!(apply(&op, "ab").unwrap(), "-a-b-");
    }

    #[test]
    fn a_command_renames_by_its_output() {
        let op = Op::Command("echo".into());
        assert_eq!(apply(&op, "name.txt").unwrap(), "name.txt");
        let op = Op::Command("false".into());
        assert!(apply(&op, "x")
            .unwrap_err()
            .contains("error running command \"false x\""));
    }
}
