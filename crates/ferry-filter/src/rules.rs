//! Compiled patterns and first-match-wins rule lists.

use crate::glob::{fast_path, glob_to_go_regex, Fast};
use crate::goregex::go_to_rust;
use regex::Regex;
use std::collections::HashSet;
use std::sync::Arc;

/// One compiled rclone glob.
#[derive(Debug)]
pub(crate) struct Pattern {
    /// Literal shortcut; exact for any path without a newline (`**` is
    /// `.*` in the regexp, which does not match `\n`).
    fast: Option<Fast>,
    regex: Regex,
    /// The Go regexp rclone would use (shown by `--dump filters`).
    pub(crate) go_regex: String,
}

/// Turn a multi-line `regex` error into one line.
pub(crate) fn one_line_regex_error(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .map(str::to_string)
            .unwrap_or_else(|| s.lines().collect::<Vec<_>>().join(" ")),
        regex::Error::CompiledTooBig(n) => {
            format!("compiled regexp exceeds size limit of {n} bytes")
        }
        other => other.to_string().replace('\n', " "),
    }
}

/// Compile a Go regexp (already in Go syntax) with the `regex` crate.
pub(crate) fn compile_go(go: &str) -> Result<Regex, String> {
    let rust = go_to_rust(go)?;
    Regex::new(&rust).map_err(|e| one_line_regex_error(&e))
}

impl Pattern {
    pub(crate) fn compile(glob: &str, ignore_case: bool) -> Result<Pattern, String> {
        let go_regex = glob_to_go_regex(glob, ignore_case)?;
        let regex = compile_go(&go_regex)?;
        let fast = if ignore_case { None } else { fast_path(glob) };
        Ok(Pattern {
            fast,
            regex,
            go_regex,
        })
    }

    /// `has_nl`: whether `path` contains a `\n` (computed once per path).
    #[inline]
    pub(crate) fn is_match(&self, path: &str, has_nl: bool) -> bool {
        match &self.fast {
            Some(fast) if !has_nl => fast.is_match(path),
            _ => self.regex.is_match(path),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) include: bool,
    pub(crate) pattern: Arc<Pattern>,
}

/// An ordered rule list: the first rule whose pattern matches decides;
/// no match means "include".
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub(crate) rules: Vec<Rule>,
    existing: HashSet<(bool, String)>,
}

impl Rules {
    /// Append a rule unless an identical one (same sign, same regexp) is
    /// already present: a later duplicate could never be the first match.
    pub(crate) fn add(&mut self, include: bool, pattern: Arc<Pattern>) {
        if self.existing.insert((include, pattern.go_regex.clone())) {
            self.rules.push(Rule { include, pattern });
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.existing.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }

    #[inline]
    pub(crate) fn include(&self, path: &str) -> bool {
        let has_nl = path.contains('\n');
        for rule in &self.rules {
            if rule.pattern.is_match(path, has_nl) {
                return rule.include;
            }
        }
        true
    }

    pub(crate) fn dump(&self, out: &mut Vec<String>) {
        for r in &self.rules {
            out.push(format!(
                "{} {}",
                if r.include { "+" } else { "-" },
                r.pattern.go_regex
            ));
        }
    }
}
