//! Registration: what a backend crate declares about itself, so that the binary can list
//! it once and everything else (config validation, `config providers`, `help backend`,
//! `--BACKEND-OPTION` flags, `FERRY_<BACKEND>_<OPTION>` variables, URL forms) is generated
//! from that one declaration.
//!
//! A backend crate exports a `static KIND: BackendKind`; the binary collects them in a
//! [`Registry`]. Nothing outside the backend crate names its options or parses its URLs.

mod list;
mod options;
mod registry;

use std::path::PathBuf;
use std::sync::Arc;

pub use list::{comma_separated, space_separated};
pub use options::Options;
pub use registry::Registry;

use crate::secret::Secretish;
use crate::{Backend, Result};

/// How an option's value is read (and checked) by [`Options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    /// Free text (host names, paths, keys).
    Text,
    /// `true`/`false` (and rclone's other spellings).
    Bool,
    /// A whole number.
    Int,
    /// A size with rclone's suffixes (`5Mi`, `1G`, `off`).
    Size,
    /// A duration in rclone's syntax (`1m30s`, `500ms`, plain seconds).
    Duration,
    /// One of a fixed set of words (compared ignoring ASCII case).
    Choice(&'static [&'static str]),
    /// rclone's name encoding flags (`Slash,Dot,...`).
    Encoding,
}

impl OptionType {
    /// rclone's name for the type, as `help backend` and `config providers` show it.
    pub fn rclone_name(self) -> &'static str {
        match self {
            OptionType::Text | OptionType::Choice(_) => "string",
            OptionType::Bool => "bool",
            OptionType::Int => "int",
            OptionType::Size => "SizeSuffix",
            OptionType::Duration => "Duration",
            OptionType::Encoding => "Encoding",
        }
    }
}

/// One option of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Key as written in the config file (`snake_case`).
    pub name: &'static str,
    /// One or more lines of help.
    pub help: &'static str,
    /// The default as text (`None`: no default / empty). Written here once: the backend
    /// reads the default through [`Options`], never from a second copy.
    pub default: Option<&'static str>,
    /// How the value is read.
    pub ty: OptionType,
    /// Stored obscured in the config file (rclone's `IsPassword`).
    pub secret: bool,
    /// Hidden when the config is shown (rclone's `Sensitive`).
    pub sensitive: bool,
    /// Names who or where (a host, a user, an access key's ID): shown by `config show`,
    /// hidden by `config redacted`, as rclone's `Sensitive` values are.
    pub identifying: bool,
    /// Shown only in advanced configuration.
    pub advanced: bool,
    /// The remote can't be opened without it (rclone's `Required`; the backend checks).
    pub required: bool,
}

impl OptionSpec {
    /// A basic text option with no default.
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        OptionSpec {
            name,
            help,
            default: None,
            ty: OptionType::Text,
            secret: false,
            sensitive: false,
            identifying: false,
            advanced: false,
            required: false,
        }
    }

    /// Set the default.
    pub const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        self
    }

    /// A `true`/`false` option with this default.
    pub const fn bool(mut self, default: bool) -> Self {
        self.ty = OptionType::Bool;
        self.default = Some(if default { "true" } else { "false" });
        self
    }

    /// Set how the value is read.
    pub const fn ty(mut self, ty: OptionType) -> Self {
        self.ty = ty;
        self
    }

    /// Mark as obscured in the file (implies sensitive).
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self.sensitive = true;
        self
    }

    /// Mark as hidden when shown.
    pub const fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Mark as naming who or where: hidden only from a config posted for a bug report.
    pub const fn identifying(mut self) -> Self {
        self.identifying = true;
        self
    }

    /// Mark as required (shown so in help; the backend's open refuses a remote without it).
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Mark as advanced.
    pub const fn advanced(mut self) -> Self {
        self.advanced = true;
        self
    }

    /// True if the value must not be printed (secret or sensitive).
    pub const fn redacted(&self) -> bool {
        self.secret || self.sensitive
    }

    /// The `encoding` option every backend has, with rclone's default for it.
    pub const fn encoding(default: &'static str) -> Self {
        OptionSpec::new(
            "encoding",
            "How names the backend can't store are kept: rclone's encoding flags, comma-separated.",
        )
        .default(default)
        .ty(OptionType::Encoding)
        .advanced()
    }

    /// rclone's `description` option every backend has.
    pub const DESCRIPTION: OptionSpec = OptionSpec::new(
        "description",
        "Free text describing this remote; ferry ignores it.",
    )
    .advanced();
}

/// rclone options of a backend that ferry does not implement, and what using one does.
///
/// A remote written for rclone may carry any of rclone's options. Dropping one silently is
/// only harmless when it tunes how rclone works; one that changes what is stored, who may
/// read it, or as whom (or by which route) ferry connects is refused until implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unimplemented {
    /// Options that change what is stored or who may read it: a remote setting one is refused.
    pub refused: &'static [&'static str],
    /// Options that only tune rclone: ignored with a notice.
    pub tuning: &'static [&'static str],
    /// Which of the above are booleans in rclone (`--BACKEND-OPTION` alone means true).
    pub booleans: &'static [&'static str],
}

/// What ferry does with an rclone option it does not implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// It changes what is stored or who may read it: the remote is refused.
    Refused,
    /// It only tunes how rclone works: ignored, with a notice.
    Tuning,
}

impl Unimplemented {
    /// What ferry does with `key`, if it is one of these.
    pub fn effect(&self, key: &str) -> Option<Effect> {
        if self.refused.contains(&key) {
            Some(Effect::Refused)
        } else if self.tuning.contains(&key) {
            Some(Effect::Tuning)
        } else {
            None
        }
    }

    /// Every key listed.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> {
        self.refused.iter().chain(self.tuning).copied()
    }
}

/// A remote made from a URL argument (`sftp://user@host/path`, `s3://bucket/path`, a blob
/// URL): the options it sets and the path inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRemote {
    /// Options set by the URL (secret ones marked so; `pass`-like values obscured as the
    /// config file holds them).
    pub options: Vec<(&'static str, Secretish)>,
    /// The path inside the remote.
    pub path: String,
}

/// A URL that names this backend but can't be used, with why. `url` is the URL as it may
/// be shown (no password, no signature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("can't use URL {url}: {reason}")]
pub struct BadUrl {
    /// The URL with anything secret cut out.
    pub url: String,
    /// What was wrong and what to write instead.
    pub reason: String,
}

impl BadUrl {
    /// A URL (as it may be shown) that can't be used, and why.
    pub fn new(url: impl Into<String>, reason: impl Into<String>) -> Self {
        BadUrl {
            url: url.into(),
            reason: reason.into(),
        }
    }
}

/// Decode `%XX` escapes.
pub fn percent_decode(s: &str) -> std::result::Result<String, &'static str> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => out.push(v),
                None => {
                    return Err("bad percent-encoding (a `%` must be followed by two hex digits)")
                }
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding does not decode to UTF-8 text")
}

/// A URL scheme a backend claims. `parse` gets what follows `SCHEME://` and answers
/// `Ok(None)` when the URL is not one of its own (e.g. an `http://` URL that is not a
/// local storage emulator), so the next claimant may look.
#[derive(Debug, Clone, Copy)]
pub struct UrlForm {
    /// The scheme, without `://`.
    pub scheme: &'static str,
    /// The parser.
    pub parse: fn(rest: &str) -> std::result::Result<Option<UrlRemote>, BadUrl>,
}

/// Opens another remote by the string a user would write (`other:path`, `/local/dir`,
/// `:backend,key=val:path`), the way the run opens its arguments: the same config file,
/// backend flags and layers. The binary implements it, so an overlay (`alias`, `crypt`)
/// stays a backend crate that knows nothing of the config file.
pub trait RemoteOpener: Send + Sync + std::fmt::Debug {
    /// The backend rooted at `remote`. A remote that leads back to one being opened
    /// (`alias a` with `remote = a:`) is an `ErrorKind::Config` error, not a recursion.
    fn open_remote(&self, remote: &str) -> Result<Arc<dyn Backend>>;
}

/// `root` below the remote string `remote` (`other:dir` + `sub/x` is `other:dir/sub/x`),
/// as an overlay roots what it wraps: one `/` between them, none added after a bare
/// `other:`, and an empty root leaves `remote` as it is.
pub fn join_remote(remote: &str, root: &str) -> String {
    let root = root.trim_start_matches('/');
    if root.is_empty() {
        return remote.to_owned();
    }
    if remote.is_empty() || remote.ends_with(':') || remote.ends_with('/') {
        format!("{remote}{root}")
    } else {
        format!("{remote}/{root}")
    }
}

/// What a run knows that a backend may need when it is opened.
#[derive(Debug, Clone, Default)]
pub struct OpenContext {
    /// Opens the remotes an overlay wraps; `None` where nothing may be opened from inside
    /// a backend (tests that open one kind directly).
    pub remotes: Option<Arc<dyn RemoteOpener>>,
    /// The config file in use, and whether ferry may write beside it (SFTP keeps the host
    /// keys it accepts in a `known_hosts` file next to it).
    pub config_file: Option<(PathBuf, bool)>,
    /// `--contimeout` and `--timeout`, for every network backend.
    pub timeouts: crate::net::Timeouts,
    /// `--low-level-retries`, for a backend that tries again inside itself (SFTP's
    /// connects); `None`: rclone's default, [`crate::retry::LOW_LEVEL_RETRIES`].
    pub low_level_retries: Option<u32>,
    /// `--dump`, for every HTTP backend.
    pub dump: crate::dump::Dump,
    /// `--user-agent`, `--header*`, the TLS flags: for every HTTP backend.
    pub http: crate::net::HttpSettings,
}

/// One request to open a backend.
pub struct OpenRequest<'a> {
    /// The remote's options, typed, with the kind's defaults.
    pub options: &'a Options,
    /// The path inside the remote the backend is rooted at (`""`: the remote's root).
    pub root: &'a str,
    /// What the run knows.
    pub context: &'a OpenContext,
}

/// Opens a backend of one kind.
pub type OpenFn = fn(&OpenRequest<'_>) -> Result<Arc<dyn Backend>>;

/// A kind of backend: `local`, `sftp`, `s3`...
#[derive(Debug, Clone, Copy)]
pub struct BackendKind {
    /// The `type` written in the config file (rclone's name).
    pub name: &'static str,
    /// Other names the same `type` may be written as.
    pub aliases: &'static [&'static str],
    /// One line describing it.
    pub description: &'static str,
    /// Its options.
    pub options: &'static [OptionSpec],
    /// rclone's options of this backend that ferry does not implement.
    pub unimplemented: Unimplemented,
    /// URL schemes it claims.
    pub urls: &'static [UrlForm],
    /// Whether it talks to a server (a place not on this machine: timeouts apply, and
    /// `--bwlimit UP:DOWN` counts bytes to it as up).
    pub network: bool,
    /// Whether it talks HTTP (so `--tpslimit`, rclone's limit on HTTP transactions, and
    /// `--dump` apply).
    pub http: bool,
    /// The backend-specific commands it offers (`backend help`, `backend COMMAND`): the
    /// same list its backends give from [`Backend::commands`].
    pub commands: &'static [crate::command::CommandHelp],
    /// Opens one.
    pub open: OpenFn,
}

impl OpenContext {
    /// Opens another remote for an overlay; an error naming `who` when this run can't.
    pub fn open_remote(&self, who: &str, remote: &str) -> Result<Arc<dyn Backend>> {
        match &self.remotes {
            Some(opener) => opener.open_remote(remote),
            None => Err(crate::Error::new(
                crate::ErrorKind::Unsupported,
                format!("{who} can't open the remote it wraps ({remote}) here"),
            )),
        }
    }
}

impl BackendKind {
    /// The option called `key`.
    pub fn option(&self, key: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == key)
    }

    /// The default of `key`, if the option exists and has one.
    pub fn default_for(&self, key: &str) -> Option<&'static str> {
        self.option(key).and_then(|o| o.default)
    }

    /// True if `key` is stored obscured.
    pub fn is_secret(&self, key: &str) -> bool {
        self.option(key).is_some_and(|o| o.secret)
    }

    /// True if `key` must not be printed.
    pub fn is_redacted(&self, key: &str) -> bool {
        self.option(key).is_some_and(|o| o.redacted())
    }

    /// True if `key` is a boolean (an implemented option, or one of rclone's ferry lacks).
    pub fn is_bool(&self, key: &str) -> bool {
        match self.option(key) {
            Some(o) => o.ty == OptionType::Bool,
            None => self.unimplemented.booleans.contains(&key),
        }
    }
}

#[cfg(test)]
mod join_tests {
    use super::join_remote;

    #[test]
    fn a_root_goes_below_the_wrapped_remote() {
        assert_eq!(join_remote("other:", ""), "other:");
        assert_eq!(join_remote("other:", "a/b"), "other:a/b");
        assert_eq!(join_remote("other:dir", "a"), "other:dir/a");
        assert_eq!(join_remote("other:dir/", "/a"), "other:dir/a");
        assert_eq!(join_remote("/tmp/x", "a"), "/tmp/x/a");
        assert_eq!(join_remote(":local:", "a"), ":local:a");
    }
}

#[cfg(test)]
pub(crate) mod testkind {
    //! A kind for tests in this crate: a few options of each type.
    use super::*;

    pub static OPTIONS: &[OptionSpec] = &[
        OptionSpec::new("host", "Host."),
        OptionSpec::new("port", "Port.")
            .default("22")
            .ty(OptionType::Int),
        OptionSpec::new("pass", "Password.").secret(),
        OptionSpec::new("token", "Token.").sensitive(),
        OptionSpec::new("set_modtime", "Set times.").bool(true),
        OptionSpec::new("chunk_size", "Chunk.")
            .default("5Mi")
            .ty(OptionType::Size),
        OptionSpec::new("idle_timeout", "Idle.")
            .default("1m0s")
            .ty(OptionType::Duration),
        OptionSpec::new("tier", "Tier.").ty(OptionType::Choice(&["hot", "cool"])),
        OptionSpec::encoding("Slash,Dot"),
        OptionSpec::DESCRIPTION,
    ];

    fn open(_: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            "test kind",
        ))
    }

    fn parse(rest: &str) -> std::result::Result<Option<UrlRemote>, BadUrl> {
        Ok(Some(UrlRemote {
            options: vec![("host", Secretish::plain(rest))],
            path: String::new(),
        }))
    }

    pub static KIND: BackendKind = BackendKind {
        name: "test",
        aliases: &["testing"],
        description: "A kind for tests",
        options: OPTIONS,
        unimplemented: Unimplemented {
            refused: &["ciphers"],
            tuning: &["use_mmap"],
            booleans: &["use_mmap"],
        },
        urls: &[UrlForm {
            scheme: "test",
            parse,
        }],
        network: true,
        http: true,
        commands: &[],
        open,
    };
}
