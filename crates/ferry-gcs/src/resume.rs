//! `--resume`: a small journal per resumable upload, so a run that was interrupted hands
//! its upload session to the next one instead of starting over. The session itself keeps
//! what it received; the journal keeps its URL (and how far it got, for messages).
//!
//! The journal lives in `$XDG_CACHE_HOME/ferry/gcs-uploads/` (else `~/.cache/…`), named by
//! a hash of endpoint, bucket and object name. It is used only for the same source (size,
//! mtime) and chunk size, and removed when the upload completes, when the source changed,
//! or when GCS no longer knows the session (it expires after a week).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_core::md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct State {
    pub endpoint: String,
    pub bucket: String,
    pub name: String,
    /// The session URI. It authorises the upload by itself, so the journal is private.
    pub session: String,
    pub size: u64,
    pub mtime_ns: i128,
    pub chunk_size: u64,
    /// Bytes the session had confirmed when last written.
    pub sent: u64,
}

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

/// What an earlier run left for this object.
pub(crate) enum Previous {
    None,
    /// The same source: its session can be continued.
    Same(State),
    /// Another version of the source: its session should be cancelled.
    Changed(State),
}

impl Journal {
    pub fn new(
        endpoint: &str,
        bucket: &str,
        name: &str,
        size: u64,
        mtime: SystemTime,
        chunk_size: u64,
    ) -> Option<Self> {
        let file = hex::encode(Md5::digest(
            format!("{endpoint}\n{bucket}\n{name}").as_bytes(),
        ));
        let dir = ferry_core::private::ferry_cache()?.join("gcs-uploads");
        Some(Journal {
            path: dir.join(format!("{file}.json")),
            state: State {
                endpoint: endpoint.to_owned(),
                bucket: bucket.to_owned(),
                name: name.to_owned(),
                session: String::new(),
                size,
                mtime_ns: mtime_ns(mtime),
                chunk_size,
                sent: 0,
            },
        })
    }

    pub fn previous(&self) -> Previous {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Previous::None;
        };
        let Ok(old) = serde_json::from_str::<State>(&text) else {
            self.discard();
            return Previous::None;
        };
        let same_object = old.endpoint == self.state.endpoint
            && old.bucket == self.state.bucket
            && old.name == self.state.name;
        if !same_object {
            return Previous::None;
        }
        let same_source = old.size == self.state.size
            && old.mtime_ns == self.state.mtime_ns
            && old.chunk_size == self.state.chunk_size;
        if same_source {
            Previous::Same(old)
        } else {
            self.discard();
            Previous::Changed(old)
        }
    }

    /// Writes the journal (to a temporary name, then renamed, so it is never half-written).
    pub fn save(&self) -> std::io::Result<()> {
        if let Some(parent) = self.path.parent() {
            // ferry's cache: private, as it names the user's objects and holds a session URI.
            ferry_core::private::create_dir_all(parent)?;
            ferry_core::private::tighten_dir(parent);
        }
        let tmp = self
            .path
            .with_extension(format!("json.{}.tmp", std::process::id()));
        let body = serde_json::to_vec(&self.state).map_err(std::io::Error::other)?;
        ferry_core::private::write(&tmp, &body)?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Notes progress; a journal that can't be written only costs a restart later.
    pub fn record(&mut self, sent: u64) {
        self.state.sent = sent;
        if let Err(e) = self.save() {
            tracing::debug!(
                "can't update the resume journal {}: {e}",
                self.path.display()
            );
        }
    }

    pub fn discard(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
