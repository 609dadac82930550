//! Registration: the s3 backend's options as rclone names them (defaults written
//! once, here), the rclone options ferry does not implement, and how to open one.

use std::sync::Arc;

use ferry_core::kind::{BackendKind, OpenRequest, OptionSpec, OptionType, Unimplemented, UrlForm};
use ferry_core::{Backend, Result};

static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        "provider",
        "Who runs the S3 service (`AWS`, `Minio`, `Ceph`, `Other`…); adjusts defaults to suit.",
    ),
    OptionSpec::new(
        "access_key_id",
        "Access key ID; leave empty for anonymous access or runtime credentials.",
    )
    .identifying(),
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
    .bool(false),
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
    .bool(true)
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
    .advanced()
    .ty(OptionType::Size),
    OptionSpec::new(
        "chunk_size",
        "Part size for multipart uploads; each parallel part is held in memory.",
    )
    .default("5Mi")
    .advanced()
    .ty(OptionType::Size),
    OptionSpec::new(
        "upload_concurrency",
        "Parts of one file uploaded at the same time.",
    )
    .default("4")
    .advanced()
    .ty(OptionType::Int),
    OptionSpec::new(
        "copy_cutoff",
        "Server-side copies bigger than this are copied in parts of this size (5Mi to 5Gi).",
    )
    .default("4.656Gi")
    .advanced()
    .ty(OptionType::Size),
    OptionSpec::new(
        "disable_checksum",
        "Don't compute an MD5 before upload to store in the object metadata.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "no_check_bucket",
        "Assume the bucket exists instead of checking or creating it.",
    )
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "list_chunk",
        "Number of keys asked for in each listing request.",
    )
    .default("1000")
    .advanced()
    .ty(OptionType::Int),
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
    .bool(false)
    .advanced(),
    OptionSpec::new(
        "use_server_modtime",
        "Take the upload time (LastModified) as every object's mtime, saving a request per object (ferry; --use-server-modtime).",
    )
    .bool(false)
    .advanced(),
    OptionSpec::encoding("Slash,InvalidUtf8,Dot"),
    OptionSpec::DESCRIPTION,
];

/// rclone's options of this backend that ferry does not implement.
const UNIMPLEMENTED: Unimplemented = Unimplemented {
    refused: &[
        "bucket_acl",
        "bucket_object_lock_enabled",
        "bypass_governance_retention",
        "decompress",
        "directory_bucket",
        "directory_markers",
        "no_system_metadata",
        "object_lock_legal_hold_status",
        "object_lock_mode",
        "object_lock_retain_until_date",
        "object_lock_set_after_upload",
        "profile",
        "requester_pays",
        "role_arn",
        "role_external_id",
        "shared_credentials_file",
        "sse_customer_algorithm",
        "sse_customer_key",
        "sse_customer_key_base64",
        "sse_customer_key_md5",
        "version_at",
        "version_deleted",
        "versions",
    ],
    tuning: &[
        "disable_http2",
        "download_url",
        "ibm_api_key",
        "ibm_iam_endpoint",
        "ibm_resource_instance_id",
        "leave_parts_on_error",
        "list_url_encode",
        "list_version",
        "list_versions_oldest_first",
        "max_upload_parts",
        "memory_pool_flush_time",
        "memory_pool_use_mmap",
        "might_gzip",
        "no_head",
        "no_head_object",
        "object_lock_supported",
        "role_session_duration",
        "role_session_name",
        "sdk_log_mode",
        "sign_accept_encoding",
        "sts_endpoint",
        "use_accelerate_endpoint",
        "use_accept_encoding_gzip",
        "use_already_exists",
        "use_arn_region",
        "use_data_integrity_protections",
        "use_dual_stack",
        "use_multipart_etag",
        "use_multipart_uploads",
        "use_presigned_request",
        "use_unsigned_payload",
        "use_x_id",
        "v2_auth",
    ],
    booleans: &[
        "bucket_object_lock_enabled",
        "bypass_governance_retention",
        "decompress",
        "directory_bucket",
        "directory_markers",
        "disable_http2",
        "leave_parts_on_error",
        "memory_pool_use_mmap",
        "no_head",
        "no_head_object",
        "no_system_metadata",
        "object_lock_set_after_upload",
        "requester_pays",
        "use_accelerate_endpoint",
        "use_arn_region",
        "use_dual_stack",
        "use_presigned_request",
        "v2_auth",
        "version_deleted",
        "versions",
    ],
};

/// The `s3` backend as the binary registers it.
pub static KIND: BackendKind = BackendKind {
    name: "s3",
    aliases: &[],
    description: "Amazon S3 and S3-compatible object storage",
    options: OPTIONS,
    unimplemented: UNIMPLEMENTED,
    urls: &[UrlForm {
        scheme: "s3",
        parse: crate::url::parse,
    }],
    network: true,
    http: true,
    commands: &crate::command::COMMANDS,
    open,
};

fn open(req: &OpenRequest<'_>) -> Result<Arc<dyn Backend>> {
    let mut options = crate::S3Options::from_options(req.options)?;
    options.timeouts = req.context.timeouts;
    options.dump = req.context.dump;
    options.http = req.context.http.clone();
    options.upload_meta = ferry_core::metadata::from_upload_headers(
        &options.http.upload_headers,
        "s3",
        "x-amz-meta-",
    )?;
    crate::S3Backend::new(req.root, options).map(|b| b as Arc<dyn Backend>)
}
