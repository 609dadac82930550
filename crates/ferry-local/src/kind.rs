//! Registration: the local backend's options as rclone names them (defaults written
//! once, here), the rclone options ferry does not implement, and how to open one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, Unimplemented};
use ferry_core::{Backend, Result};

use crate::{HashCache, LinkMode, LocalBackend, LocalOptions};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "copy_links",
        "Follow symbolic links and copy what they point to instead of the links.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "links",
        "Store symbolic links as small `.rclonelink` files holding the target.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "skip_links",
        "Don't warn about symbolic links that are skipped.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "skip_specials",
        "Don't warn about skipped pipes, sockets and device objects.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "one_file_system",
        "Don't descend into directories that are on another filesystem.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "hash_cache",
        "Keep hashes of local files between runs (ferry; --hash-cache): `on`, `off`, or the directory to keep them in.",
    )
    .default("on")
    .advanced(),
    OptionSpec::new(
        "fsync",
        "Sync each file written to the disk before it gets its final name, and its directory after (ferry; --fsync).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::encoding("Slash,Dot"),
    OptionSpec::DESCRIPTION,
];

/// rclone's options of this backend that ferry does not implement.
const UNIMPLEMENTED: Unimplemented = Unimplemented {
    refused: &[
        "metadata_restore_special_bits",
        "no_set_modtime",
        "time_type",
        "unicode_normalization",
    ],
    tuning: &[
        "case_insensitive",
        "case_sensitive",
        "fatal_if_no_space",
        "hashes",
        "no_check_updated",
        "no_clone",
        "no_preallocate",
        "no_sparse",
        "nounc",
        "zero_size_links",
    ],
    booleans: &[
        "case_insensitive",
        "case_sensitive",
        "fatal_if_no_space",
        "metadata_restore_special_bits",
        "no_check_updated",
        "no_clone",
        "no_preallocate",
        "no_set_modtime",
        "no_sparse",
        "nounc",
        "unicode_normalization",
        "zero_size_links",
    ],
};

/// The `local` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "local",
    aliases: &[],
    description: "Local disk",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[],
    network: false,
    http: false,
    commands: &crate::command::COMMANDS,
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let root = if req.root.is_empty() { "." } else { req.root };
    Ok(LocalBackend::new(root, options(req.options)?))
}

/// What a local remote's options (and the global flags the binary lays over them:
/// `--copy-links`, `--links`, `--skip-links`, `--one-file-system`, `--hash-cache`,
/// `--fsync`) ask for.
pub fn options(o: &ferry_core::kind::Options) -> Result<LocalOptions> {
    let links = if o.bool("copy_links")? {
        LinkMode::Follow
    } else if o.bool("links")? {
        LinkMode::Translate
    } else {
        LinkMode::Skip
    };
    Ok(LocalOptions {
        links,
        skip_links_quietly: o.bool("skip_links")?,
        skip_specials_quietly: o.bool("skip_specials")?,
        one_file_system: o.bool("one_file_system")?,
        hash_cache: hash_cache(o.text("hash_cache")),
        encoding: Some(o.encoding()?),
        fsync: o.bool("fsync")?,
    })
}

/// The hash cache `setting` names (`on`: under the user's cache directory; `off`; or a
/// directory): one store per file, shared by every local backend alive at once. Only weak
/// references are kept here, so the store is flushed and closed when its last backend
/// goes (a store held here for ever would never write its last batch).
fn hash_cache(setting: Option<&str>) -> Option<Arc<HashCache>> {
    static OPENED: Mutex<BTreeMap<PathBuf, Weak<HashCache>>> = Mutex::new(BTreeMap::new());
    let dir = match setting.map(str::to_ascii_lowercase).as_deref() {
        None | Some("off" | "false") => return None,
        Some("on" | "true") => ferry_core::private::ferry_cache()?,
        Some(_) => PathBuf::from(setting?),
    };
    let file = dir.join("hashes.redb");
    let mut opened = OPENED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(alive) = opened.get(&file).and_then(Weak::upgrade) {
        return Some(alive);
    }
    let cache = Arc::new(HashCache::at(file.clone()));
    opened.insert(file, Arc::downgrade(&cache));
    Some(cache)
}
