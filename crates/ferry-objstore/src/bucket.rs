//! Paths on object stores, shared by the S3 and Azure Blob backends: a root of
//! `bucket/prefix`, keys under a prefix, and HTTP byte ranges.

/// Splits a root path into its bucket (container) and key prefix, without slashes at
/// either end: `"b/a/b/"` → `("b", "a/b")`. `None` for the service root (`""`).
pub fn split_root(path: &str) -> Option<(String, String)> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    Some(match trimmed.split_once('/') {
        Some((b, p)) => (b.to_owned(), p.trim_matches('/').to_owned()),
        None => (trimmed.to_owned(), String::new()),
    })
}

/// The stored key of `rel` under the stored `prefix`: every segment of `rel` goes
/// through the backend's encoding (the one place object stores build keys from paths).
///
/// A segment stored as `.` or `..` (ferry's `．`/`．．` under an encoding without
/// `Dot`) is refused: HTTP clients resolve such segments in a URL, so the request would
/// reach another key.
pub fn stored_key(
    names: &ferry_core::encoding::Names,
    prefix: &str,
    rel: &ferry_core::RelPath,
) -> ferry_core::Result<String> {
    let stored = names.stored_path(rel)?;
    if stored.split('/').any(|s| s == "." || s == "..") {
        return Err(ferry_core::Error::new(
            ferry_core::ErrorKind::InvalidPath,
            format!(
                "{rel:?} would be stored as {stored:?}, which a URL can't name; add Dot to \
                 the remote's encoding ({})",
                names.encoding()
            ),
        ));
    }
    Ok(join_key(prefix, &stored))
}

/// [`split_root`] of a path ferry names (a root the user gave, or a path that starts
/// with a bucket), in stored form.
pub fn split_stored_root(
    names: &ferry_core::encoding::Names,
    path: &str,
) -> ferry_core::Result<Option<(String, String)>> {
    Ok(split_root(&names.stored_slashed(path)?))
}

/// The key of `rel` under `prefix` (either may be empty).
pub fn join_key(prefix: &str, rel: &str) -> String {
    match (prefix.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}/{rel}"),
    }
}

/// A listed key that is not valid in its encoding: skipped, and an error of the run.
pub fn undecodable_key(raw: &str) -> ferry_core::Error {
    ferry_core::Error::new(
        ferry_core::ErrorKind::InvalidPath,
        format!("{raw:?}: skipping a key that can't be decoded"),
    )
}

/// A listed key that can't be a safe relative path (`..`, empty segments, NUL), or
/// that the remote's encoding can't give back (its own error, which says why):
/// skipped, and an error of the run, so nothing is written outside the destination
/// and nothing its absence implies is deleted.
pub fn unsafe_key(names: &ferry_core::encoding::Names, full: &str) -> ferry_core::Error {
    let refused = full
        .split('/')
        .filter(|seg| !matches!(*seg, "" | "." | ".."))
        .find_map(|seg| names.listed(seg).err());
    if let Some(refused) = refused {
        return refused;
    }
    ferry_core::Error::new(
        ferry_core::ErrorKind::InvalidPath,
        format!("{full:?}: skipping a key that is not a safe relative path"),
    )
}

/// The HTTP `Range` value for reading from `offset`, at most `len` bytes (`len` is not
/// 0); `None` when the whole object is wanted.
pub fn byte_range(offset: u64, len: Option<u64>) -> Option<String> {
    match (offset, len) {
        (0, None) => None,
        (o, None) => Some(format!("bytes={o}-")),
        (o, Some(n)) => Some(format!("bytes={o}-{}", o + n - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_keys_and_ranges() {
        assert_eq!(split_root("b/a/b/"), Some(("b".into(), "a/b".into())));
        assert_eq!(split_root("/b"), Some(("b".into(), String::new())));
        assert_eq!(split_root("/"), None);
        assert_eq!(join_key("", "x"), "x");
        assert_eq!(join_key("p", ""), "p");
        assert_eq!(join_key("p", "x/y"), "p/x/y");
        assert_eq!(byte_range(0, None), None);
        assert_eq!(byte_range(5, None).as_deref(), Some("bytes=5-"));
        assert_eq!(byte_range(5, Some(10)).as_deref(), Some("bytes=5-14"));
    }
}
