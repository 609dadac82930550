//! The recursive listing: objects without a delimiter, in name order, a page asked for
//! only once the previous one was consumed (memory O(page)). Directories come from name
//! prefixes and `dir/` marker objects ([`ferry_objstore::flat::Below`]); metadata comes
//! with each page, so mtimes are exact without further requests.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::{Listing, RelPath, Result};
use ferry_objstore::flat::{self, Below, EntryStream};

use crate::GcsBackend;

struct Pager {
    b: Arc<GcsBackend>,
    bucket: String,
    token: Option<String>,
    done: bool,
    below: Below,
}

/// Everything below `dir`, page by page.
pub(crate) fn list(b: Arc<GcsBackend>, dir: &RelPath) -> Result<EntryStream> {
    let t = b.target(dir)?;
    let names = b.names;
    Ok(flat::paged(Pager {
        b,
        bucket: t.bucket,
        token: None,
        done: false,
        below: Below::new(dir.clone(), &t.name, names),
    }))
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
                &self.bucket,
                self.below.prefix(),
                false,
                "1000",
                self.token.take(),
                self.below.dir().as_str(),
            )
            .await?;
        self.token = page.next_page_token.filter(|t| !t.is_empty());
        self.done = self.token.is_none();
        let mut listing = Listing::new();
        for item in &page.items {
            let (rel, slashed) = match self.below.name(&item.name) {
                Ok(Some(named)) => named,
                Ok(None) => continue,
                Err(_) => {
                    listing.skip(ferry_objstore::bucket::unsafe_key(
                        &self.b.names,
                        &item.name,
                    ));
                    continue;
                }
            };
            let found = self.below.dirs.enter(&rel, slashed);
            self.below.push_dirs(found, &mut listing.entries);
            if !slashed {
                listing.entries.push(item.entry(self.below.path(&rel)));
            }
        }
        if self.done {
            self.below.finish(&mut listing.entries)?;
        }
        Ok(listing)
    }
}
