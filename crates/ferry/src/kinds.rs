//! The backends built into this binary: one line each. Everything about a backend (its
//! options, flags, environment variables, URL forms, help and how to open it) comes from
//! the kind its crate declares.

use std::sync::LazyLock;

use ferry_config::Registry;

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    Registry::of([
        &ferry_local::KIND,
        &ferry_sftp::KIND,
        &ferry_s3::KIND,
        &ferry_azblob::KIND,
        &ferry_ftp::KIND,
        &ferry_webdav::KIND,
        &ferry_http::KIND,
        &ferry_alias::KIND,
        &ferry_crypt::KIND,
        &ferry_smb::KIND,
        &ferry_combine::KIND,
        &ferry_union::KIND,
        &ferry_gcs::KIND,
    ])
});

/// The registered kinds.
pub fn registry() -> &'static Registry {
    &REGISTRY
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kinds that have no `encoding` option in rclone 1.75.
    const WITHOUT_ENCODING: &[&str] = &["http", "alias", "crypt", "combine", "union"];

    #[test]
    fn every_kind_declares_each_option_once_and_knows_what_it_lacks() {
        for kind in registry().kinds() {
            let mut names: Vec<_> = kind.options.iter().map(|o| o.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                kind.options.len(),
                "duplicate option in {}",
                kind.name
            );
            // rclone's http has no encoding option (it stores names as they are).
            assert!(
                kind.option("encoding").is_some() || WITHOUT_ENCODING.contains(&kind.name),
                "{} has no encoding",
                kind.name
            );
            for key in kind.unimplemented.keys() {
                assert!(
                    kind.option(key).is_none(),
                    "{}: {key} is implemented but listed as not",
                    kind.name
                );
            }
            for key in kind.unimplemented.booleans {
                assert!(
                    kind.unimplemented.effect(key).is_some(),
                    "{}: {key} is a boolean of nothing",
                    kind.name
                );
            }
            // Every default reads back as its declared type.
            let empty = ferry_core::kind::Options::from_pairs(kind, []);
            let with_defaults = kind
                .options
                .iter()
                .filter_map(|o| Some((o.name, o.default?)))
                .fold(empty, |o, (k, v)| o.with(k, v));
            with_defaults
                .check()
                .unwrap_or_else(|e| panic!("{}: a default is not its type: {e}", kind.name));
        }
    }

    #[test]
    fn what_changes_storage_or_access_is_refused() {
        use ferry_core::kind::Effect::*;
        let effect =
            |kind: &str, key: &str| registry().get(kind).unwrap().unimplemented.effect(key);
        assert_eq!(effect("s3", "sse_customer_key"), Some(Refused));
        assert_eq!(effect("s3", "object_lock_mode"), Some(Refused));
        assert_eq!(effect("s3", "requester_pays"), Some(Refused));
        assert_eq!(effect("azureblob", "public_access"), Some(Refused));
        assert_eq!(effect("local", "no_set_modtime"), Some(Refused));
        assert_eq!(effect("s3", "max_upload_parts"), Some(Tuning));
        assert_eq!(effect("s3", "sse_kms_key_id"), None);
        assert_eq!(effect("s3", "no_such_thing"), None);
    }
}
