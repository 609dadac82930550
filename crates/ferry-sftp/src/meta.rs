//! Metadata over SFTP (`--metadata`). rclone's sftp backend has none; ferry uses the
//! local backend's key names and formats for what SFTP v3 attributes hold: `mode`
//! (octal, with the file type bits), `uid`, `gid`, `atime` and `mtime` (whole seconds).
//! Writing sets the permission bits (setuid, setgid and sticky dropped, as the local
//! backend does) and the times with one setstat; ownership is not changed (servers run
//! as the login user), and other keys are dropped.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_core::metadata::format_time_local;
use ferry_core::{Metadata, PutOptions};
use russh_sftp::protocol::FileAttributes;

fn unix_secs(t: SystemTime) -> u32 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(u32::MAX as u64) as u32,
        Err(_) => 0,
    }
}

fn time(secs: u32) -> String {
    format_time_local(UNIX_EPOCH + Duration::from_secs(secs.into()))
}

/// The attributes a finished upload gets: its times when `set_modtime` (the `mtime` and
/// `atime` keys win over the source's time), and the `mode` key's permission bits.
/// `None`: nothing to set.
pub(crate) fn put_attrs(opts: &PutOptions, set_modtime: bool) -> Option<FileAttributes> {
    let m = opts.metadata.as_ref();
    let mtime = m.and_then(|m| m.time("mtime")).unwrap_or(opts.mtime);
    let atime = m.and_then(|m| m.time("atime")).unwrap_or(mtime);
    let permissions = m
        .and_then(|m| m.get("mode"))
        .and_then(|v| u32::from_str_radix(v, 8).ok())
        .map(|mode| mode & 0o777);
    if !set_modtime && permissions.is_none() {
        return None;
    }
    Some(FileAttributes {
        atime: set_modtime.then(|| unix_secs(atime)),
        mtime: set_modtime.then(|| unix_secs(mtime)),
        permissions,
        ..FileAttributes::empty()
    })
}

/// The metadata `stat` attributes describe.
pub(crate) fn read(a: &FileAttributes) -> Metadata {
    let mut m = Metadata::new();
    if let Some(p) = a.permissions {
        m.set("mode", format!("{p:o}"));
    }
    if let Some(u) = a.uid {
        m.set("uid", u.to_string());
    }
    if let Some(g) = a.gid {
        m.set("gid", g.to_string());
    }
    if let Some(t) = a.atime {
        m.set("atime", time(t));
    }
    if let Some(t) = a.mtime {
        m.set("mtime", time(t));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_from_metadata_and_back() {
        let opts = PutOptions {
            size: 0,
            mtime: UNIX_EPOCH + Duration::from_secs(100),
            inplace: false,
            hashes: Default::default(),
            metadata: Some(
                [("mode", "104755"), ("mtime", "1970-01-01T00:00:50Z")]
                    .into_iter()
                    .collect(),
            ),
        };
        let a = put_attrs(&opts, true).unwrap();
        assert_eq!(
            (a.mtime, a.atime, a.permissions),
            (Some(50), Some(50), Some(0o755))
        );
        let a = put_attrs(&opts, false).unwrap();
        assert_eq!((a.mtime, a.permissions), (None, Some(0o755)));
        let plain = PutOptions {
            metadata: None,
            ..opts
        };
        assert!(put_attrs(&plain, false).is_none());
        assert_eq!(put_attrs(&plain, true).unwrap().mtime, Some(100));
        let stat = FileAttributes {
            permissions: Some(0o100644),
            uid: Some(1000),
            gid: Some(1000),
            mtime: Some(50),
            ..FileAttributes::empty()
        };
        let m = read(&stat);
        assert_eq!(m.get("mode"), Some("100644"));
        assert_eq!(m.time("mtime"), Some(UNIX_EPOCH + Duration::from_secs(50)));
    }
}
