//! Go (RE2) regexp syntax → Rust `regex` syntax.
//!
//! rclone (and azcopy) are written in Go, so the regexps users type in
//! `{{...}}`, in `[...]` classes and in azcopy's `--include-regex` follow
//! Go's dialect. The Rust `regex` crate is RE2-like but differs in a few
//! places that change meaning or validity:
//!
//! * `\d \s \w \b` are ASCII-only in Go, Unicode-aware in Rust;
//! * inside a class, Rust treats `[` as a nested class and `&&`, `--`, `~~`
//!   as set operations, Go treats them as plain characters;
//! * Go treats a `{` that does not start a valid `{n}`, `{n,}` or `{n,m}`
//!   as a literal, Rust rejects it;
//! * Go supports octal escapes (`\0`, `\012`) and `\Q...\E` quoting.
//!
//! [`go_to_rust`] walks the Go pattern once and emits an equivalent Rust
//! pattern, rejecting what Go would reject where that is easy to see
//! (unknown escapes, bad flags, unknown `[:name:]` classes, reversed ranges).

use std::fmt::Write;

const ASCII_SPACE: &str = r"\t\n\x0C\r\x20";
const ASCII_WORD: &str = "0-9A-Za-z_";

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Convert a Go regexp to an equivalent Rust `regex` pattern.
/// `Err` is a one-line reason.
pub(crate) fn go_to_rust(src: &str) -> Result<String, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                i = escape_outside(&chars, i + 1, &mut out)?;
            }
            '[' => {
                i = class(&chars, i + 1, &mut out)?;
            }
            '{' => {
                if let Some(end) = repetition_end(&chars, i) {
                    out.extend(&chars[i..end]);
                    i = end;
                } else {
                    out.push_str(r"\{");
                    i += 1;
                }
            }
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            '(' if chars.get(i + 1) == Some(&'?') => {
                i = group_start(&chars, i, &mut out)?;
            }
            // Meaningful in Rust's verbose mode only, which Go can't enable;
            // escape them so a future flag can't change their meaning.
            '#' | '&' | '~' | '-' | ' ' => {
                push_literal(&mut out, c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `{n}`, `{n,}` or `{n,m}` starting at `i` (which holds `{`): index after `}`.
fn repetition_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let start = j;
    while j < chars.len() && chars[j].is_ascii_digit() {
        j += 1;
    }
    if j == start {
        return None;
    }
    if chars.get(j) == Some(&',') {
        j += 1;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
    }
    (chars.get(j) == Some(&'}')).then_some(j + 1)
}

/// `(?` group prefixes: `(?P<name>`, `(?<name>`, `(?flags)`, `(?flags:`.
fn group_start(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let mut j = i + 2;
    let name_start = if chars.get(j) == Some(&'P') && chars.get(j + 1) == Some(&'<') {
        Some(j + 2)
    } else if chars.get(j) == Some(&'<') {
        Some(j + 1)
    } else {
        None
    };
    if let Some(start) = name_start {
        let len = chars[start..]
            .iter()
            .position(|&c| c == '>')
            .ok_or("invalid named capture")?;
        let name: String = chars[start..start + len].iter().collect();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!("invalid named capture {name:?}"));
        }
        out.push_str("(?P<");
        out.push_str(&name);
        out.push('>');
        return Ok(start + len + 1);
    }
    out.push_str("(?");
    let mut seen_minus = false;
    loop {
        match chars.get(j) {
            Some(&c @ ('i' | 'm' | 's' | 'U')) => out.push(c),
            Some('-') if !seen_minus => {
                seen_minus = true;
                out.push('-');
            }
            Some(&c @ (')' | ':')) => {
                out.push(c);
                return Ok(j + 1);
            }
            _ => return Err("invalid or unsupported Perl syntax in (?...)".into()),
        }
        j += 1;
    }
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        let _ = write!(out, "\\x{{{:02X}}}", c as u32);
    } else {
        out.push(c);
    }
}

/// Parse the single-character escapes common to both contexts.
/// `i` points just after the backslash. Returns (char, next index).
fn single_char_escape(chars: &[char], i: usize) -> Result<Option<(char, usize)>, String> {
    let Some(&c) = chars.get(i) else {
        return Err("trailing backslash at end of expression".into());
    };
    let simple = match c {
        'a' => Some('\x07'),
        'f' => Some('\x0C'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0B'),
        _ => None,
    };
    if let Some(s) = simple {
        return Ok(Some((s, i + 1)));
    }
    if ('1'..='7').contains(&c) && !chars.get(i + 1).is_some_and(|d| ('0'..='7').contains(d)) {
        return Err(format!(
            "invalid escape sequence \\{c} (backreferences are not supported)"
        ));
    }
    if ('0'..='7').contains(&c) {
        let mut v = 0u32;
        let mut j = i;
        while j < chars.len() && j < i + 3 && ('0'..='7').contains(&chars[j]) {
            v = v * 8 + chars[j].to_digit(8).unwrap_or(0);
            j += 1;
        }
        let ch = char::from_u32(v).ok_or("invalid octal escape")?;
        return Ok(Some((ch, j)));
    }
    if c == 'x' {
        let j = i + 1;
        if chars.get(j) == Some(&'{') {
            let close = chars[j..]
                .iter()
                .position(|&c| c == '}')
                .ok_or("invalid escape sequence \\x{")?;
            let hex: String = chars[j + 1..j + close].iter().collect();
            let v = u32::from_str_radix(&hex, 16)
                .map_err(|_| format!("invalid escape \\x{{{hex}}}"))?;
            let ch = char::from_u32(v).ok_or_else(|| format!("invalid escape \\x{{{hex}}}"))?;
            return Ok(Some((ch, j + close + 1)));
        }
        let hex: String = chars.get(j..j + 2).unwrap_or(&[]).iter().collect();
        if hex.len() == 2 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
            return Ok(Some((char::from_u32(v).unwrap_or('\0'), j + 2)));
        }
        return Err("invalid escape sequence \\x".into());
    }
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        return Ok(Some((c, i + 1)));
    }
    Ok(None)
}

/// Unicode class escape `\pL`, `\p{Greek}`, `\PL`, ... copied verbatim.
fn unicode_class(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    // chars[i] is 'p' or 'P'
    out.push('\\');
    out.push(chars[i]);
    match chars.get(i + 1) {
        Some('{') => {
            let close = chars[i + 1..]
                .iter()
                .position(|&c| c == '}')
                .ok_or("invalid character class range")?;
            out.extend(&chars[i + 1..=i + 1 + close]);
            Ok(i + 2 + close)
        }
        Some(&c) => {
            out.push(c);
            Ok(i + 2)
        }
        None => Err("invalid character class range".into()),
    }
}

fn escape_outside(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let Some(&c) = chars.get(i) else {
        return Err("trailing backslash at end of expression".into());
    };
    match c {
        'd' => out.push_str("[0-9]"),
        'D' => out.push_str("[^0-9]"),
        's' => {
            let _ = write!(out, "[{ASCII_SPACE}]");
        }
        'S' => {
            let _ = write!(out, "[^{ASCII_SPACE}]");
        }
        'w' => {
            let _ = write!(out, "[{ASCII_WORD}]");
        }
        'W' => {
            let _ = write!(out, "[^{ASCII_WORD}]");
        }
        'b' => out.push_str(r"(?-u:\b)"),
        'B' => out.push_str(r"(?-u:\B)"),
        'A' => out.push_str(r"\A"),
        'z' => out.push_str(r"\z"),
        'p' | 'P' => return unicode_class(chars, i, out),
        'Q' => {
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\\' && chars.get(j + 1) == Some(&'E') {
                    return Ok(j + 2);
                }
                push_literal(out, chars[j]);
                j += 1;
            }
            return Ok(j);
        }
        _ => match single_char_escape(chars, i)? {
            Some((ch, next)) => {
                push_literal(out, ch);
                return Ok(next);
            }
            None => return Err(format!("invalid escape sequence \\{c}")),
        },
    }
    Ok(i + 1)
}

/// One character of a class (possibly escaped). `i` at the character.
fn class_char(chars: &[char], i: usize) -> Result<(char, usize), String> {
    match chars.get(i) {
        None => Err("missing closing ]".into()),
        Some('\\') => match single_char_escape(chars, i + 1)? {
            Some(r) => Ok(r),
            None => Err(format!(
                "invalid escape sequence \\{}",
                chars.get(i + 1).copied().unwrap_or(' ')
            )),
        },
        Some(&c) => Ok((c, i + 1)),
    }
}

fn push_class_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:02X}}}", c as u32);
    }
}

/// Parse a Go class; `i` points just after `[`. Returns index after `]`.
fn class(chars: &[char], mut i: usize, out: &mut String) -> Result<usize, String> {
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        match chars.get(i) {
            None => return Err("missing closing ]".into()),
            Some(']') if !first => {
                out.push(']');
                return Ok(i + 1);
            }
            _ => {}
        }
        first = false;
        // POSIX class [:name:] / [:^name:]
        if chars.get(i) == Some(&'[') && chars.get(i + 1) == Some(&':') {
            let rest = &chars[i + 2..];
            if let Some(end) = rest.windows(2).position(|w| w == [':', ']']) {
                let name: String = rest[..end].iter().collect();
                let bare = name.strip_prefix('^').unwrap_or(&name);
                if !POSIX_CLASSES.contains(&bare) {
                    return Err(format!("invalid character class range [:{name}:]"));
                }
                let _ = write!(out, "[:{name}:]");
                i += 2 + end + 2;
                continue;
            }
        }
        if chars.get(i) == Some(&'\\') {
            match chars.get(i + 1) {
                Some('d') => {
                    out.push_str("0-9");
                    i += 2;
                    continue;
                }
                Some('D') => {
                    out.push_str("[^0-9]");
                    i += 2;
                    continue;
                }
                Some('s') => {
                    out.push_str(ASCII_SPACE);
                    i += 2;
                    continue;
                }
                Some('S') => {
                    let _ = write!(out, "[^{ASCII_SPACE}]");
                    i += 2;
                    continue;
                }
                Some('w') => {
                    out.push_str(ASCII_WORD);
                    i += 2;
                    continue;
                }
                Some('W') => {
                    let _ = write!(out, "[^{ASCII_WORD}]");
                    i += 2;
                    continue;
                }
                Some('p' | 'P') => {
                    i = unicode_class(chars, i + 1, out)?;
                    continue;
                }
                _ => {}
            }
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (hi, next) = class_char(chars, i + 1)?;
            i = next;
            if hi < lo {
                return Err(format!("invalid character class range {lo}-{hi}"));
            }
            push_class_char(out, lo);
            out.push('-');
            push_class_char(out, hi);
        } else {
            push_class_char(out, lo);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn m(go: &str, s: &str) -> bool {
        let rust = go_to_rust(go).unwrap_or_else(|e| panic!("{go}: {e}"));
        Regex::new(&rust)
            .unwrap_or_else(|e| panic!("{go} -> {rust}: {e}"))
            .is_match(s)
    }

    #[test]
    fn ascii_perl_classes() {
        assert!(m(r"^\d$", "7"));
        assert!(!m(r"^\d$", "٣")); // Arabic-indic digit: not \d in Go
        assert!(!m(r"^\w$", "é"));
        assert!(m(r"^\W$", "é"));
        assert!(m(r"^[\d\s]+$", "1 2"));
        assert!(m(r"^[^\d]$", "a"));
        assert!(m(r"^[\D]$", "a"));
        assert!(!m(r"^[\D]$", "1"));
        assert!(!m(r"^\s$", "\u{a0}"));
    }

    #[test]
    fn class_literals() {
        // `[` and `&&` are plain characters inside a Go class
        assert!(m(r"^[a[b]+$", "[ab"));
        assert!(m(r"^[&&]$", "&"));
        assert!(m(r"^[a-c-]$", "-"));
        assert!(m(r"^[]a]$", "]"));
        assert!(m(r"^[[:alpha:]]$", "x"));
        assert!(m(r"^[[:^alpha:]]$", "1"));
        assert!(m(r"^[\]]$", "]"));
        assert!(go_to_rust("[[:foo:]]").is_err());
        assert!(go_to_rust("[z-a]").is_err());
        assert!(go_to_rust("[a").is_err());
    }

    #[test]
    fn braces_and_escapes() {
        assert!(m(r"^a{2}$", "aa"));
        assert!(m(r"^a{$", "a{"));
        assert!(m(r"^a{x}$", "a{x}"));
        assert!(m(r"^a{,2}$", "a{,2}"));
        assert!(m(r"^\101$", "A"));
        assert!(m(r"^\x41\x{42}$", "AB"));
        assert!(m(r"^\Qa.b\E$", "a.b"));
        assert!(!m(r"^\Qa.b\E$", "axb"));
        assert!(m(r"^\ $", " "));
        assert!(m(r"^(?i)abc$", "ABC"));
        assert!(m(r"^(?P<x>a)(?<y>b)$", "ab"));
        assert!(go_to_rust(r"\1").is_err());
        assert!(go_to_rust(r"\q").is_err());
        assert!(go_to_rust(r"a\").is_err());
        assert!(go_to_rust(r"(?x)a").is_err());
    }
}
