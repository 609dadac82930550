//! rclone-compatible configuration for ferry.
//!
//! This crate turns a path argument into "which backend kind, with which
//! options, at which path", and knows nothing of any backend's internals:
//!
//! * [`obscure()`]/[`reveal()`]: rclone's password obscuring;
//! * [`ConfigFile`]: the INI config file, read like rclone, rewritten keeping
//!   comments, order and unknown keys, saved atomically with mode 0600;
//! * [`locate_config`]: `--config`, `$FERRY_CONFIG`, ferry's default, or
//!   rclone's file read-only;
//! * [`parse_location`] and [`resolve`]: path arguments, connection strings,
//!   URL forms, environment overrides (`FERRY_CONFIG_<REMOTE>_<KEY>`, then
//!   `RCLONE_CONFIG_…`);
//! * [`Registry`]: backend kinds and their options ([`builtin_kinds`]);
//! * [`ops`]: `config create/update/delete/unset/show/dump`.
//!
//! Secrets are wrapped in [`Secret`]/[`Secretish`], whose `Debug` and
//! `Display` print `***`; no error message carries an option value.

mod env;
mod error;
mod file;
mod locate;
pub mod ops;
mod path;
mod redact;
mod registry;
mod resolve;
mod unimplemented;

pub use env::{Env, FERRY_CONFIG_VAR, FERRY_PREFIX, RCLONE_PREFIX};
pub use error::{ConfigError, Result};
pub use file::ConfigFile;
pub use locate::{locate_config, ConfigLocation, ConfigSource};
pub use ferry_core::obscure::{self, obscure, reveal};
pub use ops::{
    create_remote, delete_remote, dump_json, parse_pairs, redacted_section_text, show, unset_keys,
    update_remote, ObscureMode,
};
pub use path::{
    check_remote_name, parse_location, parse_location_with, split_leaf, Location, PathStyle,
};
pub use redact::{redact, Redacted};
pub use registry::{builtin_kinds, BackendKind, OptionSpec, Registry};
pub use resolve::{list_remotes, resolve, resolve_arg, RemoteInfo, RemoteSource, ResolvedRemote};
pub use ferry_core::secret::{Secret, Secretish, REDACTED};
pub use unimplemented::{unimplemented, unimplemented_is_bool, unimplemented_keys, Unimplemented};
