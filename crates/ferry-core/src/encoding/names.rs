//! [`Names`]: one backend's boundary between ferry's names and the names it stores.

use std::borrow::Cow;

use super::{into_string, Encoding};
use crate::{Error, ErrorKind, RelPath, Result};

/// One backend's names: the only way a backend turns ferry's names into the names
/// it stores and back. Every backend builds a stored key or path with
/// [`Names::stored_path`] / [`Names::stored`] and an entry's path with
/// [`Names::child`] / [`Names::listed`], so no name reaches storage unencoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Names {
    enc: Encoding,
}

impl Names {
    pub fn new(enc: Encoding) -> Names {
        Names { enc }
    }

    pub fn encoding(&self) -> Encoding {
        self.enc
    }

    /// A backend whose encoding is exactly rclone's standard one stores ferry's names as
    /// they are, as rclone does (SFTP's default): names are passed through unchanged
    /// both ways, so a name holding a raw control character or a `‛XX` byte is stored
    /// and read back as it is.
    fn is_standard(&self) -> bool {
        self.enc == Encoding::STANDARD
    }

    /// The stored form of one of ferry's names, as bytes (for backends such as the
    /// local file system that store bytes).
    pub fn stored_bytes<'a>(&self, name: &'a str) -> Cow<'a, [u8]> {
        if self.is_standard() {
            return Cow::Borrowed(name.as_bytes());
        }
        match Encoding::INTERNAL.decode_bytes(name.as_bytes()) {
            Cow::Borrowed(real) => self.enc.encode_bytes(real),
            Cow::Owned(real) => Cow::Owned(self.enc.encode_bytes(&real).into_owned()),
        }
    }

    /// The stored form of one name, for backends whose names are text. A name
    /// holding a byte that is not UTF-8 is an error unless the encoding has
    /// `InvalidUtf8`.
    pub fn stored<'a>(&self, name: &'a str) -> Result<Cow<'a, str>> {
        match self.stored_bytes(name) {
            // Unchanged: the stored name is the name itself.
            Cow::Borrowed(_) => Ok(Cow::Borrowed(name)),
            Cow::Owned(b) => String::from_utf8(b).map(Cow::Owned).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidPath,
                    format!(
                        "{name:?}: the name holds bytes that are not UTF-8 and the backend's \
                         encoding ({}) can't store them; add InvalidUtf8 to its encoding",
                        self.enc
                    ),
                )
            }),
        }
    }

    /// The stored form of a whole relative path, segment by segment.
    pub fn stored_path<'a>(&self, path: &'a RelPath) -> Result<Cow<'a, str>> {
        self.stored_slashed(path.as_str())
    }

    /// [`Names::stored_path`] of a `/`-separated path that need not be a [`RelPath`]
    /// (a root or prefix the user gave).
    pub fn stored_slashed<'a>(&self, path: &'a str) -> Result<Cow<'a, str>> {
        if self.is_standard() {
            return Ok(Cow::Borrowed(path));
        }
        let mut out: Option<String> = None;
        for (i, seg) in path.split('/').enumerate() {
            let enc = self.stored(seg)?;
            match (&mut out, enc) {
                (None, Cow::Borrowed(_)) => {}
                (None, Cow::Owned(s)) => {
                    let upto = segments_len(path, i);
                    let mut o = String::with_capacity(path.len() + 8);
                    o.push_str(&path[..upto]);
                    if i > 0 {
                        o.push('/');
                    }
                    o.push_str(&s);
                    out = Some(o);
                }
                (Some(o), e) => {
                    if i > 0 {
                        o.push('/');
                    }
                    o.push_str(&e);
                }
            }
        }
        Ok(out.map_or(Cow::Borrowed(path), Cow::Owned))
    }

    /// ferry's name for a stored name (bytes, e.g. from a local directory).
    ///
    /// rclone's mapping is not one to one: a stored name its encoder never writes (a
    /// `..` key under `Dot`, a raw tab on Azure, a lone `‛` in a local name) lists as a
    /// name that would be stored differently, so reading or deleting it would touch
    /// another object or nothing (rclone 1.75 fails to open such files). Such a name is
    /// an error here, which the listing reports (and which stops a sync's deletes).
    pub fn listed_bytes<'a>(&self, stored: &'a [u8]) -> Result<Cow<'a, str>> {
        let name = self.decoded(stored);
        if *self.stored_bytes(&name) != *stored {
            return Err(Error::new(
                ErrorKind::InvalidPath,
                format!(
                    "{:?}: skipping a name this remote's encoding ({}) can't give back (it \
                     would be read and written as {:?}, as rclone does); rename it, or set an \
                     encoding that keeps it",
                    String::from_utf8_lossy(stored),
                    self.enc,
                    String::from_utf8_lossy(&self.stored_bytes(&name)),
                ),
            ));
        }
        Ok(name)
    }

    fn decoded<'a>(&self, stored: &'a [u8]) -> Cow<'a, str> {
        if self.is_standard() {
            if let Ok(text) = std::str::from_utf8(stored) {
                return Cow::Borrowed(text);
            }
        }
        let real = self.enc.decode_bytes(stored);
        // INTERNAL has InvalidUtf8, so what it encodes (or leaves alone) is UTF-8.
        if let Cow::Owned(b) = Encoding::INTERNAL.encode_bytes(&real) {
            return Cow::Owned(into_string(b));
        }
        match real {
            Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).unwrap_or_default()),
            Cow::Owned(b) => Cow::Owned(into_string(b)),
        }
    }

    /// ferry's name for a stored name.
    pub fn listed<'a>(&self, stored: &'a str) -> Result<Cow<'a, str>> {
        self.listed_bytes(stored.as_bytes())
    }

    /// The entry path of stored name `stored` listed in `dir`.
    pub fn child(&self, dir: &RelPath, stored: &str) -> Result<RelPath> {
        dir.join(&self.listed(stored)?)
    }

    /// ferry's path for a stored `/`-separated path (a key below a prefix).
    pub fn listed_path(&self, stored: &str) -> Result<RelPath> {
        let mut path = RelPath::root();
        if stored.is_empty() {
            return Ok(path);
        }
        for seg in stored.split('/') {
            path = path.join(&self.listed(seg)?)?;
        }
        Ok(path)
    }
}

fn segments_len(path: &str, segments: usize) -> usize {
    if segments == 0 {
        return 0;
    }
    path.match_indices('/')
        .nth(segments - 1)
        .map_or(path.len(), |(i, _)| i)
}
