//! One directory's listing, with the entries that could not be read.

use crate::{Entry, Error};

/// What listing one directory gave: the entries read, and an error for each entry that
/// could not be (a dangling link under `-L`, an unreadable file, a name that is not a
/// safe relative path). Such an error is an error of the run: it blocks every delete
/// and sets the exit code, because the missing entry might be what a delete would
/// otherwise take for gone.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub errors: Vec<Error>,
}

impl Listing {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an entry that could not be read.
    pub fn skip(&mut self, err: Error) {
        self.errors.push(err);
    }

    /// The entries, logging each unreadable one: for callers that only report.
    pub fn into_entries_logged(self) -> Vec<Entry> {
        for e in &self.errors {
            tracing::error!("{e}");
        }
        self.entries
    }
}

impl From<Vec<Entry>> for Listing {
    fn from(entries: Vec<Entry>) -> Self {
        Listing {
            entries,
            errors: Vec::new(),
        }
    }
}
