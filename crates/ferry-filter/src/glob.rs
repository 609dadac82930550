//! rclone's glob dialect, translated to a Go (RE2) regular expression.
//!
//! rclone turns every filter pattern into a Go regexp and matches that
//! against the relative path. To behave identically we produce the very
//! same Go regexp text (so `Filter::dump` looks like `rclone --dump filters`)
//! and then hand it to [`crate::goregex`], which rewrites the few spots where
//! Go's regexp syntax differs from the Rust `regex` crate.
//!
//! The translation, character by character:
//!
//! * a leading `/` anchors the pattern at the root (`^`); otherwise the
//!   pattern has to start at the beginning of a path segment (`(^|/)`);
//!   the end is always anchored (`$`);
//! * `*` is `[^/]*`, `**` is `.*`, three or more stars are an error;
//! * `?` is `[^/]`;
//! * `[...]` is copied through verbatim as a regexp class; nested `[`/`]`
//!   are counted (so `[[:alpha:]]` works) and a backslash inside a class
//!   does *not* escape the bracket counting (as in rclone);
//! * `{a,b}` becomes `(a|b)` and may nest; `,` outside braces is literal;
//! * `{{re}}` embeds the regexp `re` as `(re)`; any `}` directly after the
//!   closing `}}` belongs to the regexp (the longest `}` run closes it);
//! * `\c` is copied as `\c`, so it escapes glob specials and also gives
//!   access to regexp escapes such as `\d`;
//! * the regexp metacharacters `. + ( ) | ^ $` are escaped; all other
//!   characters are copied unchanged.

use regex::Regex;
use std::sync::OnceLock;

/// Translate an rclone path glob to Go regexp syntax.
///
/// `Err` carries a one-line reason (without the pattern).
pub(crate) fn glob_to_go_regex(glob: &str, ignore_case: bool) -> Result<String, String> {
    let mut re = String::with_capacity(glob.len() * 2 + 8);
    if ignore_case {
        re.push_str("(?i)");
    }
    let glob = match glob.strip_prefix('/') {
        Some(rest) => {
            re.push('^');
            rest
        }
        None => {
            re.push_str("(^|/)");
            glob
        }
    };

    let mut stars = 0usize;
    let mut brace_depth = 0i32;
    let mut bracket_depth = 0i32;
    let mut escaped = false;
    let mut in_regex = false; // between {{ and }}
    let mut regex_closing = false; // just saw }}: more } extend the regexp
    let mut prev: Option<char> = None;

    fn flush_stars(re: &mut String, stars: &mut usize) -> Result<(), String> {
        match *stars {
            0 => {}
            1 => re.push_str("[^/]*"),
            2 => re.push_str(".*"),
            _ => return Err("too many stars (at most `**` in a row)".into()),
        }
        *stars = 0;
        Ok(())
    }

    fn replace_last(re: &mut String, c: char) {
        re.pop();
        re.push(c);
    }

    for c in glob.chars() {
        let last = prev;
        prev = Some(c);

        if escaped {
            re.push(c);
            escaped = false;
            continue;
        }
        if regex_closing {
            if c == '}' {
                // `}}}`: the regexp itself ends in `}`.
                replace_last(&mut re, '}');
                re.push(')');
                continue;
            }
            regex_closing = false;
        }
        if in_regex {
            if c == '}' && last == Some('}') {
                in_regex = false;
                regex_closing = true;
                replace_last(&mut re, ')');
            } else {
                re.push(c);
            }
            continue;
        }
        if c != '*' {
            flush_stars(&mut re, &mut stars)?;
        }
        if bracket_depth > 0 {
            re.push(c);
            match c {
                '[' => bracket_depth += 1,
                ']' => bracket_depth -= 1,
                _ => {}
            }
            continue;
        }
        match c {
            '\\' => {
                re.push('\\');
                escaped = true;
            }
            '*' => stars += 1,
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                bracket_depth += 1;
            }
            ']' => return Err("mismatched ']'".into()),
            '{' => {
                if brace_depth > 0 && last == Some('{') {
                    // `{{`: the `(` already written by the first brace wraps
                    // the regexp, so that brace no longer counts as a group.
                    in_regex = true;
                    brace_depth -= 1;
                } else {
                    brace_depth += 1;
                    re.push('(');
                }
            }
            '}' => {
                if brace_depth <= 0 {
                    return Err("mismatched '{' and '}'".into());
                }
                re.push(')');
                brace_depth -= 1;
            }
            ',' => re.push(if brace_depth > 0 { '|' } else { ',' }),
            '.' | '+' | '(' | ')' | '|' | '^' | '$' => {
                re.push('\\');
                re.push(c);
            }
            _ => re.push(c),
        }
    }
    flush_stars(&mut re, &mut stars)?;
    if bracket_depth > 0 {
        return Err("mismatched '[' and ']'".into());
    }
    if brace_depth != 0 {
        return Err("mismatched '{' and '}'".into());
    }
    if in_regex {
        return Err("mismatched '{{' and '}}'".into());
    }
    re.push('$');
    Ok(re)
}

/// Turn a file glob into the directory globs a directory must match (with
/// a trailing `/`) for the file glob to possibly match something inside it.
///
/// `a/b/*.jpg` gives `a/b/` and `a/`; `a/**/x` gives `a/**/` and `a/`;
/// a glob with no `/` (e.g. `*.jpg`) can match at any depth and gives `/**`.
/// Globs whose structure we can't see through (a `/` or `**` inside `{}`,
/// nested `{}`, `{{regexp}}`) also give `/**`, i.e. "look everywhere".
/// The bare root `/` is returned but never used as a rule (the root is
/// always listed).
pub(crate) fn glob_to_dir_globs(glob: &str) -> Vec<String> {
    static TOO_HARD: OnceLock<Regex> = OnceLock::new();
    let too_hard = TOO_HARD.get_or_init(|| {
        Regex::new(r"(\{[^{}]*(\*\*|/)[^{}]*\})|\{\{|\}\}|\{[^{}]*\{").expect("valid regex")
    });
    if too_hard.is_match(glob) {
        return vec!["/**".to_string()];
    }

    // Collapse runs of `/`.
    let mut g = String::with_capacity(glob.len());
    for c in glob.chars() {
        if c == '/' && g.ends_with('/') {
            continue;
        }
        g.push(c);
    }

    let mut out: Vec<String> = Vec::new();
    loop {
        let slash = g.rfind('/');
        let dstar = g.rfind("**");
        let (cut, suffix) = match (slash, dstar) {
            (s, Some(d)) if s.is_none_or(|s| d > s) => (d, "**"),
            (Some(s), _) => (s, ""),
            (None, None) => {
                if out.is_empty() {
                    out.push("/**".to_string());
                }
                break;
            }
            // unreachable: (None, Some) handled by the first arm
            (None, Some(_)) => unreachable!(),
        };
        g.truncate(cut);
        let dir_glob = format!("{g}{suffix}/");
        if out.last() != Some(&dir_glob) {
            out.push(dir_glob);
        }
    }
    out
}

/// Classification of a glob for matching without a regexp.
///
/// Only produced for case-sensitive globs made of plain characters plus the
/// handful of star shapes below; everything else goes through the regexp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fast {
    /// Matches everything (`**`, `/**`, `*`).
    Always,
    /// `/*`: any path without a `/`.
    NoSlash,
    /// `/lit`: the path equals `lit`.
    Exact(String),
    /// `lit`: the path is `lit` or ends with `/lit`.
    Tail { lit: String, slash_lit: String },
    /// `*lit` (lit without `/`) or `**lit` / `/**lit`: the path ends with `lit`.
    EndsWith(String),
    /// `/*lit` (lit without `/`): no `/` in the path and it ends with `lit`.
    RootEndsWith(String),
    /// `/lit**`: the path starts with `lit`.
    StartsWith(String),
    /// `lit**`: the path starts with `lit` or contains `/lit`.
    SegmentStart { lit: String, slash_lit: String },
}

/// `s` as a glob that matches only itself: every glob metacharacter escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn is_plain(s: &str) -> bool {
    !s.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

/// Find a literal fast path for `glob` (as written by the user, before any
/// translation). Returns `None` when the glob needs a regexp.
pub(crate) fn fast_path(glob: &str) -> Option<Fast> {
    let (anchored, g) = match glob.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, glob),
    };
    if g == "**" {
        return Some(Fast::Always);
    }
    if g == "*" {
        return Some(if anchored {
            Fast::NoSlash
        } else {
            Fast::Always
        });
    }
    if is_plain(g) {
        return Some(if anchored {
            Fast::Exact(g.to_string())
        } else {
            Fast::Tail {
                lit: g.to_string(),
                slash_lit: format!("/{g}"),
            }
        });
    }
    if let Some(lit) = g.strip_prefix("**") {
        if is_plain(lit) {
            return Some(Fast::EndsWith(lit.to_string()));
        }
    }
    if let Some(lit) = g.strip_prefix('*') {
        if is_plain(lit) && !lit.contains('/') {
            return Some(if anchored {
                Fast::RootEndsWith(lit.to_string())
            } else {
                Fast::EndsWith(lit.to_string())
            });
        }
    }
    if let Some(lit) = g.strip_suffix("**") {
        if is_plain(lit) {
            return Some(if anchored {
                Fast::StartsWith(lit.to_string())
            } else {
                Fast::SegmentStart {
                    lit: lit.to_string(),
                    slash_lit: format!("/{lit}"),
                }
            });
        }
    }
    None
}

impl Fast {
    #[inline]
    pub(crate) fn is_match(&self, path: &str) -> bool {
        match self {
            Fast::Always => true,
            Fast::NoSlash => !path.contains('/'),
            Fast::Exact(lit) => path == lit,
            Fast::Tail { lit, slash_lit } => path == lit || path.ends_with(slash_lit.as_str()),
            Fast::EndsWith(lit) => path.ends_with(lit.as_str()),
            Fast::RootEndsWith(lit) => path.ends_with(lit.as_str()) && !path.contains('/'),
            Fast::StartsWith(lit) => path.starts_with(lit.as_str()),
            Fast::SegmentStart { lit, slash_lit } => {
                path.starts_with(lit.as_str()) || path.contains(slash_lit.as_str())
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_escaped_name_matches_only_itself() {
        let g = escape("a[1]*{x,y}?\\b");
        assert_eq!(g, "a\\[1\\]\\*\\{x,y\\}\\?\\\\b");
        let re = Regex::new(&glob_to_go_regex(&g, false).unwrap()).unwrap();
        assert!(re.is_match("a[1]*{x,y}?\\b"));
        assert!(!re.is_match("a1xb"));
    }

    use super::*;

    #[test]
    fn translations() {
        let cases = [
            ("*.jpg", "(^|/)[^/]*\\.jpg$"),
            ("/*.jpg", "^[^/]*\\.jpg$"),
            ("dir/**", "(^|/)dir/.*$"),
            ("*.{jpg,png}", "(^|/)[^/]*\\.(jpg|png)$"),
            ("*.t?t", "(^|/)[^/]*\\.t[^/]t$"),
            ("*.{{jpe?g}}", "(^|/)[^/]*\\.(jpe?g)$"),
            ("/{{.*\\.jpe?g}}", "^(.*\\.jpe?g)$"),
            ("{{a}}}", "(^|/)(a})$"),
            ("a\\*b", "(^|/)a\\*b$"),
            ("[[:alpha:]]x", "(^|/)[[:alpha:]]x$"),
            ("a+b(c)|^$", "(^|/)a\\+b\\(c\\)\\|\\^\\$$"),
            ("{a,{b,c}}", "(^|/)(a|(b|c))$"),
            ("a,b", "(^|/)a,b$"),
        ];
        for (glob, want) in cases {
            assert_eq!(glob_to_go_regex(glob, false).unwrap(), want, "glob {glob}");
        }
        assert_eq!(
            glob_to_go_regex("*.jpg", true).unwrap(),
            "(?i)(^|/)[^/]*\\.jpg$"
        );
    }

    #[test]
    fn translation_errors() {
        for (glob, want) in [
            ("***", "too many stars"),
            ("a]", "mismatched ']'"),
            ("[a", "mismatched '[' and ']'"),
            ("[\\]]", "mismatched ']'"),
            ("{a", "mismatched '{' and '}'"),
            ("a}", "mismatched '{' and '}'"),
            ("{{a", "mismatched '{{' and '}}'"),
        ] {
            let err = glob_to_go_regex(glob, false).unwrap_err();
            assert!(err.contains(want), "{glob}: {err}");
        }
    }

    #[test]
    fn dir_globs() {
        let cases: &[(&str, &[&str])] = &[
            ("*.jpg", &["/**"]),
            ("/a/*.jpg", &["/a/", "/"]),
            ("a/b/*.jpg", &["a/b/", "a/"]),
            ("a/**/b", &["a/**/", "a/"]),
            ("a//b", &["a/"]),
            ("**", &["**/"]),
            ("/**", &["/**/", "/"]),
            ("dir/**", &["dir/**/", "dir/"]),
            ("{a,b}/**", &["{a,b}/**/", "{a,b}/"]),
            ("{dir1/**,dir2/**}", &["/**"]),
            ("{{re}}/x", &["/**"]),
            ("{a,{b,c}}/x", &["/**"]),
        ];
        for (glob, want) in cases {
            assert_eq!(glob_to_dir_globs(glob), *want, "glob {glob}");
        }
    }

    #[test]
    fn fast_paths() {
        assert_eq!(fast_path("**"), Some(Fast::Always));
        assert_eq!(fast_path("/*"), Some(Fast::NoSlash));
        assert_eq!(fast_path("*.jpg"), Some(Fast::EndsWith(".jpg".into())));
        assert_eq!(fast_path("/*.jpg"), Some(Fast::RootEndsWith(".jpg".into())));
        assert_eq!(fast_path("*/x"), None);
        assert_eq!(fast_path("a?"), None);
        assert_eq!(fast_path("/a/b"), Some(Fast::Exact("a/b".into())));
        assert_eq!(fast_path("/dir/**"), Some(Fast::StartsWith("dir/".into())));
        assert!(fast_path("dir/**").unwrap().is_match("x/dir/y"));
        assert!(!fast_path("dir/**").unwrap().is_match("xdir/y"));
        assert!(fast_path("a/b").unwrap().is_match("x/a/b"));
        assert!(!fast_path("a/b").unwrap().is_match("xa/b"));
    }
}
