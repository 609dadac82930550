//! Listing lines as entries: MLSD/MLST facts (exact size and UTC time), or `LIST` lines
//! (Unix or DOS style, whose times are only to the minute or the day).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::NaiveDateTime;
use suppaftp::list::ListParser;

/// One listed name, as the server stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub mtime: Option<SystemTime>,
    /// The time is exact (MLSD's `modify`), not a `LIST` approximation.
    pub precise: bool,
}

/// What one listing line is.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Entry(RawEntry),
    /// `.`, `..`, `cdir`/`pdir`, a `total` line: not an entry.
    Skip,
    /// A line ferry can't read (reported, never dropped silently).
    Bad,
}

/// An MLSD line (`fact=value;...; name`) or the fact part of an MLST reply.
pub fn parse_mlsx(line: &str) -> Line {
    let line = line.trim_start();
    let Some((facts, name)) = line.split_once(' ') else {
        return Line::Bad;
    };
    let mut kind = None;
    let (mut size, mut sizd, mut mtime) = (None, None, None);
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let Some((k, v)) = fact.split_once('=') else {
            continue;
        };
        match k.to_ascii_lowercase().as_str() {
            "type" => kind = Some(v.to_ascii_lowercase()),
            "size" => size = v.parse::<u64>().ok(),
            "sizd" => sizd = v.parse::<u64>().ok(),
            "modify" => mtime = parse_time(v),
            _ => {}
        }
    }
    let is_dir = match kind.as_deref() {
        Some("cdir" | "pdir") => return Line::Skip,
        Some("dir") => true,
        // files, and links and other OS types, which rclone lists as files
        Some(_) => false,
        None => return Line::Bad,
    };
    if name == "." || name == ".." {
        return Line::Skip;
    }
    Line::Entry(RawEntry {
        name: name.to_owned(),
        is_dir,
        size: if is_dir {
            sizd.unwrap_or(0)
        } else {
            size.unwrap_or(0)
        },
        precise: mtime.is_some(),
        mtime,
    })
}

/// A `LIST` line, Unix style first, then DOS style.
pub fn parse_list(line: &str) -> Line {
    if line.starts_with("total ") || line.trim().is_empty() {
        return Line::Skip;
    }
    let file = match ListParser::parse_posix(line).or_else(|_| ListParser::parse_dos(line)) {
        Ok(f) => f,
        Err(_) => return Line::Bad,
    };
    if file.name() == "." || file.name() == ".." {
        return Line::Skip;
    }
    Line::Entry(RawEntry {
        name: file.name().to_owned(),
        is_dir: file.is_directory(),
        size: if file.is_directory() {
            0
        } else {
            file.size() as u64
        },
        mtime: Some(file.modified()),
        precise: false,
    })
}

/// `YYYYMMDDHHMMSS[.sss]`, UTC (MLSD's `modify`, an `MDTM` reply).
pub fn parse_time(v: &str) -> Option<SystemTime> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let t = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").ok()?;
    let secs = t.and_utc().timestamp();
    let nanos = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(9).collect();
        digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
    };
    let base = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    Some(base + Duration::from_nanos(nanos as u64))
}

/// A time as `MFMT`/`MDTM` take it: `YYYYMMDDHHMMSS`, UTC, whole seconds.
pub fn format_time(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y%m%d%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(l: Line) -> RawEntry {
        match l {
            Line::Entry(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mlsd_facts_give_size_and_exact_time() {
        let e = entry(parse_mlsx(
            "type=file;size=3;modify=20200102030405;UNIX.mode=0644;unique=fe; my file.txt",
        ));
        assert_eq!(e.name, "my file.txt");
        assert!(!e.is_dir && e.precise);
        assert_eq!(e.size, 3);
        assert_eq!(e.mtime, parse_time("20200102030405"));
        assert_eq!(
            e.mtime
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1_577_934_245
        );
        let d = entry(parse_mlsx(
            "Type=dir;sizd=4096;Modify=20261205065159.5; sub",
        ));
        assert!(d.is_dir);
        assert_eq!(
            d.mtime
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_millis(),
            500
        );
        assert_eq!(parse_mlsx("type=cdir;modify=20200102030405; ."), Line::Skip);
        assert_eq!(parse_mlsx("type=pdir; .."), Line::Skip);
        assert_eq!(parse_mlsx("garbage"), Line::Bad);
        let s = entry(parse_mlsx("type=file;size=1; name with trailing space "));
        assert_eq!(s.name, "name with trailing space ");
        assert_eq!(format_time(e.mtime.unwrap()), "20200102030405");
    }

    #[test]
    fn list_lines_unix_and_dos() {
        let e = entry(parse_list(
            "-rw-r--r--    1 1002     1002            3 Dec 05 06:51 h.txt",
        ));
        assert_eq!(
            (e.name.as_str(), e.size, e.is_dir, e.precise),
            ("h.txt", 3, false, false)
        );
        let d = entry(parse_list("drwxr-xr-x 2 u g 4096 Jan  1  2020 sub dir"));
        assert!(d.is_dir);
        assert_eq!(d.name, "sub dir");
        let w = entry(parse_list("01-02-20  03:04AM                  12 a.bin"));
        assert_eq!(w.size, 12);
        assert_eq!(parse_list("total 8"), Line::Skip);
        assert_eq!(parse_list("this is not a listing line"), Line::Bad);
    }
}
