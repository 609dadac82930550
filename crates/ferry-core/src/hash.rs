//! Hash kinds, sets of them, known values, and a hasher that computes several at once.

use std::fmt;
use std::str::FromStr;

use crate::md5::Digest;

/// A content hash, named as rclone names it. The order is rclone's (md5 is preferred).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    Md5,
    Sha1,
    Whirlpool,
    Crc32,
    Sha256,
    Sha512,
    Blake3,
    Xxh3,
    Xxh128,
    Dropbox,
    Hidrive,
    Mailru,
    Quickxor,
}

impl HashKind {
    pub const ALL: [HashKind; 13] = [
        HashKind::Md5,
        HashKind::Sha1,
        HashKind::Whirlpool,
        HashKind::Crc32,
        HashKind::Sha256,
        HashKind::Sha512,
        HashKind::Blake3,
        HashKind::Xxh3,
        HashKind::Xxh128,
        HashKind::Dropbox,
        HashKind::Hidrive,
        HashKind::Mailru,
        HashKind::Quickxor,
    ];

    /// The name rclone prints (`lsjson --hash` keys, `hashsum` arguments).
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Whirlpool => "whirlpool",
            HashKind::Crc32 => "crc32",
            HashKind::Sha256 => "sha256",
            HashKind::Sha512 => "sha512",
            HashKind::Blake3 => "blake3",
            HashKind::Xxh3 => "xxh3",
            HashKind::Xxh128 => "xxh128",
            HashKind::Dropbox => "dropbox",
            HashKind::Hidrive => "hidrive",
            HashKind::Mailru => "mailru",
            HashKind::Quickxor => "quickxor",
        }
    }

    /// rclone's alternative name (`MD5`, `SHA-1`, `DropboxHash`, ...).
    pub fn alias(self) -> &'static str {
        match self {
            HashKind::Md5 => "MD5",
            HashKind::Sha1 => "SHA-1",
            HashKind::Whirlpool => "Whirlpool",
            HashKind::Crc32 => "CRC-32",
            HashKind::Sha256 => "SHA-256",
            HashKind::Sha512 => "SHA-512",
            HashKind::Blake3 => "BLAKE3",
            HashKind::Xxh3 => "XXH3",
            HashKind::Xxh128 => "XXH128",
            HashKind::Dropbox => "DropboxHash",
            HashKind::Hidrive => "HiDriveHash",
            HashKind::Mailru => "MailruHash",
            HashKind::Quickxor => "QuickXorHash",
        }
    }

    /// Length of the hex form.
    pub fn hex_width(self) -> usize {
        match self {
            HashKind::Md5 | HashKind::Xxh128 => 32,
            HashKind::Sha1 | HashKind::Hidrive | HashKind::Mailru | HashKind::Quickxor => 40,
            HashKind::Whirlpool | HashKind::Sha512 => 128,
            HashKind::Crc32 => 8,
            HashKind::Sha256 | HashKind::Blake3 | HashKind::Dropbox => 64,
            HashKind::Xxh3 => 16,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
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
        HashKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s) || k.alias().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let known: Vec<_> = HashKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown hash type {s:?}: use one of {}", known.join(", "))
            })
    }
}

/// A small set of hash kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashSet(u16);

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

    /// Every known (kind, value).
    pub fn iter(&self) -> impl Iterator<Item = (HashKind, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

enum State {
    Md5(crate::md5::Md5),
    Sha1(sha1::Sha1),
    Whirlpool(Box<whirlpool::Whirlpool>),
    Crc32(crc32fast::Hasher),
    Sha256(sha2::Sha256),
    Sha512(Box<sha2::Sha512>),
    Blake3(Box<blake3::Hasher>),
    Xxh3(Box<xxhash_rust::xxh3::Xxh3>),
    Xxh128(Box<xxhash_rust::xxh3::Xxh3>),
    Dropbox(Box<DropboxHasher>),
    Hidrive(Box<HidriveHasher>),
    Mailru(Box<MailruHasher>),
    Quickxor(Box<QuickXorHasher>),
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
                HashKind::Md5 => State::Md5(crate::md5::Md5::new()),
                HashKind::Sha1 => State::Sha1(sha1::Sha1::new()),
                HashKind::Whirlpool => State::Whirlpool(Box::default()),
                HashKind::Crc32 => State::Crc32(crc32fast::Hasher::new()),
                HashKind::Sha256 => State::Sha256(sha2::Sha256::new()),
                HashKind::Sha512 => State::Sha512(Box::default()),
                HashKind::Blake3 => State::Blake3(Box::default()),
                HashKind::Xxh3 => State::Xxh3(Box::default()),
                HashKind::Xxh128 => State::Xxh128(Box::default()),
                HashKind::Dropbox => State::Dropbox(Box::default()),
                HashKind::Hidrive => State::Hidrive(Box::default()),
                HashKind::Mailru => State::Mailru(Box::default()),
                HashKind::Quickxor => State::Quickxor(Box::default()),
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
                State::Whirlpool(h) => h.update(data),
                State::Crc32(h) => h.update(data),
                State::Sha256(h) => h.update(data),
                State::Sha512(h) => h.update(data),
                State::Blake3(h) => {
                    h.update(data);
                }
                State::Xxh3(h) | State::Xxh128(h) => h.update(data),
                State::Dropbox(h) => h.update(data),
                State::Hidrive(h) => h.update(data),
                State::Mailru(h) => h.update(data),
                State::Quickxor(h) => h.update(data),
            }
        }
    }

    pub fn finish(self) -> Hashes {
        let mut out = Hashes::default();
        for state in self.states {
            let (kind, value) = match state {
                State::Md5(h) => (HashKind::Md5, hex::encode(h.finalize())),
                State::Sha1(h) => (HashKind::Sha1, hex::encode(h.finalize())),
                State::Whirlpool(h) => (HashKind::Whirlpool, hex::encode(h.finalize())),
                State::Crc32(h) => (HashKind::Crc32, format!("{:08x}", h.finalize())),
                State::Sha256(h) => (HashKind::Sha256, hex::encode(h.finalize())),
                State::Sha512(h) => (HashKind::Sha512, hex::encode(h.finalize())),
                State::Blake3(h) => (HashKind::Blake3, h.finalize().to_hex().to_string()),
                State::Xxh3(h) => (HashKind::Xxh3, format!("{:016x}", h.digest())),
                State::Xxh128(h) => (HashKind::Xxh128, format!("{:032x}", h.digest128())),
                State::Dropbox(h) => (HashKind::Dropbox, hex::encode(h.finish())),
                State::Hidrive(h) => (HashKind::Hidrive, hex::encode(h.finish())),
                State::Mailru(h) => (HashKind::Mailru, hex::encode(h.finish())),
                State::Quickxor(h) => (HashKind::Quickxor, hex::encode(h.finish())),
            };
            out.set(kind, value);
        }
        out
    }
}

/// Dropbox's content hash: SHA-256 over the SHA-256 of each 4 MiB block.
#[derive(Default)]
struct DropboxHasher {
    total: sha2::Sha256,
    block: sha2::Sha256,
    in_block: usize,
}

impl DropboxHasher {
    const BLOCK: usize = 4 * 1024 * 1024;

    fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = (Self::BLOCK - self.in_block).min(data.len());
            self.block.update(&data[..n]);
            self.in_block += n;
            data = &data[n..];
            if self.in_block == Self::BLOCK {
                let block = std::mem::take(&mut self.block).finalize();
                self.total.update(block);
                self.in_block = 0;
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.in_block > 0 {
            let block = std::mem::take(&mut self.block).finalize();
            self.total.update(block);
        }
        self.total.finalize().to_vec()
    }
}

/// Mail.ru's hash: small contents padded to 20 bytes, else SHA-1 of
/// `"mrCloud" + data + decimal length`.
struct MailruHasher {
    sha: sha1::Sha1,
    total: u64,
    small: Vec<u8>,
}

impl Default for MailruHasher {
    fn default() -> Self {
        let mut sha = sha1::Sha1::new();
        sha.update(b"mrCloud");
        MailruHasher {
            sha,
            total: 0,
            small: Vec::new(),
        }
    }
}

impl MailruHasher {
    fn update(&mut self, data: &[u8]) {
        self.sha.update(data);
        self.total += data.len() as u64;
        if self.total <= 20 {
            self.small.extend_from_slice(data);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.total <= 20 {
            self.small.resize(20, 0);
            return self.small;
        }
        self.sha.update(self.total.to_string().as_bytes());
        self.sha.finalize().to_vec()
    }
}

/// Microsoft's QuickXorHash (OneDrive): each byte is XORed into a 160-bit ring,
/// shifted 11 bits further per byte; the length is XORed into the last 8 bytes.
#[derive(Default)]
struct QuickXorHasher {
    state: [u8; 20],
    length: u64,
}

impl QuickXorHasher {
    fn update(&mut self, data: &[u8]) {
        let mut bit = ((self.length % 160) * 11 % 160) as usize;
        for &b in data {
            let (byte, shift) = (bit / 8, bit % 8);
            let v = (b as u16) << shift;
            self.state[byte] ^= v as u8;
            self.state[(byte + 1) % 20] ^= (v >> 8) as u8;
            bit = (bit + 11) % 160;
        }
        self.length += data.len() as u64;
    }

    fn finish(self) -> Vec<u8> {
        let mut out = self.state.to_vec();
        for (i, b) in self.length.to_le_bytes().iter().enumerate() {
            out[12 + i] ^= b;
        }
        out
    }
}

/// One level of HiDrive's hash tree: SHA-1s of (sum, index) added up as 160-bit numbers.
#[derive(Clone)]
struct HidriveLevel {
    checksum: [u8; 20],
    count: u32,
}

impl HidriveLevel {
    const PER_LEVEL: u32 = 256;

    fn new() -> Self {
        HidriveLevel {
            checksum: [0; 20],
            count: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.count >= Self::PER_LEVEL
    }

    fn add_sum(&mut self, sum: &[u8; 20]) {
        if sum.iter().any(|&b| b != 0) {
            let mut h = sha1::Sha1::new();
            h.update(sum);
            h.update([self.count as u8]);
            let digest = h.finalize();
            let mut carry = 0u16;
            for i in (0..20).rev() {
                let t = digest[i] as u16 + self.checksum[i] as u16 + carry;
                self.checksum[i] = t as u8;
                carry = t >> 8;
            }
        }
        self.count += 1;
    }
}

/// HiDrive's hash: SHA-1 of each 4 KiB block (all-zero blocks count as zero),
/// aggregated 256 at a time into levels.
#[derive(Clone)]
struct HidriveHasher {
    levels: Vec<HidriveLevel>,
    last: [u8; 20],
    block: Vec<u8>,
}

impl Default for HidriveHasher {
    fn default() -> Self {
        HidriveHasher {
            levels: Vec::new(),
            last: [0; 20],
            block: Vec::with_capacity(Self::BLOCK),
        }
    }
}

impl HidriveHasher {
    const BLOCK: usize = 4096;

    fn aggregate(&mut self, index: usize, sum: [u8; 20]) {
        let mut sum = sum;
        let mut i = index;
        loop {
            if i >= self.levels.len() {
                self.levels.push(HidriveLevel::new());
            }
            self.levels[i].add_sum(&sum);
            self.last = sum;
            if !self.levels[i].is_full() {
                break;
            }
            sum = self.levels[i].checksum;
            self.levels[i] = HidriveLevel::new();
            i += 1;
        }
    }

    fn block_done(&mut self) {
        let sum: [u8; 20] = if self.block.iter().all(|&b| b == 0) {
            [0; 20]
        } else {
            sha1::Sha1::digest(&self.block).into()
        };
        self.block.clear();
        self.aggregate(0, sum);
    }

    fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = (Self::BLOCK - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.block.len() == Self::BLOCK {
                self.block_done();
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if !self.block.is_empty() {
            self.block.resize(Self::BLOCK, 0);
            self.block_done();
        }
        let mut checksum = [0u8; 20];
        let n = self.levels.len();
        for i in 0..n {
            if i < n - 1 {
                if self.levels[i].count >= 1 {
                    let sum = self.levels[i].checksum;
                    self.aggregate(i + 1, sum);
                    self.levels[i] = HidriveLevel::new();
                }
            } else if self.levels[i].count > 1 {
                checksum = self.levels[i].checksum;
            } else {
                checksum = self.last;
            }
        }
        checksum.to_vec()
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

    /// Values printed by `rclone lsjson --hash` for a file holding "hello\n".
    #[test]
    fn matches_rclone_for_every_kind() {
        let want = [
            ("blake3", "8e4c7c1b99dbfd50e7a95185fead5ee1448fa904a2fdd778eaf5f2dbfd629a99"),
            ("crc32", "363a3020"),
            ("dropbox", "ecb65bb98f9d905b70458986c39fcbad7715e5f2fcc3b1f07767d7c83e2438cc"),
            ("hidrive", "13652132d05dc208a26352e629d7bdbcfc4b4b3c"),
            ("mailru", "68656c6c6f0a0000000000000000000000000000"),
            ("md5", "b1946ac92492d2347c6235b4d2611184"),
            ("quickxor", "6828031bd8f00605000000000600000000000000"),
            ("sha1", "f572d396fae9206628714fb2ce00f72e94f2258f"),
            ("sha256", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"),
            ("sha512", "e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629"),
            ("whirlpool", "63f8341c1720d76087bb66a8f3fc9ea21a279edeae866a3611ba425cbd9ac9a4e39b97066b492fed6037988a72a045344c8675107e6bb569276c2f597ea9cbb7"),
            ("xxh128", "6bba86c7e069f56d5a10b435f1c8e49c"),
            ("xxh3", "99fc819aaba2462a"),
        ];
        let mut h = MultiHasher::new(HashSet::all());
        h.update(b"hel");
        h.update(b"lo\n");
        let out = h.finish();
        for (name, value) in want {
            let kind: HashKind = name.parse().unwrap();
            assert_eq!(out.get(kind), Some(value), "{name}");
            assert_eq!(value.len(), kind.hex_width(), "{name}");
        }
        let empty = MultiHasher::new(HashSet::all()).finish();
        assert_eq!(
            empty.get(HashKind::Hidrive),
            Some("0000000000000000000000000000000000000000")
        );
        assert_eq!(empty.get(HashKind::Crc32), Some("00000000"));
    }

    #[test]
    fn sets_and_names() {
        let set: HashSet = [HashKind::Sha1, HashKind::Md5].into_iter().collect();
        assert_eq!(set.preferred(), Some(HashKind::Md5));
        assert!(set.intersect(HashSet::empty()).is_empty());
        assert_eq!("SHA1".parse::<HashKind>(), Ok(HashKind::Sha1));
        assert_eq!("SHA-1".parse::<HashKind>(), Ok(HashKind::Sha1));
        assert_eq!("DropboxHash".parse::<HashKind>(), Ok(HashKind::Dropbox));
        assert_eq!(HashSet::all().iter().count(), 13);
        assert!("crc99".parse::<HashKind>().unwrap_err().contains("md5"));
    }
}
