//! rclone's `--disable FEATURE,...`: a backend seen without some of what it can do. The
//! names are rclone's (any case); those that ferry's backends have are turned off in
//! what the backend declares and, for the server-side operations, refused at the call
//! (the caller then does the work the long way, as where the backend can't).

use super::{Layer, Op};
use crate::{CopyKind, Features};

/// rclone 1.75's feature names, in its order (what `--disable help` lists).
pub const RCLONE_FEATURES: [&str; 52] = [
    "CaseInsensitive",
    "DuplicateFiles",
    "ReadMimeType",
    "WriteMimeType",
    "CanHaveEmptyDirectories",
    "BucketBased",
    "BucketBasedRootOK",
    "SetTier",
    "GetTier",
    "ServerSideAcrossConfigs",
    "IsLocal",
    "SlowModTime",
    "SlowHash",
    "ReadMetadata",
    "WriteMetadata",
    "UserMetadata",
    "ReadDirMetadata",
    "WriteDirMetadata",
    "WriteDirSetModTime",
    "UserDirMetadata",
    "DirModTimeUpdatesOnWrite",
    "FilterAware",
    "PartialUploads",
    "NoMultiThreading",
    "Overlay",
    "ChunkWriterDoesntSeek",
    "DoubleSlash",
    "Purge",
    "Copy",
    "Move",
    "DirMove",
    "MkdirMetadata",
    "ChangeNotify",
    "UnWrap",
    "WrapFs",
    "SetWrapper",
    "DirCacheFlush",
    "PublicLink",
    "PutUnchecked",
    "PutStream",
    "MergeDirs",
    "DirSetModTime",
    "CleanUp",
    "ListR",
    "ListP",
    "About",
    "OpenWriterAt",
    "OpenChunkWriter",
    "UserInfo",
    "Disconnect",
    "Command",
    "Shutdown",
];

/// The features ferry's backends have, by rclone's name.
const EFFECTIVE: [&str; 9] = [
    "CaseInsensitive",
    "CanHaveEmptyDirectories",
    "SetTier",
    "Copy",
    "Move",
    "DirMove",
    "PublicLink",
    "CleanUp",
    "ListR",
];

/// The features to turn off, by rclone's name as canonically spelled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disable(Vec<&'static str>);

impl Disable {
    /// The features named in `names` (rclone's, any case) that ferry's backends have,
    /// and the names that change nothing here (rclone's other features, or unknown
    /// words, which rclone passes over too).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> (Disable, Vec<String>) {
        let mut on = Vec::new();
        let mut idle = Vec::new();
        for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
            match EFFECTIVE.iter().find(|f| f.eq_ignore_ascii_case(name)) {
                Some(f) if !on.contains(f) => on.push(*f),
                Some(_) => {}
                None => idle.push(name.to_owned()),
            }
        }
        (Disable(on), idle)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains(&name)
    }
}

impl Layer for Disable {
    fn adjusts_features(&self) -> bool {
        !self.is_empty()
    }

    fn adjust_features(&self, f: &mut Features) {
        for name in &self.0 {
            match *name {
                "CaseInsensitive" => f.semantics.case_insensitive = false,
                "CanHaveEmptyDirectories" => f.semantics.empty_dirs = false,
                "SetTier" => f.caps.set_tier = false,
                "Copy" => f.caps.copy = CopyKind::None,
                "Move" => f.caps.moves = false,
                "PublicLink" => f.caps.public_link = false,
                "CleanUp" => f.caps.clean_up = false,
                "ListR" => f.caps.recursive_list = false,
                _ => {}
            }
        }
    }

    fn allows(&self, op: Op) -> bool {
        let name = match op {
            Op::Copy => "Copy",
            Op::Move => "Move",
            Op::DirMove => "DirMove",
            _ => return true,
        };
        !self.has(name)
    }

    fn sees_reads(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_rclones_in_any_case_and_unknown_ones_change_nothing() {
        let (d, idle) = Disable::new("copy, ListR,Purge,bogus,COPY".split(','));
        assert_eq!(d.0, ["Copy", "ListR"]);
        assert_eq!(idle, ["Purge", "bogus"]);
        let mut f = Features::default();
        f.caps.copy = CopyKind::ServerSide;
        f.caps.recursive_list = true;
        f.caps.moves = true;
        d.adjust_features(&mut f);
        assert_eq!(f.caps.copy, CopyKind::None);
        assert!(!f.caps.recursive_list);
        assert!(f.caps.moves, "Move was not named");
        assert!(!d.allows(Op::Copy));
        assert!(d.allows(Op::Move) && d.allows(Op::DirMove) && d.allows(Op::Put));
        for name in EFFECTIVE {
            assert!(RCLONE_FEATURES.contains(&name), "{name} is not rclone's");
        }
    }
}
