//! `--backup-dir` and `--suffix`: keeping what a sync would overwrite or delete.

use std::sync::Arc;

use ferry_core::Declared;
use ferry_core::{Backend, Entry, Error, ErrorKind, PutOptions, RelPath, Result};

use crate::Select;

/// Where replaced and deleted destination files go instead of being lost.
#[derive(Clone)]
pub struct Backup {
    /// The backup directory; `None` keeps backups beside the original (`--suffix` alone).
    pub dir: Option<Arc<dyn Backend>>,
    pub suffix: String,
    /// Put the suffix before the extension (`--suffix-keep-extension`).
    pub keep_extension: bool,
}

impl Backup {
    /// The name a file is kept under.
    pub fn target(&self, path: &RelPath) -> Result<RelPath> {
        if self.suffix.is_empty() {
            return Ok(path.clone());
        }
        let name = path.name();
        let renamed = if self.keep_extension {
            // rclone's split: `a.tar.gz` becomes `a-old.tar.gz`, `.env` `-old.env`.
            let (base, exts) = ferry_core::mime::split_extension(name);
            format!("{base}{}{exts}", self.suffix)
        } else {
            format!("{name}{}", self.suffix)
        };
        path.parent().unwrap_or_default().join(&renamed)
    }

    /// Moves `entry` out of `dst` into the backup; where it went, and whether by a
    /// server-side move (which rclone logs and counts as a move and a rename).
    pub(crate) async fn save(&self, dst: &Arc<dyn Backend>, entry: &Entry) -> Result<Saved> {
        let to = self.target(&entry.path)?;
        let store = self.dir.as_ref().unwrap_or(dst);
        if let Some(_moved) = store.move_declared(&**dst, &entry.path, &to).await? {
            return Ok(Saved {
                to,
                how: Kept::Moved,
            });
        }
        let opts = PutOptions {
            size: entry.size,
            mtime: entry.mtime,
            inplace: false,
            hashes: entry.hashes.clone(),
            metadata: None,
        };
        let how = match store.copy_declared(&**dst, &entry.path, &to, &opts).await? {
            Some(_) => Kept::CopiedOnServer,
            None => {
                let data = dst.open(&entry.path, 0, None).await?;
                store.put(&to, data, &opts).await?;
                Kept::Copied
            }
        };
        dst.delete_file(&entry.path).await?;
        Ok(Saved { to, how })
    }
}

/// How [`Backup::save`] kept a file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// Moved on the server (a rename).
    Moved,
    /// Copied on the server, then deleted (a store without moves: S3, GCS).
    CopiedOnServer,
    /// Copied through this machine, then deleted.
    Copied,
}

/// Where [`Backup::save`] put a file, and how.
pub(crate) struct Saved {
    pub to: RelPath,
    pub how: Kept,
}

impl Saved {
    /// rclone's lines and counts for the move into the backup.
    pub(crate) fn log(&self, from: &RelPath, stats: &crate::Stats, size: u64) {
        // rclone names the new place only when the name changed (a suffix).
        let onto = match self.to.as_str() == from.as_str() {
            true => String::new(),
            false => format!(" to: {}", self.to),
        };
        // As rclone's move: a rename, or (where the store has none) a copy and a delete.
        match self.how {
            Kept::Moved => {
                tracing::info!("{from}: Moved (server-side){onto}");
                stats.server_side_moved(size);
            }
            Kept::CopiedOnServer => {
                tracing::info!("{from}: Copied (server-side copy){onto}");
                stats.server_side_done(size);
            }
            Kept::Copied => tracing::info!("{from}: Copied (new){onto}"),
        }
        if self.how != Kept::Moved {
            tracing::info!("{from}: Deleted");
            stats.moved_away(size);
        }
        stats.renamed();
    }
}

/// Refuses a backup location inside the destination that no filter excludes.
pub(crate) fn check_location(
    backup: &Backup,
    dst: &dyn Backend,
    src: &dyn Backend,
    select: &dyn Select,
) -> Result<()> {
    let Some(dir) = &backup.dir else {
        return Ok(());
    };
    let (b, d, s) = (dir.location(), dst.location(), src.location());
    let excluded = d
        .relative(&b)
        .is_some_and(|rel| !rel.is_root() && !select.include_dir(rel.as_str()));
    if b.overlaps(&d) && !excluded {
        return Err(Error::new(
            ErrorKind::Refused,
            "destination and parameter to --backup-dir mustn't overlap; choose a --backup-dir outside the destination, or inside it and excluded by a filter",
        ));
    }
    if b.overlaps(&s) {
        return Err(Error::new(
            ErrorKind::Refused,
            "source and parameter to --backup-dir mustn't overlap; choose a --backup-dir outside the source",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(suffix: &str, keep: bool) -> Backup {
        Backup {
            dir: None,
            suffix: suffix.into(),
            keep_extension: keep,
        }
    }

    #[test]
    fn suffix_placement() {
        let p = RelPath::new("d/file.txt").unwrap();
        assert_eq!(
            backup(".bak", false).target(&p).unwrap().as_str(),
            "d/file.txt.bak"
        );
        assert_eq!(
            backup("-old", true).target(&p).unwrap().as_str(),
            "d/file-old.txt"
        );
        // rclone's split: a dot file is all extension; an earlier extension that names a
        // known type stays with the last.
        let dotfile = RelPath::new(".env").unwrap();
        assert_eq!(
            backup("-old", true).target(&dotfile).unwrap().as_str(),
            "-old.env"
        );
        let twice = RelPath::new("d/a.js.gz").unwrap();
        assert_eq!(
            backup("-old", true).target(&twice).unwrap().as_str(),
            "d/a-old.js.gz"
        );
        assert_eq!(backup("", false).target(&p).unwrap(), p);
    }
}
