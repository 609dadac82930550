//! The SMB operations ferry uses, each on one connection: open, stat, make and remove
//! directories, delete, rename and set times. Paths are inside a share, `\`-separated.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smb::{
    CreateDisposition, CreateOptions, FileAccessMask, FileAttributes, FileBasicInformation,
    FileCreateArgs, FileDispositionInformation, FileRenameInformation, GetLen, Resource,
};

use smb::binrw_util::file_time::FileTime;

use crate::conn::Conn;
use crate::error::is_missing;

/// What a stat or a listing says about one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raw {
    pub is_dir: bool,
    pub size: u64,
    pub mtime: SystemTime,
}

/// Windows' FILETIME epoch (1601-01-01) is this many 100 ns ticks before Unix's.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

pub fn from_filetime(ft: &FileTime) -> SystemTime {
    let ticks = ft.since_epoch().as_nanos() / 100;
    let unix_ticks = ticks.saturating_sub(u128::from(FILETIME_UNIX_EPOCH));
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(unix_ticks * 100).unwrap_or(u64::MAX))
}

pub fn to_filetime(t: SystemTime) -> FileTime {
    let ticks = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => FILETIME_UNIX_EPOCH + (d.as_nanos() / 100) as u64,
        Err(before) => {
            FILETIME_UNIX_EPOCH.saturating_sub((before.duration().as_nanos() / 100) as u64)
        }
    };
    FileTime::from(ticks)
}

fn args(
    disposition: CreateDisposition,
    access: FileAccessMask,
    options: CreateOptions,
) -> FileCreateArgs {
    FileCreateArgs {
        disposition,
        attributes: FileAttributes::new(),
        options,
        desired_access: access,
    }
}

pub async fn open(
    c: &Conn,
    share: &str,
    path: &str,
    args: &FileCreateArgs,
) -> smb::Result<Resource> {
    let unc = c.unc(share, path)?;
    c.client.create_file(&unc, args).await
}

/// Closes a handle; its outcome changes nothing the caller did (the server closes
/// handles of a dropped connection itself).
async fn close(r: Resource) {
    let _ = match &r {
        Resource::File(f) => f.close().await,
        Resource::Directory(d) => d.close().await,
        Resource::Pipe(p) => p.close().await,
    };
}

/// What `path` is, or `None` if nothing is there.
pub async fn stat(c: &Conn, share: &str, path: &str) -> smb::Result<Option<Raw>> {
    let a = args(
        CreateDisposition::Open,
        FileAccessMask::new().with_file_read_attributes(true),
        CreateOptions::new(),
    );
    let r = match open(c, share, path, &a).await {
        Ok(r) => r,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let raw = match &r {
        Resource::File(f) => Raw {
            is_dir: false,
            size: f.get_len().await?,
            mtime: SystemTime::from(f.modified().assume_utc()),
        },
        Resource::Directory(d) => Raw {
            is_dir: true,
            size: 0,
            mtime: SystemTime::from(d.modified().assume_utc()),
        },
        Resource::Pipe(_) => Raw {
            is_dir: false,
            size: 0,
            mtime: UNIX_EPOCH,
        },
    };
    close(r).await;
    Ok(Some(raw))
}

/// Makes `path` and the directories on its way; existing ones are fine.
/// `from`: where in `path` to start (just past an ancestor known to exist; 0: the top).
pub async fn mkdir_all(c: &Conn, share: &str, path: &str, from: usize) -> smb::Result<()> {
    let mut at = from;
    loop {
        let end = path[at..].find('\\').map_or(path.len(), |i| at + i);
        mkdir_one(c, share, &path[..end]).await?;
        if end == path.len() {
            return Ok(());
        }
        at = end + 1;
    }
}

async fn mkdir_one(c: &Conn, share: &str, path: &str) -> smb::Result<()> {
    let a = args(
        CreateDisposition::OpenIf,
        FileAccessMask::new().with_file_read_attributes(true),
        CreateOptions::new().with_directory_file(true),
    );
    // OpenIf: an existing directory is fine; a file of that name is an error.
    let r = open(c, share, path, &a).await?;
    close(r).await;
    Ok(())
}

/// Marks `path` for deletion and closes it. `dir` says which kind it must be.
pub async fn remove(c: &Conn, share: &str, path: &str, dir: bool) -> smb::Result<()> {
    let options = if dir {
        CreateOptions::new().with_directory_file(true)
    } else {
        CreateOptions::new().with_non_directory_file(true)
    };
    let a = args(
        CreateDisposition::Open,
        FileAccessMask::new().with_delete(true),
        options,
    );
    let r = open(c, share, path, &a).await?;
    let done = match &r {
        Resource::File(f) => f.set_info(FileDispositionInformation::default()).await,
        Resource::Directory(d) => d.set_info(FileDispositionInformation::default()).await,
        Resource::Pipe(_) => Ok(()),
    };
    close(r).await;
    done
}

/// Renames `from` to `to` (both in the share), replacing a file at `to`.
pub async fn rename(c: &Conn, share: &str, from: &str, to: &str) -> smb::Result<()> {
    let a = args(
        CreateDisposition::Open,
        FileAccessMask::new()
            .with_delete(true)
            .with_file_read_attributes(true),
        CreateOptions::new(),
    );
    let r = open(c, share, from, &a).await?;
    let info = FileRenameInformation {
        replace_if_exists: true.into(),
        root_directory: 0,
        file_name: to.into(),
    };
    let done = match &r {
        Resource::File(f) => f.set_info(info).await,
        Resource::Directory(d) => d.set_info(info).await,
        Resource::Pipe(_) => Ok(()),
    };
    close(r).await;
    done
}

/// Sets the modification time of `path` (and leaves its other times alone: a zero
/// time means "unchanged" to the server).
pub async fn set_time(c: &Conn, share: &str, path: &str, mtime: SystemTime) -> smb::Result<()> {
    let a = args(
        CreateDisposition::Open,
        FileAccessMask::new().with_file_write_attributes(true),
        CreateOptions::new(),
    );
    let r = open(c, share, path, &a).await?;
    let done = set_time_on(&r, mtime).await;
    close(r).await;
    done
}

/// Sets the modification time on an open handle.
pub async fn set_time_on(r: &Resource, mtime: SystemTime) -> smb::Result<()> {
    let info = FileBasicInformation {
        creation_time: FileTime::from(0),
        last_access_time: FileTime::from(0),
        last_write_time: to_filetime(mtime),
        change_time: FileTime::from(0),
        file_attributes: FileAttributes::new(),
    };
    match r {
        Resource::File(f) => f.set_info(info).await,
        Resource::Directory(d) => d.set_info(info).await,
        Resource::Pipe(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetimes_round_trip_to_100ns() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_700);
        assert_eq!(from_filetime(&to_filetime(t)), t);
        assert_eq!(
            from_filetime(&FileTime::from(FILETIME_UNIX_EPOCH)),
            UNIX_EPOCH
        );
    }
}
