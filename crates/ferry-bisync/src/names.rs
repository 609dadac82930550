//! Names: the session's file names in the work directory, conflict suffixes and the
//! date templates they may contain.

use std::time::SystemTime;

use chrono::{DateTime, Local, Offset};
use ferry_core::timefmt::Clock;
use ferry_core::{HashKind, HashSet, MultiHasher};

/// rclone's canonical form of a path argument: outer slashes trimmed, whitespace,
/// slashes, backslashes, `:`, `?` and `*` replaced by `_`.
pub fn canonical(path: &str) -> String {
    path.trim_matches(|c| c == '/' || c == '\\')
        .chars()
        .map(|c| {
            if c.is_whitespace() || matches!(c, '/' | '\\' | ':' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The session name both paths share: `CANON1..CANON2` (rclone's naming).
pub fn session_name(path1: &str, path2: &str) -> String {
    format!("{}..{}", canonical(path1), canonical(path2))
}

/// The longest a file name may be on common file systems, in bytes.
const NAME_MAX: usize = 255;
/// The longest suffix a session's files add to its name (`.state.json.tmp-PID`).
const LONGEST_SUFFIX: usize = ".state.json.tmp-4294967295".len();

/// The name of a pair's files in the work directory. `name1` and `name2` are the paths'
/// secret-free forms; `secret` says whether either argument held a secret.
///
/// rclone's `CANON1..CANON2` when the arguments held no secret and the name fits, so
/// existing state keeps being found. Otherwise (a secret was in the arguments, or the
/// name would be too long for the file system) a readable prefix of both paths and a
/// hash of their secret-free forms: `READABLE1..READABLE2.HASH16`. The hash stays the
/// same when only a secret changes (a renewed SAS, a new password).
pub fn session_for(name1: &str, name2: &str, secret: bool) -> String {
    let rclone = session_name(name1, name2);
    if !secret && rclone.len() + LONGEST_SUFFIX <= NAME_MAX {
        return rclone;
    }
    let mut h = MultiHasher::new([HashKind::Sha256].into_iter().collect::<HashSet>());
    h.update(name1.as_bytes());
    h.update(b"\n");
    h.update(name2.as_bytes());
    let sum = h.finish();
    let hex = sum.get(HashKind::Sha256).unwrap_or_default();
    format!(
        "{}..{}.{}",
        readable(name1),
        readable(name2),
        &hex[..16.min(hex.len())]
    )
}

/// A short readable form of a path for a hashed session name: letters, digits, `.`,
/// `-` and `_` only (runs of anything else become one `_`), the head and tail kept when
/// long.
fn readable(path: &str) -> String {
    const HEAD: usize = 24;
    const TAIL: usize = 40;
    let mut out = String::new();
    for c in path.trim_matches(|c| c == '/' || c == '\\').chars() {
        if c.is_alphanumeric() || matches!(c, '.' | '-') {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let chars: Vec<char> = out.trim_matches('_').chars().collect();
    if chars.len() <= HEAD + TAIL + 1 {
        return chars.into_iter().collect();
    }
    let head: String = chars[..HEAD].iter().collect();
    let tail: String = chars[chars.len() - TAIL..].iter().collect();
    format!("{head}~{tail}")
}

/// Appends a conflict suffix to a path, before the extension(s) with `--suffix-keep-extension`.
pub fn suffix_name(path: &str, suffix: &str, keep_extension: bool) -> String {
    if suffix.is_empty() {
        return path.to_owned();
    }
    if !keep_extension {
        return format!("{path}{suffix}");
    }
    let (base, exts) = ferry_core::mime::split_extension(path);
    format!("{base}{suffix}{exts}")
}

/// Splits `--conflict-suffix` into the two sides' suffixes, each with its leading dot and
/// its `{...}` date template expanded.
pub fn conflict_suffixes(flag: &str, now: DateTime<Local>) -> Result<(String, String), String> {
    let flag = if flag.is_empty() { "conflict" } else { flag };
    let parts: Vec<&str> = flag.split(',').collect();
    let (a, b) = match parts.as_slice() {
        [one] => (*one, *one),
        [one, two] => (*one, *two),
        _ => {
            return Err(format!(
                "--conflict-suffix cannot have more than 2 comma-separated values. Received {}: {parts:?}",
                parts.len()
            ))
        }
    };
    Ok((
        format!(".{}", apply_time_globs(a, now)),
        format!(".{}", apply_time_globs(b, now)),
    ))
}

/// `s` with its `{LAYOUT}` template shown at `now` ([`ferry_core::timefmt::apply_time_globs`]).
pub fn apply_time_globs(s: &str, now: DateTime<Local>) -> String {
    let clock = Clock::at(SystemTime::from(now), now.offset().fix().local_minus_utc());
    ferry_core::timefmt::apply_time_globs(s, &clock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn session_names_follow_rclone() {
        assert_eq!(
            session_name("/tmp/rct/p1", "/tmp/rct/p2/"),
            "tmp_rct_p1..tmp_rct_p2"
        );
        assert_eq!(
            session_name("remote:dir/sub", "/a b/c"),
            "remote_dir_sub..a_b_c"
        );
    }

    #[test]
    fn secret_or_long_pairs_get_a_hashed_name() {
        // No secret, short: rclone's name.
        assert_eq!(
            session_for("/home/me/notes", "remote:notes", false),
            "home_me_notes..remote_notes"
        );
        let a = session_for("/home/me/notes", ":sftp,host=h,pass=***:notes", true);
        assert!(
            a.starts_with("home_me_notes..sftp_host_h_pass_notes."),
            "{a}"
        );
        assert!(!a.contains('*') && !a.contains(','), "{a}");
        assert_eq!(
            a,
            session_for("/home/me/notes", ":sftp,host=h,pass=***:notes", true)
        );
        assert_ne!(
            a,
            session_for("/home/me/notes", ":sftp,host=g,pass=***:notes", true)
        );
        // Too long for a file name: hashed, and short enough with every suffix.
        let long = format!(":sftp,host=h,user=u:{}", "d/".repeat(200));
        let n = session_for("/x", &long, false);
        assert!(n.len() + LONGEST_SUFFIX <= NAME_MAX, "{} {n}", n.len());
        assert!(n.starts_with("x..sftp_host_h_user_u_d_d"), "{n}");
    }

    #[test]
    fn suffixes_and_extensions() {
        assert_eq!(
            suffix_name("d/f.txt", ".conflict1", false),
            "d/f.txt.conflict1"
        );
        assert_eq!(
            suffix_name("d/f.txt", ".conflict1", true),
            "d/f.conflict1.txt"
        );
        // As Go's path.Ext: a dotfile's whole name is its extension.
        assert_eq!(suffix_name(".env", ".c1", true), ".c1.env");
        assert_eq!(suffix_name("noext", ".c1", true), "noext.c1");
    }

    #[test]
    fn date_templates() {
        let t = Local.with_ymd_and_hms(2024, 3, 5, 14, 7, 9).unwrap();
        assert_eq!(
            apply_time_globs("{DateOnly}-conflict", t),
            "2024-03-05-conflict"
        );
        assert_eq!(apply_time_globs("{mac}", t), "2024-03-05 0207PM");
        assert_eq!(apply_time_globs("x{2006_01_02}", t), "x2024_03_05");
        // The names rclone's TimeFormat knows, shared with lsf --time-format.
        assert_eq!(apply_time_globs("{YYYYMMDD}", t), "20240305");
        assert_eq!(apply_time_globs("{Kitchen}", t), "2:07PM");
        assert_eq!(apply_time_globs("plain", t), "plain");
        let (a, b) = conflict_suffixes("cloud,local", t).unwrap();
        assert_eq!((a.as_str(), b.as_str()), (".cloud", ".local"));
        assert!(conflict_suffixes("a,b,c", t).is_err());
    }
}
