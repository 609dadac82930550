//! The config file: INI as rclone reads and writes it.
//!
//! Parsing follows the rules of the INI library rclone uses, so a file that
//! rclone reads is read the same way here:
//!
//! * each line is trimmed; empty lines and lines starting with `#` or `;`
//!   are kept as they are (comments only at the start of a line — a `#`
//!   inside a value is part of the value);
//! * `[name]` starts a section (a remote); the name is trimmed;
//! * otherwise the line is `key = value` or `key: value`, split at the first
//!   `=` or `:`; key and value are trimmed; a value written between
//!   backticks (`` `v` ``) or triple double quotes (`"""v"""`) is taken
//!   verbatim from inside them (this is how leading/trailing spaces are
//!   written); no backslash escapes, no line continuations;
//! * a repeated key: the last one wins; a repeated section: merged.
//!
//! The file is kept line by line, so rewriting it keeps comments, blank
//! lines, key order and keys ferry does not know, and changes only the lines
//! of keys that were set.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Result};

#[derive(Clone)]
enum Line {
    /// Empty or whitespace-only line, kept verbatim.
    Blank(String),
    /// `#` or `;` comment, kept verbatim.
    Comment(String),
    /// `key = value`.
    Entry(Entry),
}

#[derive(Clone)]
struct Entry {
    key: String,
    value: String,
    /// The original text, while the entry is unchanged.
    raw: Option<String>,
}

#[derive(Clone)]
struct Block {
    /// Comment lines directly above the header (they go with the section).
    leading: Vec<Line>,
    /// The header line as written.
    header: String,
    name: String,
    lines: Vec<Line>,
}

/// A loaded (or new) config file. Sections are remotes.
///
/// `Debug` prints the path and the section names only, never values.
#[derive(Clone)]
pub struct ConfigFile {
    path: PathBuf,
    writable: bool,
    crlf: bool,
    /// The file started with a UTF-8 byte order mark (kept on rewrite).
    bom: bool,
    /// Lines before the first section.
    preamble: Vec<Line>,
    blocks: Vec<Block>,
    /// The password of a file read encrypted: it is written back encrypted with it.
    password: Option<ferry_core::Secret>,
}

impl fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("writable", &self.writable)
            .field("sections", &self.sections())
            .finish()
    }
}

fn syntax(path: &Path, line: usize, reason: impl Into<String>) -> ConfigError {
    ConfigError::ConfigSyntax {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// Split `key = value` following rclone's INI library. Returns
/// `(key, value)` or a reason.
fn parse_entry(line: &str) -> std::result::Result<(String, String), String> {
    const NO_SEP: &str = "can't parse line: expected `key = value`, `[remote]` or a `#` comment";
    let bytes = line.as_bytes();
    let (key, rest) = match bytes[0] {
        b'"' | b'`' => {
            let q: &str = if line.starts_with("\"\"\"") && line.len() >= 6 {
                "\"\"\""
            } else if bytes[0] == b'"' {
                "\""
            } else {
                "`"
            };
            let Some(end) = line[q.len()..].find(q).map(|p| p + q.len()) else {
                return Err(format!("unterminated quoted key (missing closing {q})"));
            };
            let Some(sep) = line[end..].find(['=', ':']).map(|p| p + end) else {
                return Err(NO_SEP.to_string());
            };
            (line[q.len()..end].to_string(), &line[sep + 1..])
        }
        _ => match line.find(['=', ':']) {
            None => return Err(NO_SEP.to_string()),
            Some(0) => return Err("can't parse line: the key before `=` is empty".to_string()),
            Some(sep) => (line[..sep].trim().to_string(), &line[sep + 1..]),
        },
    };
    let right = rest.trim();
    let value = if right.len() >= 2 && right.starts_with('`') {
        match right[1..].rfind('`') {
            Some(p) => right[1..1 + p].to_string(),
            None => return Err("unterminated quoted value (missing closing `)".to_string()),
        }
    } else if right.len() >= 6 && right.starts_with("\"\"\"") {
        match right[3..].rfind("\"\"\"") {
            Some(p) => right[3..3 + p].to_string(),
            None => return Err("unterminated quoted value (missing closing \"\"\")".to_string()),
        }
    } else {
        right.to_string()
    };
    Ok((key, value))
}

/// Write a value so that rclone (and [`parse_entry`]) read it back as is.
pub(crate) fn quote_value(v: &str) -> String {
    if v.trim() != v || v.starts_with('`') || v.starts_with("\"\"\"") {
        format!("`{v}`")
    } else {
        v.to_string()
    }
}

/// Check that `key` can be written as a plain INI key.
pub(crate) fn check_key(key: &str) -> std::result::Result<(), &'static str> {
    if key.is_empty() {
        return Err("a key can't be empty");
    }
    if key.contains(['\n', '\r']) {
        return Err("a key can't contain a line break");
    }
    if key.contains(['=', ':']) {
        return Err("a key can't contain `=` or `:`");
    }
    if key.trim() != key {
        return Err("a key can't start or end with white space");
    }
    if key.starts_with(['#', ';', '[', '"', '`']) {
        return Err("a key can't start with `#`, `;`, `[`, `\"` or a backtick");
    }
    Ok(())
}

/// Check that `value` can be written on one INI line.
pub(crate) fn check_value(value: &str) -> std::result::Result<(), &'static str> {
    if value.contains(['\n', '\r']) {
        return Err("a value can't contain a line break (write PEM keys with `\\n`)");
    }
    Ok(())
}

/// Check that `name` can be written as a `[section]` header.
fn check_section(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("a remote name can't be empty");
    }
    if name.contains(['\n', '\r', '[', ']']) {
        return Err("a remote name can't contain a line break, `[` or `]`");
    }
    if name.trim() != name {
        return Err("a remote name can't start or end with white space");
    }
    if name.starts_with(':') {
        return Err("an on-the-fly `:backend` can't be saved in the config file");
    }
    Ok(())
}

impl ConfigFile {
    /// An empty config that will be saved to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigFile {
            path: path.into(),
            writable: true,
            crlf: false,
            bom: false,
            preamble: Vec::new(),
            blocks: Vec::new(),
            password: None,
        }
    }

    /// Read and parse `path`, which must exist. The result is writable.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let data = match ferry_core::limited::read_limited(path, ferry_core::limited::CONFIG_LIMIT)
        {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::ConfigNotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(ConfigError::ConfigRead {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        };
        Self::parse_bytes(&data, path)
    }

    /// Like [`ConfigFile::load`], but a missing file gives an empty config.
    pub fn load_or_empty(path: impl AsRef<Path>) -> Result<Self> {
        match Self::load(path.as_ref()) {
            Err(ConfigError::ConfigNotFound { .. }) => Ok(Self::new(path.as_ref())),
            other => other,
        }
    }

    /// Open the file a [`crate::ConfigLocation`] points at: missing means
    /// empty, and writes are allowed only if the location allows them.
    pub fn open(location: &crate::ConfigLocation) -> Result<Self> {
        let mut c = Self::load_or_empty(&location.path)?;
        c.writable = location.writable;
        Ok(c)
    }

    /// Parse raw bytes; `path` is used in error messages and by `save`.
    pub fn parse_bytes(data: &[u8], path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::str::from_utf8(data).map_err(|e| {
            let line = data[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            syntax(path, line, "not valid UTF-8 text")
        })?;
        Self::parse(text, path)
    }

    /// Parse text; `path` is used in error messages and by `save`. An encrypted config is
    /// opened with the config password ([`crate::password`]).
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if crate::encrypted::is_encrypted(text) {
            return Self::parse_encrypted(text, path);
        }
        let mut cfg = ConfigFile::new(path);
        let text = match text.strip_prefix('\u{feff}') {
            Some(t) => {
                cfg.bom = true;
                t
            }
            None => text,
        };
        let mut pieces: Vec<&str> = text.split('\n').collect();
        if pieces.last() == Some(&"") {
            pieces.pop();
        }
        for (i, piece) in pieces.into_iter().enumerate() {
            let lineno = i + 1;
            let raw = match piece.strip_suffix('\r') {
                Some(r) => {
                    cfg.crlf = true;
                    r
                }
                None => piece,
            };
            let t = raw.trim();
            if t.is_empty() {
                cfg.current_lines().push(Line::Blank(raw.to_string()));
            } else if t.starts_with('#') || t.starts_with(';') {
                cfg.current_lines().push(Line::Comment(raw.to_string()));
            } else if t.len() >= 2 && t.starts_with('[') && t.ends_with(']') {
                let name = t[1..t.len() - 1].trim();
                if name.is_empty() {
                    return Err(syntax(path, lineno, "empty section name `[]`"));
                }
                // Comment lines right above the header belong to it.
                let lines = cfg.current_lines();
                let keep = lines
                    .iter()
                    .rposition(|l| !matches!(l, Line::Comment(_)))
                    .map_or(0, |p| p + 1);
                let leading = lines.split_off(keep);
                cfg.blocks.push(Block {
                    leading,
                    header: raw.to_string(),
                    name: name.to_string(),
                    lines: Vec::new(),
                });
            } else {
                let (key, value) = parse_entry(t).map_err(|r| syntax(path, lineno, r))?;
                cfg.current_lines().push(Line::Entry(Entry {
                    key,
                    value,
                    raw: Some(raw.to_string()),
                }));
            }
        }
        Ok(cfg)
    }

    fn current_lines(&mut self) -> &mut Vec<Line> {
        match self.blocks.last_mut() {
            Some(b) => &mut b.lines,
            None => &mut self.preamble,
        }
    }

    /// The file this config is read from and saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True if [`ConfigFile::save`] may write the file.
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Allow or forbid [`ConfigFile::save`].
    pub fn set_writable(&mut self, writable: bool) {
        self.writable = writable;
    }

    /// Section (remote) names, in file order, each once.
    pub fn sections(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for b in &self.blocks {
            if !out.contains(&b.name) {
                out.push(b.name.clone());
            }
        }
        out
    }

    /// True if the file has a section called `name`.
    pub fn has_section(&self, name: &str) -> bool {
        self.blocks.iter().any(|b| b.name == name)
    }

    fn entries<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.blocks
            .iter()
            .filter(move |b| b.name == section)
            .flat_map(|b| b.lines.iter())
            .filter_map(|l| match l {
                Line::Entry(e) => Some(e),
                _ => None,
            })
    }

    /// Keys of `section` in file order, each once.
    pub fn keys(&self, section: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.entries(section) {
            if !out.contains(&e.key) {
                out.push(e.key.clone());
            }
        }
        out
    }

    /// `(key, value)` pairs of `section`, keys in file order, last value wins.
    pub fn section_entries(&self, section: &str) -> Vec<(String, String)> {
        self.keys(section)
            .into_iter()
            .map(|k| {
                let v = self.get(section, &k).unwrap_or_default().to_string();
                (k, v)
            })
            .collect()
    }

    /// The value of `key` in `section` (the last one if repeated).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let mut found = None;
        for b in self.blocks.iter().filter(|b| b.name == section) {
            for l in &b.lines {
                if let Line::Entry(e) = l {
                    if e.key == key {
                        found = Some(e.value.as_str());
                    }
                }
            }
        }
        found
    }

    /// Set `key` of `section` to `value`, creating the section if needed.
    /// An existing key keeps its place in the file.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> Result<()> {
        check_section(section).map_err(|reason| ConfigError::InvalidSection {
            name: section.to_string(),
            reason,
        })?;
        check_key(key).map_err(|reason| ConfigError::InvalidKey {
            key: key.to_string(),
            remote: Some(section.to_string()),
            reason,
        })?;
        check_value(value).map_err(|reason| ConfigError::InvalidValue {
            remote: section.to_string(),
            key: key.to_string(),
            reason,
        })?;
        // Update the last occurrence in place.
        for b in self.blocks.iter_mut().rev().filter(|b| b.name == section) {
            for l in b.lines.iter_mut().rev() {
                if let Line::Entry(e) = l {
                    if e.key == key {
                        if e.value != value {
                            e.value = value.to_string();
                            e.raw = None;
                        }
                        return Ok(());
                    }
                }
            }
        }
        let entry = Line::Entry(Entry {
            key: key.to_string(),
            value: value.to_string(),
            raw: None,
        });
        if let Some(b) = self.blocks.iter_mut().rev().find(|b| b.name == section) {
            let at = b
                .lines
                .iter()
                .rposition(|l| matches!(l, Line::Entry(_)))
                .map_or(0, |p| p + 1);
            b.lines.insert(at, entry);
            return Ok(());
        }
        // New section at the end, separated by a blank line.
        let lines = self.current_lines();
        if lines.last().is_some_and(|l| !matches!(l, Line::Blank(_))) {
            lines.push(Line::Blank(String::new()));
        }
        self.blocks.push(Block {
            leading: Vec::new(),
            header: format!("[{section}]"),
            name: section.to_string(),
            lines: vec![entry, Line::Blank(String::new())],
        });
        Ok(())
    }

    /// Remove `key` from `section`. Returns true if it was there.
    pub fn remove_key(&mut self, section: &str, key: &str) -> bool {
        let mut removed = false;
        for b in self.blocks.iter_mut().filter(|b| b.name == section) {
            b.lines.retain(|l| {
                let hit = matches!(l, Line::Entry(e) if e.key == key);
                removed |= hit;
                !hit
            });
        }
        removed
    }

    /// Remove a whole section, with the comments directly above it.
    /// Returns true if it was there.
    pub fn remove_section(&mut self, name: &str) -> bool {
        let before = self.blocks.len();
        self.blocks.retain(|b| b.name != name);
        self.blocks.len() != before
    }

    /// The whole file as text, as [`ConfigFile::save`] writes it.
    pub fn to_text(&self) -> String {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        let mut push = |s: &str| {
            out.push_str(s);
            out.push_str(nl);
        };
        let render = |l: &Line| -> String {
            match l {
                Line::Blank(s) | Line::Comment(s) => s.clone(),
                Line::Entry(e) => match &e.raw {
                    Some(r) => r.clone(),
                    None => format!("{} = {}", e.key, quote_value(&e.value)),
                },
            }
        };
        for l in &self.preamble {
            push(&render(l));
        }
        for b in &self.blocks {
            for l in &b.leading {
                push(&render(l));
            }
            push(&b.header);
            for l in &b.lines {
                push(&render(l));
            }
        }
        out
    }

    /// Whether the file was read encrypted (and will be written so).
    pub fn is_encrypted(&self) -> bool {
        self.password.is_some()
    }

    /// Writes the file encrypted with `password` from now on, or plain (`None`).
    pub fn set_password(&mut self, password: Option<ferry_core::Secret>) {
        self.password = password;
    }

    /// An encrypted config, opened with the config password.
    fn parse_encrypted(text: &str, path: &Path) -> Result<Self> {
        use crate::encrypted::{decrypt, Unreadable};
        let refused = |reason: String| ConfigError::ConfigPassword {
            path: path.to_path_buf(),
            reason,
        };
        let (password, source) = crate::password::config_password().map_err(refused)?;
        let plain = decrypt(text, &password).map_err(|e| {
            refused(match e {
                Unreadable::Version => {
                    "unsupported configuration encryption - update rclone for support".into()
                }
                Unreadable::Damaged(why) => why,
                Unreadable::WrongPassword => source.wrong().into(),
            })
        })?;
        let mut cfg = Self::parse(&plain, path)?;
        cfg.password = Some(ferry_core::Secret::new(password));
        Ok(cfg)
    }

    /// The file's text as written: plain, or encrypted again with the password it was
    /// read with (under a fresh nonce).
    fn file_text(&self) -> std::io::Result<String> {
        match &self.password {
            None => Ok(self.to_text()),
            Some(p) => crate::encrypted::encrypt(&self.to_text(), p.expose()),
        }
    }

    /// Write the file atomically: a temporary file in the same directory,
    /// flushed to disk, then renamed over the old one; mode 0600 on Unix.
    /// A symbolic link is followed and its target replaced.
    pub fn save(&self) -> Result<()> {
        if !self.writable {
            return Err(ConfigError::ConfigReadOnly {
                path: self.path.clone(),
            });
        }
        let werr = |path: &Path, source: std::io::Error| ConfigError::ConfigWrite {
            path: path.to_path_buf(),
            source,
        };
        let mut target = self.path.clone();
        if let Ok(md) = fs::symlink_metadata(&target) {
            if md.file_type().is_symlink() {
                let link = fs::read_link(&target).map_err(|e| werr(&self.path, e))?;
                target = if link.is_absolute() {
                    link
                } else {
                    target.parent().unwrap_or(Path::new("")).join(link)
                };
            }
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        create_dir_private(&dir).map_err(|e| werr(&dir, e))?;
        let file_name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ferry.conf".to_string());
        let mut rnd = [0u8; 6];
        getrandom::fill(&mut rnd)
            .map_err(|e| werr(&target, std::io::Error::other(e.to_string())))?;
        let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".{file_name}.{suffix}.tmp"));
        let result = (|| -> std::io::Result<()> {
            let mut f = create_private(&tmp)?;
            f.write_all(self.file_text()?.as_bytes())?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &target)?;
            sync_dir(&dir);
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(werr(&target, e));
        }
        Ok(())
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_dir_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir_private(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    // Best effort: makes the rename durable on filesystems that need it.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# my ferry config
; written by hand

# about a
[a]
type = sftp
host = example.com
# a comment inside
unknown_key = kept verbatim   
pass = abc#def;ghi

[b]
type=local
weird key:colon value
quoted = ` padded `
triple = \"\"\"x\"\"\"
dq = \"kept\"
empty =
";

    fn sample() -> ConfigFile {
        ConfigFile::parse(SAMPLE, "/x/ferry.conf").unwrap()
    }

    #[test]
    fn reads_like_rclone() {
        let c = sample();
        assert_eq!(c.sections(), vec!["a", "b"]);
        assert_eq!(c.get("a", "type"), Some("sftp"));
        assert_eq!(c.get("a", "unknown_key"), Some("kept verbatim"));
        assert_eq!(c.get("a", "pass"), Some("abc#def;ghi"));
        assert_eq!(c.get("b", "type"), Some("local"));
        assert_eq!(c.get("b", "weird key"), Some("colon value"));
        assert_eq!(c.get("b", "quoted"), Some(" padded "));
        assert_eq!(c.get("b", "triple"), Some("x"));
        assert_eq!(c.get("b", "dq"), Some("\"kept\""));
        assert_eq!(c.get("b", "empty"), Some(""));
        assert_eq!(c.get("b", "missing"), None);
        assert_eq!(c.get("zz", "type"), None);
        assert_eq!(c.keys("a"), vec!["type", "host", "unknown_key", "pass"]);
    }

    #[test]
    fn unchanged_round_trip_is_byte_identical() {
        assert_eq!(sample().to_text(), SAMPLE);
        let crlf = SAMPLE.replace('\n', "\r\n");
        assert_eq!(ConfigFile::parse(&crlf, "x").unwrap().to_text(), crlf);
    }

    #[test]
    fn edits_keep_comments_order_and_unknown_keys() {
        let mut c = sample();
        c.set("a", "host", "other.example").unwrap();
        c.set("a", "port", "2222").unwrap();
        c.set("new", "type", "s3").unwrap();
        c.set("new", "region", "eu-west-1").unwrap();
        let t = c.to_text();
        let want = "\
# my ferry config
; written by hand

# about a
[a]
type = sftp
host = other.example
# a comment inside
unknown_key = kept verbatim   
pass = abc#def;ghi
port = 2222

[b]
type=local
weird key:colon value
quoted = ` padded `
triple = \"\"\"x\"\"\"
dq = \"kept\"
empty =

[new]
type = s3
region = eu-west-1

";
        assert_eq!(t, want);
        let again = ConfigFile::parse(&t, "x").unwrap();
        assert_eq!(again.get("new", "region"), Some("eu-west-1"));
    }

    #[test]
    fn remove_section_takes_its_comments() {
        let mut c = sample();
        assert!(c.remove_section("a"));
        assert!(!c.remove_section("a"));
        let t = c.to_text();
        assert!(
            t.starts_with("# my ferry config\n; written by hand\n\n[b]\n"),
            "{t}"
        );
        assert!(!t.contains("about a"));
        assert!(c.remove_key("b", "dq"));
        assert!(!c.remove_key("b", "dq"));
        assert_eq!(c.get("b", "dq"), None);
    }

    #[test]
    fn repeated_keys_and_sections_merge() {
        let c = ConfigFile::parse("[a]\nk = 1\n[b]\nk = x\n[a]\nk = 2\nj = 3\n", "x").unwrap();
        assert_eq!(c.sections(), vec!["a", "b"]);
        assert_eq!(c.get("a", "k"), Some("2"));
        assert_eq!(c.keys("a"), vec!["k", "j"]);
        let mut c = c;
        c.set("a", "k", "9").unwrap();
        assert_eq!(c.get("a", "k"), Some("9"));
        assert!(c.to_text().contains("k = 1\n"));
    }

    #[test]
    fn values_that_need_quoting_round_trip() {
        let mut c = ConfigFile::new("x");
        let vals = [
            " lead",
            "trail ",
            "`tick",
            "tick`",
            "`",
            "\"\"\"triple",
            "a = b : c",
            "# not a comment",
            "",
            "ünïcödé ✓",
            "C:\\path\\",
        ];
        for (i, v) in vals.iter().enumerate() {
            c.set("r", &format!("k{i}"), v).unwrap();
        }
        let c2 = ConfigFile::parse(&c.to_text(), "x").unwrap();
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(c2.get("r", &format!("k{i}")), Some(*v), "value {v:?}");
        }
    }

    #[test]
    fn set_rejects_what_cannot_be_written() {
        let mut c = ConfigFile::new("x");
        let e = c.set("r", "k", "a\nb").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value for key \"k\" of remote \"r\": a value can't contain a line break (write PEM keys with `\\n`)"
        );
        let e = c.set("r", "a=b", "v").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid key \"a=b\" (remote \"r\"): a key can't contain `=` or `:`"
        );
        assert!(c.set("r", "", "v").is_err());
        assert!(c.set("r", "#k", "v").is_err());
        assert_eq!(
            c.set("r]", "k", "v").unwrap_err().to_string(),
            "can't write remote \"r]\" to the config file: a remote name can't contain a line break, `[` or `]`"
        );
        assert!(c.set(":s3", "k", "v").is_err());
        assert!(c.set("", "k", "v").is_err());
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let e = ConfigFile::parse("[a]\ntype = s3\njunk line\n", "/etc/f.conf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/f.conf:3: can't parse line: expected `key = value`, `[remote]` or a `#` comment"
        );
        let e = ConfigFile::parse("[a]\n= v\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:2: can't parse line: the key before `=` is empty"
        );
        let e = ConfigFile::parse("\n\n[ ]\n", "f").unwrap_err();
        assert_eq!(e.to_string(), "f:3: empty section name `[]`");
        let e = ConfigFile::parse("[a]\nk = `abc\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:2: unterminated quoted value (missing closing `)"
        );
        let e = ConfigFile::parse("[a]\n\"k = v\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f:2: unterminated quoted key (missing closing \")"
        );
        let e = ConfigFile::parse_bytes(b"[a]\nk = v\nx = \xff\n", "f").unwrap_err();
        assert_eq!(e.to_string(), "f:3: not valid UTF-8 text");
        // The bad line's content (maybe a secret) is not in the message.
        let e = ConfigFile::parse("[a]\nhunter2\n", "f").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        assert!(!format!("{e:?}").contains("hunter2"));
    }

    #[test]
    fn encrypted_rclone_config_is_refused() {
        // Without a password the file can't be opened, and the error says how to give one.
        std::env::remove_var("RCLONE_CONFIG_PASS");
        std::env::remove_var("FERRY_CONFIG_PASS");
        let enc = "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nAAAA\n";
        let e = ConfigFile::parse(enc, "/h/rclone.conf").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Failed to load config file \"/h/rclone.conf\": unable to decrypt configuration and not allowed to ask for password - set RCLONE_CONFIG_PASS to your configuration password"
        );
    }

    #[test]
    fn bom_and_preamble_keys() {
        let c = ConfigFile::parse("\u{feff}top = 1\n[a]\ntype = local\n", "f").unwrap();
        assert_eq!(c.sections(), vec!["a"]);
        assert_eq!(c.to_text(), "\u{feff}top = 1\n[a]\ntype = local\n");
        let c = ConfigFile::parse_bytes(b"\xef\xbb\xbf[a]\ntype = local", "f").unwrap();
        assert_eq!(c.get("a", "type"), Some("local"));
    }

    #[test]
    fn debug_shows_no_values() {
        let c = ConfigFile::parse("[a]\npass = hunter2\n", "f").unwrap();
        let d = format!("{c:?}");
        assert!(d.contains("\"a\"") && !d.contains("hunter2"), "{d}");
    }

    #[test]
    fn new_file_gets_rclone_layout() {
        let mut c = ConfigFile::new("x");
        c.set("a", "type", "local").unwrap();
        c.set("b", "type", "s3").unwrap();
        assert_eq!(c.to_text(), "[a]\ntype = local\n\n[b]\ntype = s3\n\n");
        c.remove_section("a");
        c.remove_section("b");
        assert_eq!(c.to_text(), "");
    }
}
