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
//! * [`providers_json`]: the registered backend kinds (declared by the backend crates,
//!   listed by the binary) as `config providers` prints them;
//! * [`ops`]: `config create/update/delete/unset/show/dump`.
//!
//! Secrets are wrapped in [`Secret`]/[`Secretish`], whose `Debug` and
//! `Display` print `***`; no error message carries an option value.

mod encrypted;
mod env;
mod error;
mod file;
mod locate;
pub mod ops;
pub mod password;
mod path;
mod redact;
mod registry;
mod resolve;
#[cfg(test)]
mod testkinds;

pub use env::{Env, FERRY_CONFIG_VAR, FERRY_PREFIX, RCLONE_PREFIX};
pub use error::{ConfigError, Result};
pub use ferry_core::kind::{BackendKind, OptionSpec, Registry};
pub use ferry_core::obscure::{self, obscure, reveal};
pub use ferry_core::secret::{Secret, Secretish, REDACTED};
pub use file::ConfigFile;
pub use locate::{locate_config, ConfigLocation, ConfigSource};
pub use ops::{
    create_remote, delete_remote, dump_json, parse_pairs, redacted_for_posting,
    redacted_section_text, show, unset_keys, update_remote, ObscureMode,
};
pub use path::{
    check_remote_name, parse_location, parse_location_with, split_leaf, Location, PathStyle,
};
pub use redact::{redact, Redacted};
pub use registry::providers_json;
pub use resolve::{
    asks_for_the_default, list_remotes, resolve, resolve_arg, RemoteInfo, RemoteSource,
    ResolvedRemote,
};
