//! Sizes written the way rclone writes them, so users' log parsers keep working.

const SUFFIXES: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

fn scaled(n: u64) -> (f64, Option<&'static str>) {
    let mut value = n as f64;
    let mut suffix = None;
    for s in SUFFIXES {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        suffix = Some(s);
    }
    (value, suffix)
}

/// rclone's `SizeSuffix` form: `100`, `1Ki`, `1.500Mi`.
pub fn size_suffix(n: u64) -> String {
    match scaled(n) {
        (v, None) => format!("{v:.0}"),
        (v, Some(s)) if v.fract() == 0.0 => format!("{v:.0}{s}"),
        (v, Some(s)) => format!("{v:.3}{s}"),
    }
}

/// rclone's byte-unit form used in stats: `0 B`, `1.000 KiB`, `12.500 MiB`.
pub fn byte_unit(n: u64) -> String {
    match scaled(n) {
        (v, None) => format!("{v:.0} B"),
        (v, Some(s)) => format!("{v:.3} {s}B"),
    }
}

/// rclone's (Go's) boolean spellings for option values.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" => Some(true),
        "false" | "0" | "no" | "off" | "f" => Some(false),
        _ => None,
    }
}

/// rclone's SizeSuffix: a number with an optional binary suffix (`B`, `K`/`Ki`, `M`/`Mi`,
/// `G`/`Gi`, `T`/`Ti`, `P`/`Pi`); a bare number is KiB; `off` is -1 (refused here).
pub fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, suffix) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let suffix = suffix.trim();
    let suffix = suffix
        .strip_suffix("iB")
        .or_else(|| suffix.strip_suffix('i'))
        .unwrap_or(suffix);
    let mult: f64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "k" => 1024.0,
        "b" => 1.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    let out = n * mult;
    (out.is_finite() && out >= 0.0).then_some(out as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_rclone() {
        assert_eq!(size_suffix(100), "100");
        assert_eq!(size_suffix(1024), "1Ki");
        assert_eq!(size_suffix(1536 * 1024), "1.500Mi");
        assert_eq!(byte_unit(0), "0 B");
        assert_eq!(byte_unit(1024), "1.000 KiB");
        assert_eq!(byte_unit(5 * 1024 * 1024 * 1024), "5.000 GiB");
    }

    #[test]
    fn sizes_as_rclone() {
        assert_eq!(parse_size("5Mi"), Some(5 * 1024 * 1024));
        assert_eq!(parse_size("5M"), Some(5 * 1024 * 1024));
        assert_eq!(parse_size("200Mi"), Some(200 * 1024 * 1024));
        assert_eq!(parse_size("10"), Some(10 * 1024));
        assert_eq!(parse_size("100B"), Some(100));
        assert_eq!(parse_size("1.5G"), Some(1536 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("5Q"), None);
    }
}
