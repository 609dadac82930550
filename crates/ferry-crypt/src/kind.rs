//! Registration: the crypt backend's options as rclone names them (defaults written
//! once, here) and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented};
use ferry_core::{Backend, Error, ErrorKind, Result};

use crate::{CryptBackend, CryptConfig};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "remote",
        "Remote to encrypt/decrypt.\n\nUsually a remote and a path, e.g. \"myremote:path/to/dir\" or \"myremote:bucket\".",
    )
    .required(),
    OptionSpec::new("filename_encryption", "How to encrypt the file names: standard, obfuscate (a simple keyed rotation) or off (only a suffix is added).")
        .default("standard")
        .ty(OptionType::Choice(&["standard", "obfuscate", "off"])),
    OptionSpec::new(
        "directory_name_encryption",
        "Encrypt directory names too (false: leave them as they are). No effect when filename_encryption is off.",
    )
    .bool(true),
    OptionSpec::new("password", "Password or pass phrase for encryption.")
        .secret()
        .required(),
    OptionSpec::new(
        "password2",
        "Password or pass phrase for salt. Optional but recommended; different from the first.",
    )
    .secret(),
    OptionSpec::new(
        "show_mapping",
        "Log (at level INFO) each listed name with its encrypted form.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new("no_data_encryption", "Store file data unencrypted (names are still encrypted).")
        .bool(false)
        .advanced(),
    OptionSpec::new(
        "pass_bad_blocks",
        "Pass blocks that don't authenticate through as zeros (only to recover what can be recovered of a damaged file).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "strict_names",
        "A name that can't be decrypted is an error (by default it is skipped with a notice).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "filename_encoding",
        "How encrypted names are written: base32 (any remote), base64 (case sensitive remotes), base32768 (remotes that count UTF-16 units).",
    )
    .default("base32")
    .ty(OptionType::Choice(&["base32", "base64", "base32768"]))
    .advanced(),
    OptionSpec::new(
        "suffix",
        "Suffix of file names when filename_encryption is off (\"none\": no suffix).",
    )
    .default(".bin")
    .advanced(),
    OptionSpec::DESCRIPTION,
];

/// rclone's options of this backend that ferry does not implement.
const UNIMPLEMENTED: Unimplemented = Unimplemented {
    refused: &[],
    // Deprecated in rclone; ferry copies server-side between any two crypt remotes whose
    // keys and name settings are the same, so the option changes nothing here.
    tuning: &["server_side_across_configs"],
    booleans: &["server_side_across_configs"],
};

/// The `crypt` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "crypt",
    aliases: &[],
    description: "Encrypt/Decrypt a remote",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[],
    network: false,
    http: false,
    commands: &crate::command::COMMANDS,
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let config = CryptConfig::from_options(req.options)?;
    let who = req.options.remote();
    let target = req.options.text("remote").unwrap_or("").trim();
    if target.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{who} crypt remote has no remote to wrap: set its remote option (e.g. remote = other:path)"),
        ));
    }
    if who.len() > 1 && target.starts_with(who) {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{who} crypt remote can't point at itself: check its remote option"),
        ));
    }
    let root = req.root.trim_matches('/');
    let stored_root = config.names.encrypt_dir(root);
    let under = req
        .context
        .open_remote(who, &ferry_core::kind::join_remote(target, &stored_root))?;
    Ok(Arc::new(CryptBackend::new(under, config, who, root)))
}
