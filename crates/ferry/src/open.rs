//! Turning path arguments into backends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_core::Backend;
use ferry_local::{LinkMode, LocalBackend, LocalOptions};

use crate::args::LocalArgs;
use crate::exit::{fail, USAGE};

/// A source: the backend, and the file name when the argument named a single file.
pub struct Source {
    pub backend: Arc<dyn Backend>,
    pub file: Option<String>,
}

pub fn local_options(args: &LocalArgs) -> LocalOptions {
    LocalOptions {
        links: if args.copy_links {
            LinkMode::Follow
        } else if args.links {
            LinkMode::Translate
        } else {
            LinkMode::Skip
        },
        skip_links_quietly: args.skip_links,
        one_file_system: args.one_file_system,
    }
}

/// Whether an argument names a remote (`name:path`, `:backend:path`) rather than a local path.
fn is_remote(arg: &str) -> bool {
    let before_slash = arg.split('/').next().unwrap_or("");
    let windows_drive = before_slash.len() == 2 && before_slash.as_bytes()[0].is_ascii_alphabetic();
    before_slash.contains(':') && !(cfg!(windows) && windows_drive)
}

fn local_path(arg: &str) -> anyhow::Result<PathBuf> {
    if is_remote(arg) {
        return Err(fail(
            USAGE,
            format!(
                "{arg:?} looks like a remote path, but no remote backends are built in yet; for a local name containing a colon write ./{arg}"
            ),
        ));
    }
    Ok(PathBuf::from(arg))
}

pub fn open_dest(arg: &str, local: &LocalArgs) -> anyhow::Result<Arc<dyn Backend>> {
    let path = local_path(arg)?;
    Ok(LocalBackend::new(path, local_options(local)))
}

/// Opens a source; a path to a single file is opened at its parent with the file named.
pub fn open_source(arg: &str, local: &LocalArgs) -> anyhow::Result<Source> {
    let path = local_path(arg)?;
    let follow = local.copy_links;
    let meta = if follow {
        std::fs::metadata(&path)
    } else {
        std::fs::symlink_metadata(&path)
    };
    let is_file = meta.is_ok_and(|m| !m.is_dir());
    if is_file {
        let abs = std::path::absolute(&path).unwrap_or(path);
        let parent = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(Source {
            backend: LocalBackend::new(parent, local_options(local)),
            file: Some(name),
        });
    }
    Ok(Source {
        backend: LocalBackend::new(path, local_options(local)),
        file: None,
    })
}
