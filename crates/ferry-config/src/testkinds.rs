//! The real backend kinds, for tests of config resolution and URL forms.

use ferry_core::kind::Registry;

pub(crate) fn registry() -> Registry {
    Registry::of([
        &ferry_local::KIND,
        &ferry_sftp::KIND,
        &ferry_s3::KIND,
        &ferry_azblob::KIND,
        &ferry_http::KIND,
        &ferry_webdav::KIND,
    ])
}
