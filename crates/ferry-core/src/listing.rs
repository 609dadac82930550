//! One directory's listing, with the entries that could not be read.

use std::future::Future;
use std::pin::Pin;

use futures::stream::{self, Stream, TryStreamExt};

use crate::{Entry, Error, Result};

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

/// Entries of a recursive listing ([`Backend::list_recursive`](crate::Backend::list_recursive)),
/// each yielded as soon as its page arrived. An error of kind
/// [`ErrorKind::InvalidPath`](crate::ErrorKind::InvalidPath) is one entry skipped (the
/// listing goes on); any other error ends the listing.
pub type EntryStream = Pin<Box<dyn Stream<Item = Result<Entry>> + Send>>;

/// A directory's listing as it arrives: one [`Listing`] per page the server (or the file
/// system) hands over, so no backend holds a whole directory. An `Err` item ends the
/// listing (the first one is `DirNotFound` when the directory is missing).
pub type ListPages<'a> = Pin<Box<dyn Stream<Item = Result<Listing>> + Send + 'a>>;

/// A listing the protocol gives in one response (a PROPFIND, an MLSD, an index page):
/// one page.
pub fn one_page<'a>(listing: impl Future<Output = Result<Listing>> + Send + 'a) -> ListPages<'a> {
    Box::pin(stream::once(listing))
}

/// A listing read page by page: `next` is called with the state until it returns
/// `None`. The next page is read only once the previous one was taken.
pub fn pages<'a, S, F, Fut>(state: S, next: F) -> ListPages<'a>
where
    S: Send + 'a,
    F: FnMut(S) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Option<(Listing, S)>>> + Send + 'a,
{
    Box::pin(stream::try_unfold(state, next))
}

/// Every page of a listing in one [`Listing`], for callers that need the whole
/// directory at once (a march sorts it).
pub async fn collect(mut pages: ListPages<'_>) -> Result<Listing> {
    let mut all = Listing::new();
    while let Some(page) = pages.try_next().await? {
        all.entries.extend(page.entries);
        all.errors.extend(page.errors);
    }
    Ok(all)
}

/// A listing read a page at a time by continuation token (object stores' pagers):
/// `fetch` gets `None` for the first page, then each token the previous page returned,
/// until a page returns none.
pub fn by_token<'a, T, F, Fut>(fetch: F) -> ListPages<'a>
where
    T: Send + 'a,
    F: FnMut(Option<T>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<(Listing, Option<T>)>> + Send + 'a,
{
    // The state: the token of the page to read (`Some(None)` for the first), or `None`
    // once the last page was read.
    pages((Some(None), fetch), |(next, mut fetch)| async move {
        let Some(token) = next else {
            return Ok(None);
        };
        let (page, more) = fetch(token).await?;
        Ok(Some((page, (more.map(Some), fetch))))
    })
}

/// A server that hands back the continuation token it was given would make a listing
/// that never ends (each page the same page again): an error naming `dir`, not a loop.
pub fn check_next_token(given: Option<&str>, next: Option<&str>, dir: &str) -> Result<()> {
    match (given, next) {
        (Some(a), Some(b)) if a == b => Err(Error::new(
            crate::ErrorKind::Io,
            "the server returned the continuation token it was given, so this listing would \
             never end; check the server (its listing is broken)",
        )
        .with_path(dir.to_owned())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RelPath;

    fn page(names: &[&str]) -> Listing {
        names
            .iter()
            .map(|n| Entry::file(RelPath::new(n).unwrap(), 1, std::time::UNIX_EPOCH))
            .collect::<Vec<_>>()
            .into()
    }

    #[tokio::test]
    async fn by_token_passes_each_token_on_and_stops_after_the_last_page() {
        let mut asked = Vec::new();
        let pages = by_token(|token: Option<u32>| {
            asked.push(token);
            async move {
                Ok(match token {
                    None => (page(&["a", "b"]), Some(1)),
                    Some(1) => (page(&["c"]), Some(2)),
                    _ => (page(&[]), None),
                })
            }
        });
        let all = collect(pages).await.unwrap();
        let names: Vec<_> = all.entries.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(asked, [None, Some(1), Some(2)]);
    }

    #[test]
    fn a_token_given_back_unchanged_is_an_error() {
        assert!(check_next_token(None, Some("t"), "d").is_ok());
        assert!(check_next_token(Some("t"), Some("u"), "d").is_ok());
        assert!(check_next_token(Some("t"), None, "d").is_ok());
        let e = check_next_token(Some("t"), Some("t"), "d").unwrap_err();
        assert!(e.to_string().contains("never end"), "{e}");
    }

    #[tokio::test]
    async fn a_failed_page_fails_the_whole_listing() {
        let pages = by_token(|token: Option<u32>| async move {
            match token {
                None => Ok((page(&["a"]), Some(1))),
                _ => Err(Error::new(crate::ErrorKind::Io, "connection reset")),
            }
        });
        let err = collect(pages).await.unwrap_err();
        assert!(err.to_string().contains("connection reset"), "{err}");
    }
}
