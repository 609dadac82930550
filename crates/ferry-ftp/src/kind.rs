//! Registration: the ftp backend's options as rclone 1.75 names them (defaults written
//! once, here), the rclone options ferry does not implement, and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented};
use ferry_core::{Backend, Result};

use crate::{FtpBackend, FtpOptions};

/// rclone 1.75's default `encoding` for ftp (its `Display` set plus `RightSpace`: FTP
/// servers mangle trailing spaces). rclone adds `CrLf` when it sends names in commands.
pub const DEFAULT_ENCODING: &str = "Slash,Del,Ctl,RightSpace,Dot";

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("host", "FTP host to connect to, e.g. \"ftp.example.com\".")
        .sensitive()
        .required(),
    OptionSpec::new(
        "user",
        "FTP username (default: the user running ferry, as rclone does).",
    )
    .sensitive(),
    OptionSpec::new("port", "FTP port number.")
        .default("21")
        .ty(OptionType::Int),
    OptionSpec::new(
        "pass",
        "FTP password (stored obscured, as rclone stores it).",
    )
    .secret(),
    OptionSpec::new(
        "tls",
        "Use implicit FTPS: TLS from the first byte (usually port 990). Not with explicit_tls.",
    )
    .bool(false),
    OptionSpec::new(
        "explicit_tls",
        "Use explicit FTPS: upgrade the plain connection with AUTH TLS. Not with tls.",
    )
    .bool(false),
    OptionSpec::new(
        "concurrency",
        "Maximum number of simultaneous FTP connections, 0 for unlimited.",
    )
    .default("0")
    .ty(OptionType::Int)
    .advanced(),
    OptionSpec::new(
        "no_check_certificate",
        "Do not verify the TLS certificate of the server.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "disable_epsv",
        "Disable using EPSV even if the server advertises it.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "disable_mlsd",
        "Disable using MLSD even if the server advertises it.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "disable_utf8",
        "Disable using UTF-8 even if the server advertises it.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "writing_mdtm",
        "Use MDTM to set modification times (vsftpd's quirk).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "force_list_hidden",
        "Use LIST -a to list hidden files and folders too (disables MLSD).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "idle_timeout",
        "Close connections left idle in the pool this long (0: keep them).",
    )
    .default("1m0s")
    .ty(OptionType::Duration)
    .advanced(),
    OptionSpec::new(
        "close_timeout",
        "Maximum time to wait for the reply to closing a download.",
    )
    .default("1m0s")
    .ty(OptionType::Duration)
    .advanced(),
    OptionSpec::new(
        "tls_cache_size",
        "Size of the TLS session cache shared by control and data connections (0: none).",
    )
    .default("32")
    .ty(OptionType::Int)
    .advanced(),
    OptionSpec::new(
        "disable_tls13",
        "Disable TLS 1.3 (for servers with a broken TLS 1.3).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "shut_timeout",
        "Maximum time to wait for the server to confirm a finished transfer.",
    )
    .default("1m0s")
    .ty(OptionType::Duration)
    .advanced(),
    OptionSpec::new(
        "ask_password",
        "Ask for the password when none is set (ferry can't ask: it says so instead).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "no_check_upload",
        "Don't stat an upload afterwards (for write-only folders).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::encoding(DEFAULT_ENCODING),
    OptionSpec::DESCRIPTION,
];

/// rclone's `ftp` backend.
pub static KIND: BackendKind = BackendKind {
    name: "ftp",
    aliases: &[],
    description: "FTP",
    options: OPTIONS,
    unimplemented: Unimplemented {
        // Both change the route (and who sees the traffic): never silently direct.
        refused: &["socks_proxy", "http_proxy"],
        // rustls has no RSA key-exchange ciphers to allow; leaving it off only means such
        // a server's handshake fails, with an error saying so.
        tuning: &["allow_insecure_tls_ciphers"],
        booleans: &["allow_insecure_tls_ciphers"],
    },
    urls: &[],
    network: true,
    http: false,
    commands: &[],
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let mut opts = FtpOptions::from_options(req.options)?;
    opts.timeouts = req.context.timeouts;
    Ok(Arc::new(FtpBackend::new(opts, req.root)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rclone 1.75's ftp options (`rclone help backend ftp`), each either implemented or
    /// declared as not, with rclone's defaults for the ones implemented.
    #[test]
    fn every_rclone_option_is_accounted_for_with_its_default() {
        let rclone: &[(&str, Option<&str>)] = &[
            ("host", None),
            ("user", None), // rclone's default is the current user, read when opened
            ("port", Some("21")),
            ("pass", None),
            ("tls", Some("false")),
            ("explicit_tls", Some("false")),
            ("concurrency", Some("0")),
            ("no_check_certificate", Some("false")),
            ("disable_epsv", Some("false")),
            ("disable_mlsd", Some("false")),
            ("disable_utf8", Some("false")),
            ("writing_mdtm", Some("false")),
            ("force_list_hidden", Some("false")),
            ("idle_timeout", Some("1m0s")),
            ("close_timeout", Some("1m0s")),
            ("tls_cache_size", Some("32")),
            ("disable_tls13", Some("false")),
            ("allow_insecure_tls_ciphers", Some("false")),
            ("shut_timeout", Some("1m0s")),
            ("ask_password", Some("false")),
            ("socks_proxy", None),
            ("http_proxy", None),
            ("no_check_upload", Some("false")),
            ("encoding", Some("Slash,Del,Ctl,RightSpace,Dot")),
            ("description", None),
        ];
        for (name, default) in rclone {
            match KIND.option(name) {
                Some(spec) => assert_eq!(spec.default, *default, "{name}"),
                None => assert!(KIND.unimplemented.effect(name).is_some(), "{name}"),
            }
        }
        assert_eq!(
            KIND.options.len() + KIND.unimplemented.keys().count(),
            rclone.len()
        );
        assert!(KIND.is_secret("pass") && KIND.is_redacted("host"));
        assert!(!KIND.http && KIND.network && KIND.urls.is_empty());
    }
}
