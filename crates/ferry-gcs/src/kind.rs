//! Registration: the `google cloud storage` backend's options as rclone 1.75 names them
//! (defaults written once, here), the rclone options ferry does not implement, and how
//! to open one. rclone's type is `google cloud storage` and its prefix (flags, `:gcs:`,
//! `RCLONE_GCS_*`) is `gcs`: ferry's flags come from the kind's name, so the kind is
//! `gcs` and the config file's `type = google cloud storage` is its alias.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented, UrlForm};
use ferry_core::{Backend, Result};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "project_number",
        "Project number; needed only to list, create or delete buckets.",
    )
    .sensitive(),
    OptionSpec::new(
        "user_project",
        "Project billed for requests (requester pays buckets).",
    )
    .sensitive(),
    OptionSpec::new(
        "service_account_file",
        "Service account credentials JSON file path.",
    ),
    OptionSpec::new(
        "service_account_credentials",
        "Service account credentials JSON blob.",
    )
    .sensitive(),
    OptionSpec::new(
        "access_token",
        "Short-lived access token, sent as it is (no refresh).",
    )
    .sensitive()
    .advanced(),
    OptionSpec::new(
        "anonymous",
        "Access public buckets and objects without credentials.",
    )
    .bool(false),
    OptionSpec::new(
        "object_acl",
        "Access control list for new objects (a predefined ACL such as `private` or `publicRead`); empty means `private`.",
    ),
    OptionSpec::new(
        "bucket_acl",
        "Access control list for new buckets (a predefined ACL); empty means `private`.",
    ),
    OptionSpec::new(
        "bucket_policy_only",
        "Access checks use bucket-level IAM policies: no ACLs are sent, and new buckets are created with uniform access.",
    )
    .bool(false),
    OptionSpec::new("location", "Location of newly created buckets."),
    OptionSpec::new(
        "storage_class",
        "Storage class of new objects (and of new buckets).",
    ),
    OptionSpec::new(
        "no_check_bucket",
        "Don't check that the bucket exists (or create it) before writing.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "decompress",
        "Decompress objects stored with `Content-Encoding: gzip` as they are read: their size and MD5 are then unknown (listed as -1), so a copy reads each whole before writing it and checks no size or hash of it.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "directory_markers",
        "Write an empty `dir/` object when a directory is made (and before each upload, for its directory) so empty directories persist; rmdir removes it.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "endpoint",
        "Custom endpoint for the storage API (`host[:port]` or a URL); empty means Google's.",
    )
    .advanced(),
    OptionSpec::new(
        "env_auth",
        "Take credentials from the runtime: GOOGLE_APPLICATION_CREDENTIALS or gcloud's application default credentials.",
    )
    .bool(false),
    OptionSpec::new(
        "chunk_size",
        "Files bigger than this are sent as resumable uploads in chunks of this size (ferry; a multiple of 256 KiB).",
    )
    .default("16Mi")
    .advanced()
    .ty(OptionType::Size),
    OptionSpec::new(
        "resume",
        "Journal resumable uploads so an interrupted one is continued by the next run (ferry; --resume).",
    )
    .bool(false)
    .advanced(),
    // rclone's OAuth options: a remote whose only credentials are these needs Google's
    // interactive login, which ferry refuses with one line saying what to use instead.
    OptionSpec::new("client_id", "OAuth client ID (interactive login; not supported by ferry).")
        .sensitive(),
    OptionSpec::new(
        "client_secret",
        "OAuth client secret (interactive login; not supported by ferry).",
    )
    .sensitive(),
    OptionSpec::new("token", "OAuth token as JSON (interactive login; not supported by ferry).")
        .sensitive()
        .advanced(),
    OptionSpec::new("auth_url", "OAuth authorization URL (interactive login).").advanced(),
    OptionSpec::new("token_url", "OAuth token URL (interactive login).").advanced(),
    OptionSpec::encoding("Slash,CrLf,InvalidUtf8,Dot"),
    OptionSpec::DESCRIPTION,
];

/// rclone's options of this backend that ferry does not implement.
const UNIMPLEMENTED: Unimplemented = Unimplemented {
    refused: &["client_credentials"],
    tuning: &[],
    booleans: &["client_credentials"],
};

/// The `gcs` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "gcs",
    aliases: &["google cloud storage"],
    description: "Google Cloud Storage (this is not Google Drive)",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[UrlForm {
        scheme: "gs",
        parse: crate::url::parse,
    }],
    network: true,
    http: true,
    commands: &[],
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let env = |k: &str| std::env::var(k).ok();
    let mut options = crate::GcsOptions::from_options(req.options, env)?;
    options.timeouts = req.context.timeouts;
    options.http = req.context.http.clone();
    options.upload_meta = ferry_core::metadata::from_upload_headers(
        &options.http.upload_headers,
        "gcs",
        "x-goog-meta-",
    )?;
    options.dump = req.context.dump;
    crate::GcsBackend::new(req.root, options).map(|b| b as Arc<dyn Backend>)
}
