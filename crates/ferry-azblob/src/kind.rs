//! Registration: the azureblob backend's options as rclone names them (defaults written
//! once, here), the rclone options ferry does not implement, and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented, UrlForm};
use ferry_core::{Backend, Result};

static OPTIONS: &[OptionSpec] = &[
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
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "env_auth",
        "Take credentials from the environment, the Azure CLI or a managed identity.",
    )
    .bool(false),
    OptionSpec::new(
        "upload_cutoff",
        "Files bigger than this are uploaded in blocks (no longer used by rclone; kept for old configs).",
    )
    .advanced()
    .ty(OptionType::Size),
    OptionSpec::new(
        "chunk_size",
        "Block size for uploads; each parallel block is held in memory.",
    )
    .default("4Mi")
    .advanced()
    .ty(OptionType::Size),
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
    .advanced()
    .ty(OptionType::Int),
    OptionSpec::new("list_chunk", "Blobs asked for in each listing request (at most 5000).")
        .default("5000")
        .advanced()
    .ty(OptionType::Int),
    OptionSpec::new(
        "disable_checksum",
        "Don't store the MD5 of files uploaded in blocks (azcopy's --put-md5=false).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "s2s_preserve_access_tier",
        "Blob-to-blob copies keep the source blob's access tier (ferry; azcopy's default).",
    )
    .bool(true)
    .advanced(),
    OptionSpec::new(
        "s2s_preserve_blob_tags",
        "Blob-to-blob copies keep the source blob's index tags (ferry).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "block_md5",
        "Send each block's MD5 for the service to check as it arrives (ferry; rclone always does, azcopy only with --put-md5).",
    )
    .bool(true)
    .advanced(),
    OptionSpec::new(
        "azcopy_content_type",
        "Guess a new blob's Content-Type as azcopy does: its table, no charset, the first bytes sniffed for unknown names (ferry; set by its azcopy command line).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "blob_tags",
        "Index tags given to new blobs, URL-encoded `k=v&k2=v2` (ferry; azcopy's --blob-tags).",
    )
    .advanced(),
    OptionSpec::encoding("Slash,BackSlash,Del,Ctl,RightPeriod,InvalidUtf8"),
    OptionSpec::DESCRIPTION,
];

/// rclone's options of this backend that ferry does not implement.
const UNIMPLEMENTED: Unimplemented = Unimplemented {
    refused: &[
        "client_certificate_password",
        "client_certificate_path",
        "client_id",
        "client_secret",
        "connection_string",
        "decompress",
        "delete_snapshots",
        "directory_markers",
        "msi_client_id",
        "msi_mi_res_id",
        "msi_object_id",
        "password",
        "public_access",
        "service_principal_file",
        "tenant",
        "use_az",
        "use_msi",
        "username",
    ],
    tuning: &[
        "archive_tier_delete",
        "client_send_certificate_chain",
        "copy_concurrency",
        "copy_cutoff",
        "copy_total_concurrency",
        "disable_instance_discovery",
        "list_parallelism",
        "memory_pool_flush_time",
        "memory_pool_use_mmap",
        "no_check_container",
        "no_head_object",
        "use_arrow_list",
        "use_copy_blob",
    ],
    booleans: &[
        "archive_tier_delete",
        "client_send_certificate_chain",
        "decompress",
        "directory_markers",
        "disable_instance_discovery",
        "memory_pool_use_mmap",
        "no_check_container",
        "no_head_object",
        "use_arrow_list",
        "use_az",
        "use_copy_blob",
        "use_msi",
    ],
};

/// The `azureblob` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "azureblob",
    aliases: &[],
    description: "Microsoft Azure Blob Storage",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[
        UrlForm {
            scheme: "http",
            parse: crate::url::parse_http,
        },
        UrlForm {
            scheme: "https",
            parse: crate::url::parse_https,
        },
    ],
    network: true,
    http: true,
    commands: &[],
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let env = |k: &str| std::env::var(k).ok();
    let mut options = crate::AzOptions::from_options(req.options, env)?;
    options.timeouts = req.context.timeouts;
    options.http = req.context.http.clone();
    options.upload_meta = ferry_core::metadata::from_upload_headers(
        &options.http.upload_headers,
        "azureblob",
        "x-ms-meta-",
    )?;
    options.dump = req.context.dump;
    crate::AzBackend::new(req.root, options).map(|b| b as Arc<dyn Backend>)
}
