//! Registration: the smb backend's options as rclone 1.75 names them (defaults written
//! once, here), the rclone options ferry does not implement, and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented};
use ferry_core::{Backend, Result};

use crate::{SmbBackend, SmbOptions};

/// rclone 1.75's default `encoding` for smb: what Windows can't store in a name, plus
/// trailing spaces and periods (which Windows would turn into 8.3 names).
pub const DEFAULT_ENCODING: &str = "Slash,LtGt,DoubleQuote,Colon,Question,Asterisk,Pipe,\
BackSlash,Ctl,RightSpace,RightPeriod,InvalidUtf8,Dot";

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "host",
        "SMB server hostname to connect to, e.g. \"example.com\".",
    )
    .sensitive()
    .required(),
    OptionSpec::new(
        "user",
        "SMB username (default: the user running ferry, as rclone does).",
    )
    .sensitive(),
    OptionSpec::new("port", "SMB port number.")
        .default("445")
        .ty(OptionType::Int),
    OptionSpec::new(
        "pass",
        "SMB password (stored obscured, as rclone stores it).",
    )
    .secret(),
    OptionSpec::new("domain", "Domain name for NTLM authentication.")
        .default("WORKGROUP")
        .sensitive(),
    OptionSpec::new(
        "use_kerberos",
        "Use Kerberos authentication instead of NTLM (ferry has no Kerberos: true is refused).",
    )
    .bool(false),
    OptionSpec::new(
        "idle_timeout",
        "Close the pooled connections when none was returned for this long (0: keep them).",
    )
    .default("1m0s")
    .ty(OptionType::Duration)
    .advanced(),
    OptionSpec::new(
        "hide_special_share",
        "Hide special shares (e.g. print$) which users aren't supposed to access.",
    )
    .bool(true)
    .advanced(),
    OptionSpec::new(
        "case_insensitive",
        "Whether the server is configured to be case-insensitive (always true on Windows).",
    )
    .bool(true)
    .advanced(),
    OptionSpec::encoding(DEFAULT_ENCODING),
    OptionSpec::DESCRIPTION,
];

/// rclone's `smb` backend.
pub static KIND: BackendKind = BackendKind {
    name: "smb",
    aliases: &[],
    description: "SMB / CIFS",
    options: OPTIONS,
    unimplemented: Unimplemented {
        refused: &[],
        // `spn` only matters to servers that check the name a client presents (clusters):
        // smb-rs presents `cifs/<host>` and can't be told another. A Kerberos cache is
        // meaningless without Kerberos, which `use_kerberos = true` already refuses.
        tuning: &["spn", "kerberos_ccache"],
        booleans: &[],
    },
    urls: &[],
    network: true,
    http: false,
    commands: &[],
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let mut opts = SmbOptions::from_options(req.options)?;
    opts.timeouts = req.context.timeouts;
    if let Some(tries) = req.context.low_level_retries {
        opts.connect_tries = tries.max(1);
    }
    Ok(Arc::new(SmbBackend::new(opts, req.root)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rclone 1.75's smb options (`rclone help backend smb`), each either implemented or
    /// declared as not, with rclone's defaults for the ones implemented.
    #[test]
    fn every_rclone_option_is_accounted_for_with_its_default() {
        let rclone: &[(&str, Option<&str>)] = &[
            ("host", None),
            ("user", None), // rclone's default is the current user, read when opened
            ("port", Some("445")),
            ("pass", None),
            ("domain", Some("WORKGROUP")),
            ("spn", None),
            ("use_kerberos", Some("false")),
            ("idle_timeout", Some("1m0s")),
            ("hide_special_share", Some("true")),
            ("case_insensitive", Some("true")),
            ("kerberos_ccache", None),
            (
                "encoding",
                Some(
                    "Slash,LtGt,DoubleQuote,Colon,Question,Asterisk,Pipe,BackSlash,Ctl,\
                     RightSpace,RightPeriod,InvalidUtf8,Dot",
                ),
            ),
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
