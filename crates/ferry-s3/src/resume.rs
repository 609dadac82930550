//! `--resume`: a small journal per multipart upload, so a run that was interrupted can be
//! continued by the next one instead of starting over.
//!
//! The journal lives in `$XDG_CACHE_HOME/ferry/s3-uploads/` (else `~/.cache/…`), one JSON
//! file per destination object, named by a hash of endpoint, bucket and key. It records the
//! upload id, the source's size and mtime, the part size, and each part once S3 has it.
//! It is discarded when the upload completes, when the source's size or mtime changed, when
//! the part size differs, or when S3 no longer knows the upload (aborted or expired).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
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
    /// Part number → (ETag, hex MD5 of the part's bytes).
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
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("ferry").join("s3-uploads"))
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
        let old: State = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(_) => {
                self.discard();
                return Ok(None);
            }
        };
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

    /// Writes the journal (to a temporary name, then renamed, so it is never half-written).
    pub fn save(&self) -> std::io::Result<()> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(&self.state).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &self.path)
    }

    pub fn record(&mut self, part: i32, etag: &str, md5: &[u8; 16]) {
        self.state
            .parts
            .insert(part, (etag.to_owned(), hex::encode(md5)));
        if let Err(e) = self.save() {
            tracing::warn!(
                "can't update the resume journal {}: {e}",
                self.path.display()
            );
        }
    }

    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.path);
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
