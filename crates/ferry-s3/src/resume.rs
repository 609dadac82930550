//! `--resume`: a small journal per multipart upload, so a run that was interrupted can be
//! continued by the next one instead of starting over.
//!
//! The journal lives in `$XDG_CACHE_HOME/ferry/s3-uploads/` (else `~/.cache/…`), named by a
//! hash of endpoint, bucket and key: `NAME.json` holds the upload id, the source's size and
//! mtime and the part size, written once; `NAME.parts` gets one line per part once S3 has it
//! (appended, so a 10,000-part upload writes 10,000 short lines, not 10,000 journals).
//! It is discarded when the upload completes, when the source's size or mtime changed, when
//! the part size differs, or when S3 no longer knows the upload (aborted or expired).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_core::md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

/// What was uploaded of one object.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct State {
    pub endpoint: String,
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub size: u64,
    pub mtime_ns: i128,
    pub part_size: u64,
    /// The `md5chksum` metadata the upload was created with.
    #[serde(default)]
    pub md5_meta: Option<String>,
    /// Part number → (ETag, hex MD5 of the part's bytes); kept in the `.parts` file.
    #[serde(skip)]
    pub parts: BTreeMap<i32, (String, String)>,
}

/// The journal file of one destination object.
pub(crate) struct Journal {
    path: PathBuf,
    pub state: State,
}

fn mtime_ns(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// Where journals are kept.
pub(crate) fn dir() -> Option<PathBuf> {
    Some(ferry_core::private::ferry_cache()?.join("s3-uploads"))
}

impl Journal {
    /// The journal for this object, fresh: nothing uploaded yet, no upload id.
    pub fn new(
        endpoint: &str,
        bucket: &str,
        key: &str,
        size: u64,
        mtime: SystemTime,
        part_size: u64,
    ) -> Option<Self> {
        let name = hex::encode(Md5::digest(
            format!("{endpoint}\n{bucket}\n{key}").as_bytes(),
        ));
        Some(Journal {
            path: dir()?.join(format!("{name}.json")),
            state: State {
                endpoint: endpoint.to_owned(),
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                upload_id: String::new(),
                size,
                mtime_ns: mtime_ns(mtime),
                part_size,
                md5_meta: None,
                parts: BTreeMap::new(),
            },
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// A journal left by an interrupted run for the same source, if there is one; a
    /// journal for another version of the source is removed (its upload id is returned so
    /// the caller can abort it).
    pub fn previous(&self) -> Result<Option<State>, String> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Ok(None);
        };
        let mut old: State = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(_) => {
                self.discard();
                return Ok(None);
            }
        };
        old.parts = self.read_parts();
        let same_object = old.endpoint == self.state.endpoint
            && old.bucket == self.state.bucket
            && old.key == self.state.key;
        let same_source = old.size == self.state.size
            && old.mtime_ns == self.state.mtime_ns
            && old.part_size == self.state.part_size;
        if same_object && same_source {
            return Ok(Some(old));
        }
        self.discard();
        if same_object {
            Err(old.upload_id)
        } else {
            Ok(None)
        }
    }

    fn parts_path(&self) -> PathBuf {
        self.path.with_extension("parts")
    }

    /// The parts file's lines (`NUMBER ETAG MD5`); a torn last line is ignored.
    fn read_parts(&self) -> BTreeMap<i32, (String, String)> {
        let text = std::fs::read_to_string(self.parts_path()).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut it = l.split(' ');
                let (n, etag, md5) = (it.next()?, it.next()?, it.next()?);
                if md5.len() != 32 {
                    return None;
                }
                Some((n.parse().ok()?, (etag.to_owned(), md5.to_owned())))
            })
            .collect()
    }

    /// Writes the header (to a temporary name, then renamed, so it is never half-written)
    /// and the parts known so far.
    pub fn save(&self) -> std::io::Result<()> {
        if let Some(parent) = self.path.parent() {
            // ferry's cache: private, as it names the user's buckets and objects.
            ferry_core::private::create_dir_all(parent)?;
            ferry_core::private::tighten_dir(parent);
        }
        let tmp = self
            .path
            .with_extension(format!("json.{}.tmp", std::process::id()));
        let header = serde_json::to_vec(&self.state).map_err(std::io::Error::other)?;
        ferry_core::private::write(&tmp, &header)?;
        let lines: String = self
            .state
            .parts
            .iter()
            .map(|(n, (etag, md5))| format!("{n} {etag} {md5}\n"))
            .collect();
        ferry_core::private::write(&self.parts_path(), lines.as_bytes())?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Notes one part S3 acknowledged (one appended line).
    pub fn record(&mut self, part: i32, etag: &str, md5: &[u8; 16]) {
        use std::io::Write;
        let md5 = hex::encode(md5);
        let line = format!("{part} {etag} {md5}\n");
        self.state.parts.insert(part, (etag.to_owned(), md5));
        let appended = ferry_core::private::file_options()
            .append(true)
            .create(true)
            .open(self.parts_path())
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            tracing::warn!(
                "can't update the resume journal {}: {e}",
                self.path.display()
            );
        }
    }

    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(self.parts_path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_survives_only_for_the_same_source() {
        let tmp = std::env::temp_dir().join(format!("ferry-resume-{}", std::process::id()));
        let j = |size, mtime| {
            let mut j = Journal::new(
                "e",
                "b",
                "k",
                size,
                UNIX_EPOCH + std::time::Duration::from_secs(mtime),
                5,
            )
            .unwrap();
            j.path = tmp.join("j.json");
            j
        };
        let mut first = j(10, 1);
        first.state.upload_id = "up1".into();
        first.save().unwrap();
        first.record(1, "\"etag\"", &[0u8; 16]);
        let again = j(10, 1);
        let old = again.previous().unwrap().unwrap();
        assert_eq!(old.upload_id, "up1");
        assert_eq!(old.parts[&1].0, "\"etag\"");
        // The source changed: the journal goes, and the stale upload id comes back.
        assert_eq!(j(10, 2).previous(), Err("up1".to_owned()));
        assert_eq!(j(10, 1).previous(), Ok(None));
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
