//! Registration: the sftp backend's options as rclone names them (defaults written
//! once, here), the rclone options ferry does not implement, and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented, UrlForm};
use ferry_core::{Backend, Result};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("host", "Name or address of the SSH server, e.g. `example.com`.")
        .required()
        .identifying(),
    OptionSpec::new("user", "User name to log in as; empty means the current local user.")
        .identifying(),
    OptionSpec::new("port", "TCP port of the SSH server.").default("22")
    .ty(OptionType::Int),
    OptionSpec::new(
        "pass",
        "Password for the login, stored obscured; leave empty to use keys or the agent.",
    )
    .secret(),
    OptionSpec::new(
        "key_pem",
        "Private key in PEM form written inline, with newlines as `\\n`; wins over key_file.",
    )
    .sensitive(),
    OptionSpec::new(
        "key_file",
        "Path of a PEM private key file; a leading `~` means the home directory.",
    ),
    OptionSpec::new(
        "key_file_pass",
        "Passphrase of the private key, stored obscured; needed only for encrypted keys.",
    )
    .secret(),
    OptionSpec::new(
        "key_use_agent",
        "Only use keys from the SSH agent; with key_file set, pick the agent key matching its .pub file.",
    )
    .bool(false),
    OptionSpec::new(
        "known_hosts_file",
        "Path of an OpenSSH known_hosts file used to check the server's host key; `none` turns the check notice off.",
    )
    .advanced(),
    OptionSpec::new(
        "host_keys",
        "Comma-separated pinned host keys (`algo base64-key`); the server must offer one of them.",
    )
    .advanced(),
    OptionSpec::new(
        "host_key_policy",
        "What to do with a host key that no known_hosts file or host_keys entry knows: `accept-new` (the default) records it in ferry's own known_hosts beside its config, `strict` refuses the connection, `insecure` checks nothing. A changed key is always refused.",
    )
    .advanced(),
    OptionSpec::new(
        "md5sum_command",
        "Remote command printing MD5 sums; empty means detect it, `none` disables MD5.",
    )
    .advanced(),
    OptionSpec::new(
        "sha1sum_command",
        "Remote command printing SHA-1 sums; empty means detect it, `none` disables SHA-1.",
    )
    .advanced(),
    OptionSpec::new(
        "cksum_command",
        "Remote command printing POSIX cksum lines (CRC-32 and size), used to check uploads; empty means detect `cksum`, `none` checks with SHA-1 or MD5 instead.",
    )
    .advanced(),
    OptionSpec::new(
        "shell_type",
        "Kind of shell on the server (`unix`, `powershell`, `cmd` or `none`); empty means detect it.",
    )
    .advanced(),
    OptionSpec::new(
        "set_modtime",
        "Set the modification time of uploaded files on the server.",
    )
    .bool(true)
    .advanced(),
    OptionSpec::new(
        "concurrency",
        "Most requests in flight at once for a single file transfer (and at most 4 MiB of them).",
    )
    .default("64")
    .advanced()
    .ty(OptionType::Int),
    OptionSpec::new(
        "connections",
        "Most SSH connections open to the server at once; 0 means no limit.",
    )
    .default("0")
    .advanced()
    .ty(OptionType::Int),
    OptionSpec::new(
        "idle_timeout",
        "Close idle connections after this long; 0 keeps them open.",
    )
    .default("1m0s")
    .advanced()
    .ty(OptionType::Duration),
    OptionSpec::new(
        "connect_timeout",
        "Give up connecting (TCP, SSH handshake, login) after this long; unset: --contimeout (1m0s).",
    )
    .advanced()
    .ty(OptionType::Duration),
    OptionSpec::new(
        "disable_hashcheck",
        "Never run remote commands to compute checksums.",
    )
    .bool(false),
    OptionSpec::new(
        "path_override",
        "Path to use for remote checksum commands when it differs from the SFTP path (e.g. chroot).",
    )
    .advanced(),
    OptionSpec::encoding("Slash,Del,Ctl,Dot"),
    OptionSpec::DESCRIPTION,
];

/// rclone's options of this backend that ferry does not implement.
const UNIMPLEMENTED: Unimplemented = Unimplemented {
    refused: &[
        "ciphers",
        "copy_is_hardlink",
        "host_key_algorithms",
        "http_proxy",
        "key_exchange",
        "macs",
        "pin_host_key",
        "socks_proxy",
        "ssh",
    ],
    tuning: &[
        "ask_password",
        "blake3sum_command",
        "chunk_size",
        "crc32sum_command",
        "disable_concurrent_reads",
        "disable_concurrent_writes",
        "hashes",
        "pubkey",
        "pubkey_file",
        "server_command",
        "set_env",
        "sha256sum_command",
        "skip_links",
        "subsystem",
        "use_fstat",
        "use_insecure_cipher",
        "xxh128sum_command",
        "xxh3sum_command",
    ],
    booleans: &[
        "ask_password",
        "copy_is_hardlink",
        "disable_concurrent_reads",
        "disable_concurrent_writes",
        "pin_host_key",
        "skip_links",
        "use_fstat",
        "use_insecure_cipher",
    ],
};

/// The `sftp` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "sftp",
    aliases: &[],
    description: "SSH/SFTP server",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[UrlForm {
        scheme: "sftp",
        parse: crate::url::parse,
    }],
    network: true,
    http: false,
    commands: &[],
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    crate::open(req.options, req.root, req.context).map(|b| b as Arc<dyn Backend>)
}
