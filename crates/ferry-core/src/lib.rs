//! ferry's vocabulary, shared by the engine, the backends and the binary.
//!
//! Nothing here knows about terminals, flags or any particular storage system:
//! a backend is anything that implements [`Backend`], and the engine only ever asks
//! it what it can do through [`Features`].

mod backend;
pub mod body;
pub mod command;
pub mod crash;
pub mod dump;
pub mod encoding;
mod entry;
mod error;
mod features;
pub mod hash;
pub mod kind;
pub mod layer;
pub mod limited;
pub mod listing;
pub mod md5;
pub mod metadata;
pub mod mime;
pub mod net;
pub mod obscure;
pub mod partial;
mod path;
pub mod private;
mod random;
pub mod retry;
pub mod secret;
pub mod shown;
pub mod store;
pub mod timefmt;
pub mod units;

pub use backend::{fill, Backend, ByteStream, Declared, Location, PutOptions, Usage};
pub use entry::{exact_mtime, exact_mtimes, no_dir_time, set_default_time, Entry, EntryKind};
pub use error::{Error, ErrorKind, Result};
pub use features::{Capabilities, CopyKind, Features, Semantics};
pub use hash::{HashKind, HashSet, Hashes, MultiHasher};
pub use listing::{EntryStream, ListPages, Listing};
pub use metadata::{Metadata, MetadataSupport};
pub use path::{match_key, RelPath};
pub use secret::{Secret, Secretish, REDACTED};
