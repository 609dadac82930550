//! Registration: the http backend's options as rclone names them (defaults written once,
//! here) and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, Unimplemented};
use ferry_core::{Backend, Result};

use crate::{HttpBackend, HttpOptions};

static OPTIONS: &[OptionSpec] = &[
    // Not sensitive in rclone; a password in it is kept out of every message instead
    // (ferry_config::redact, and the backend keeps the URL without it).
    OptionSpec::new(
        "url",
        "URL of the HTTP host to connect to, e.g. \"https://example.com\", or \"https://user:pass@example.com\" with a user name and password.",
    )
    .required(),
    OptionSpec::new(
        "headers",
        "HTTP headers for every request: comma-separated name,value pairs in CSV (e.g. 'Cookie,name=value' or '\"Cookie\",\"name=value\",\"Authorization\",\"xxx\"').",
    )
    .advanced(),
    OptionSpec::new(
        "no_slash",
        "The site doesn't end directories with /: a file served as text/html is read as a directory (a real HTML file then looks like one).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "no_escape",
        "Don't escape URL metacharacters in path names.",
    )
    .bool(false),
    OptionSpec::DESCRIPTION,
];

/// rclone's options of this backend that ferry does not implement.
const UNIMPLEMENTED: Unimplemented = Unimplemented {
    // Without HEAD requests rclone lists files of unknown size (-1); ferry's entries
    // always have a size, so the option is refused rather than listing sizes wrong.
    refused: &["no_head"],
    tuning: &[],
    booleans: &["no_head"],
};

/// The `http` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "http",
    aliases: &[],
    description: "HTTP",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[],
    network: true,
    http: true,
    commands: &[],
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let mut options = HttpOptions::from_options(req.options)?;
    options.timeouts = req.context.timeouts;
    options.http = req.context.http.clone();
    HttpBackend::new(req.root, options).map(|b| b as Arc<dyn Backend>)
}
