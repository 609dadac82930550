//! Reading one directory: its entries with sizes and times, from one QUERY_DIRECTORY
//! exchange; the server's top level lists its shares (as directories, as rclone shows
//! them). [`SmbBackend::read_dir`] is the one place a listing is made, so a paged
//! listing can wrap it.

use std::sync::Arc;

use ferry_core::partial::is_temp_name;
use ferry_core::{Entry, Error, ErrorKind, Listing, RelPath, Result};
use futures::StreamExt;
use smb::{
    CreateDisposition, CreateOptions, FileAttributes, FileCreateArgs, FileDirectoryInformation,
    Resource,
};

use crate::backend::SmbBackend;
use crate::conn::Conn;
use crate::error::op_error;
use crate::ops::{from_filetime, open, Raw};

/// The entries of one directory, as stored (`.` and `..` left out).
pub async fn entries(c: &Conn, share: &str, path: &str) -> smb::Result<Vec<(String, Raw)>> {
    let a = FileCreateArgs {
        disposition: CreateDisposition::Open,
        attributes: FileAttributes::new(),
        options: CreateOptions::new().with_directory_file(true),
        desired_access: smb::FileAccessMask::new()
            .with_file_read_data(true)
            .with_file_read_attributes(true),
    };
    let dir = match open(c, share, path, &a).await? {
        Resource::Directory(d) => Arc::new(d),
        other => {
            let _ = match &other {
                Resource::File(f) => f.close().await,
                _ => Ok(()),
            };
            // Opened with "directory only": the server says so itself; this is a guard.
            return Err(smb::Error::UnexpectedMessageStatus(0xC000_0103));
        }
    };
    let mut out = Vec::new();
    let result = async {
        let mut stream = smb::Directory::query::<FileDirectoryInformation>(&dir, "*").await?;
        while let Some(item) = stream.next().await {
            let info = item?;
            let name = info.file_name.to_string();
            if name == "." || name == ".." {
                continue;
            }
            out.push((
                name,
                Raw {
                    is_dir: info.file_attributes.directory(),
                    size: info.end_of_file,
                    mtime: from_filetime(&info.last_write_time),
                },
            ));
        }
        smb::Result::Ok(())
    }
    .await;
    let _ = dir.close().await;
    result.map(|()| out)
}

impl SmbBackend {
    /// Reads one directory (`dir` below the root) into a listing.
    pub(crate) async fn read_dir(&self, dir: &RelPath) -> Result<Listing> {
        let place = self.place(dir)?;
        if place.share.is_empty() {
            return self.read_shares(dir).await;
        }
        let (share, path) = (place.share.clone(), place.path.clone());
        let raw = self
            .pool
            .run(&place.share, |c| {
                let (s, p) = (share.clone(), path.clone());
                Box::pin(async move { entries(c, &s, &p).await })
            })
            .await
            .map_err(|e| {
                if e.kind() == ErrorKind::DirNotFound {
                    e.with_path(dir.to_string())
                } else {
                    e
                }
            })?
            .map_err(|e| {
                let e = op_error(e, "list", dir.as_str());
                match e.kind() {
                    ErrorKind::NotFound => e.with_kind(ErrorKind::DirNotFound),
                    _ => e,
                }
            })?;
        let mut out = Listing::new();
        for (name, raw) in raw {
            match self.opts().names.child(dir, &name) {
                Ok(path) if !raw.is_dir && is_temp_name(path.name()) => {
                    self.remove_if_stale(&place, &name, &path, raw.mtime).await;
                }
                Ok(path) => out.entries.push(entry(path, &raw)),
                Err(e) => out.skip(e.with_path(dir.to_string())),
            }
        }
        Ok(out)
    }

    async fn read_shares(&self, dir: &RelPath) -> Result<Listing> {
        let host = self.opts().host.clone();
        let names = self
            .pool
            .run("", |c| {
                let h = host.clone();
                Box::pin(async move { crate::srvsvc::share_names(c, &h).await })
            })
            .await?
            .map_err(|e| op_error(e, "list shares", "/"))?;
        let mut out = Listing::new();
        for name in names {
            if self.opts().hide_special_share && name.ends_with('$') {
                continue;
            }
            match self.opts().names.child(dir, &name) {
                Ok(path) => out
                    .entries
                    .push(Entry::dir(path, ferry_core::no_dir_time())),
                Err(e) => out.skip(e.with_path("/".to_owned())),
            }
        }
        Ok(out)
    }
}

/// An entry for a listed or stat'ed name at `path`.
pub fn entry(path: RelPath, raw: &Raw) -> Entry {
    if raw.is_dir {
        Entry::dir(path, raw.mtime)
    } else {
        Entry::file(path, raw.size, raw.mtime)
    }
}

/// A directory that is not there.
pub fn dir_not_found(dir: &RelPath) -> Error {
    Error::new(ErrorKind::DirNotFound, "directory not found").with_path(dir.to_string())
}
