//! rclone's name encoding: how a character a backend cannot store is kept as a
//! look-alike, and turned back when the name is listed.
//!
//! An [`Encoding`] is a set of rclone's flags (`Slash`, `BackSlash`, `Ctl`, ...),
//! written and parsed as rclone writes them (`Slash,BackSlash,Del`). Encoding a name
//! replaces each character a flag names by its FULLWIDTH form (`\` → `＼`) or its
//! Control Pictures form (tab → `␉`); a look-alike that was in the name already is
//! marked with the quote character `‛` so decoding can tell the two apart.
//!
//! ferry's own names (what the engine, the filters and the user see) are rclone's
//! *standard* names: [`Encoding::INTERNAL`] applied to the real name, so `/` inside a
//! name is `／`, a control character is its picture, and `.`/`..` are `．`/`．．`.
//! A backend never stores ferry's names directly: it stores
//! `backend.encode(INTERNAL.decode(name))` and lists `INTERNAL.encode(backend.decode(stored))`,
//! which [`Names`] does in one place. Names needing no change are never copied.
//!
//! ferry differs from rclone in one place on purpose: its names also carry a byte
//! that is not UTF-8 as `‛` and two hex digits (rclone's `InvalidUtf8` form) where
//! rclone would replace it by U+FFFD, so such a name round-trips instead of being lost.

use std::borrow::Cow;
use std::fmt;

/// The quote character rclone puts before a look-alike that is really in a name.
pub const QUOTE: char = '‛';
/// Adding this to a printable ASCII character gives its FULLWIDTH form.
const FULL: u32 = 0xFEE0;
/// The first Control Picture (`␀`); control character `c` is shown as `PIC + c`.
const PIC: u32 = 0x2400;
const PIC_NUL: char = '␀';
const PIC_DEL: char = '␡';
const PIC_SPACE: char = '␠';
const FULL_STOP: char = '．';
const FULL_TILDE: char = '～';

/// A set of rclone's encoding flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Encoding(u32);

/// rclone's flag names and bits, in bit order (how [`Encoding`] is displayed).
const FLAGS: &[(&str, u32)] = &[
    ("Raw", 1 << 0),
    ("Slash", 1 << 1),
    ("LtGt", 1 << 2),
    ("DoubleQuote", 1 << 3),
    ("SingleQuote", 1 << 4),
    ("BackQuote", 1 << 5),
    ("Dollar", 1 << 6),
    ("Colon", 1 << 7),
    ("Question", 1 << 8),
    ("Asterisk", 1 << 9),
    ("Pipe", 1 << 10),
    ("Hash", 1 << 11),
    ("Percent", 1 << 12),
    ("BackSlash", 1 << 13),
    ("CrLf", 1 << 14),
    ("Del", 1 << 15),
    ("Ctl", 1 << 16),
    ("LeftSpace", 1 << 17),
    ("LeftPeriod", 1 << 18),
    ("LeftTilde", 1 << 19),
    ("LeftCrLfHtVt", 1 << 20),
    ("RightSpace", 1 << 21),
    ("RightPeriod", 1 << 22),
    ("RightCrLfHtVt", 1 << 23),
    ("InvalidUtf8", 1 << 24),
    ("Dot", 1 << 25),
    ("SquareBracket", 1 << 26),
    ("Semicolon", 1 << 27),
    ("Exclamation", 1 << 28),
];

/// The flags that swap ASCII characters for their FULLWIDTH forms, with those characters.
const FULLWIDTH: &[(Encoding, &[char])] = &[
    (Encoding::ASTERISK, &['*']),
    (Encoding::LT_GT, &['<', '>']),
    (Encoding::SQUARE_BRACKET, &['[', ']']),
    (Encoding::SEMICOLON, &[';']),
    (Encoding::EXCLAMATION, &['!']),
    (Encoding::QUESTION, &['?']),
    (Encoding::COLON, &[':']),
    (Encoding::PIPE, &['|']),
    (Encoding::DOUBLE_QUOTE, &['"']),
    (Encoding::SINGLE_QUOTE, &['\'']),
    (Encoding::BACK_QUOTE, &['`']),
    (Encoding::DOLLAR, &['$']),
    (Encoding::SLASH, &['/']),
    (Encoding::BACK_SLASH, &['\\']),
    (Encoding::HASH, &['#']),
    (Encoding::PERCENT, &['%']),
];

/// The Left* flags, the character each replaces at the start of a name, and its look-alike.
const LEFT: &[(Encoding, u8, char)] = &[
    (Encoding::LEFT_SPACE, b' ', PIC_SPACE),
    (Encoding::LEFT_PERIOD, b'.', FULL_STOP),
    (Encoding::LEFT_TILDE, b'~', FULL_TILDE),
    (Encoding::LEFT_CR_LF_HT_VT, b'\t', '␉'),
    (Encoding::LEFT_CR_LF_HT_VT, b'\n', '␊'),
    (Encoding::LEFT_CR_LF_HT_VT, b'\x0b', '␋'),
    (Encoding::LEFT_CR_LF_HT_VT, b'\r', '␍'),
];

/// The Right* flags, likewise at the end of a name.
const RIGHT: &[(Encoding, u8, char)] = &[
    (Encoding::RIGHT_SPACE, b' ', PIC_SPACE),
    (Encoding::RIGHT_PERIOD, b'.', FULL_STOP),
    (Encoding::RIGHT_CR_LF_HT_VT, b'\t', '␉'),
    (Encoding::RIGHT_CR_LF_HT_VT, b'\n', '␊'),
    (Encoding::RIGHT_CR_LF_HT_VT, b'\x0b', '␋'),
    (Encoding::RIGHT_CR_LF_HT_VT, b'\r', '␍'),
];

impl Encoding {
    pub const NONE: Encoding = Encoding(0);
    pub const RAW: Encoding = Encoding(1 << 0);
    pub const SLASH: Encoding = Encoding(1 << 1);
    pub const LT_GT: Encoding = Encoding(1 << 2);
    pub const DOUBLE_QUOTE: Encoding = Encoding(1 << 3);
    pub const SINGLE_QUOTE: Encoding = Encoding(1 << 4);
    pub const BACK_QUOTE: Encoding = Encoding(1 << 5);
    pub const DOLLAR: Encoding = Encoding(1 << 6);
    pub const COLON: Encoding = Encoding(1 << 7);
    pub const QUESTION: Encoding = Encoding(1 << 8);
    pub const ASTERISK: Encoding = Encoding(1 << 9);
    pub const PIPE: Encoding = Encoding(1 << 10);
    pub const HASH: Encoding = Encoding(1 << 11);
    pub const PERCENT: Encoding = Encoding(1 << 12);
    pub const BACK_SLASH: Encoding = Encoding(1 << 13);
    pub const CR_LF: Encoding = Encoding(1 << 14);
    pub const DEL: Encoding = Encoding(1 << 15);
    pub const CTL: Encoding = Encoding(1 << 16);
    pub const LEFT_SPACE: Encoding = Encoding(1 << 17);
    pub const LEFT_PERIOD: Encoding = Encoding(1 << 18);
    pub const LEFT_TILDE: Encoding = Encoding(1 << 19);
    pub const LEFT_CR_LF_HT_VT: Encoding = Encoding(1 << 20);
    pub const RIGHT_SPACE: Encoding = Encoding(1 << 21);
    pub const RIGHT_PERIOD: Encoding = Encoding(1 << 22);
    pub const RIGHT_CR_LF_HT_VT: Encoding = Encoding(1 << 23);
    pub const INVALID_UTF8: Encoding = Encoding(1 << 24);
    pub const DOT: Encoding = Encoding(1 << 25);
    pub const SQUARE_BRACKET: Encoding = Encoding(1 << 26);
    pub const SEMICOLON: Encoding = Encoding(1 << 27);
    pub const EXCLAMATION: Encoding = Encoding(1 << 28);

    /// rclone's standard names (`Slash,Del,Ctl,Dot`), in which it shows every name.
    pub const STANDARD: Encoding =
        Encoding(Self::SLASH.0 | Self::CTL.0 | Self::DEL.0 | Self::DOT.0);
    /// ferry's own names: rclone's standard names, plus bytes that are not UTF-8
    /// carried as `‛XX` (see the module notes).
    pub const INTERNAL: Encoding = Encoding(Self::STANDARD.0 | Self::INVALID_UTF8.0);

    /// The default of rclone 1.75's `local` backend on Unix.
    pub const LOCAL_DEFAULT: Encoding = Encoding(Self::SLASH.0 | Self::DOT.0);
    /// The default of rclone 1.75's `sftp` backend.
    pub const SFTP_DEFAULT: Encoding = Self::STANDARD;
    /// The default of rclone 1.75's `s3` backend.
    pub const S3_DEFAULT: Encoding = Encoding(Self::SLASH.0 | Self::INVALID_UTF8.0 | Self::DOT.0);
    /// The default of rclone 1.75's `azureblob` backend.
    pub const AZUREBLOB_DEFAULT: Encoding = Encoding(
        Self::SLASH.0
            | Self::BACK_SLASH.0
            | Self::DEL.0
            | Self::CTL.0
            | Self::RIGHT_PERIOD.0
            | Self::INVALID_UTF8.0,
    );

    pub const fn bits(self) -> u32 {
        self.0
    }

    pub const fn union(self, other: Encoding) -> Encoding {
        Encoding(self.0 | other.0)
    }

    fn has(self, flag: Encoding) -> bool {
        self.0 & flag.0 != 0
    }

    /// Parses rclone's syntax: flag names (case as rclone spells them) or numbers,
    /// separated by commas, spaces around each allowed.
    pub fn parse(text: &str) -> std::result::Result<Encoding, BadEncoding> {
        let mut bits = 0u32;
        for part in text.split(',').map(str::trim) {
            bits |= word_bits(part).ok_or_else(|| BadEncoding(part.to_owned()))?;
        }
        Ok(Encoding(bits))
    }

    /// Encodes one name (a path segment) for storage.
    pub fn encode<'a>(self, name: &'a str) -> Cow<'a, str> {
        match self.encode_bytes(name.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(name),
            Cow::Owned(bytes) => Cow::Owned(into_string(bytes)),
        }
    }

    /// Undoes [`Encoding::encode`] on one stored name. Bytes that are not UTF-8 after
    /// decoding (from `‛XX` under `InvalidUtf8`) come back as U+FFFD here; use
    /// [`Encoding::decode_bytes`] to keep them.
    pub fn decode<'a>(self, name: &'a str) -> Cow<'a, str> {
        match self.decode_bytes(name.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(name),
            Cow::Owned(bytes) => Cow::Owned(into_string(bytes)),
        }
    }

    /// [`Encoding::encode`] of a name that may hold bytes that are not UTF-8.
    pub fn encode_bytes<'a>(self, name: &'a [u8]) -> Cow<'a, [u8]> {
        if self == Self::RAW || name.is_empty() {
            return Cow::Borrowed(name);
        }
        if self.has(Self::DOT) {
            if let Some(whole) = encode_dot(name) {
                return Cow::Owned(whole.as_bytes().to_vec());
            }
        }
        let (prefix, rest) = self.encode_prefix(name);
        let (body, suffix) = if rest.is_empty() {
            (rest, None)
        } else {
            self.encode_suffix(rest)
        };
        let first = if prefix.is_none() && suffix.is_none() {
            match first_to_encode(self, body) {
                Some(i) => i,
                None => return Cow::Borrowed(name),
            }
        } else {
            0
        };
        let mut out = Vec::with_capacity(name.len() + 8);
        if let Some(p) = prefix {
            out.extend_from_slice(p.as_bytes());
        }
        out.extend_from_slice(&body[..first]);
        for (c, raw) in Chars(&body[first..]) {
            self.encode_char(c, raw, &mut out);
        }
        if let Some(s) = suffix {
            out.extend_from_slice(s.as_bytes());
        }
        Cow::Owned(out)
    }

    /// [`Encoding::decode`] keeping bytes that are not UTF-8.
    pub fn decode_bytes<'a>(self, name: &'a [u8]) -> Cow<'a, [u8]> {
        if self == Self::RAW {
            return Cow::Borrowed(name);
        }
        if self.has(Self::DOT) {
            if let Some(whole) = decode_dot(name) {
                return Cow::Owned(whole.as_bytes().to_vec());
            }
        }
        let (prefix, rest) = self.decode_prefix(name);
        let (body, suffix) = self.decode_suffix(rest);
        let first = if prefix.is_none() && suffix.is_none() {
            // Every look-alike is outside ASCII: ASCII bytes never need decoding.
            match scan(body, 0, |c| c.is_some_and(|c| self.decodes(c))) {
                Some(i) => i,
                None => return Cow::Borrowed(name),
            }
        } else {
            0
        };
        let mut out = Vec::with_capacity(name.len());
        if let Some(p) = prefix {
            push_char(&mut out, p);
        }
        out.extend_from_slice(&body[..first]);
        self.decode_body(&body[first..], &mut out);
        if let Some(s) = suffix {
            push_char(&mut out, s);
        }
        Cow::Owned(out)
    }

    /// A leading character the Left* flags replace: the replacement and the rest.
    fn encode_prefix(self, name: &[u8]) -> (Option<String>, &[u8]) {
        // rclone takes the first flag that matches, in table order.
        for (flag, ascii, look) in LEFT {
            if self.has(*flag) {
                if let Some((p, rest)) = lead(name, *ascii, *look) {
                    return (Some(p), rest);
                }
            }
        }
        (None, name)
    }

    /// A trailing character the Right* flags replace: the rest and the replacement.
    fn encode_suffix(self, name: &[u8]) -> (&[u8], Option<String>) {
        for (flag, ascii, look) in RIGHT {
            if self.has(*flag) {
                if let Some((rest, s)) = trail(name, *ascii, *look) {
                    return (rest, Some(s));
                }
            }
        }
        (name, None)
    }

    /// The ASCII bytes [`Encoding::encodes`] picks, as a bit set.
    fn ascii_encoded(self) -> u128 {
        let mut set = 1u128; // NUL
        for (flag, chars) in FULLWIDTH {
            if self.has(*flag) {
                for c in *chars {
                    set |= 1u128 << (*c as u32);
                }
            }
        }
        if self.has(Self::CR_LF) {
            set |= (1 << b'\r') | (1 << b'\n');
        }
        if self.has(Self::CTL) {
            set |= 0xffff_fffe; // 0x01..=0x1f
        }
        if self.has(Self::DEL) {
            set |= 1 << 0x7f;
        }
        set
    }

    /// Whether `c` in the middle of a name is replaced or quoted by encoding.
    fn encodes(self, c: char) -> bool {
        matches!(c, '\0' | PIC_NUL | QUOTE)
            || FULLWIDTH
                .iter()
                .any(|(flag, set)| self.has(*flag) && set.iter().any(|&a| c == a || c == full(a)))
            || (self.has(Self::CR_LF) && matches!(c, '\r' | '\n' | '␍' | '␊'))
            || (self.has(Self::DEL) && matches!(c, '\x7f' | PIC_DEL))
            || (self.has(Self::CTL) && (is_ctl(c) || is_ctl_picture(c)))
    }

    fn encode_char(self, c: Option<char>, raw: &[u8], out: &mut Vec<u8>) {
        let Some(c) = c else {
            // A byte that is not UTF-8.
            if self.has(Self::INVALID_UTF8) {
                for b in raw {
                    out.extend_from_slice(format!("{QUOTE}{b:02X}").as_bytes());
                }
            } else {
                out.extend_from_slice(raw);
            }
            return;
        };
        let replaced = match c {
            '\0' => Some(PIC_NUL),
            PIC_NUL | QUOTE => return quote(out, c),
            _ => self.replacement(c),
        };
        match replaced {
            Some(r) => push_char(out, r),
            None if self.is_look_alike(c) => quote(out, c),
            None => push_char(out, c),
        }
    }

    /// The look-alike `c` is stored as, if one of the flags replaces it.
    fn replacement(self, c: char) -> Option<char> {
        for (flag, set) in FULLWIDTH {
            if self.has(*flag) && set.contains(&c) {
                return Some(full(c));
            }
        }
        if (self.has(Self::CR_LF) && matches!(c, '\r' | '\n')) || (self.has(Self::CTL) && is_ctl(c))
        {
            return Some(picture(c as u8));
        }
        if self.has(Self::DEL) && c == '\x7f' {
            return Some(PIC_DEL);
        }
        None
    }

    /// Whether `c` is a look-alike one of the flags produces (so it is quoted when
    /// really in a name, and turned back when decoded).
    fn is_look_alike(self, c: char) -> bool {
        FULLWIDTH
            .iter()
            .any(|(flag, set)| self.has(*flag) && set.iter().any(|&a| c == full(a)))
            || (self.has(Self::CR_LF) && matches!(c, '␍' | '␊'))
            || (self.has(Self::DEL) && c == PIC_DEL)
            || (self.has(Self::CTL) && is_ctl_picture(c))
    }

    /// The character look-alike `c` stands for.
    fn original(self, c: char) -> char {
        match c {
            PIC_DEL => '\x7f',
            c if (PIC..PIC + 0x20).contains(&(c as u32)) => {
                char::from_u32(c as u32 - PIC).unwrap_or(c)
            }
            c => char::from_u32(c as u32 - FULL).unwrap_or(c),
        }
    }

    fn decodes(self, c: char) -> bool {
        matches!(c, PIC_NUL | QUOTE) || self.is_look_alike(c)
    }

    fn decode_prefix(self, name: &[u8]) -> (Option<char>, &[u8]) {
        let mut chars = Chars(name);
        let Some((Some(c1), raw1)) = chars.next() else {
            return (None, name);
        };
        let after1 = &name[raw1.len()..];
        if let Some(orig) = self.lead_original(c1) {
            return (Some(orig), after1);
        }
        if c1 == QUOTE {
            if let Some((Some(c2), raw2)) = chars.next() {
                if self.lead_original(c2).is_some() {
                    return (Some(c2), &after1[raw2.len()..]);
                }
            }
        }
        (None, name)
    }

    /// What a look-alike at the start of a name stands for, under the Left* flags.
    fn lead_original(self, c: char) -> Option<char> {
        if self.has(Self::LEFT_SPACE) && c == PIC_SPACE {
            Some(' ')
        } else if self.has(Self::LEFT_PERIOD) && c == FULL_STOP {
            Some('.')
        } else if self.has(Self::LEFT_TILDE) && c == FULL_TILDE {
            Some('~')
        } else if self.has(Self::LEFT_CR_LF_HT_VT) && is_crlfhtvt_picture(c) {
            Some(self.original(c))
        } else {
            None
        }
    }

    fn decode_suffix(self, name: &[u8]) -> (&[u8], Option<char>) {
        let Some((Some(c), len)) = last_char(name) else {
            return (name, None);
        };
        let orig = if self.has(Self::RIGHT_SPACE) && c == PIC_SPACE {
            ' '
        } else if self.has(Self::RIGHT_PERIOD) && c == FULL_STOP {
            '.'
        } else if self.has(Self::RIGHT_CR_LF_HT_VT) && is_crlfhtvt_picture(c) {
            self.original(c)
        } else {
            return (name, None);
        };
        let rest = &name[..name.len() - len];
        match last_char(rest) {
            Some((Some(QUOTE), qlen)) => (&rest[..rest.len() - qlen], Some(c)),
            _ => (rest, Some(orig)),
        }
    }

    fn decode_body(self, body: &[u8], out: &mut Vec<u8>) {
        let mut chars = Chars(body);
        let mut quoted_next = false;
        let mut at = 0;
        while let Some((c, raw)) = chars.next() {
            let here = at;
            at += raw.len();
            let quoted = std::mem::take(&mut quoted_next);
            match c {
                Some(PIC_NUL) => push_char(out, if quoted { PIC_NUL } else { '\0' }),
                Some(QUOTE) if quoted => push_char(out, QUOTE),
                Some(QUOTE) => quoted_next = true,
                Some(c) if c != QUOTE && self.is_look_alike(c) => {
                    push_char(out, if quoted { c } else { self.original(c) })
                }
                _ => {
                    if quoted {
                        if self.has(Self::INVALID_UTF8) {
                            if let Some(b) = hex_byte(&body[here..]) {
                                out.push(b);
                                // The second hex digit is one byte, one char.
                                chars.next();
                                at += 1;
                                continue;
                            }
                        }
                        push_char(out, QUOTE);
                    }
                    out.extend_from_slice(raw);
                }
            }
        }
        if quoted_next {
            push_char(out, QUOTE);
        }
    }
}

/// `name` starting with `ascii` (replaced by `look`) or with `look` itself (quoted).
fn lead(name: &[u8], ascii: u8, look: char) -> Option<(String, &[u8])> {
    if name.first() == Some(&ascii) {
        return Some((look.to_string(), &name[1..]));
    }
    match Chars(name).next() {
        Some((Some(c), raw)) if c == look => Some((format!("{QUOTE}{look}"), &name[raw.len()..])),
        _ => None,
    }
}

/// `name` ending with `ascii` (replaced by `look`) or with `look` itself (quoted).
fn trail(name: &[u8], ascii: u8, look: char) -> Option<(&[u8], String)> {
    if name.last() == Some(&ascii) {
        return Some((&name[..name.len() - 1], look.to_string()));
    }
    match last_char(name) {
        Some((Some(c), len)) if c == look => {
            Some((&name[..name.len() - len], format!("{QUOTE}{look}")))
        }
        _ => None,
    }
}

/// `.`/`..` and their look-alikes as whole names, under `Dot`.
fn encode_dot(name: &[u8]) -> Option<&'static str> {
    match name {
        b"." => Some("．"),
        b".." => Some("．．"),
        _ if name == "．".as_bytes() => Some("‛．"),
        _ if name == "．．".as_bytes() => Some("‛．‛．"),
        _ => None,
    }
}

fn decode_dot(name: &[u8]) -> Option<&'static str> {
    match std::str::from_utf8(name).ok()? {
        "．" => Some("."),
        "．．" => Some(".."),
        "‛．" => Some("．"),
        "‛．‛．" => Some("．．"),
        _ => None,
    }
}

fn first_to_encode(enc: Encoding, body: &[u8]) -> Option<usize> {
    scan(body, enc.ascii_encoded(), |c| match c {
        None => true,
        Some(c) => enc.encodes(c),
    })
}

/// The offset of the first character `slow` picks, looking only at ASCII bytes set in
/// `ascii` and at the characters encoding can touch beyond ASCII (the quote, Control
/// Pictures, FULLWIDTH forms, bytes that are not UTF-8): a plain name costs one pass
/// over its bytes.
fn scan(body: &[u8], ascii: u128, slow: impl Fn(Option<char>) -> bool) -> Option<usize> {
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b < 0x80 {
            if ascii & (1u128 << b) != 0 {
                return Some(i);
            }
            i += 1;
            continue;
        }
        let (c, raw) = Chars(&body[i..]).peek()?;
        let candidate = match c {
            None => true,
            Some(c) => matches!(c, QUOTE | '\u{2400}'..='\u{2421}' | '\u{ff01}'..='\u{ff5e}'),
        };
        if candidate && slow(c) {
            return Some(i);
        }
        i += raw.len();
    }
    None
}

fn full(c: char) -> char {
    char::from_u32(c as u32 + FULL).unwrap_or(c)
}

fn picture(b: u8) -> char {
    char::from_u32(PIC + b as u32).unwrap_or(PIC_NUL)
}

fn is_ctl(c: char) -> bool {
    ('\x01'..='\x1f').contains(&c)
}

fn is_ctl_picture(c: char) -> bool {
    ('\u{2401}'..='\u{241f}').contains(&c)
}

fn is_crlfhtvt_picture(c: char) -> bool {
    matches!(c, '␉' | '␊' | '␋' | '␍')
}

fn quote(out: &mut Vec<u8>, c: char) {
    push_char(out, QUOTE);
    push_char(out, c);
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Two hex digits at the start of `s`, as rclone reads a quoted byte.
fn hex_byte(s: &[u8]) -> Option<u8> {
    let digits = std::str::from_utf8(s.get(..2)?).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(digits, 16).ok()
}

fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn word_bits(word: &str) -> Option<u32> {
    if word == "None" {
        return Some(0);
    }
    if let Some((_, bits)) = FLAGS.iter().find(|(name, _)| *name == word) {
        return Some(*bits);
    }
    parse_number(word)
}

/// A number as rclone takes one here: decimal, or `0x`/`0o`/`0b`/`0` prefixed.
fn parse_number(word: &str) -> Option<u32> {
    let digits = word.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || body.starts_with('+') {
        return None;
    }
    u32::from_str_radix(body, radix).ok()
}

/// The last character of `s` and its length in bytes (`None` char for a bad byte).
fn last_char(s: &[u8]) -> Option<(Option<char>, usize)> {
    let start = s.len().checked_sub(1)?;
    for back in 0..4.min(s.len()) {
        let at = start - back;
        if let Ok(text) = std::str::from_utf8(&s[at..]) {
            return Some((text.chars().next(), s.len() - at));
        }
        if s[at] & 0xC0 != 0x80 {
            break;
        }
    }
    Some((None, 1))
}

/// Iterates a name's characters as Go does: each byte that is not part of a UTF-8
/// character is one `None` of length one.
struct Chars<'a>(&'a [u8]);

impl<'a> Chars<'a> {
    fn peek(&self) -> Option<(Option<char>, &'a [u8])> {
        let s = self.0;
        let first = *s.first()?;
        if first < 0x80 {
            return Some((Some(first as char), &s[..1]));
        }
        let width = match first {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return Some((None, &s[..1])),
        };
        match s.get(..width).map(std::str::from_utf8) {
            Some(Ok(text)) => Some((text.chars().next(), &s[..width])),
            _ => Some((None, &s[..1])),
        }
    }
}

impl<'a> Iterator for Chars<'a> {
    type Item = (Option<char>, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.peek()?;
        self.0 = &self.0[item.1.len()..];
        Some(item)
    }
}

/// A word in an `encoding` value that names no flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEncoding(pub String);

impl fmt::Display for BadEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = FLAGS.iter().map(|(n, _)| *n).chain(["None"]).collect();
        names.sort_unstable();
        write!(
            f,
            "bad encoding {:?}: possible values are: {}",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for BadEncoding {}

impl fmt::Display for Encoding {
    /// As rclone writes it: flag names in bit order, `None` for no flag.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("None");
        }
        let mut first = true;
        for bit in 0..32 {
            let b = 1u32 << bit;
            if self.0 & b == 0 {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match FLAGS.iter().find(|(_, v)| *v == b) {
                Some((name, _)) => f.write_str(name)?,
                None => write!(f, "0x{b:X}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encoding({self})")
    }
}

impl std::str::FromStr for Encoding {
    type Err = BadEncoding;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Encoding::parse(s)
    }
}

mod names;

pub use names::Names;

#[cfg(test)]
mod tests;
