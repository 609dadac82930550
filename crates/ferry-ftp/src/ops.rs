//! FTP commands on stored paths (already encoded, root included): stat, list, make
//! directories, set a time, rename. Each takes one connection and leaves it usable.

use std::time::SystemTime;

use suppaftp::{FtpError, FtpResult, Status};

use crate::conn::Conn;
use crate::error::code;
use crate::listing::{format_time, parse_list, parse_mlsx, parse_time, Line, RawEntry};
use crate::options::FtpOptions;

/// The lines of a directory listing (MLSD, else LIST), and whether they are MLSD's.
pub async fn list_lines(conn: &mut Conn, dir: &str, o: &FtpOptions) -> FtpResult<Vec<Line>> {
    let dir = (!dir.is_empty()).then_some(dir);
    if conn.caps.mlsd {
        let lines = conn.ftp.mlsd(dir).await?;
        return Ok(lines.iter().map(|l| parse_mlsx(l)).collect());
    }
    let arg = match (o.force_list_hidden, dir) {
        (true, Some(d)) => Some(format!("-a {d}")),
        (true, None) => Some("-a".to_owned()),
        (false, d) => d.map(str::to_owned),
    };
    let lines = conn.ftp.list(arg.as_deref()).await?;
    Ok(lines.iter().map(|l| parse_list(l)).collect())
}

/// One path's entry; `None` if nothing is there.
pub async fn stat(conn: &mut Conn, path: &str, o: &FtpOptions) -> FtpResult<Option<RawEntry>> {
    if conn.caps.mlsd {
        return match conn.ftp.mlst(Some(path)).await {
            Ok(line) => Ok(match parse_mlsx(&line) {
                Line::Entry(mut e) => {
                    e.name = base(path).to_owned();
                    Some(e)
                }
                // MLST of a directory may call it cdir
                Line::Skip => Some(dir_entry(path)),
                Line::Bad => return Err(FtpError::BadResponse),
            }),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(e),
        };
    }
    // No MLST: find the name in its parent's listing, as rclone does.
    let (parent, name) = split(path);
    let lines = match list_lines(conn, parent, o).await {
        Ok(l) => l,
        Err(e) if missing(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let found = lines.into_iter().find_map(|l| match l {
        Line::Entry(e) if e.name == name => Some(e),
        _ => None,
    });
    let Some(mut e) = found else {
        return Ok(None);
    };
    if !e.is_dir && conn.caps.mdtm {
        if let Ok(t) = mdtm(conn, path).await {
            e.mtime = Some(t);
            e.precise = true;
        }
    }
    Ok(Some(e))
}

fn dir_entry(path: &str) -> RawEntry {
    RawEntry {
        name: base(path).to_owned(),
        is_dir: true,
        size: 0,
        mtime: None,
        precise: false,
    }
}

/// `MDTM path`: the exact modification time (UTC).
pub async fn mdtm(conn: &mut Conn, path: &str) -> FtpResult<SystemTime> {
    let r = conn
        .ftp
        .custom_command(format!("MDTM {path}"), &[Status::File])
        .await?;
    let text = String::from_utf8_lossy(&r.body);
    let stamp = text.get(4..).unwrap_or("").trim();
    parse_time(stamp).ok_or(FtpError::BadResponse)
}

/// Sets a modification time: `MFMT`, or `MDTM` with a time under `writing_mdtm`.
pub async fn set_time(conn: &mut Conn, path: &str, t: SystemTime) -> FtpResult<()> {
    let verb = if conn.caps.mfmt { "MFMT" } else { "MDTM" };
    conn.ftp
        .custom_command(
            format!("{verb} {} {path}", format_time(t)),
            &[
                Status::File,
                Status::CommandOk,
                Status::RequestedFileActionOk,
            ],
        )
        .await
        .map(|_| ())
}

/// Creates `path` and any missing parents; succeeds if it is a directory already.
/// `known`: the length of an ancestor known to exist (0: none), not made again.
pub async fn mkdir_all(conn: &mut Conn, path: &str, o: &FtpOptions, known: usize) -> FtpResult<()> {
    let first = match conn.ftp.mkdir(path).await {
        Ok(()) => return Ok(()),
        Err(e) if code(&e).is_some() => e,
        Err(e) => return Err(e),
    };
    // Some parent is missing (or the directory exists): make each one, top down; those
    // that exist answer 550 or 521, which is fine.
    for (i, _) in path.match_indices('/').filter(|(i, _)| *i > known) {
        if let Err(e) = conn.ftp.mkdir(&path[..i]).await {
            if code(&e).is_none() {
                return Err(e);
            }
        }
    }
    match conn.ftp.mkdir(path).await {
        Ok(()) => Ok(()),
        Err(e) if code(&e).is_none() => Err(e),
        Err(_) => match stat(conn, path, o).await? {
            Some(e) if e.is_dir => Ok(()),
            _ => Err(first),
        },
    }
}

/// Whether a refusal means "no such file or directory".
pub fn missing(e: &FtpError) -> bool {
    // 550 is the usual answer; 501 is what some servers say to MLST of a missing path
    // (rclone reads it the same way); 450 "file unavailable".
    matches!(code(e), Some(550 | 501 | 450))
}

/// The parent (`""`: the login directory) and the last segment of a stored path.
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

fn base(path: &str) -> &str {
    split(path).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_stored_paths() {
        assert_eq!(split("a/b/c"), ("a/b", "c"));
        assert_eq!(split("c"), ("", "c"));
        assert_eq!(split("/c"), ("/", "c"));
        assert_eq!(split("/x/c"), ("/x", "c"));
    }
}
