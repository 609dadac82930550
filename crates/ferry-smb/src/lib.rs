//! The SMB backend: rclone's `smb` remotes (SMB2/SMB3 with NTLM user, password and
//! domain) over smb-rs, a pure-Rust client on tokio.
//!
//! What it keeps of rclone's behaviour: the same options, defaults and encoding; shares
//! as the first path segment (`smb:share/dir/file`), the root listing the server's shares
//! as directories (special `$` shares hidden unless `hide_special_share = false`);
//! modification times read and set with 1 ms precision (rclone's declared precision; the
//! protocol keeps 100 ns); a pool of connections, one per operation in flight, emptied
//! after `idle_timeout`. What it adds: files are written to a hidden temporary name
//! (`ferry_core::partial`) with their time set, then renamed into place, so a dropped
//! connection never leaves a partial file under its final name.

mod backend;
mod conn;
mod dirs;
mod error;
mod io;
mod kind;
mod listing;
mod ops;
mod options;
mod paths;
mod pool;
mod srvsvc;

pub use backend::SmbBackend;
pub use kind::{DEFAULT_ENCODING, KIND};
pub use options::SmbOptions;
