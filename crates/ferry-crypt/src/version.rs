//! rclone's version stamps in names (`file-v2006-01-02-150405-000.txt`, as `--b2-versions`
//! shows old versions): crypt encrypts the name without the stamp and puts the stamp back
//! in plain text, so ferry must cut and join them the same way.

/// Length of `-vYYYY-MM-DD-HHMMSS-mmm`.
const STAMP_LEN: usize = 23;

/// `name` without its extension, and the extension (a leading-dot name has none).
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(0) | None => (name, ""),
        Some(i) => name.split_at(i),
    }
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Whether `stamp` (`-vYYYY-MM-DD-HHMMSS-mmm`) is a real time.
fn is_valid_stamp(stamp: &str) -> bool {
    let b = stamp.as_bytes();
    if b.len() != STAMP_LEN || &b[..2] != b"-v" {
        return false;
    }
    let sep_ok = [6, 9, 12, 19].iter().all(|&i| b[i] == b'-');
    let field = |from: usize, to: usize| stamp.get(from..to).and_then(digits);
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s), Some(_ms)) = (
        field(2, 6),
        field(7, 9),
        field(10, 12),
        field(13, 15),
        field(15, 17),
        field(17, 19),
        field(20, 23),
    ) else {
        return false;
    };
    sep_ok
        && h < 24
        && mi < 60
        && s < 60
        && chrono::NaiveDate::from_ymd_opt(y as i32, mo, d).is_some()
}

/// A name with a version stamp at the end of its base: the name without it, and the
/// stamp. `None`: no stamp (or one that is not a real time), as rclone decides.
pub fn split(name: &str) -> Option<(String, String)> {
    let (base, ext) = split_ext(name);
    let start = base.len().checked_sub(STAMP_LEN)?;
    let stamp = base.get(start..)?;
    is_valid_stamp(stamp).then(|| (format!("{}{ext}", &base[..start]), stamp.to_owned()))
}

/// `name` with `stamp` put back before its extension.
pub fn join(name: &str, stamp: &str) -> String {
    let (base, ext) = split_ext(name);
    format!("{base}{stamp}{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_cut_before_the_extension_and_put_back() {
        let (bare, stamp) = split("file-v2001-02-03-040506-789.txt").unwrap();
        assert_eq!(bare, "file.txt");
        assert_eq!(stamp, "-v2001-02-03-040506-789");
        assert_eq!(join("abc", &stamp), "abc-v2001-02-03-040506-789");
        assert!(split("file-v2001-02-30-040506-789.txt").is_none());
        assert!(split("file.txt").is_none());
        assert!(split("-v2001-02-03-040506-789").is_some());
    }
}
