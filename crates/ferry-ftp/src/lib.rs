//! The FTP backend: rclone's `ftp` remotes (plain FTP, explicit FTPS with `AUTH TLS`,
//! implicit FTPS) over suppaftp on tokio, with TLS through rustls on `ring`.
//!
//! What it keeps of rclone's behaviour: the same options, defaults and encoding; names
//! relative to the login directory (a root starting with `/` is absolute); sizes and
//! times from MLSD/MLST facts where the server has them (else `LIST`, with `MDTM` for the
//! exact time); modification times set with `MFMT` (or `MDTM` with a time under
//! `writing_mdtm`); 1 s precision when the server can both give and set times, none
//! otherwise. What it adds: files are written to a hidden temporary name
//! (`ferry_core::partial`) and renamed into place, so a dropped connection never leaves
//! a partial file under its final name.

mod backend;
mod conn;
mod dirs;
mod error;
mod io;
mod kind;
mod listing;
mod ops;
mod options;
mod pool;
mod put;

pub use backend::FtpBackend;
pub use kind::{DEFAULT_ENCODING, KIND};
pub use options::FtpOptions;
