//! Property tests: the compiled filter agrees with a naive backtracking
//! matcher of rclone's glob semantics, and nothing ever panics.

use ferry_filter::{Filter, FilterOptions};
use proptest::prelude::*;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy)]
enum Tok {
    DoubleStar,
    Star,
    Question,
    Lit(char),
}

/// Tokenize; `None` for three or more stars in a row (an error in rclone).
fn tokenize(glob: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '*' {
            let n = chars[i..].iter().take_while(|&&c| c == '*').count();
            match n {
                1 => out.push(Tok::Star),
                2 => out.push(Tok::DoubleStar),
                _ => return None,
            }
            i += n;
        } else {
            out.push(if chars[i] == '?' {
                Tok::Question
            } else {
                Tok::Lit(chars[i])
            });
            i += 1;
        }
    }
    Some(out)
}

/// Does `toks` match all of `s`?
fn full_match(toks: &[Tok], s: &[char], ic: bool) -> bool {
    let eq = |a: char, b: char| {
        if ic {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    match toks.first() {
        None => s.is_empty(),
        Some(Tok::DoubleStar) => (0..=s.len()).any(|i| full_match(&toks[1..], &s[i..], ic)),
        Some(Tok::Star) => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != '/')
            .any(|i| full_match(&toks[1..], &s[i..], ic)),
        Some(Tok::Question) => !s.is_empty() && s[0] != '/' && full_match(&toks[1..], &s[1..], ic),
        Some(Tok::Lit(c)) => !s.is_empty() && eq(s[0], *c) && full_match(&toks[1..], &s[1..], ic),
    }
}

/// rclone's anchoring: `/pat` must match the whole path, `pat` must match
/// a suffix of the path that starts at the beginning or after a `/`.
fn reference(glob: &str, path: &str, ic: bool) -> Option<bool> {
    let (anchored, g) = match glob.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, glob),
    };
    let toks = tokenize(g)?;
    let s: Vec<char> = path.chars().collect();
    if anchored {
        return Some(full_match(&toks, &s, ic));
    }
    Some((0..=s.len()).any(|i| (i == 0 || s[i - 1] == '/') && full_match(&toks, &s[i..], ic)))
}

fn glob_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("A"),
            Just("/"),
            Just("*"),
            Just("?"),
            Just("."),
        ],
        0..8,
    )
    .prop_map(|v| v.concat())
}

fn path_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("b"), Just("B"), Just("/"), Just(".")],
        0..9,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x00f1_17e4),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// `--exclude GLOB`: a file is excluded exactly when the reference
    /// matcher matches; directories are pruned only by `**` rules.
    #[test]
    fn exclude_agrees_with_reference(glob in glob_strategy(), path in path_strategy(), ic in any::<bool>()) {
        let opts = FilterOptions { exclude: vec![glob.clone()], ignore_case: ic, ..Default::default() };
        let built = Filter::new(&opts, SystemTime::now());
        // `- dir/` is read as `- dir/**`
        let effective = if glob.ends_with('/') { format!("{glob}**") } else { glob.clone() };
        match reference(&effective, &path, ic) {
            None => prop_assert!(built.is_err(), "{glob:?} should be rejected"),
            Some(matched) => {
                let f = built.map_err(|e| TestCaseError::fail(e.to_string()))?;
                if !glob.is_empty() {
                    prop_assert_eq!(f.include_file(&path, 0, SystemTime::now()), !matched,
                        "file {:?} vs --exclude {:?} (ic={})", path, glob, ic);
                }
                if !path.is_empty() {
                    // `- *` also excludes every directory (rclone special case)
                    let dir_excluded = glob == "*" || (effective.contains("**")
                        && reference(&effective, &format!("{path}/"), ic) == Some(true));
                    prop_assert_eq!(f.include_dir(&path), !dir_excluded,
                        "dir {:?} vs --exclude {:?} (ic={})", path, glob, ic);
                }
            }
        }
    }

    /// `--include GLOB` (plus the implicit `- /**`).
    #[test]
    fn include_agrees_with_reference(glob in glob_strategy(), path in path_strategy()) {
        prop_assume!(!glob.is_empty() && !glob.ends_with('/'));
        let opts = FilterOptions { include: vec![glob.clone()], ..Default::default() };
        let built = Filter::new(&opts, SystemTime::now());
        match reference(&glob, &path, false) {
            None => prop_assert!(built.is_err()),
            Some(matched) => {
                let f = built.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(f.include_file(&path, 0, SystemTime::now()), matched,
                    "file {:?} vs --include {:?}", path, glob);
            }
        }
    }

    /// Arbitrary rules never panic: they compile or give a one-line error,
    /// and matching arbitrary paths never panics.
    #[test]
    fn never_panics(
        rules in proptest::collection::vec("[-+!]? ?[ab/*?\\[\\]{}(),\\\\!^$.|é:{}0-9]{0,10}", 0..4),
        paths in proptest::collection::vec("[ab/é.\\n*{}\\[\\]]{0,10}", 0..4),
        ic in any::<bool>(),
    ) {
        let opts = FilterOptions {
            filter: rules.clone(),
            include: rules.iter().map(|r| r.trim_start_matches(['+', '-', ' ']).to_string()).collect(),
            include_pattern: rules.clone(),
            exclude_regex: rules.clone(),
            ignore_case: ic,
            ..Default::default()
        };
        match Filter::new(&opts, SystemTime::now()) {
            Ok(f) => {
                for p in &paths {
                    let _ = f.include_file(p, 1, SystemTime::now());
                    let _ = f.include_dir(p);
                    let _ = f.include_file_and_parents(p, 1, SystemTime::now());
                }
            }
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "multi-line error {}", e),
        }
    }
}
