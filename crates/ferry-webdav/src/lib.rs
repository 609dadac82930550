//! The WebDAV backend, compatible with rclone's `webdav` remotes.
//!
//! - Listings are PROPFIND `Depth: 1`; every `href` is percent-decoded, checked to name a
//!   direct child of the folder listed, and read through the remote's encoding
//!   ([`Names`]); anything else is reported in the listing's errors.
//! - Uploads go to a temporary name beside the target (`ferry_core::partial`) and are
//!   moved into place with MOVE, so no partial file ever has the final name.
//! - What the server keeps depends on the vendor, as in rclone: ownCloud, Nextcloud,
//!   Infinite Scale, Fastmail and rclone's own server take the modification time from
//!   `X-OC-Mtime` (whole seconds); a plain server keeps its own upload time, so sizes
//!   alone decide whether files differ. ownCloud-style servers list checksums.
//! - COPY and MOVE stay on the server between remotes on one server with one login.

mod client;
mod error;
mod kind;
pub mod options;
mod propfind;
mod remote;
mod upload;

#[cfg(test)]
mod fuzz_tests;

use std::collections::HashSet as StdHashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use ferry_core::encoding::{Encoding, Names};
use ferry_core::{
    Capabilities, CopyKind, Error, ErrorKind, Features, HashKind, HashSet, RelPath, Result,
    Semantics,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Url;

use crate::client::Client;
pub use crate::kind::KIND;
pub use crate::options::Settings;
use crate::options::Vendor;

/// Characters sent as they are in a URL path: RFC 3986's unreserved set (and `/`
/// between segments, added by the caller).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A folder on a WebDAV server.
pub struct WebdavBackend {
    client: Client,
    vendor: Vendor,
    /// How ferry's names are stored: every path sent is built and every listed name read
    /// through it.
    names: Names,
    /// The root's stored path below the URL, without slashes at either end.
    root: String,
    exclude_shares: bool,
    exclude_mounts: bool,
    features: Features,
    /// Stored paths of folders known to exist (made or seen), so uploads don't MKCOL
    /// their parents every time.
    dirs: Mutex<StdHashSet<String>>,
    /// Set by `prepare_write`: this run writes here, so listings may remove leftovers.
    writing: AtomicBool,
}

fn features(v: &Vendor) -> Features {
    let mut hashes = HashSet::empty();
    if v.oc_md5 {
        hashes.insert(HashKind::Md5);
    }
    if v.oc_sha1 || v.me_sha1 {
        hashes.insert(HashKind::Sha1);
    }
    Features {
        caps: Capabilities {
            set_modtime: v.propset_mtime,
            atomic_put: true,
            parallel_reads: true,
            copy: CopyKind::ServerSide,
            moves: true,
            ..Capabilities::default()
        },
        semantics: Semantics {
            hashes,
            modtime_precision: v.precision(),
            empty_dirs: true,
            ..Semantics::default()
        },
    }
}

impl WebdavBackend {
    /// Opens the folder `root` (a path below the URL) of the remote `settings` describe.
    pub fn new(settings: Settings, root: &str) -> Result<Arc<Self>> {
        // An unset encoding is rclone's identity: names are stored as ferry (and rclone)
        // shows them, which is what Names does for the standard encoding.
        let enc = match settings.encoding {
            Encoding::NONE => Encoding::STANDARD,
            e => e,
        };
        let names = Names::new(enc);
        let mut stored = Vec::new();
        for seg in root.split('/').filter(|s| !s.is_empty()) {
            let rel = RelPath::new(seg).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidPath,
                    format!("{}{root}: {}", settings.remote, e.message()),
                )
            })?;
            stored.push(stored_segment(&names, rel.as_str())?);
        }
        let client = Client::new(&settings)?;
        Ok(Arc::new(WebdavBackend {
            client,
            vendor: settings.vendor,
            names,
            root: stored.join("/"),
            exclude_shares: settings.exclude_shares,
            exclude_mounts: settings.exclude_mounts,
            features: features(&settings.vendor),
            dirs: Mutex::new(StdHashSet::new()),
            writing: AtomicBool::new(false),
        }))
    }

    /// The stored path (below the URL) of `path`.
    fn stored(&self, path: &RelPath) -> Result<String> {
        let mut out = self.root.clone();
        for seg in path.segments() {
            if !out.is_empty() {
                out.push('/');
            }
            out.push_str(&stored_segment(&self.names, seg)?);
        }
        Ok(out)
    }

    /// The URL of a stored path; folders end in `/`.
    fn url(&self, stored: &str, dir: bool) -> Url {
        let mut text = self.client.base().as_str().to_owned();
        let mut first = true;
        for seg in stored.split('/').filter(|s| !s.is_empty()) {
            if !first {
                text.push('/');
            }
            first = false;
            text.extend(utf8_percent_encode(seg, SEGMENT));
        }
        if dir && !first {
            text.push('/');
        }
        Url::parse(&text).expect("a URL made of a valid base and encoded segments")
    }

    fn fail(&self, f: error::Failure, op: &str, path: &RelPath) -> Error {
        f.into_error(
            self.client.remote(),
            op,
            path.as_str(),
            self.client.uses_token(),
        )
    }

    fn remember_dir(&self, stored: &str) {
        self.dirs
            .lock()
            .expect("dirs lock")
            .insert(stored.to_owned());
    }

    fn knows_dir(&self, stored: &str) -> bool {
        stored.is_empty() || self.dirs.lock().expect("dirs lock").contains(stored)
    }

    fn forget_dirs(&self) {
        self.dirs.lock().expect("dirs lock").clear();
    }
}

/// One name's stored form; a name that would be stored with a `/` in it (an encoding
/// without `Slash` given a `／`) would name another path, so it is refused.
fn stored_segment(names: &Names, name: &str) -> Result<String> {
    let stored = names.stored(name)?;
    if stored.contains('/') || stored == "." || stored == ".." {
        return Err(Error::new(
            ErrorKind::InvalidPath,
            format!(
                "{name:?}: this remote's encoding ({}) would store the name as {stored:?}, which \
                 is not one name; add Slash and Dot to its encoding",
                names.encoding()
            ),
        ));
    }
    Ok(stored.into_owned())
}

/// The stored path's parent (`""` at the top).
fn parent_of(stored: &str) -> &str {
    stored.rsplit_once('/').map_or("", |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::kind::Options;

    fn backend(pairs: &[(&str, &str)], root: &str) -> Arc<WebdavBackend> {
        let o = Options::from_pairs(&KIND, pairs.iter().copied());
        WebdavBackend::new(Settings::from_options(&o).unwrap(), root).unwrap()
    }

    #[test]
    fn urls_encode_each_stored_name() {
        let b = backend(&[("url", "http://h:1/remote.php/webdav")], "/top dir/");
        let p = RelPath::new("a b/c#?%.txt").unwrap();
        let s = b.stored(&p).unwrap();
        assert_eq!(s, "top dir/a b/c#?%.txt");
        assert_eq!(
            b.url(&s, false).as_str(),
            "http://h:1/remote.php/webdav/top%20dir/a%20b/c%23%3F%25.txt"
        );
        assert_eq!(b.url("", true).as_str(), "http://h:1/remote.php/webdav/");
        assert_eq!(b.url("x", true).as_str(), "http://h:1/remote.php/webdav/x/");
        assert_eq!(parent_of("a/b/c"), "a/b");
        assert_eq!(parent_of("a"), "");
    }

    #[test]
    fn identity_keeps_rclones_standard_names_and_encodings_apply() {
        let b = backend(&[("url", "http://h/")], "");
        let p = RelPath::new("tab\u{2409}\u{FF0F}x").unwrap();
        assert_eq!(b.stored(&p).unwrap(), "tab\u{2409}\u{FF0F}x");
        let b = backend(&[("url", "http://h/"), ("encoding", "Slash,Dot,Colon")], "");
        let p = RelPath::new("a:b\u{2409}").unwrap();
        assert_eq!(b.stored(&p).unwrap(), "a\u{FF1A}b\t");
        let b = backend(&[("url", "http://h/"), ("encoding", "Colon")], "");
        assert!(b.stored(&RelPath::new("x\u{FF0F}y").unwrap()).is_err());
        let o = Options::from_pairs(&KIND, [("url", "http://h/")]);
        assert!(WebdavBackend::new(Settings::from_options(&o).unwrap(), "a/../b").is_err());
    }
}
