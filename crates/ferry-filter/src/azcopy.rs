//! azcopy's name/path/regex filter flags.

use crate::rules::compile_go;
use regex::Regex;
use std::fmt::Write;

/// A `filepath.Match`-style glob matched against a base name.
#[derive(Debug)]
pub(crate) enum NameMatcher {
    Exact(String),
    Suffix(String),
    Regex(Regex),
}

impl NameMatcher {
    pub(crate) fn compile(pat: &str, ignore_case: bool) -> Result<NameMatcher, String> {
        let plain = |s: &str| !s.contains(['*', '?', '[', '\\']);
        if !ignore_case {
            if plain(pat) {
                return Ok(NameMatcher::Exact(pat.to_string()));
            }
            if let Some(rest) = pat.strip_prefix('*') {
                if plain(rest) {
                    return Ok(NameMatcher::Suffix(rest.to_string()));
                }
            }
        }
        let re = name_glob_to_regex(pat, ignore_case)?;
        Regex::new(&re)
            .map(NameMatcher::Regex)
            .map_err(|e| crate::rules::one_line_regex_error(&e))
    }

    pub(crate) fn is_match(&self, name: &str) -> bool {
        match self {
            NameMatcher::Exact(s) => name == s,
            NameMatcher::Suffix(s) => name.ends_with(s.as_str()),
            NameMatcher::Regex(re) => re.is_match(name),
        }
    }
}

fn push_lit(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:02X}}}", c as u32);
    }
}

/// Go `path/filepath.Match` syntax: `*`, `?`, `[^a-z]`, `\c`.
fn name_glob_to_regex(pat: &str, ignore_case: bool) -> Result<String, String> {
    let mut out = String::from(if ignore_case { "(?i)^" } else { "^" });
    let mut it = pat.chars().peekable();
    let bad = || "syntax error in pattern".to_string();
    while let Some(c) = it.next() {
        match c {
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '\\' => push_lit(&mut out, it.next().ok_or_else(bad)?),
            '[' => {
                out.push('[');
                if it.peek() == Some(&'^') {
                    it.next();
                    out.push('^');
                }
                let mut n = 0;
                loop {
                    let lo = match it.next() {
                        None => return Err(bad()),
                        Some(']') if n > 0 => break,
                        Some(']' | '-') => return Err(bad()),
                        Some('\\') => it.next().ok_or_else(bad)?,
                        Some(c) => c,
                    };
                    push_lit(&mut out, lo);
                    if it.peek() == Some(&'-') {
                        it.next();
                        let hi = match it.next() {
                            None | Some(']' | '-') => return Err(bad()),
                            Some('\\') => it.next().ok_or_else(bad)?,
                            Some(c) => c,
                        };
                        if hi < lo {
                            return Err(bad());
                        }
                        out.push('-');
                        push_lit(&mut out, hi);
                    }
                    n += 1;
                }
                out.push(']');
            }
            c => push_lit(&mut out, c),
        }
    }
    out.push('$');
    Ok(out)
}

/// Split azcopy's `a;b;c` lists, dropping empty items.
pub(crate) fn split_list(values: &[String]) -> impl Iterator<Item = &str> {
    values
        .iter()
        .flat_map(|v| v.split(';'))
        .filter(|s| !s.is_empty())
}

#[derive(Debug, Default)]
pub(crate) struct AzFilters {
    pub(crate) include_pattern: Vec<NameMatcher>,
    pub(crate) exclude_pattern: Vec<NameMatcher>,
    /// Relative paths without leading/trailing `/` (lower-cased when
    /// `ignore_case`).
    pub(crate) exclude_path: Vec<String>,
    pub(crate) include_regex: Vec<Regex>,
    pub(crate) exclude_regex: Vec<Regex>,
    pub(crate) ignore_case: bool,
}

pub(crate) fn compile_regex(go: &str) -> Result<Regex, String> {
    compile_go(go)
}

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl AzFilters {
    pub(crate) fn is_empty(&self) -> bool {
        self.include_pattern.is_empty()
            && self.exclude_pattern.is_empty()
            && self.exclude_path.is_empty()
            && self.include_regex.is_empty()
            && self.exclude_regex.is_empty()
    }

    fn path_excluded(&self, path: &str) -> bool {
        if self.exclude_path.is_empty() {
            return false;
        }
        if self.ignore_case {
            let lower = path.to_lowercase();
            self.exclude_path.iter().any(|p| under(&lower, p))
        } else {
            self.exclude_path.iter().any(|p| under(path, p))
        }
    }

    pub(crate) fn include_file(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        if !self.include_pattern.is_empty()
            && !self.include_pattern.iter().any(|m| m.is_match(name))
        {
            return false;
        }
        if !self.include_regex.is_empty() && !self.include_regex.iter().any(|r| r.is_match(path)) {
            return false;
        }
        if self.exclude_pattern.iter().any(|m| m.is_match(name)) {
            return false;
        }
        if self.path_excluded(path) {
            return false;
        }
        !self.exclude_regex.iter().any(|r| r.is_match(path))
    }

    pub(crate) fn include_dir(&self, path: &str) -> bool {
        !self.path_excluded(path)
    }
}
