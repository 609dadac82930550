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
}
