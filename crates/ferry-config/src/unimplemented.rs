//! rclone options that ferry's backends do not implement, and what using one does.
//!
//! A remote written for rclone may carry any of rclone's options. Dropping one without a
//! word is only harmless when it tunes how rclone works; an option that changes what is
//! stored, or who may read it, or as whom ferry connects (encryption keys, ACLs, object
//! lock, versions, identities, proxies…) would be silently not honoured, so
//! using a remote that sets one is refused until ferry implements it. Options that only
//! tune get a one-line notice; keys rclone doesn't know either get a notice naming them.

/// What ferry does with an rclone option it does not implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unimplemented {
    /// It changes what is stored or who may read it: the remote is refused.
    Refused,
    /// It only tunes how rclone works: ignored, with a notice.
    Tuning,
}

/// Options that change what is stored, who may read it, or as whom (or by which route)
/// ferry connects.
const REFUSED: &[(&str, &[&str])] = &[
    ("local", &["metadata_restore_special_bits", "time_type"]),
    (
        "sftp",
        &[
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
    ),
    (
        "s3",
        &[
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
    ),
    (
        "azureblob",
        &[
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
    ),
];

/// Options that only tune how rclone works (buffers, concurrency, which requests it
/// makes, logging): ferry has its own ways and ignores them.
const TUNING: &[(&str, &[&str])] = &[
    (
        "local",
        &[
            "fatal_if_no_space",
            "hashes",
            "no_clone",
            "skip_specials",
            "zero_size_links",
        ],
    ),
    (
        "sftp",
        &[
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
    ),
    (
        "s3",
        &[
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
    ),
    (
        "azureblob",
        &[
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
    ),
];

/// The ones above that are rclone booleans, so that `--s3-versions` alone (no value) means
/// `true` as it does in rclone, instead of taking the next argument as its value.
const BOOLEANS: &[&str] = &[
    "archive_tier_delete",
    "ask_password",
    "bucket_object_lock_enabled",
    "bypass_governance_retention",
    "client_send_certificate_chain",
    "copy_is_hardlink",
    "decompress",
    "directory_bucket",
    "directory_markers",
    "disable_concurrent_reads",
    "disable_concurrent_writes",
    "disable_http2",
    "disable_instance_discovery",
    "fatal_if_no_space",
    "leave_parts_on_error",
    "memory_pool_use_mmap",
    "metadata_restore_special_bits",
    "no_check_container",
    "no_clone",
    "no_head",
    "no_head_object",
    "no_system_metadata",
    "object_lock_set_after_upload",
    "pin_host_key",
    "requester_pays",
    "skip_links",
    "skip_specials",
    "use_accelerate_endpoint",
    "use_arn_region",
    "use_arrow_list",
    "use_az",
    "use_copy_blob",
    "use_dual_stack",
    "use_fstat",
    "use_insecure_cipher",
    "use_msi",
    "use_presigned_request",
    "v2_auth",
    "version_deleted",
    "versions",
    "zero_size_links",
];

/// Whether unimplemented option `key` is a boolean in rclone.
pub fn unimplemented_is_bool(key: &str) -> bool {
    BOOLEANS.contains(&key)
}

fn listed(table: &[(&str, &[&str])], kind: &str, key: &str) -> bool {
    table
        .iter()
        .any(|(k, keys)| *k == kind && keys.contains(&key))
}

/// What ferry does with rclone's option `key` of backend `kind`, if ferry does not
/// implement it (`None`: not an rclone option ferry knows of, or one it implements).
pub fn unimplemented(kind: &str, key: &str) -> Option<Unimplemented> {
    if listed(REFUSED, kind, key) {
        Some(Unimplemented::Refused)
    } else if listed(TUNING, kind, key) {
        Some(Unimplemented::Tuning)
    } else {
        None
    }
}

/// Every rclone option of `kind` that ferry does not implement (for backend flags and
/// environment variables, which are matched against these names).
pub fn unimplemented_keys(kind: &str) -> impl Iterator<Item = &'static str> + '_ {
    REFUSED
        .iter()
        .chain(TUNING)
        .filter(move |(k, _)| *k == kind)
        .flat_map(|(_, keys)| keys.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::builtin_kinds;

    #[test]
    fn no_option_is_both_implemented_and_listed() {
        for kind in builtin_kinds() {
            for key in unimplemented_keys(kind.name) {
                assert!(
                    kind.option(key).is_none(),
                    "{}: {key} is implemented but listed as not",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn what_changes_storage_or_access_is_refused() {
        use Unimplemented::*;
        assert_eq!(unimplemented("s3", "sse_customer_key"), Some(Refused));
        assert_eq!(unimplemented("s3", "object_lock_mode"), Some(Refused));
        assert_eq!(unimplemented("s3", "requester_pays"), Some(Refused));
        assert_eq!(unimplemented("azureblob", "public_access"), Some(Refused));
        assert_eq!(unimplemented("s3", "max_upload_parts"), Some(Tuning));
        assert_eq!(unimplemented("s3", "sse_kms_key_id"), None);
        assert_eq!(unimplemented("s3", "no_such_thing"), None);
    }
}
