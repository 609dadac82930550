//! Hash kinds, sets of them, known values, and a hasher that computes several at once.

use std::fmt;
use std::str::FromStr;

use md5::Digest;

/// A content hash, named as rclone names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    Md5,
    Sha1,
    Blake3,
    Xxh3,
    Xxh128,
}

impl HashKind {
    pub const ALL: [HashKind; 5] = [
        HashKind::Md5,
        HashKind::Sha1,
        HashKind::Blake3,
        HashKind::Xxh3,
        HashKind::Xxh128,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Blake3 => "blake3",
            HashKind::Xxh3 => "xxh3",
            HashKind::Xxh128 => "xxh128",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        HashKind::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| {
                let known: Vec<_> = HashKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown hash type {s:?}: use one of {}", known.join(", "))
            })
    }
}

/// A small set of hash kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashSet(u8);

impl HashSet {
    pub const fn empty() -> Self {
        HashSet(0)
    }

    pub fn all() -> Self {
        HashKind::ALL.into_iter().collect()
    }

    pub fn contains(self, kind: HashKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn insert(&mut self, kind: HashKind) {
        self.0 |= kind.bit();
    }

    pub fn intersect(self, other: HashSet) -> HashSet {
        HashSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The preferred kind in this set: the cheapest widely supported one, md5 first as rclone does.
    pub fn preferred(self) -> Option<HashKind> {
        self.iter().next()
    }

    pub fn iter(self) -> impl Iterator<Item = HashKind> {
        HashKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

impl FromIterator<HashKind> for HashSet {
    fn from_iter<I: IntoIterator<Item = HashKind>>(iter: I) -> Self {
        let mut set = HashSet::empty();
        for kind in iter {
            set.insert(kind);
        }
        set
    }
}

/// Hash values known for one object, as lower-case hex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashes(Vec<(HashKind, String)>);

impl Hashes {
    pub fn get(&self, kind: HashKind) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, kind: HashKind, value: String) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some(slot) => slot.1 = value,
            None => self.0.push((kind, value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

enum State {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Blake3(Box<blake3::Hasher>),
    Xxh3(Box<xxhash_rust::xxh3::Xxh3>),
    Xxh128(Box<xxhash_rust::xxh3::Xxh3>),
}

/// Computes any set of hashes in one pass over the data.
pub struct MultiHasher {
    states: Vec<State>,
}

impl MultiHasher {
    pub fn new(kinds: HashSet) -> Self {
        let states = kinds
            .iter()
            .map(|k| match k {
                HashKind::Md5 => State::Md5(md5::Md5::new()),
                HashKind::Sha1 => State::Sha1(sha1::Sha1::new()),
                HashKind::Blake3 => State::Blake3(Box::default()),
                HashKind::Xxh3 => State::Xxh3(Box::default()),
                HashKind::Xxh128 => State::Xxh128(Box::default()),
            })
            .collect();
        MultiHasher { states }
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    pub fn update(&mut self, data: &[u8]) {
        for state in &mut self.states {
            match state {
                State::Md5(h) => h.update(data),
                State::Sha1(h) => h.update(data),
                State::Blake3(h) => {
                    h.update(data);
                }
                State::Xxh3(h) | State::Xxh128(h) => h.update(data),
            }
        }
    }

    pub fn finish(self) -> Hashes {
        let mut out = Hashes::default();
        for state in self.states {
            let (kind, value) = match state {
                State::Md5(h) => (HashKind::Md5, hex::encode(h.finalize())),
                State::Sha1(h) => (HashKind::Sha1, hex::encode(h.finalize())),
                State::Blake3(h) => (HashKind::Blake3, h.finalize().to_hex().to_string()),
                State::Xxh3(h) => (HashKind::Xxh3, format!("{:016x}", h.digest())),
                State::Xxh128(h) => (HashKind::Xxh128, format!("{:032x}", h.digest128())),
            };
            out.set(kind, value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let mut h = MultiHasher::new(HashSet::all());
        h.update(b"hello ");
        h.update(b"world");
        let out = h.finish();
        assert_eq!(
            out.get(HashKind::Md5),
            Some("5eb63bbbe01eeed093cb22bb8f5acdc3")
        );
        assert_eq!(
            out.get(HashKind::Sha1),
            Some("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")
        );
        assert_eq!(
            out.get(HashKind::Blake3),
            Some("d74981efa70a0c880b8d8c1985d075dbcbf679b99a5f9914e5aaf96b831a9e24")
        );
        assert_eq!(out.get(HashKind::Xxh3), Some("d447b1ea40e6988b"));
    }

    #[test]
    fn sets_and_names() {
        let set: HashSet = [HashKind::Sha1, HashKind::Md5].into_iter().collect();
        assert_eq!(set.preferred(), Some(HashKind::Md5));
        assert!(set.intersect(HashSet::empty()).is_empty());
        assert_eq!("SHA1".parse::<HashKind>(), Ok(HashKind::Sha1));
        assert!("crc99".parse::<HashKind>().unwrap_err().contains("md5"));
    }
}
