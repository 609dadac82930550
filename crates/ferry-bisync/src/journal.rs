//! The journal: the plan of a run, written (atomically) before anything is changed,
//! followed by one line per finished step.
//!
//! A run killed at any point leaves either no journal (nothing was changed yet), or a
//! journal whose base generation matches the saved state: the next run completes the
//! plan (each step checks, by looking at both sides, whether it already happened, can
//! still happen, or was overtaken by a newer change), adopts the results of every
//! group that completed, and only then looks for new changes.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::{sync_dir, with_suffix, write_atomic};
use crate::types::{Prefer, Rec, Side};

const FORMAT: &str = "ferry-bisync-journal";

/// One change to one side.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Copy `src` (on `from`) to the other side as `dst_path`, replacing `dst_before`.
    Copy {
        from: Side,
        key: String,
        src: Rec,
        dst_path: String,
        dst_before: Option<Rec>,
    },
    /// Delete `before` on `side` (into the backup directory, if one is set).
    Delete {
        side: Side,
        key: String,
        before: Rec,
    },
    /// Rename a conflict loser on `side` from `entry.path` to `to_path`.
    Rename {
        side: Side,
        from_key: String,
        to_key: String,
        entry: Rec,
        to_path: String,
        to_before: Option<Rec>,
    },
    /// Set the modification time of identical content (`before`) on `side` to `mtime`.
    Touch {
        side: Side,
        key: String,
        before: Rec,
        mtime: i64,
    },
    /// Create an empty directory.
    Mkdir { side: Side, key: String, dir: Rec },
    /// Remove a directory (only if empty).
    Rmdir {
        side: Side,
        key: String,
        before: Rec,
    },
}

impl Op {
    /// The side this step writes to.
    pub fn side(&self) -> Side {
        match self {
            Op::Copy { from, .. } => from.other(),
            Op::Delete { side, .. }
            | Op::Rename { side, .. }
            | Op::Touch { side, .. }
            | Op::Mkdir { side, .. }
            | Op::Rmdir { side, .. } => *side,
        }
    }

    /// The key whose record on `side()` this step produces.
    pub fn target_key(&self) -> &str {
        match self {
            Op::Copy { key, .. }
            | Op::Delete { key, .. }
            | Op::Touch { key, .. }
            | Op::Mkdir { key, .. }
            | Op::Rmdir { key, .. } => key,
            Op::Rename { to_key, .. } => to_key,
        }
    }

    /// When it runs: renames and conflict deletes, copies, deletes, directories.
    pub fn describe(&self) -> String {
        match self {
            Op::Copy {
                from,
                src,
                dst_path,
                ..
            } => format!(
                "copy {} {} to {} {}",
                from.name(),
                src.path,
                from.other().name(),
                dst_path
            ),
            Op::Delete { side, before, .. } => format!("delete {} {}", side.name(), before.path),
            Op::Rename {
                side,
                entry,
                to_path,
                ..
            } => format!("rename {} {} to {}", side.name(), entry.path, to_path),
            Op::Touch { side, before, .. } => {
                format!("set modification time of {} {}", side.name(), before.path)
            }
            Op::Mkdir { side, dir, .. } => format!("make directory {} {}", side.name(), dir.path),
            Op::Rmdir { side, before, .. } => {
                format!("remove directory {} {}", side.name(), before.path)
            }
        }
    }
}

/// A step of the plan.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Step {
    /// The decision (group) this step belongs to.
    pub group: usize,
    /// Steps run phase by phase: 0 conflict renames and deletes, 1 copies, 2 deletes,
    /// 3 directory removals (deepest first).
    pub phase: u8,
    #[serde(flatten)]
    pub op: Op,
}

/// The listing entries of one key on both sides once a group is complete.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Post {
    pub key: String,
    pub one: Option<Rec>,
    pub two: Option<Rec>,
}

/// One decision: the keys it settles and their records once all its steps are done.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Group {
    pub key: String,
    pub post: Vec<Post>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Plan {
    pub groups: Vec<Group>,
    pub steps: Vec<Step>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Sync,
    Resync,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Header {
    pub journal: String,
    pub version: u32,
    pub kind: Kind,
    /// The state generation the plan was made against (`None` for a resync).
    pub base_generation: Option<u64>,
    #[serde(default)]
    pub resync_mode: Prefer,
    pub pid: u32,
    pub created: String,
}

/// A line recording the end of one step.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct Done {
    done: usize,
    #[serde(default)]
    rec: Option<Rec>,
}

/// A journal read back from disk.
#[derive(Debug)]
pub struct Loaded {
    pub header: Header,
    pub plan: Plan,
    /// Steps known to be done, with the record they produced (if any).
    pub done: Vec<Option<Option<Rec>>>,
}

pub fn journal_path(base: &Path) -> PathBuf {
    with_suffix(base, ".journal")
}

/// An open journal, appended to as steps finish.
pub struct Writer {
    path: PathBuf,
    file: File,
}

impl Writer {
    /// Writes the header and the plan atomically, then opens the journal for appending.
    pub fn create(path: &Path, header: &Header, plan: &Plan) -> std::io::Result<Writer> {
        write_atomic(path, |w| {
            serde_json::to_writer(&mut *w, header).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
            serde_json::to_writer(&mut *w, plan).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Writer {
            path: path.to_owned(),
            file,
        })
    }

    /// Continues an existing journal (opened for appending).
    pub fn from_file(path: PathBuf, file: File) -> Writer {
        Writer { path, file }
    }

    /// Records that step `index` is done. A kill leaves whole lines in the page cache;
    /// a torn last line is ignored when the journal is read back.
    pub fn done(&mut self, index: usize, rec: Option<&Rec>) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&Done {
            done: index,
            rec: rec.cloned(),
        })
        .map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a journal; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Loaded>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("can't read {}: {e}", path.display())),
    };
    let mut lines = BufReader::new(file).lines();
    let mut next = |what: &str| -> Result<String, String> {
        match lines.next() {
            Some(Ok(l)) => Ok(l),
            Some(Err(e)) => Err(format!("can't read its {what}: {e}")),
            None => Err(format!("its {what} is missing")),
        }
    };
    let header: Header = serde_json::from_str(&next("header")?)
        .map_err(|e| format!("its header is damaged: {e}"))?;
    if header.journal != FORMAT {
        return Err("it is not a ferry bisync journal".into());
    }
    let plan: Plan =
        serde_json::from_str(&next("plan")?).map_err(|e| format!("its plan is damaged: {e}"))?;
    let mut done = vec![None; plan.steps.len()];
    for line in lines {
        let Ok(line) = line else { break };
        let Ok(d) = serde_json::from_str::<Done>(&line) else {
            break; // a torn last line
        };
        if let Some(slot) = done.get_mut(d.done) {
            *slot = Some(d.rec);
        }
    }
    Ok(Some(Loaded { header, plan, done }))
}

/// Removes the journal (or keeps it as `.journal-done` with `--no-cleanup`).
pub fn finish(path: &Path, keep: bool) -> std::io::Result<()> {
    let result = if keep {
        fs::rename(path, with_suffix(path, "-done"))
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => {
            sync_dir(path);
            other
        }
    }
}

pub fn header(kind: Kind, base_generation: Option<u64>, resync_mode: Prefer) -> Header {
    Header {
        journal: FORMAT.into(),
        version: 1,
        kind,
        base_generation,
        resync_mode,
        pid: std::process::id(),
        created: chrono::Utc::now().to_rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_path(&dir.path().join("s"));
        let rec = Rec {
            path: "a".into(),
            dir: false,
            size: 1,
            mtime: 2,
            hash: None,
        };
        let plan = Plan {
            groups: vec![Group {
                key: "a".into(),
                post: vec![],
            }],
            steps: vec![
                Step {
                    group: 0,
                    phase: 1,
                    op: Op::Delete {
                        side: Side::One,
                        key: "a".into(),
                        before: rec.clone(),
                    },
                },
                Step {
                    group: 0,
                    phase: 1,
                    op: Op::Delete {
                        side: Side::Two,
                        key: "a".into(),
                        before: rec.clone(),
                    },
                },
            ],
        };
        let mut w =
            Writer::create(&path, &header(Kind::Sync, Some(4), Prefer::None), &plan).unwrap();
        w.done(1, Some(&rec)).unwrap();
        drop(w);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"done\": 0, \"re").unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.header.base_generation, Some(4));
        assert_eq!(back.done[0], None);
        assert_eq!(back.done[1], Some(Some(rec)));
        finish(&path, false).unwrap();
        assert!(load(&path).unwrap().is_none());
    }
}
