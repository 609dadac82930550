//! Sizes written the way rclone writes them, so users' log parsers keep working, and the
//! one checked parser of sizes, durations and counts that every flag and option goes through.

use std::time::Duration;

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

/// rclone's byte-unit form used in stats: `0 B`, `1 KiB`, `1.500 KiB`, `12.500 MiB`
/// (whole values without decimals, as Go's `SizeSuffix` prints them).
pub fn byte_unit(n: u64) -> String {
    with_unit(n, "B")
}

/// rclone's bit-rate form (`--stats-unit bits`): `0 bit/s`, `8 Mibit/s`, `1.500 Kibit/s`;
/// `bits` per second, scaled by 1024 as rclone does.
pub fn bit_rate_unit(bits: u64) -> String {
    with_unit(bits, "bit/s")
}

fn with_unit(n: u64, unit: &str) -> String {
    match scaled(n) {
        (v, None) => format!("{v:.0} {unit}"),
        (v, Some(s)) if v.fract() == 0.0 => format!("{v:.0} {s}{unit}"),
        (v, Some(s)) => format!("{v:.3} {s}{unit}"),
    }
}

/// The one boolean parser of flags and options: rclone's (Go's) spellings (`true`, `t`,
/// `1`, `false`, `f`, `0`, any case), and the common `yes`/`no`, `y`/`n`, `on`/`off` that
/// ferry has always taken too (a superset: nothing written for rclone reads differently).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" | "on" => Some(true),
        "false" | "f" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// The largest size: rclone keeps sizes in a signed 64-bit count of bytes (8 EiB less one).
pub const MAX_SIZE: u64 = i64::MAX as u64;

/// The largest duration: Go's (and so rclone's) `time.Duration` is a signed 64-bit count
/// of nanoseconds, about 292 years (`2562047h47m16.854775807s`).
pub const MAX_DURATION: Duration = Duration::new(9_223_372_036, 854_775_807);

/// [`MAX_DURATION`] as users write it, for error messages.
pub const MAX_DURATION_TEXT: &str = "106751d (about 292 years)";

const KIB: f64 = 1024.0;

fn multiplier(symbol: u8) -> Option<f64> {
    let exp = match symbol {
        b'k' | b'K' => 1,
        b'm' | b'M' => 2,
        b'g' | b'G' => 3,
        b't' | b'T' => 4,
        b'p' | b'P' => 5,
        b'e' | b'E' => 6,
        _ => return None,
    };
    Some(KIB.powi(exp))
}

/// rclone's SizeSuffix, checked: a number with an optional binary suffix (`B`, `K`/`Ki`/`KiB`,
/// `M`, `G`, `T`, `P`, `E`, either case); a bare number is KiB; fractions allowed (`1.5M`).
/// Negative, non-finite and larger-than-[`MAX_SIZE`] values are errors that quote `s`.
/// (`off` is the caller's business: it means different things to different flags.)
pub fn parse_size_checked(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("invalid size {s:?}: empty string"));
    }
    let b = t.as_bytes();
    let n = b.len();
    let bad_suffix = |c: u8| Err(format!("invalid size {s:?}: bad suffix {:?}", c as char));
    let (mult, suffix_len) = match b[n - 1] {
        b'0'..=b'9' | b'.' => (KIB, 0),
        b'b' | b'B' => {
            if n > 2 && b[n - 2] == b'i' {
                match multiplier(b[n - 3]) {
                    Some(m) => (m, 3),
                    None => return bad_suffix(b[n - 3]),
                }
            } else {
                (1.0, 1)
            }
        }
        b'i' | b'I' => match (n > 1).then(|| multiplier(b[n - 2])).flatten() {
            Some(m) => (m, 2),
            None => return bad_suffix(if n > 1 { b[n - 2] } else { b[n - 1] }),
        },
        c => match multiplier(c) {
            Some(m) => (m, 1),
            None => return bad_suffix(c),
        },
    };
    // The suffix is ASCII, so this cut is on a character boundary.
    let number = t[..n - suffix_len].trim_end();
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid size {s:?}: can't parse number {number:?}"))?;
    if !value.is_finite() {
        return Err(format!("invalid size {s:?}: not a finite number"));
    }
    if value < 0.0 {
        return Err(format!("invalid size {s:?}: size can't be negative"));
    }
    let bytes = value * mult;
    // 2^63 exactly: MAX_SIZE itself rounds up to it as a float.
    if bytes >= (1u64 << 63) as f64 {
        return Err(format!("invalid size {s:?}: too large (at most 8Ei)"));
    }
    Ok(bytes as u64)
}

/// What a size flag's `off` stands for: no limit.
pub const SIZE_OFF: u64 = u64::MAX;

/// A size flag as rclone reads it (`--max-size`, `--max-transfer`, `--buffer-size`…):
/// [`parse_size_checked`], or `off` in any case for [`SIZE_OFF`].
pub fn parse_size_flag(s: &str) -> Result<u64, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(SIZE_OFF);
    }
    parse_size_checked(s)
}

/// rclone's SizeSuffix, for options: [`parse_size_checked`] without the reason.
pub fn parse_size(v: &str) -> Option<u64> {
    parse_size_checked(v).ok()
}

const NS_PER_SEC: u128 = 1_000_000_000;
const NS_PER_DAY: u128 = 86_400 * NS_PER_SEC;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NS_PER_SEC,
        "m" => 60 * NS_PER_SEC,
        "h" => 3600 * NS_PER_SEC,
        "d" => NS_PER_DAY,
        "w" => 7 * NS_PER_DAY,
        "M" => 30 * NS_PER_DAY,
        "y" => 365 * NS_PER_DAY,
        _ => return None,
    })
}

fn too_large(s: &str) -> String {
    format!("invalid duration {s:?}: too large (at most {MAX_DURATION_TEXT})")
}

fn negative(s: &str) -> String {
    format!("invalid duration {s:?}: can't be negative")
}

/// Go's `time.ParseDuration` extended with rclone's `d w M y` units, in any combination
/// (`1h30m`, `1.5h`, `2d`, `1d2h`), in nanoseconds. `Ok(None)` for a syntax error.
fn parse_compound(t: &str, s: &str) -> Result<Option<u128>, String> {
    let (neg, mut rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if rest == "0" {
        return Ok(Some(0));
    }
    if rest.is_empty() {
        return Ok(None);
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after_dot[..frac_len];
            rest = &after_dot[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Ok(None);
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let Some(mult) = unit_nanos(&rest[..unit_len]) else {
            return Ok(None);
        };
        rest = &rest[unit_len..];
        // Digits only, so the one way to fail is overflow.
        let int: u128 = match int_part {
            "" => 0,
            digits => digits.parse().map_err(|_| too_large(s))?,
        };
        let mut v = int.checked_mul(mult).ok_or_else(|| too_large(s))?;
        // Fraction: keep up to 18 digits of precision.
        let frac_digits = &frac_part[..frac_part.len().min(18)];
        if !frac_digits.is_empty() {
            let f: u128 = frac_digits.parse().unwrap_or(0);
            let scale = 10u128.pow(frac_digits.len() as u32);
            v += f * mult / scale;
        }
        total = total.checked_add(v).ok_or_else(|| too_large(s))?;
    }
    if neg && total > 0 {
        return Err(negative(s));
    }
    Ok(Some(total))
}

/// rclone's single-suffix form: a float followed by `d`, `w`, `M`, `y` or nothing
/// (seconds), e.g. `30`, `1e3`, `1.5d`, in nanoseconds.
fn parse_float_suffix(t: &str, s: &str) -> Option<Result<u128, String>> {
    let (number, mult) = [
        ("d", 86_400.0),
        ("w", 604_800.0),
        ("M", 2_592_000.0),
        ("y", 31_536_000.0),
    ]
    .iter()
    .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n, *m)))
    .unwrap_or((t, 1.0));
    let v: f64 = number.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    let secs = v * mult;
    if secs < 0.0 {
        return Some(Err(negative(s)));
    }
    if secs > MAX_DURATION.as_secs_f64() {
        return Some(Err(too_large(s)));
    }
    Some(Ok((secs * 1e9) as u128))
}

/// A duration as rclone's flags and options take it, checked: Go's form (`1h30m`, `500ms`,
/// `1.5h`), rclone's `d w M y` units, combinations (`1d2h`) and a bare number of seconds
/// (`30`, `1e3`). Negative values and values above [`MAX_DURATION`] are errors that quote
/// `s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_duration_syntax(s)?.ok_or_else(|| {
        format!("invalid duration {s:?}: use a number with a unit, e.g. 500ms, 30s, 5m, 1h30m, 2d")
    })
}

/// [`parse_duration`], with `Ok(None)` when `s` is not written as a duration at all (so a
/// caller may try another form, such as a date), and `Err` when it is one out of range.
pub fn parse_duration_syntax(s: &str) -> Result<Option<Duration>, String> {
    let t = s.trim();
    let nanos = match parse_compound(t, s)? {
        Some(n) => n,
        None => match parse_float_suffix(t, s) {
            Some(r) => r?,
            None => return Ok(None),
        },
    };
    if nanos > MAX_DURATION.as_nanos() {
        return Err(too_large(s));
    }
    let secs = (nanos / NS_PER_SEC) as u64;
    Ok(Some(Duration::new(secs, (nanos % NS_PER_SEC) as u32)))
}

/// Whole seconds as Go prints a duration (rclone's ETAs, ages and limits in its
/// messages): `0s`, `1m30s`, `1h0m5s`, `24h0m0s`.
pub fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// A duration as Go prints it, to the nanosecond: `1.5s`, `2m0.25s`, `140887h11m2.739s`
/// (at least a second; shorter ones print as `0s`, as rclone's messages never show them).
pub fn go_duration_exact(d: Duration) -> String {
    let whole = go_duration(d.as_secs());
    let nanos = d.subsec_nanos();
    if nanos == 0 || d.as_secs() == 0 {
        return whole;
    }
    let frac = format!("{nanos:09}");
    format!(
        "{}.{}s",
        whole.trim_end_matches('s'),
        frac.trim_end_matches('0')
    )
}

/// A whole number in `min..=max`, with an error naming the range (for counts: retries,
/// transfers, ports…).
pub fn parse_count(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let t = s.trim();
    let range = || format!("must be a whole number from {min} to {max}");
    match t.parse::<i128>() {
        Ok(n) if (min as i128..=max as i128).contains(&n) => Ok(n as i64),
        Ok(_) => Err(format!("{t:?} is out of range: {}", range())),
        Err(_) => Err(format!("{t:?} is not a number: {}", range())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(90), "1m30s");
        assert_eq!(go_duration(3605), "1h0m5s");
        assert_eq!(go_duration(7 * 86_400), "168h0m0s");
        assert_eq!(
            go_duration_exact(Duration::new(90, 250_000_000)),
            "1m30.25s"
        );
        assert_eq!(go_duration_exact(Duration::new(2, 0)), "2s");
    }

    #[test]
    fn formats_like_rclone() {
        assert_eq!(size_suffix(100), "100");
        assert_eq!(size_suffix(1024), "1Ki");
        assert_eq!(size_suffix(1536 * 1024), "1.500Mi");
        assert_eq!(byte_unit(0), "0 B");
        assert_eq!(byte_unit(1024), "1 KiB");
        assert_eq!(byte_unit(1536), "1.500 KiB");
        assert_eq!(byte_unit(5 * 1024 * 1024 * 1024), "5 GiB");
        assert_eq!(bit_rate_unit(0), "0 bit/s");
        assert_eq!(bit_rate_unit(8 * 1024 * 1024), "8 Mibit/s");
        assert_eq!(bit_rate_unit(1000), "1000 bit/s");
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

    #[test]
    fn sizes_have_a_range() {
        assert_eq!(
            parse_size_checked("8Ei").map(|_| ()),
            Err("invalid size \"8Ei\": too large (at most 8Ei)".into())
        );
        assert!(parse_size_checked("99999999P")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_size_checked("-1").unwrap_err().contains("negative"));
        assert_eq!(parse_size_checked("7Ei"), Ok(7 << 60));
    }

    #[test]
    fn size_flags_take_off() {
        assert_eq!(parse_size_flag("off"), Ok(SIZE_OFF));
        assert_eq!(parse_size_flag("OFF"), Ok(SIZE_OFF));
        assert_eq!(parse_size_flag("1k"), Ok(1024));
        assert_eq!(
            parse_size_flag("1x"),
            Err("invalid size \"1x\": bad suffix 'x'".into())
        );
        assert!(parse_size_checked("off").is_err());
    }

    #[test]
    fn booleans_as_rclone_and_clap() {
        for t in ["true", "TRUE", "True", "t", "T", "1", "yes", "y", "on"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "FALSE", "f", "F", "0", "no", "n", "off"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "maybe", "2", "tru"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_have_a_range() {
        let d = |s| parse_duration(s);
        assert_eq!(d("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(d("30"), Ok(Duration::from_secs(30)));
        assert_eq!(d("1.5d"), Ok(Duration::from_secs(129_600)));
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(d("0"), Ok(Duration::ZERO));
        assert_eq!(d("106751d"), Ok(Duration::from_secs(106_751 * 86_400)));
        assert_eq!(d("2562047h47m16.854775807s"), Ok(MAX_DURATION));
        for big in [
            "18446744073709551615",
            "213503982334601d",
            "106752d",
            "2562047h47m16.854775808s",
            "1e300",
            "999999999999999999999999999999999999999999s",
        ] {
            let e = d(big).unwrap_err();
            assert!(e.contains("too large") && e.contains(big), "{big}: {e}");
        }
        for neg in ["-1", "-5s", "-1h30m"] {
            assert!(d(neg).unwrap_err().contains("negative"), "{neg}");
        }
        for bad in ["", "x", "1x", "inf", "NaN", "1h-2m"] {
            assert!(d(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_have_a_range() {
        assert_eq!(parse_count("3", 0, 10), Ok(3));
        assert_eq!(parse_count("-1", -1, 10), Ok(-1));
        assert!(parse_count("-2", -1, 10)
            .unwrap_err()
            .contains("from -1 to 10"));
        assert!(parse_count("99999999999999999999999", 0, 10)
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_count("x", 0, 10)
            .unwrap_err()
            .contains("not a number"));
    }
}
