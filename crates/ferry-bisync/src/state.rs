//! The saved state: both sides' listings after the last successful run, written
//! atomically (temporary file, fsync, rename, fsync of the directory).

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::listing::{key_of, Listing};
use crate::types::{CompareSpec, Rec};

const FORMAT: &str = "ferry-bisync-state";
const VERSION: u32 = 1;

/// What the state file holds.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct State {
    pub format: String,
    pub version: u32,
    /// Increases with every commit; a journal names the generation it was planned on.
    pub generation: u64,
    pub path1: String,
    pub path2: String,
    pub compare: CompareSpec,
    /// The hash kinds recorded in each listing (`None`: no hashes).
    pub hash1: Option<String>,
    pub hash2: Option<String>,
    pub empty_dirs: bool,
    pub filters_md5: Option<String>,
    /// When it was saved (RFC 3339), for people reading the file.
    pub saved: String,
    pub list1: Vec<Rec>,
    pub list2: Vec<Rec>,
}

impl State {
    pub fn new(path1: &str, path2: &str) -> State {
        State {
            format: FORMAT.into(),
            version: VERSION,
            generation: 0,
            path1: path1.into(),
            path2: path2.into(),
            compare: CompareSpec::default(),
            hash1: None,
            hash2: None,
            empty_dirs: false,
            filters_md5: None,
            saved: String::new(),
            list1: Vec::new(),
            list2: Vec::new(),
        }
    }

    /// Both listings keyed for matching.
    pub fn listings(&self, normalize: bool, ignore_case: bool) -> (Listing, Listing) {
        let key = |recs: &[Rec]| -> Listing {
            recs.iter()
                .map(|r| (key_of(&r.path, normalize, ignore_case), r.clone()))
                .collect()
        };
        (key(&self.list1), key(&self.list2))
    }

    pub fn set_listings(&mut self, l1: &Listing, l2: &Listing) {
        self.list1 = l1.values().cloned().collect();
        self.list2 = l2.values().cloned().collect();
    }
}

/// Why a state file can't be used.
#[derive(Debug)]
pub enum LoadError {
    Missing,
    Unusable(String),
}

pub fn state_path(base: &Path) -> PathBuf {
    with_suffix(base, ".state.json")
}

pub fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub fn load(path: &Path) -> Result<State, LoadError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(e) => return Err(LoadError::Unusable(format!("can't be read: {e}"))),
    };
    let state: State = serde_json::from_reader(BufReader::new(file))
        .map_err(|e| LoadError::Unusable(format!("is damaged ({e})")))?;
    if state.format != FORMAT {
        return Err(LoadError::Unusable(format!(
            "is not a ferry bisync state file (format {:?})",
            state.format
        )));
    }
    if state.version > VERSION {
        return Err(LoadError::Unusable(format!(
            "was written by a newer ferry (state version {}, this ferry reads {VERSION})",
            state.version
        )));
    }
    Ok(state)
}

/// Writes `bytes` to `path` atomically: nothing but the old or the new content is ever
/// seen under `path`, even if the process is killed or the machine loses power.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = with_suffix(path, &format!(".tmp-{}", std::process::id()));
    let result = (|| {
        // Private: the state names the pair's paths and every file in them.
        let file = ferry_core::private::file_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(path);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename in `path`'s directory durable.
pub fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

pub fn save(path: &Path, state: &mut State) -> std::io::Result<()> {
    state.saved = chrono::Utc::now().to_rfc3339();
    state.format = FORMAT.into();
    state.version = VERSION;
    write_atomic(path, |w| {
        serde_json::to_writer(&mut *w, state).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(&dir.path().join("a..b"));
        assert!(matches!(load(&path), Err(LoadError::Missing)));
        let mut s = State::new("/a", "/b");
        s.generation = 3;
        s.list1.push(Rec {
            path: "x".into(),
            dir: false,
            size: 1,
            mtime: 5,
            hash: None,
        });
        save(&path, &mut s).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back.generation, 3);
        assert_eq!(back.list1, s.list1);
        fs::write(&path, b"{\"format\": \"ferry-bisync-state\", \"vers").unwrap();
        assert!(matches!(load(&path), Err(LoadError::Unusable(_))));
    }
}
