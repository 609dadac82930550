//! `backend features remote:`: what a remote is and can do, in the shape of rclone's
//! answer (its `operations/fsinfo`), so a script reading `.Hashes` or `.Features.Copy`
//! reads ferry's the same way. Every field is ferry's own truth, taken from what the
//! backend declares; rclone's feature names that stand for none of ferry's operations
//! are listed as `false`.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_config::ResolvedRemote;
use ferry_core::{Backend, CopyKind, Features, RelPath};
use serde::Serialize;

/// rclone's precision for a remote that keeps no modification times (100 years).
const NO_MODTIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// rclone's `fs.FsInfo`, field for field and in its order.
#[derive(Serialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct FsInfo {
    name: String,
    root: String,
    string: String,
    /// In nanoseconds.
    precision: u128,
    hashes: Vec<&'static str>,
    features: BTreeMap<&'static str, bool>,
    /// rclone's description of each metadata key; ferry keeps no such table.
    metadata_info: Option<()>,
}

/// What `arg` (opened as `backend`) is.
pub async fn info(arg: &str, r: &ResolvedRemote, backend: &dyn Backend) -> FsInfo {
    let local = backend.local_path(&RelPath::root()).is_some();
    let about = matches!(backend.usage().await, Ok(Some(_)));
    let f = backend.features();
    FsInfo {
        name: name(arg, r),
        root: if local {
            backend.location().path
        } else {
            r.path.trim_matches('/').to_owned()
        },
        string: backend.describe(),
        precision: f
            .semantics
            .modtime_precision
            .unwrap_or(NO_MODTIME)
            .as_nanos(),
        hashes: f.semantics.hashes.iter().map(|h| h.name()).collect(),
        features: flags(f, local, about, !backend.commands().is_empty()),
        metadata_info: None,
    }
}

/// rclone's name of the remote: the config section, `:kind` for one made on the
/// command line, `local` for a path.
fn name(arg: &str, r: &ResolvedRemote) -> String {
    match &r.name {
        Some(n) => n.clone(),
        None if r.kind == "local" && !arg.starts_with(':') => "local".to_owned(),
        None => format!(":{}", r.kind),
    }
}

/// rclone's feature names, each true where ferry offers what it stands for.
fn flags(f: &Features, local: bool, about: bool, command: bool) -> BTreeMap<&'static str, bool> {
    let (c, s) = (&f.caps, &f.semantics);
    let writes = !c.read_only;
    let local_dirs = local && c.metadata.write;
    let known = [
        ("About", about),
        ("BucketBased", s.bucket_dirs),
        ("BucketBasedRootOK", c.bucket_roots),
        ("CanHaveEmptyDirectories", s.empty_dirs),
        ("CaseInsensitive", s.case_insensitive),
        ("CleanUp", c.clean_up),
        ("Command", command),
        ("Copy", c.copy == CopyKind::ServerSide),
        ("DirModTimeUpdatesOnWrite", local),
        ("DirMove", local && c.moves),
        ("DirSetModTime", c.set_dir_modtime),
        ("FilterAware", local),
        ("GetTier", c.set_tier),
        ("IsLocal", local),
        ("ListP", true),
        ("ListR", c.recursive_list),
        ("MkdirMetadata", local_dirs),
        ("Move", c.moves),
        ("OpenWriterAt", c.ranged_put),
        ("PartialUploads", c.atomic_put),
        ("PublicLink", c.public_link),
        ("PutStream", writes),
        ("ReadDirMetadata", local && c.metadata.read),
        ("ReadMetadata", c.metadata.read),
        ("ReadMimeType", s.bucket_dirs),
        ("SetTier", c.set_tier),
        ("SlowHash", local),
        ("UserDirMetadata", local_dirs),
        ("UserMetadata", c.metadata.user),
        ("WriteDirMetadata", local_dirs),
        ("WriteDirSetModTime", local && c.set_dir_modtime),
        ("WriteMetadata", c.metadata.write),
        ("WriteMimeType", s.bucket_dirs && writes),
    ];
    let mut out: BTreeMap<&'static str, bool> = UNMODELLED.iter().map(|k| (*k, false)).collect();
    out.extend(known);
    out
}

/// rclone's feature names for its own internals (change notification, wrapping, chunk
/// writers ...), which ferry has no counterpart of.
const UNMODELLED: [&str; 19] = [
    "ChangeNotify",
    "ChunkWriterDoesntSeek",
    "DirCacheFlush",
    "Disconnect",
    "DoubleSlash",
    "DuplicateFiles",
    "MergeDirs",
    "NoMultiThreading",
    "OpenChunkWriter",
    "Overlay",
    "PutUnchecked",
    "Purge",
    "ServerSideAcrossConfigs",
    "SetWrapper",
    "Shutdown",
    "SlowModTime",
    "UnWrap",
    "UserInfo",
    "WrapFs",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_one_of_rclones_52_names_is_listed() {
        let all = flags(&Features::default(), false, false, false);
        assert_eq!(all.len(), 52);
        assert!(all["ListP"] && all["PutStream"] && !all["Copy"]);
    }

    #[test]
    fn no_modtime_is_a_century_in_nanoseconds() {
        assert_eq!(NO_MODTIME.as_nanos(), 3_153_600_000_000_000_000);
    }
}
