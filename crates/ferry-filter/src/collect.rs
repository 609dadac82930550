//! Gathering rules from rclone's flags in rclone's fixed order — includes, excludes, then
//! filter rules (`!` clearing) — with an implicit `- /**` after any include. The name
//! filters and the metadata filters share it; each compiles the rules its own way.

use std::path::PathBuf;

use crate::{read_lines, FilterError, Origin};

/// Something rules are added to.
pub(crate) trait RuleSink {
    fn add(&mut self, include: bool, glob: &str, origin: &Origin) -> Result<(), FilterError>;
    fn clear(&mut self);

    /// rclone's `addRule`: `+ pat`, `- pat` or `!`.
    fn add_rule(&mut self, rule: &str, origin: &Origin) -> Result<(), FilterError> {
        if rule == "!" {
            self.clear();
            Ok(())
        } else if let Some(pat) = rule.strip_prefix("- ") {
            self.add(false, pat, origin)
        } else if let Some(pat) = rule.strip_prefix("+ ") {
            self.add(true, pat, origin)
        } else {
            Err(FilterError::MalformedRule {
                origin: origin.clone(),
                rule: rule.to_string(),
            })
        }
    }
}

/// One family of rule flags: `--include`, `--include-from`, `--exclude`,
/// `--exclude-from`, `--filter`, `--filter-from` (or their `--metadata-` forms).
pub(crate) struct RuleFlags<'a> {
    pub include: &'a [String],
    pub include_from: &'a [PathBuf],
    pub exclude: &'a [String],
    pub exclude_from: &'a [PathBuf],
    pub filter: &'a [String],
    pub filter_from: &'a [PathBuf],
    /// The flags' names, in the order of the fields above.
    pub names: [&'static str; 6],
}

/// Adds every rule the flags give to `sink`.
pub(crate) fn add_all(sink: &mut impl RuleSink, f: &RuleFlags) -> Result<(), FilterError> {
    let [include, include_from, exclude, exclude_from, filter, filter_from] = f.names;
    let file = |path: &PathBuf, line| Origin::File {
        path: path.clone(),
        line,
    };
    let mut implicit_exclude = false;
    // An empty value is ignored, as rclone's flag parsing does.
    let nonempty = |v: &&String| !v.is_empty();
    for pat in f.include.iter().filter(nonempty) {
        sink.add(true, pat, &Origin::Flag(include))?;
        implicit_exclude = true;
    }
    for path in f.include_from {
        for (line, pat) in read_lines(include_from, path, false)? {
            sink.add(true, &pat, &file(path, line))?;
        }
        implicit_exclude = true;
    }
    for pat in f.exclude.iter().filter(nonempty) {
        sink.add(false, pat, &Origin::Flag(exclude))?;
    }
    for path in f.exclude_from {
        for (line, pat) in read_lines(exclude_from, path, false)? {
            sink.add(false, &pat, &file(path, line))?;
        }
    }
    for rule in f.filter.iter().filter(nonempty) {
        sink.add_rule(rule, &Origin::Flag(filter))?;
    }
    for path in f.filter_from {
        for (line, rule) in read_lines(filter_from, path, false)? {
            sink.add_rule(&rule, &file(path, line))?;
        }
    }
    if implicit_exclude {
        sink.add(false, "/**", &Origin::Flag(include))?;
    }
    Ok(())
}
