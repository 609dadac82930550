//! `--fix-case`: where a source name and a destination name match only when case is
//! ignored (a case-insensitive destination, or `--ignore-case-sync`), the destination's
//! name is renamed to the source's, as rclone does. Directories are renamed by the march
//! before their contents are listed, so what lies below is matched under the new name;
//! files are renamed by the checkers before they are compared.

use std::sync::Arc;

use ferry_core::Declared;
use ferry_core::{Backend, Entry, Error, ErrorKind, PutOptions, RelPath, Result};

use crate::Stats;

/// Renames destination names to the source's case.
pub(crate) struct CaseFixer {
    pub dst: Arc<dyn Backend>,
    pub dry_run: bool,
    pub stats: Arc<Stats>,
}

impl CaseFixer {
    /// Renames the destination directory `old` to `new`. `Ok(true)` when the destination
    /// now holds `new` (or would, under `--dry-run`, where nothing moves).
    pub async fn dir(&self, old: &RelPath, new: &RelPath) -> Result<bool> {
        if self.dry_run {
            tracing::warn!("{old}: Skipped dirMove as --dry-run is set");
            tracing::info!("{old}: Fixed case by renaming to: {new}");
            return Ok(false);
        }
        // An object store's directories are only prefixes of its files' names: each
        // file below is renamed when it is met, and there is nothing to rename here.
        if self.dst.features().semantics.bucket_dirs {
            return Ok(false);
        }
        let renamed = self.rename(old, new).await;
        if !renamed.map_err(|e| failed(e, old, new))? {
            return Err(failed(cannot_rename(), old, new));
        }
        tracing::info!("{old}: Fixed case by renaming to: {new}");
        self.stats.renamed();
        Ok(true)
    }

    /// Renames the destination file `old` to `new`, returning the entry under its new
    /// name (the old one under `--dry-run`, where nothing moves).
    pub async fn file(&self, old: Entry, new: &RelPath) -> Result<Entry> {
        if self.dry_run {
            tracing::warn!(
                "{}: Skipped move to {new} as --dry-run is set (size {})",
                old.path,
                ferry_core::units::size_suffix(old.size)
            );
            tracing::info!("{}: Fixed case by renaming to: {new}", old.path);
            return Ok(old);
        }
        let moved = match self.rename(&old.path, new).await {
            Ok(true) => Ok(true),
            Ok(false) => copy_and_delete(&*self.dst, &old, new).await,
            Err(e) => Err(e),
        };
        if !moved.map_err(|e| failed(e, &old.path, new))? {
            return Err(failed(cannot_rename(), &old.path, new));
        }
        tracing::info!("{}: Fixed case by renaming to: {new}", old.path);
        self.stats.renamed();
        self.stats.server_side_moved(old.size);
        Ok(Entry {
            path: new.clone(),
            ..old
        })
    }

    async fn rename(&self, old: &RelPath, new: &RelPath) -> Result<bool> {
        rename_to_case(&*self.dst, old, new).await
    }
}

/// A server-side copy of `old` to `new` on `dst`, then `old` deleted once the copy is
/// whole: rclone's move where the destination can't move. `Ok(false)` where `dst` can't
/// copy either.
pub(crate) async fn copy_and_delete(dst: &dyn Backend, old: &Entry, new: &RelPath) -> Result<bool> {
    let opts = PutOptions {
        size: old.size,
        mtime: old.mtime,
        inplace: false,
        hashes: old.hashes.clone(),
        metadata: None,
    };
    if dst
        .copy_declared(dst, &old.path, new, &opts)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    dst.delete_file(&old.path).await?;
    Ok(true)
}

/// Renames `old` to `new` on `backend` (names that differ only in case); `Ok(false)`
/// where it can't rename. A case-insensitive backend may take `old` and `new` for one
/// existing name and refuse or ignore the rename, so there it goes through a temporary
/// name.
pub async fn rename_to_case(backend: &dyn Backend, old: &RelPath, new: &RelPath) -> Result<bool> {
    if !backend.features().semantics.case_insensitive {
        return Ok(backend.move_declared(backend, old, new).await?.is_some());
    }
    let hop = hop_name(new)?;
    if backend.move_declared(backend, old, &hop).await?.is_none() {
        return Ok(false);
    }
    Ok(backend.move_declared(backend, &hop, new).await?.is_some())
}

/// A name beside `new` that no listing matches to anything (a check-tagged temp name).
fn hop_name(new: &RelPath) -> Result<RelPath> {
    let dir = new.parent().unwrap_or_default();
    dir.join(&ferry_core::partial::temp_name(new.name()))
}

fn cannot_rename() -> Error {
    Error::new(
        ErrorKind::Unsupported,
        "the destination can't rename or copy server-side",
    )
}

/// rclone's wording for a failed case fix, naming the destination's old name.
fn failed(e: Error, old: &RelPath, new: &RelPath) -> Error {
    let temporary = e.is_temporary();
    Error::new(
        e.kind(),
        format!("Error while attempting to rename to {new}: {}", e.message()),
    )
    .temporary(temporary)
    .with_path(old.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hop_name_stays_in_the_same_directory() {
        let hop = hop_name(&RelPath::new("Dir/File.txt").unwrap()).unwrap();
        assert_eq!(hop.parent().unwrap().as_str(), "Dir");
        assert!(ferry_core::partial::is_temp_name(hop.name()));
        let top = hop_name(&RelPath::new("File.txt").unwrap()).unwrap();
        assert!(top.parent().unwrap().is_root());
    }
}
