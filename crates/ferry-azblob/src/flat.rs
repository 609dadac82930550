//! The recursive listing: List Blobs without a delimiter, in name order. A page is asked
//! for only once the previous one has been consumed (memory O(page)). Directories come
//! from name prefixes and folder markers (`hdi_isfolder` blobs, or names ending in `/`);
//! metadata comes with each page, so mtimes are exact without further requests.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::{Listing, RelPath, Result};
use ferry_objstore::flat::{self, Below, EntryStream};

use crate::remote::{entry_of, is_folder_marker};
use crate::AzBackend;

struct Pager {
    b: Arc<AzBackend>,
    container: String,
    marker: Option<String>,
    done: bool,
    below: Below,
}

/// Everything below `dir`, page by page.
pub(crate) fn list(b: Arc<AzBackend>, dir: &RelPath) -> Result<EntryStream> {
    let t = b.target(dir)?;
    let names = b.names;
    let pager = Pager {
        b,
        container: t.container,
        marker: None,
        done: false,
        below: Below::new(dir.clone(), &t.blob, names),
    };
    Ok(flat::paged(pager))
}

#[async_trait]
impl flat::Pager for Pager {
    fn done(&self) -> bool {
        self.done
    }

    async fn next_page(&mut self) -> Result<Listing> {
        let page = self
            .b
            .list_page(
                &self.container,
                self.below.prefix(),
                false,
                self.b.opts.list_chunk,
                self.marker.take(),
                self.below.dir().as_str(),
            )
            .await?;
        self.marker = page.next_marker;
        self.done = self.marker.is_none();
        let mut listing = Listing::new();
        let entries = &mut listing.entries;
        let mut skipped = Vec::new();
        for item in &page.blobs {
            let (rel_path, slashed) = match self.below.name(&item.name) {
                Ok(Some(named)) => named,
                Ok(None) => continue,
                Err(_) => {
                    skipped.push(ferry_objstore::bucket::unsafe_key(
                        &self.b.names,
                        &item.name,
                    ));
                    continue;
                }
            };
            let dirs = &mut self.below.dirs;
            let found = if slashed {
                dirs.enter(&rel_path, true)
            } else if is_folder_marker(item) {
                dirs.hold_marker(rel_path.clone());
                dirs.enter(&rel_path, false)
                    .into_iter()
                    .filter(|d| d.path != rel_path)
                    .collect()
            } else {
                dirs.enter(&rel_path, false)
            };
            self.below.push_dirs(found, entries);
            if !slashed && !is_folder_marker(item) {
                entries.push(entry_of(self.below.path(&rel_path), item));
            }
        }
        if self.done {
            self.below.finish(entries)?;
        }
        listing.errors = skipped;
        Ok(listing)
    }
}
