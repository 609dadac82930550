//! `--hash-filter K/N`: one of N disjoint parts of the files, chosen by a hash of each
//! file's path, so N runs (on N machines) share one sync with no list to split first.
//! The hash is rclone's, so a part means the same files to ferry and to rclone: MD5 of
//! the path after NFC normalisation and lower-casing (names that may be the same file on
//! a case-insensitive or normalising remote fall in the same part), the digest's first
//! eight bytes read little-endian, modulo N. `@/N` picks a part at random. Directories
//! are not filtered: every run walks them all.

use std::hash::{BuildHasher, Hasher};

use ferry_core::md5::{Digest, Md5};

use crate::FilterError;

/// A parsed `--hash-filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HashFilter {
    k: u64,
    n: u64,
}

impl HashFilter {
    /// `K/N` (K taken modulo N) or `@/N`.
    pub(crate) fn parse(s: &str) -> Result<HashFilter, FilterError> {
        let bad = |why: String| FilterError::HashFilter(why);
        let (k, n) = s.split_once('/').ok_or_else(|| bad("no / found".into()))?;
        let n: u64 = n
            .parse()
            .map_err(|e| bad(format!("can't parse N={n:?}: {e}")))?;
        if n == 0 {
            return Err(bad("N must be greater than 0".into()));
        }
        let k = if k == "@" {
            random() % n
        } else {
            k.parse::<u64>()
                .map_err(|e| bad(format!("can't parse K={k:?}: {e}")))?
                % n
        };
        Ok(HashFilter { k, n })
    }

    /// Whether the file at `path` is in this part.
    pub(crate) fn includes(&self, path: &str) -> bool {
        part_of(path, self.n) == self.k
    }
}

/// The part (of `n`) a path falls in.
fn part_of(path: &str, n: u64) -> u64 {
    let key = go_lower(&ferry_core::match_key(path, true, false));
    let digest = Md5::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first) % n
}

/// Go's `strings.ToLower`: each character's own lower case, one character for one
/// (Rust's `to_lowercase` gives `İ` two characters and a final `Σ` its final form).
fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            c => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

/// A random number without a dependency: the standard library seeds each `RandomState`
/// from the system's randomness.
fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rclones_forms_and_refuses_the_rest() {
        assert_eq!(HashFilter::parse("1/2").unwrap(), HashFilter { k: 1, n: 2 });
        assert_eq!(
            HashFilter::parse("17/3").unwrap(),
            HashFilter { k: 2, n: 3 }
        );
        assert_eq!(
            HashFilter::parse("0/18446744073709551615").unwrap().n,
            u64::MAX
        );
        assert!(HashFilter::parse("@/5").unwrap().k < 5);
        for (bad, why) in [
            ("", "no / found"),
            ("17", "no / found"),
            ("-1/2", "can't parse K="),
            ("1/-2", "can't parse N="),
            ("0/0", "N must be greater than 0"),
            ("0/18446744073709551616", "can't parse N="),
        ] {
            let e = HashFilter::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    /// Parts rclone 1.75 gave for these names (`rclone lsf -R --hash-filter K/3`).
    #[test]
    fn parts_match_rclones() {
        let by_rclone = [
            (0, "File10.txt File13.txt File15.txt File17.txt File18.txt File19.txt File2.txt File8.txt File9.txt"),
            (1, "File1.txt File11.txt File14.txt File16.txt File20.txt File3.txt File5.txt File6.txt Sub/Ünï.txt"),
            (2, "File12.txt File4.txt File7.txt"),
        ];
        for (k, names) in by_rclone {
            for name in names.split(' ') {
                assert_eq!(part_of(name, 3), k, "{name}");
            }
        }
    }

    #[test]
    fn case_and_normalisation_do_not_move_a_file() {
        assert_eq!(part_of("Dir/FILE.TXT", 7), part_of("dir/file.txt", 7));
        // "é" precomposed and as "e" + combining acute.
        assert_eq!(part_of("caf\u{e9}", 7), part_of("cafe\u{301}", 7));
        assert_eq!(go_lower("İΣ"), "iσ");
    }

    #[test]
    fn the_parts_cover_every_file_once() {
        let names: Vec<String> = (0..200).map(|i| format!("d{}/f{i}", i % 7)).collect();
        let parts: Vec<HashFilter> = (0..4).map(|k| HashFilter { k, n: 4 }).collect();
        for name in &names {
            assert_eq!(parts.iter().filter(|p| p.includes(name)).count(), 1);
        }
        assert!(parts
            .iter()
            .all(|p| names.iter().filter(|n| p.includes(n)).count() > 20));
    }
}
