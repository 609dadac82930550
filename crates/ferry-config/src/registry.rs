//! Backend kinds and their options.
//!
//! Backend crates describe themselves with a [`BackendKind`] and register it
//! into a [`Registry`]. This crate uses the registry to validate remotes, to
//! know which keys are obscured in the file (`secret`) or hidden when shown
//! (`sensitive`), and to print `config providers`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// One option of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Key as written in the config file (`snake_case`).
    pub name: &'static str,
    /// One or more lines of help.
    pub help: &'static str,
    /// Default value as text (`None`: no default / empty).
    pub default: Option<&'static str>,
    /// Stored obscured in the config file (rclone's `IsPassword`).
    pub secret: bool,
    /// Hidden when the config is shown (rclone's `Sensitive`).
    pub sensitive: bool,
    /// Shown only in advanced configuration.
    pub advanced: bool,
}

impl OptionSpec {
    /// A basic option with no default.
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        OptionSpec {
            name,
            help,
            default: None,
            secret: false,
            sensitive: false,
            advanced: false,
        }
    }

    /// Set the default.
    pub const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
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

    /// Mark as advanced.
    pub const fn advanced(mut self) -> Self {
        self.advanced = true;
        self
    }

    /// True if the value must not be printed (secret or sensitive).
    pub const fn redacted(&self) -> bool {
        self.secret || self.sensitive
    }
}

/// A kind of backend: `local`, `sftp`, `s3`…
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendKind {
    /// The `type` written in the config file.
    pub name: &'static str,
    /// One line describing it.
    pub description: &'static str,
    /// Its options.
    pub options: &'static [OptionSpec],
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
}

/// The set of backend kinds known to this program.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, BackendKind>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding [`builtin_kinds`].
    pub fn with_builtins() -> Self {
        let mut r = Self::new();
        for k in builtin_kinds() {
            r.register(k);
        }
        r
    }

    /// Add a kind, replacing (and returning) any kind of the same name.
    pub fn register(&mut self, kind: BackendKind) -> Option<BackendKind> {
        self.kinds.insert(kind.name, kind)
    }

    /// The kind called `name`.
    pub fn get(&self, name: &str) -> Option<&BackendKind> {
        self.kinds.get(name)
    }

    /// All kinds, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &BackendKind> {
        self.kinds.values()
    }

    /// All names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }

    /// Names joined with `, ` (for error messages).
    pub fn names_joined(&self) -> String {
        let n = self.names();
        if n.is_empty() {
            "(none registered)".to_string()
        } else {
            n.join(", ")
        }
    }

    /// `config providers` output: a JSON array using rclone's field names
    /// (`Name`, `Description`, `Prefix`, `Options` with `Name`, `Help`,
    /// `Default`, `DefaultStr`, `IsPassword`, `Sensitive`, `Advanced`,
    /// `Required`).
    pub fn providers_json(&self) -> Value {
        Value::Array(
            self.kinds()
                .map(|k| {
                    json!({
                        "Name": k.name,
                        "Description": k.description,
                        "Prefix": k.name,
                        "Options": k.options.iter().map(|o| json!({
                            "Name": o.name,
                            "Help": o.help,
                            "Default": o.default,
                            "DefaultStr": o.default.unwrap_or(""),
                            "IsPassword": o.secret,
                            "Sensitive": o.sensitive,
                            "Advanced": o.advanced,
                            "Required": false,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }
}

const DESCRIPTION_OPT: OptionSpec = OptionSpec::new(
    "description",
    "Free text describing this remote; ferry ignores it.",
)
.advanced();

static LOCAL_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "copy_links",
        "Follow symbolic links and copy what they point to instead of the links.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "links",
        "Store symbolic links as small `.rclonelink` files holding the target.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "skip_links",
        "Don't warn about symbolic links that are skipped.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "one_file_system",
        "Don't descend into directories that are on another filesystem.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "no_check_updated",
        "Don't fail a transfer when the source file changes while it is read.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "no_set_modtime",
        "Don't set modification times on written files.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "no_preallocate",
        "Don't reserve disk space for files before writing them.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "no_sparse",
        "Don't create sparse files for multi-threaded downloads.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "unicode_normalization",
        "Turn file names into Unicode NFC form when reading them.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "case_sensitive",
        "Treat this filesystem as case sensitive whatever the platform says.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "case_insensitive",
        "Treat this filesystem as case insensitive whatever the platform says.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new("nounc", "On Windows, don't turn paths into long UNC paths.")
        .default("false")
        .advanced(),
    OptionSpec::new(
        "encoding",
        "How names the backend can't store are kept: rclone's encoding flags, comma-separated.",
    )
    .default("Slash,Dot")
    .advanced(),
    DESCRIPTION_OPT,
];

static SFTP_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("host", "Name or address of the SSH server, e.g. `example.com`."),
    OptionSpec::new("user", "User name to log in as; empty means the current local user."),
    OptionSpec::new("port", "TCP port of the SSH server.").default("22"),
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
    .default("false"),
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
    .default("true")
    .advanced(),
    OptionSpec::new(
        "concurrency",
        "Most requests in flight at once for a single file transfer.",
    )
    .default("64")
    .advanced(),
    OptionSpec::new(
        "connections",
        "Most SSH connections open to the server at once; 0 means no limit.",
    )
    .default("0")
    .advanced(),
    OptionSpec::new(
        "idle_timeout",
        "Close idle connections after this long; 0 keeps them open.",
    )
    .default("1m0s")
    .advanced(),
    OptionSpec::new(
        "connect_timeout",
        "Give up connecting (TCP, SSH handshake, login) after this long.",
    )
    .default("30s")
    .advanced(),
    OptionSpec::new(
        "disable_hashcheck",
        "Never run remote commands to compute checksums.",
    )
    .default("false"),
    OptionSpec::new(
        "path_override",
        "Path to use for remote checksum commands when it differs from the SFTP path (e.g. chroot).",
    )
    .advanced(),
    OptionSpec::new(
        "encoding",
        "How names the backend can't store are kept: rclone's encoding flags, comma-separated.",
    )
    .default("Slash,Del,Ctl,Dot")
    .advanced(),
    DESCRIPTION_OPT,
];

static S3_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "provider",
        "Who runs the S3 service (`AWS`, `Minio`, `Ceph`, `Other`…); adjusts defaults to suit.",
    ),
    OptionSpec::new(
        "access_key_id",
        "Access key ID; leave empty for anonymous access or runtime credentials.",
    ),
    OptionSpec::new(
        "secret_access_key",
        "Secret access key; leave empty for anonymous access or runtime credentials.",
    )
    .sensitive(),
    OptionSpec::new(
        "session_token",
        "Session token for temporary credentials.",
    )
    .sensitive()
    .advanced(),
    OptionSpec::new(
        "env_auth",
        "Take credentials from the environment, shared config files or instance metadata when the keys are empty.",
    )
    .default("false"),
    OptionSpec::new(
        "region",
        "Region to talk to; leave empty for services that have none.",
    ),
    OptionSpec::new(
        "endpoint",
        "URL of the S3 API; needed for anything but AWS.",
    ),
    OptionSpec::new(
        "force_path_style",
        "Put the bucket in the URL path instead of the host name (some providers need false).",
    )
    .default("true")
    .advanced(),
    OptionSpec::new(
        "acl",
        "Canned ACL given to new buckets and objects, e.g. `private`.",
    ),
    OptionSpec::new(
        "storage_class",
        "Storage class of new objects, e.g. `STANDARD_IA`.",
    ),
    OptionSpec::new(
        "upload_cutoff",
        "Files bigger than this are uploaded in parts.",
    )
    .default("200Mi")
    .advanced(),
    OptionSpec::new(
        "chunk_size",
        "Part size for multipart uploads; each parallel part is held in memory.",
    )
    .default("5Mi")
    .advanced(),
    OptionSpec::new(
        "upload_concurrency",
        "Parts of one file uploaded at the same time.",
    )
    .default("4")
    .advanced(),
    OptionSpec::new(
        "copy_cutoff",
        "Server-side copies bigger than this are copied in parts of this size (5Mi to 5Gi).",
    )
    .default("4.656Gi")
    .advanced(),
    OptionSpec::new(
        "disable_checksum",
        "Don't compute an MD5 before upload to store in the object metadata.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "no_check_bucket",
        "Assume the bucket exists instead of checking or creating it.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "list_chunk",
        "Number of keys asked for in each listing request.",
    )
    .default("1000")
    .advanced(),
    OptionSpec::new(
        "server_side_encryption",
        "Server-side encryption for new objects: `AES256` or `aws:kms`.",
    ),
    OptionSpec::new(
        "sse_kms_key_id",
        "KMS key (ID or ARN) new objects are encrypted with; needs server_side_encryption = aws:kms.",
    )
    .advanced(),
    OptionSpec::new(
        "location_constraint",
        "Location constraint used when creating buckets; must match the region.",
    ),
    OptionSpec::new(
        "resume",
        "Journal multipart uploads so an interrupted one is continued by the next run (ferry; --resume).",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "use_server_modtime",
        "Take the upload time (LastModified) as every object's mtime, saving a request per object (ferry; --use-server-modtime).",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "encoding",
        "How names the backend can't store are kept: rclone's encoding flags, comma-separated.",
    )
    .default("Slash,InvalidUtf8,Dot")
    .advanced(),
    DESCRIPTION_OPT,
];

static AZUREBLOB_OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "account",
        "Storage account name; empty with env_auth set means take it from the environment.",
    ),
    OptionSpec::new("key", "Shared key of the storage account.").sensitive(),
    OptionSpec::new(
        "sas_url",
        "Shared access signature URL, limiting access to one container (or the account).",
    )
    .sensitive(),
    OptionSpec::new(
        "endpoint",
        "Blob service endpoint, if not the standard one for the account.",
    )
    .advanced(),
    OptionSpec::new(
        "use_emulator",
        "Talk to a local storage emulator (Azurite) instead of Azure.",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "env_auth",
        "Take credentials from the environment, the Azure CLI or a managed identity.",
    )
    .default("false"),
    OptionSpec::new(
        "upload_cutoff",
        "Files bigger than this are uploaded in blocks (no longer used by rclone; kept for old configs).",
    )
    .advanced(),
    OptionSpec::new(
        "chunk_size",
        "Block size for uploads; each parallel block is held in memory.",
    )
    .default("4Mi")
    .advanced(),
    OptionSpec::new(
        "access_tier",
        "Access tier given to new blobs: `hot`, `cool`, `cold` or `archive`; empty keeps the account default.",
    )
    .advanced(),
    OptionSpec::new(
        "upload_concurrency",
        "Blocks of one file uploaded at once; each holds chunk_size in memory.",
    )
    .default("16")
    .advanced(),
    OptionSpec::new("list_chunk", "Blobs asked for in each listing request (at most 5000).")
        .default("5000")
        .advanced(),
    OptionSpec::new(
        "disable_checksum",
        "Don't store the MD5 of files uploaded in blocks (azcopy's --put-md5=false).",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "s2s_preserve_access_tier",
        "Blob-to-blob copies keep the source blob's access tier (ferry; azcopy's default).",
    )
    .default("true")
    .advanced(),
    OptionSpec::new(
        "s2s_preserve_blob_tags",
        "Blob-to-blob copies keep the source blob's index tags (ferry).",
    )
    .default("false")
    .advanced(),
    OptionSpec::new(
        "encoding",
        "How names the backend can't store are kept: rclone's encoding flags, comma-separated.",
    )
    .default("Slash,BackSlash,Del,Ctl,RightPeriod,InvalidUtf8")
    .advanced(),
    DESCRIPTION_OPT,
];

/// Specs of the backends ferry ships: `local`, `sftp`, `s3`, `azureblob`.
pub fn builtin_kinds() -> Vec<BackendKind> {
    vec![
        BackendKind {
            name: "local",
            description: "Local disk",
            options: LOCAL_OPTIONS,
        },
        BackendKind {
            name: "sftp",
            description: "SSH/SFTP server",
            options: SFTP_OPTIONS,
        },
        BackendKind {
            name: "s3",
            description: "Amazon S3 and S3-compatible object storage",
            options: S3_OPTIONS,
        },
        BackendKind {
            name: "azureblob",
            description: "Microsoft Azure Blob Storage",
            options: AZUREBLOB_OPTIONS,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_the_asked_options() {
        let r = Registry::with_builtins();
        assert_eq!(r.names(), vec!["azureblob", "local", "s3", "sftp"]);
        let sftp = r.get("sftp").unwrap();
        for k in [
            "host",
            "user",
            "port",
            "pass",
            "key_file",
            "key_file_pass",
            "key_pem",
            "key_use_agent",
            "known_hosts_file",
            "host_keys",
            "host_key_policy",
            "md5sum_command",
            "sha1sum_command",
            "cksum_command",
            "shell_type",
            "set_modtime",
            "concurrency",
            "connections",
            "idle_timeout",
            "disable_hashcheck",
            "path_override",
        ] {
            assert!(sftp.option(k).is_some(), "sftp lacks {k}");
        }
        assert!(sftp.is_secret("pass") && sftp.is_secret("key_file_pass"));
        assert!(!sftp.is_secret("host") && !sftp.is_redacted("host"));
        assert_eq!(sftp.default_for("port"), Some("22"));
        let s3 = r.get("s3").unwrap();
        for k in [
            "provider",
            "access_key_id",
            "secret_access_key",
            "session_token",
            "env_auth",
            "region",
            "endpoint",
            "force_path_style",
            "acl",
            "storage_class",
            "upload_cutoff",
            "chunk_size",
            "upload_concurrency",
            "copy_cutoff",
            "disable_checksum",
            "no_check_bucket",
            "list_chunk",
            "server_side_encryption",
            "location_constraint",
        ] {
            assert!(s3.option(k).is_some(), "s3 lacks {k}");
        }
        assert!(s3.is_redacted("secret_access_key") && !s3.is_secret("secret_access_key"));
        assert!(s3.is_redacted("session_token"));
        let az = r.get("azureblob").unwrap();
        for k in [
            "account",
            "key",
            "sas_url",
            "endpoint",
            "use_emulator",
            "env_auth",
            "upload_cutoff",
            "chunk_size",
            "access_tier",
        ] {
            assert!(az.option(k).is_some(), "azureblob lacks {k}");
        }
        assert!(az.is_redacted("key") && az.is_redacted("sas_url"));
        for k in r.kinds() {
            let mut names: Vec<_> = k.options.iter().map(|o| o.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                k.options.len(),
                "duplicate option in {}",
                k.name
            );
        }
    }

    #[test]
    fn register_replaces() {
        static OPTS: &[OptionSpec] = &[OptionSpec::new("x", "X.")];
        let mut r = Registry::with_builtins();
        let old = r.register(BackendKind {
            name: "local",
            description: "replaced",
            options: OPTS,
        });
        assert_eq!(old.unwrap().description, "Local disk");
        assert_eq!(r.get("local").unwrap().description, "replaced");
        assert_eq!(Registry::new().names_joined(), "(none registered)");
    }

    #[test]
    fn providers_json_shape() {
        let v = Registry::with_builtins().providers_json();
        let arr = v.as_array().unwrap();
        let sftp = arr.iter().find(|k| k["Name"] == "sftp").unwrap();
        let pass = sftp["Options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["Name"] == "pass")
            .unwrap();
        assert_eq!(pass["IsPassword"], true);
        assert_eq!(pass["Sensitive"], true);
        let port = sftp["Options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["Name"] == "port")
            .unwrap();
        assert_eq!(port["Default"], "22");
    }
}
