//! The stores ferry keeps between runs under the cache directory (the local hash cache,
//! the modification-time journal) are caches, and open by one rule: a store another run
//! holds is gone without (never waited for, never shared half-written), and one that
//! can't be read is replaced, with a notice.

use std::path::Path;

use redb::{Database, DatabaseError};

/// Each store's page cache: small, as a no-op run over a million files must stay lean.
const CACHE_BYTES: usize = 8 << 20;

/// Opens (or makes) the store at `file`, called `what` in messages. `None` when another
/// run holds it or it can't be made.
pub fn open(file: &Path, what: &str) -> Option<Database> {
    if let Some(dir) = file.parent() {
        crate::private::create_dir_all(dir).ok()?;
    }
    let create = || Database::builder().set_cache_size(CACHE_BYTES).create(file);
    match create() {
        Ok(db) => Some(db),
        Err(DatabaseError::DatabaseAlreadyOpen) => {
            tracing::debug!(
                "{what} {} is in use by another run: going without it",
                file.display()
            );
            None
        }
        Err(e) => {
            tracing::warn!(
                "{what} {} could not be read ({e}): starting a new one",
                file.display()
            );
            std::fs::remove_file(file).ok()?;
            create().ok()
        }
    }
}
