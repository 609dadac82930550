//! rclone bisync's listings (`PATH1..PATH2.path1.lst`, `.path2.lst`), read so a pair that
//! rclone kept in sync can be taken over without a `--resync`.
//!
//! A listing is a header line (`# bisync listing v1 from TIME`) and one line per entry:
//! `FLAG SIZE HASH ID MODTIME "PATH"`, where FLAG is `-` (file) or `d` (directory), HASH
//! and ID are `-` when absent, MODTIME is RFC 3339 with nanoseconds and a numeric zone,
//! and PATH is quoted as Go's `strconv.Quote` quotes.

use std::path::{Path, PathBuf};

use crate::state::State;
use crate::types::Rec;

/// Where rclone keeps bisync's listings by default (`~/.cache/rclone/bisync`).
pub fn default_workdir() -> Option<PathBuf> {
    Some(ferry_core::private::rclone_cache()?.join("bisync"))
}

/// The state rclone's listings of a pair describe, from the first of `bases`
/// (`WORKDIR/SESSION`) that has both; `Ok(None)` when none has.
pub fn load(
    bases: &[PathBuf],
    path1: &str,
    path2: &str,
) -> Result<Option<(State, PathBuf)>, String> {
    for base in bases {
        let lst = |n: u8| PathBuf::from(format!("{}.path{n}.lst", base.display()));
        let (l1, l2) = (lst(1), lst(2));
        if !(l1.is_file() && l2.is_file()) {
            continue;
        }
        let read = |p: &Path| -> Result<Vec<Rec>, String> {
            let text = ferry_core::limited::read_limited_string(p, ferry_core::limited::LIST_LIMIT)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            parse(&text).map_err(|e| format!("{}: {e}", p.display()))
        };
        let mut state = State::new(path1, path2);
        state.list1 = read(&l1)?;
        state.list2 = read(&l2)?;
        // Which hash rclone recorded isn't said in the file: compare by size and time.
        for r in state.list1.iter_mut().chain(state.list2.iter_mut()) {
            r.hash = None;
        }
        state.empty_dirs = state.list1.iter().chain(&state.list2).any(|r| r.dir);
        return Ok(Some((state, l1)));
    }
    Ok(None)
}

/// The entries of a listing; `Err` names the first line that is not rclone's format.
pub fn parse(text: &str) -> Result<Vec<Rec>, String> {
    let mut lines = text.lines();
    match lines.next() {
        Some(h) if h.starts_with("# bisync listing v1") => {}
        _ => {
            return Err(
                "line 1: not an rclone bisync listing (no '# bisync listing v1' header)".into(),
            )
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(line).map_err(|e| format!("line {}: {e}", i + 2))?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<Rec, String> {
    let quote = line.find('"').ok_or("no quoted path")?;
    let (fields, quoted) = line.split_at(quote);
    let path = unquote(quoted.trim_end())?;
    let f: Vec<&str> = fields.split_whitespace().collect();
    let [flag, size, hash, _id, mtime] = f[..] else {
        return Err(format!(
            "expected 5 fields before the path, found {}",
            f.len()
        ));
    };
    let dir = match flag {
        "-" => false,
        "d" => true,
        other => return Err(format!("unknown entry type {other:?}")),
    };
    let size = if dir {
        0
    } else {
        size.parse::<u64>()
            .map_err(|_| format!("bad size {size:?}"))?
    };
    let mtime = chrono::DateTime::parse_from_str(mtime, "%Y-%m-%dT%H:%M:%S%.f%z")
        .map_err(|_| format!("bad time {mtime:?}"))?;
    let mtime = mtime
        .timestamp_nanos_opt()
        .ok_or_else(|| format!("time out of range {mtime:?}"))?;
    let hash = (hash != "-").then(|| hash.rsplit(':').next().unwrap_or(hash).to_ascii_lowercase());
    Ok(Rec {
        path,
        dir,
        size,
        mtime,
        hash,
    })
}

/// Undoes Go's `strconv.Quote`.
fn unquote(s: &str) -> Result<String, String> {
    let inner = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or("the path is not quoted")?;
    let mut out = Vec::<u8>::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or("a lone backslash")?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            '\'' => Some(b'\''),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let digits = |n: usize, chars: &mut std::str::Chars, radix: u32| -> Result<u32, String> {
            let d: String = chars.by_ref().take(n).collect();
            if d.len() != n {
                return Err("a short escape".into());
            }
            u32::from_str_radix(&d, radix).map_err(|_| format!("bad escape digits {d:?}"))
        };
        match e {
            'x' => out.push(digits(2, &mut chars, 16)? as u8),
            'u' | 'U' => {
                let n = if e == 'u' { 4 } else { 8 };
                let c = char::from_u32(digits(n, &mut chars, 16)?).ok_or("not a character")?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let rest = digits(2, &mut chars, 8)?;
                let v = (e as u32 - '0' as u32) * 64 + rest;
                out.push(u8::try_from(v).map_err(|_| "octal escape out of range")?);
            }
            other => return Err(format!("unknown escape \\{other}")),
        }
    }
    String::from_utf8(out).map_err(|_| "a path that is not UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_rclone_writes() {
        let text = "# bisync listing v1 from 2026-12-05T02:34:18.902039619+0000\n\
            -        2 - - 2026-12-05T02:34:18.757032234+0000 \"a\"\n\
            d       -1 - - 2026-12-05T02:34:18.757032234+0000 \"sub\"\n\
            -        4 md5:0A1B - 2026-12-05T03:34:18.000000001+0100 \"sub/with space \\\"q\\\"\\t\\u00e9\\xff.txt\"\n";
        let recs = parse(&text.replace("\\xff", "\\u00ff")).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(
            (recs[0].path.as_str(), recs[0].size, recs[0].dir),
            ("a", 2, false)
        );
        assert!(recs[1].dir && recs[1].path == "sub");
        assert_eq!(recs[2].path, "sub/with space \"q\"\té\u{ff}.txt");
        assert_eq!(recs[2].hash.as_deref(), Some("0a1b"));
        assert_eq!(recs[0].mtime, 1_796_438_058_757_032_234);
        assert_eq!(recs[2].mtime, 1_796_438_058_000_000_001);
    }

    #[test]
    fn other_files_are_refused_with_the_line() {
        assert!(parse("hello\n").unwrap_err().contains("line 1"));
        let bad = "# bisync listing v1 from x\n-  2 - - yesterday \"a\"\n";
        assert!(parse(bad).unwrap_err().contains("line 2"));
    }
}
