//! The recursive listing: List Blobs without a delimiter, in name order. A page is asked
//! for only once the previous one has been consumed (memory O(page)). Directories come
//! from name prefixes and folder markers (`hdi_isfolder` blobs, or names ending in `/`);
//! metadata comes with each page, so mtimes are exact without further requests.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::flat::{self, DirSynth, EntryStream};
use ferry_core::{Entry, Error, ErrorKind, RelPath, Result};

use crate::remote::{entry_of, is_folder_marker};
use crate::AzBackend;

struct Pager {
    b: Arc<AzBackend>,
    container: String,
    /// Name prefix of `dir`, with its trailing slash ("" for the container root).
    prefix: String,
    dir: RelPath,
    marker: Option<String>,
    done: bool,
    seen_anything: bool,
    dirs: DirSynth,
}

/// Everything below `dir`, page by page.
pub(crate) fn list(b: Arc<AzBackend>, dir: &RelPath) -> Result<EntryStream> {
    let t = b.target(dir)?;
    let pager = Pager {
        b,
        container: t.container,
        prefix: flat::dir_prefix(&t.blob),
        dir: dir.clone(),
        marker: None,
        done: false,
        seen_anything: false,
        dirs: DirSynth::new(),
    };
    Ok(flat::paged(pager))
}

#[async_trait]
impl flat::Pager for Pager {
    fn done(&self) -> bool {
        self.done
    }

    async fn next_page(&mut self) -> Result<Vec<Entry>> {
        let page = self
            .b
            .list_page(
                &self.container,
                &self.prefix,
                false,
                self.b.opts.list_chunk,
                self.marker.take(),
                self.dir.as_str(),
            )
            .await?;
        self.marker = page.next_marker;
        self.done = self.marker.is_none();
        let mut entries = Vec::with_capacity(page.blobs.len());
        for item in &page.blobs {
            self.seen_anything = true;
            let Some(rel) = item.name.strip_prefix(&self.prefix) else {
                continue;
            };
            if rel.is_empty() {
                continue; // the listed directory's own marker
            }
            let (name, slashed) = match rel.strip_suffix('/') {
                Some(n) => (n, true),
                None => (rel, false),
            };
            let Ok(rel_path) = RelPath::new(name) else {
                tracing::error!(
                    "{:?}: skipping a blob whose name is not a safe relative path",
                    item.name
                );
                continue;
            };
            let found = if slashed {
                self.dirs.enter(&rel_path, true)
            } else if is_folder_marker(item) {
                self.dirs.hold_marker(rel_path.clone());
                self.dirs
                    .enter(&rel_path, false)
                    .into_iter()
                    .filter(|d| d.path != rel_path)
                    .collect()
            } else {
                self.dirs.enter(&rel_path, false)
            };
            for mut d in found {
                d.path = self.dir.join_path(&d.path);
                entries.push(d);
            }
            if !slashed && !is_folder_marker(item) {
                entries.push(entry_of(self.dir.join_path(&rel_path), item));
            }
        }
        if self.done {
            for mut d in self.dirs.finish() {
                d.path = self.dir.join_path(&d.path);
                entries.push(d);
            }
            if !self.seen_anything && !self.prefix.is_empty() {
                return Err(Error::new(ErrorKind::DirNotFound, "directory not found")
                    .with_path(self.dir.to_string()));
            }
        }
        Ok(entries)
    }
}
