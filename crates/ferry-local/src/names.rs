//! The local backend's one boundary between on-disk names and ferry's names.
//!
//! ferry's names are rclone's standard names ([`ferry_core::encoding`]); on disk a
//! name is stored under the remote's `encoding` (rclone's local default `Slash,Dot`),
//! so a file `a␉b` listed from Azure is written as `a<TAB>b`, and `．．` as `..`'s
//! look-alike, never as `..`. A name that is not UTF-8 is carried as rclone's
//! `InvalidUtf8` form (`gro\xdf` is `gro‛DF`) and written back as the same bytes,
//! where rclone would replace the bytes by U+FFFD.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};

use ferry_core::encoding::Names;
use ferry_core::Result;

/// ferry's name for an on-disk name, and whether the name was not UTF-8 (worth a
/// notice); an error for a name the encoding can't give back (see
/// [`Names::listed_bytes`]).
pub fn listed<'a>(names: &Names, name: &'a OsStr) -> Result<(Cow<'a, str>, bool)> {
    let bytes = os_bytes(name);
    Ok((
        names.listed_bytes(bytes)?,
        std::str::from_utf8(bytes).is_err(),
    ))
}

/// The on-disk name of one of ferry's names.
pub fn stored(names: &Names, name: &str) -> OsString {
    bytes_os(names.stored_bytes(name).into_owned())
}

#[cfg(unix)]
fn os_bytes(name: &OsStr) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes()
}

#[cfg(unix)]
fn bytes_os(bytes: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn os_bytes(name: &OsStr) -> &[u8] {
    name.as_encoded_bytes()
}

#[cfg(not(unix))]
fn bytes_os(bytes: Vec<u8>) -> OsString {
    OsString::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use ferry_core::encoding::Encoding;
    use std::os::unix::ffi::OsStrExt;

    fn local() -> Names {
        Names::new(Encoding::LOCAL_DEFAULT)
    }

    #[test]
    fn invalid_bytes_round_trip() {
        let raw = OsStr::from_bytes(b"gro\xdf");
        let (name, invalid) = listed(&local(), raw).unwrap();
        assert_eq!(name, "gro‛DF");
        assert!(invalid);
        assert_eq!(stored(&local(), &name), raw);
    }

    #[test]
    fn names_are_rclone_standard_names() {
        let name = |n: &str| listed(&local(), OsStr::new(n)).unwrap().0.into_owned();
        assert_eq!(name("plain ü"), "plain ü");
        assert_eq!(name("tab\tx"), "tab␉x");
        assert_eq!(name("␉pic"), "‛␉pic");
        assert_eq!(name("．．"), "．．");
        // rclone writes `‛` doubled; a lone one can't be read back (rclone 1.75 fails
        // to open such a file): an error, never another file.
        assert_eq!(name("quote‛‛x"), "quote‛‛x");
        assert!(listed(&local(), OsStr::new("quote‛x")).is_err());
        assert_eq!(stored(&local(), "tab␉x"), OsStr::new("tab\tx"));
        assert_eq!(stored(&local(), "quote‛‛x"), OsStr::new("quote‛‛x"));
        assert_eq!(stored(&local(), "．．"), OsStr::new("．．"));
        assert_eq!(stored(&local(), "a／b"), OsStr::new("a／b"));
    }
}
