//! The one error type of this crate.
//!
//! Every message is a single line that says what failed, where (remote,
//! key, file and line) and, where there is one, what to do about it.
//! No variant carries an option *value*: values may be secrets, so only
//! names of remotes, keys, files and backends ever reach a message or the
//! `Debug` output.

use std::path::PathBuf;

/// Result alias used throughout `ferry-config`.
pub type Result<T> = std::result::Result<T, ConfigError>;

/// Everything that can go wrong in `ferry-config`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    // ----- obscure / reveal -------------------------------------------------
    /// Obscuring or revealing a password failed.
    #[error(transparent)]
    Obscure(#[from] ferry_core::obscure::ObscureError),

    // ----- path parsing -----------------------------------------------------
    /// An empty string was given as a path.
    #[error("can't use an empty string as a path: give a local path or `remote:path`")]
    EmptyPath,
    /// `:` or `::` with no backend or remote name.
    #[error("remote or backend name is empty: use `remote:path` or `:backend:path` (e.g. `:local:/tmp`)")]
    EmptyRemoteName,
    /// A remote name with characters rclone does not allow.
    #[error("remote name {name:?} is invalid: it may contain only letters, digits, `_`, `-`, `.`, `+`, `@` and space, may not start with `-` or space, and may not end with space")]
    InvalidRemoteName {
        /// The offending name.
        name: String,
    },
    /// A syntax error in a connection string (`remote,key=value:path`).
    #[error("bad connection string for {remote:?}: {reason}")]
    ConnectionString {
        /// The remote or `:backend` part of the argument.
        remote: String,
        /// What was wrong, in rclone's words where rclone has some.
        reason: &'static str,
    },
    /// A URL form (`sftp://`, `s3://`, `https://…blob.core.windows.net`) that
    /// could not be understood.
    #[error("can't use URL {url}: {reason}")]
    BadUrl {
        /// The URL with user info and query string removed.
        url: String,
        /// What was wrong and what to do.
        reason: String,
    },

    // ----- resolution -------------------------------------------------------
    /// A `remote:` that neither the config file nor the environment defines.
    #[error("didn't find section in config file ({name:?}): run `ferry config create {name} TYPE ...` to add it, or check the name with `ferry listremotes`")]
    RemoteNotFound {
        /// The remote name.
        name: String,
    },
    /// A section without a `type` key.
    #[error("remote {name:?} in {} has no `type` key: add one with `ferry config update {name} type=TYPE` or recreate it with `ferry config create`", .path.display())]
    MissingType {
        /// The remote name.
        name: String,
        /// The config file.
        path: PathBuf,
    },
    /// A backend type that is not registered.
    #[error("unknown backend type {kind:?}{}: known types are {known}", remote_suffix(.remote))]
    UnknownBackend {
        /// The type asked for.
        kind: String,
        /// The remote that asked for it, if any.
        remote: Option<String>,
        /// Comma-separated list of registered types.
        known: String,
    },
    /// An option key that the backend does not have.
    #[error("unknown option {key:?} for backend {backend:?}{}: see `ferry config providers` for the valid keys", remote_suffix(.remote))]
    UnknownOption {
        /// Backend type.
        backend: String,
        /// The key.
        key: String,
        /// The remote, if named.
        remote: Option<String>,
    },

    /// An rclone option that ferry does not implement and that changes what is stored or
    /// who may read it: never dropped, so the remote is refused.
    #[error("remote {remote}: option {key} ({backend}) is not implemented by ferry, and ignoring it would change what is stored or who may read it; remove it from the remote, or use rclone for this remote")]
    Unimplemented {
        /// Backend type.
        backend: String,
        /// The option, as the user set it (a key, a flag or a variable).
        key: String,
        /// The remote as written (`name:` or `:backend:`).
        remote: String,
    },

    // ----- config file ------------------------------------------------------
    /// The config file does not exist.
    #[error("config file {} not found: create it with `ferry config create` or pass --config FILE", .path.display())]
    ConfigNotFound {
        /// The path looked at.
        path: PathBuf,
    },
    /// The config file exists but can't be read.
    #[error("can't read config file {}: {source}", .path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid INI.
    #[error("{}:{line}: {reason}", .path.display())]
    ConfigSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// An encrypted config (rclone's format) that could not be opened.
    #[error("Failed to load config file {:?}: {reason}", .path.display().to_string())]
    ConfigPassword {
        /// The file.
        path: PathBuf,
        /// Why (rclone's words): no password given, the wrong one, a damaged file.
        reason: String,
    },
    /// Attempt to save a config that was only found as a fallback (rclone's).
    #[error("won't write {0}: it is rclone's config, used read-only because it was not named explicitly; pass --config {0} to allow writing it", .path.display())]
    ConfigReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// Writing the config failed.
    #[error("can't write config file {}: {source}", .path.display())]
    ConfigWrite {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No home directory to put the default config in.
    #[error(
        "can't find the home directory to locate the config file: set HOME or pass --config FILE"
    )]
    NoHome,

    // ----- config operations ------------------------------------------------
    /// A key that can't be stored in the INI file.
    #[error("invalid key {key:?}{}: {reason}", remote_suffix(.remote))]
    InvalidKey {
        /// The key.
        key: String,
        /// The remote, if known.
        remote: Option<String>,
        /// Why.
        reason: &'static str,
    },
    /// A section name that can't be written as `[name]`.
    #[error("can't write remote {name:?} to the config file: {reason}")]
    InvalidSection {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A value that can't be stored in the INI file (its content is not shown).
    #[error("invalid value for key {key:?} of remote {remote:?}: {reason}")]
    InvalidValue {
        /// The remote.
        remote: String,
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// `--obscure` and `--no-obscure` together.
    #[error("can't use --obscure and --no-obscure together")]
    ObscureConflict,
    /// `unset` of the `type` key.
    #[error("can't unset the \"type\" of remote {name:?}: use `ferry config delete {name}` to remove the whole remote")]
    UnsetType {
        /// The remote.
        name: String,
    },
    /// A remote name given to `show`, `update`, `delete`… that does not exist
    /// in the file.
    #[error("remote {name:?} not found in config file {}: check the name with `ferry listremotes`", .path.display())]
    NoSuchRemote {
        /// The remote.
        name: String,
        /// The file.
        path: PathBuf,
    },
}

fn remote_suffix(remote: &Option<String>) -> String {
    match remote {
        Some(r) => format!(" (remote {r:?})"),
        None => String::new(),
    }
}
