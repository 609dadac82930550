use std::time::SystemTime;

use ferry_core::{Backend, Entry, Metadata, Result};
use futures::stream::{self, StreamExt};

/// Decides which paths take part in a run (the filter rules). Paths are relative,
/// `/`-separated, without leading or trailing slashes.
pub trait Select: Send + Sync {
    fn include_file(&self, path: &str, size: u64, mtime: SystemTime) -> bool;
    /// `false` lets the engine skip a directory without listing it.
    fn include_dir(&self, path: &str) -> bool;
    /// Whether a path lies within `--max-depth` (for a directory: whether it may be
    /// entered). Unlike an exclusion, a directory beyond the limit is not entered on
    /// either side, so what lies below it is not deleted — except a directory only the
    /// destination has, under `--delete-excluded`, which goes whole, as in rclone.
    fn within_depth(&self, _path: &str, _is_dir: bool) -> bool {
        true
    }
    /// Names whose presence in a directory excludes that directory.
    fn exclude_if_present(&self) -> &[String] {
        &[]
    }
    /// Whether any rule is active (an inactive selection lets the engine skip the calls).
    fn is_active(&self) -> bool {
        true
    }
    /// Whether [`include_file`](Self::include_file) looks at the mtime (`--min-age`,
    /// `--max-age`), so a listing's provisional mtimes must be made exact first.
    fn uses_mtime(&self) -> bool {
        self.is_active()
    }
    /// Whether some directory can be excluded as a whole (directory rules,
    /// `--files-from`, `--exclude-if-present`): then listings go directory by directory,
    /// never from a flat recursive listing (as in rclone).
    fn uses_directory_filters(&self) -> bool {
        self.is_active()
    }
    /// Whether files are also selected by their metadata (rclone's metadata filters);
    /// the engine then reads the metadata of every file the other rules include.
    fn uses_metadata(&self) -> bool {
        false
    }
    /// Whether a file with this metadata (empty when its backend keeps none) is included.
    fn include_metadata(&self, _path: &str, _metadata: &Metadata) -> bool {
        true
    }
}

/// Metadata read at once when filtering a listing by metadata.
const METADATA_READS: usize = 8;

/// Drops the files of `list` the metadata filters exclude (directories stay: metadata
/// filters apply to files only, as in rclone). A file whose metadata can't be read is
/// judged as having none, with an error line, as rclone does.
pub(crate) async fn by_metadata(
    select: &dyn Select,
    backend: &dyn Backend,
    list: Vec<Entry>,
) -> Vec<Entry> {
    if !select.uses_metadata() {
        return list;
    }
    stream::iter(list)
        .map(|e| async move {
            if e.is_dir() {
                return Some(e);
            }
            let m = match backend.metadata(&e.path).await {
                Ok(m) => m.unwrap_or_default(),
                Err(err) => {
                    tracing::error!("{}: Failed to read metadata: {err}", e.path);
                    Metadata::new()
                }
            };
            select.include_metadata(e.path.as_str(), &m).then_some(e)
        })
        .buffered(METADATA_READS)
        .filter_map(|e| async move { e })
        .collect()
        .await
}

/// Makes the provisional mtimes of a listing exact when the filters judge by age.
pub(crate) async fn exact_for_filters(
    select: &dyn Select,
    backend: &dyn Backend,
    list: &mut [Entry],
) -> Result<()> {
    if select.is_active() && select.uses_mtime() {
        ferry_core::exact_mtimes(backend, list, EXACT_WIDTH).await?;
    }
    Ok(())
}

/// Objects stat'ed at once for their exact mtimes.
pub const EXACT_WIDTH: usize = 16;

/// Selects everything.
pub struct AllowAll;

impl Select for AllowAll {
    fn include_file(&self, _: &str, _: u64, _: SystemTime) -> bool {
        true
    }
    fn include_dir(&self, _: &str) -> bool {
        true
    }
    fn is_active(&self) -> bool {
        false
    }
}
