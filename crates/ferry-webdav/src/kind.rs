//! Registration: the webdav backend's options as rclone 1.75 names them (defaults written
//! once, here), the rclone options ferry takes but does not act on, and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented};
use ferry_core::{Backend, Result};

use crate::{Settings, WebdavBackend};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "url",
        "URL of the WebDAV server (and the folder in it), e.g. https://example.com/remote.php/webdav/.",
    )
    .required(),
    OptionSpec::new(
        "vendor",
        "Which WebDAV server this is: decides how modification times and checksums are kept.",
    )
    .default("other")
    .ty(OptionType::Choice(crate::options::VENDORS)),
    OptionSpec::new("user", "User name.").sensitive(),
    OptionSpec::new("pass", "Password (stored obscured).").secret(),
    OptionSpec::new(
        "bearer_token",
        "A bearer token to send instead of a user name and password.",
    )
    .sensitive(),
    OptionSpec::new(
        "bearer_token_command",
        "A command (words separated by spaces) whose output is the bearer token; run again when the server refuses the token.",
    )
    .advanced(),
    // No default in the spec: rclone's depends on the vendor (see `Settings::encoding`).
    OptionSpec::new(
        "encoding",
        "How names the server can't store are kept: rclone's encoding flags, comma-separated. \
         Unset: names are stored as they are (sharepoint-ntlm: Windows-safe names).",
    )
    .ty(OptionType::Encoding)
    .advanced(),
    OptionSpec::new(
        "headers",
        "Extra HTTP headers for every request, as comma-separated name,value pairs (CSV quoting allowed).",
    )
    .advanced(),
    OptionSpec::new(
        "owncloud_exclude_shares",
        "Leave out files and folders shared with this user (ownCloud/Nextcloud).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "owncloud_exclude_mounts",
        "Leave out external storages mounted into this account (ownCloud/Nextcloud).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "unix_socket",
        "Connect through this unix domain socket instead of over TCP.",
    )
    .advanced(),
    OptionSpec::new(
        "auth_redirect",
        "Keep sending the credentials when the server redirects to another host (or from https to http).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::DESCRIPTION,
];

/// rclone's options ferry takes but does not act on: both only tune how requests are
/// made, never what is stored.
pub const UNIMPLEMENTED: Unimplemented = Unimplemented {
    refused: &[],
    // pacer_min_sleep: ferry paces by its own retry policy (and --tpslimit).
    // nextcloud_chunk_size: ferry uploads each file in one PUT; the stored file is the same.
    tuning: &["pacer_min_sleep", "nextcloud_chunk_size"],
    booleans: &[],
};

/// The `webdav` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "webdav",
    aliases: &[],
    description: "WebDAV",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[],
    network: true,
    http: true,
    commands: &[],
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    req.options.check()?;
    let mut settings = Settings::from_options(req.options)?;
    settings.timeouts = req.context.timeouts;
    settings.http = req.context.http.clone();
    settings.dump = req.context.dump;
    Ok(WebdavBackend::new(settings, req.root)? as Arc<dyn Backend>)
}
