//! Parsing `--name-transform` values, with rclone's words for what is wrong.
//!
//! rclone checks a rule's value only when it first renames a file, and then fails that
//! file (a bad regex stops the program). ferry checks every rule before anything is
//! listed: one error, nothing touched.

use ferry_core::encoding::Encoding;
use ferry_core::timefmt::{apply_time_globs, Clock};
use regex::Regex;

use crate::charmap::Charmap;
use crate::segment;

/// Which names a rule renames (the tag before the rule: `file,`, `dir,` or `all,`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The last segment of a file's path (the default).
    File,
    /// Directories, wherever they appear in a path.
    Dir,
    /// Every segment: files and directories.
    All,
}

/// What one rule does to one path segment.
#[derive(Debug)]
pub(crate) enum Op {
    None,
    Nfc,
    Nfd,
    Nfkc,
    Nfkd,
    Replace {
        old: String,
        new: String,
    },
    Prefix(String),
    /// `suffix=`, and `date=` with its template shown at the run's start.
    Suffix(String),
    SuffixKeepExtension(String),
    TrimPrefix(String),
    TrimSuffix(String),
    Truncate {
        max: i64,
        bytes: bool,
        keep_extension: bool,
    },
    Base64Encode,
    Base64Decode,
    Encode(Encoding),
    Decode(Encoding),
    Charmap(Charmap),
    Lowercase,
    Uppercase,
    Titlecase,
    Ascii,
    Url,
    Regex {
        re: Regex,
        replacement: String,
    },
    Command(String),
}

#[derive(Debug)]
struct Rule {
    scope: Scope,
    op: Op,
}

impl Rule {
    fn applies(&self, is_dir: bool) -> bool {
        match self.scope {
            Scope::File => !is_dir,
            Scope::Dir => is_dir,
            Scope::All => true,
        }
    }
}

/// The rules of every `--name-transform` given, in order.
#[derive(Debug, Default)]
pub struct NameTransform {
    rules: Vec<Rule>,
}

/// rclone's names for the rules, in its order (its error lists them so).
const CHOICES: [&str; 32] = [
    "none",
    "nfc",
    "nfd",
    "nfkc",
    "nfkd",
    "replace",
    "prefix",
    "suffix",
    "suffix_keep_extension",
    "trimprefix",
    "trimsuffix",
    "index",
    "date",
    "truncate",
    "truncate_keep_extension",
    "truncate_bytes",
    "truncate_bytes_keep_extension",
    "base64encode",
    "base64decode",
    "encoder",
    "decoder",
    "ISO-8859-1",
    "Windows-1252",
    "Macintosh",
    "charmap",
    "lowercase",
    "uppercase",
    "titlecase",
    "ascii",
    "url",
    "regex",
    "command",
];

/// The rules that mean nothing without a value.
const NEED_VALUE: [&str; 16] = [
    "replace",
    "prefix",
    "suffix",
    "suffix_keep_extension",
    "trimprefix",
    "trimsuffix",
    "index",
    "date",
    "truncate",
    "truncate_keep_extension",
    "truncate_bytes",
    "truncate_bytes_keep_extension",
    "encoder",
    "decoder",
    "regex",
    "command",
];

impl NameTransform {
    /// Parses each `--name-transform` value in order; `now` is the moment `date=` rules
    /// show (one moment for the whole run, so a file's name doesn't depend on when it was
    /// reached). The error names the value and what is wrong with it.
    pub fn parse(values: &[String], now: &Clock) -> Result<NameTransform, String> {
        let rules = values
            .iter()
            .map(|v| parse_rule(v, now).map_err(|e| format!("--name-transform {v:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(NameTransform { rules })
    }

    /// Whether any rule was given.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The name `name` (one segment) gets, for a directory when `is_dir`.
    pub fn name(&self, name: &str, is_dir: bool) -> Result<String, String> {
        let mut s = name.to_owned();
        for rule in self.rules.iter().filter(|r| r.applies(is_dir)) {
            s = segment::apply(&rule.op, &s)?;
            segment::validate(&s)?;
        }
        Ok(s)
    }

    /// `path` with each segment renamed: those above as directories, the last one as a
    /// directory when `is_dir`.
    pub fn path(&self, path: &str, is_dir: bool) -> Result<String, String> {
        let segments: Vec<&str> = path.split('/').collect();
        let last = segments.len() - 1;
        let renamed = segments
            .iter()
            .enumerate()
            .map(|(i, seg)| self.name(seg, is_dir || i < last))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(renamed.join("/"))
    }
}

fn parse_rule(text: &str, now: &Clock) -> Result<Rule, String> {
    if text.is_empty() {
        return Ok(Rule {
            scope: Scope::File,
            op: Op::None,
        });
    }
    let (scope, rest) = [
        ("file,", Scope::File),
        ("dir,", Scope::Dir),
        ("all,", Scope::All),
    ]
    .into_iter()
    .find_map(|(tag, scope)| text.strip_prefix(tag).map(|rest| (scope, rest)))
    .unwrap_or((Scope::File, text));
    let (key, value) = match rest.split_once('=') {
        None => (rest, None),
        Some((_, v)) if v.contains('=') => return Err("too many values".into()),
        Some(("", _)) => return Err("key cannot be blank".into()),
        Some((k, v)) => (k, Some(v)),
    };
    let Some(key) = CHOICES.iter().find(|c| c.eq_ignore_ascii_case(key)) else {
        return Err(format!(
            "invalid choice {key:?} from: {}",
            CHOICES.join(", ")
        ));
    };
    if value.is_none() && NEED_VALUE.contains(key) {
        return Err(format!("value is required for {key}"));
    }
    let op = op(key, value.unwrap_or_default(), now)?;
    Ok(Rule { scope, op })
}

fn op(key: &str, v: &str, now: &Clock) -> Result<Op, String> {
    let owned = || v.to_owned();
    Ok(match key {
        "none" => Op::None,
        "nfc" => Op::Nfc,
        "nfd" => Op::Nfd,
        "nfkc" => Op::Nfkc,
        "nfkd" => Op::Nfkd,
        "replace" => match v.split(':').collect::<Vec<_>>()[..] {
            [old, new] => Op::Replace {
                old: old.into(),
                new: new.into(),
            },
            _ => return Err(format!("wrong number of values: {v}")),
        },
        "prefix" => Op::Prefix(owned()),
        "suffix" => Op::Suffix(owned()),
        "suffix_keep_extension" => Op::SuffixKeepExtension(owned()),
        "trimprefix" => Op::TrimPrefix(owned()),
        "trimsuffix" => Op::TrimSuffix(owned()),
        "index" => return Err("this option is not yet implemented".into()),
        "date" => Op::Suffix(apply_time_globs(v, now)),
        "truncate"
        | "truncate_keep_extension"
        | "truncate_bytes"
        | "truncate_bytes_keep_extension" => Op::Truncate {
            max: atoi(v)?,
            bytes: key.starts_with("truncate_bytes"),
            keep_extension: key.ends_with("keep_extension"),
        },
        "base64encode" => Op::Base64Encode,
        "base64decode" => Op::Base64Decode,
        "encoder" => Op::Encode(Encoding::parse(v).map_err(|e| e.to_string())?),
        "decoder" => Op::Decode(Encoding::parse(v).map_err(|e| e.to_string())?),
        "ISO-8859-1" | "Windows-1252" | "Macintosh" => Op::Charmap(Charmap::by_name(key)?),
        "charmap" => Op::Charmap(Charmap::by_name(v)?),
        "lowercase" => Op::Lowercase,
        "uppercase" => Op::Uppercase,
        "titlecase" => Op::Titlecase,
        "ascii" => Op::Ascii,
        "url" => Op::Url,
        "regex" => match v.split('/').collect::<Vec<_>>()[..] {
            [pattern, replacement] => Op::Regex {
                re: Regex::new(pattern).map_err(|e| format!("regex syntax error: {e}"))?,
                replacement: replacement.into(),
            },
            _ => return Err(format!("regex syntax error: {v}")),
        },
        "command" => Op::Command(owned()),
        _ => unreachable!("every choice has its op"),
    })
}

/// Go's `strconv.Atoi`, with its error.
fn atoi(v: &str) -> Result<i64, String> {
    v.parse()
        .map_err(|_| format!("strconv.Atoi: parsing {v:?}: invalid syntax"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        // 2026-07-31 16:55:00 UTC, on a clock two hours east.
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_785_516_900);
        Clock::at(t, 7200)
    }

    fn rules(values: &[&str]) -> NameTransform {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        NameTransform::parse(&values, &clock()).unwrap()
    }

    fn error(value: &str) -> String {
        NameTransform::parse(&[value.to_owned()], &clock()).unwrap_err()
    }

    #[test]
    fn rclone_examples() {
        let p = "stories/The Quick Brown Fox!.txt";
        let all = |v: &str| rules(&[v]).path(p, false).unwrap();
        assert_eq!(all("all,uppercase"), "STORIES/THE QUICK BROWN FOX!.TXT");
        assert_eq!(
            rules(&["all,replace=Fox:Turtle", "all,replace=Quick:Slow"])
                .path(p, false)
                .unwrap(),
            "stories/The Slow Brown Turtle!.txt"
        );
        assert_eq!(
            all("all,base64encode"),
            "c3Rvcmllcw==/VGhlIFF1aWNrIEJyb3duIEZveCEudHh0"
        );
        assert_eq!(
            rules(&["all,base64decode"])
                .path("c3Rvcmllcw==/VGhlIFF1aWNrIEJyb3duIEZveCEudHh0", false)
                .unwrap(),
            p
        );
        assert_eq!(all("all,trimsuffix=.txt"), "stories/The Quick Brown Fox!");
        assert_eq!(
            all("all,prefix=OLD_"),
            "OLD_stories/OLD_The Quick Brown Fox!.txt"
        );
        assert_eq!(
            rules(&["all,ascii"])
                .path("stories/The Quick Brown 🦊 Fox!.txt", false)
                .unwrap(),
            "stories/The Quick Brown  Fox!.txt"
        );
        let cafe = "stories/The Quick Brown 🦊 Fox Went to the Café!.txt";
        assert_eq!(
            rules(&["all,charmap=ISO-8859-7"])
                .path(cafe, false)
                .unwrap(),
            "stories/The Quick Brown _ Fox Went to the Caf_!.txt"
        );
        assert_eq!(
            rules(&["all,truncate=21"]).path(cafe, false).unwrap(),
            "stories/The Quick Brown 🦊 Fox"
        );
        assert_eq!(
            rules(&["all,encoder=Colon,SquareBracket"])
                .path("stories/The Quick Brown Fox: A Memoir [draft].txt", false)
                .unwrap(),
            "stories/The Quick Brown Fox： A Memoir ［draft］.txt"
        );
        assert_eq!(
            all("all,regex=[\\.\\w]/ab"),
            "ababababababab/ababab ababababab ababababab ababab!abababab"
        );
        assert_eq!(
            rules(&["date=-{YYYYMMDD}"])
                .path("stories/The Quick Brown Fox!", false)
                .unwrap(),
            "stories/The Quick Brown Fox!-20260731"
        );
        assert_eq!(
            rules(&["date=-{macfriendlytime}"])
                .path("stories/The Quick Brown Fox!", false)
                .unwrap(),
            "stories/The Quick Brown Fox!-2026-07-31 0655PM"
        );
    }

    #[test]
    fn tags_choose_files_directories_or_both() {
        let p = "dir/sub/file.txt";
        assert_eq!(
            rules(&["prefix=X"]).path(p, false).unwrap(),
            "dir/sub/Xfile.txt"
        );
        assert_eq!(
            rules(&["dir,prefix=X"]).path(p, false).unwrap(),
            "Xdir/Xsub/file.txt"
        );
        assert_eq!(
            rules(&["all,prefix=X"]).path(p, false).unwrap(),
            "Xdir/Xsub/Xfile.txt"
        );
        // A directory's own name is a directory's.
        assert_eq!(
            rules(&["prefix=X"]).path("dir/sub", true).unwrap(),
            "dir/sub"
        );
        assert_eq!(rules(&["dir,prefix=X"]).name("sub", true).unwrap(), "Xsub");
        assert_eq!(rules(&["dir,prefix=X"]).name("f", false).unwrap(), "f");
    }

    #[test]
    fn rules_apply_in_order() {
        let r = rules(&["prefix=ab_", "trimprefix=ab"]);
        assert_eq!(r.name("x", false).unwrap(), "_x");
        let r = rules(&["trimprefix=ab", "prefix=ab_"]);
        assert_eq!(r.name("x", false).unwrap(), "ab_x");
    }

    #[test]
    fn bad_values_are_refused_with_rclone_words() {
        assert!(error("bogus").starts_with(
            "--name-transform \"bogus\": invalid choice \"bogus\" from: none, nfc, nfd,"
        ));
        assert_eq!(
            error("prefix"),
            "--name-transform \"prefix\": value is required for prefix"
        );
        assert_eq!(
            error("a=b=c"),
            "--name-transform \"a=b=c\": too many values"
        );
        assert_eq!(error("=x"), "--name-transform \"=x\": key cannot be blank");
        assert!(error("replace=a").ends_with("wrong number of values: a"));
        assert!(error("truncate=x").ends_with("strconv.Atoi: parsing \"x\": invalid syntax"));
        assert!(error("regex=a").ends_with("regex syntax error: a"));
        assert!(error("regex=(/x").contains("regex syntax error"));
        assert!(error("index=1").ends_with("this option is not yet implemented"));
        assert!(error("charmap=nope").contains("invalid choice \"nope\" from: IBM-Code-Page-037"));
        // Choices ignore case, as rclone's.
        assert_eq!(rules(&["UPPERCASE"]).name("a", false).unwrap(), "A");
        assert_eq!(rules(&["file,iso-8859-1"]).name("ŵ", false).unwrap(), "_");
    }

    #[test]
    fn a_segment_may_not_become_empty_or_split() {
        let r = rules(&["replace=a:/"]);
        assert_eq!(
            r.name("a", false).unwrap_err(),
            "transform cannot add path separators: /"
        );
        let r = rules(&["trimprefix=abc"]);
        assert_eq!(
            r.name("abc", false).unwrap_err(),
            "transform cannot render path segments empty"
        );
        assert_eq!(rules(&[""]).name("abc", false).unwrap(), "abc");
    }
}
