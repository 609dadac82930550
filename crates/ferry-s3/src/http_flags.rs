//! rclone's HTTP flags on S3: `--header` and `--user-agent` set on every request by an
//! interceptor before it is signed, `--ca-cert` as the client's only trusted roots.
//! (`--header-upload` becomes metadata, see `ferry_core::metadata::from_upload_headers`;
//! `--header-download` is added to each GetObject.)

use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use ferry_core::net::HttpSettings;
use ferry_core::{Error, ErrorKind, Result};

/// Sets `--header`'s headers and `--user-agent` on each request.
#[derive(Debug)]
pub(crate) struct HeaderInterceptor {
    headers: Vec<(String, String)>,
    user_agent: Option<String>,
}

impl HeaderInterceptor {
    /// `None` when neither flag is given.
    pub fn new(http: &HttpSettings) -> Option<HeaderInterceptor> {
        (!http.headers.is_empty() || http.user_agent.is_some()).then(|| HeaderInterceptor {
            headers: http.headers.clone(),
            user_agent: http.user_agent.clone(),
        })
    }
}

impl Intercept for HeaderInterceptor {
    fn name(&self) -> &'static str {
        "ferry --header"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context.request_mut().headers_mut();
        if let Some(ua) = &self.user_agent {
            headers.insert("user-agent", ua.clone());
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        Ok(())
    }
}

/// The TLS settings of the S3 client: the system's roots, or `--ca-cert`'s only. The
/// SDK's client can't skip certificate checks or present a client certificate, so those
/// flags are refused rather than ignored.
pub(crate) fn tls_context(http: &HttpSettings) -> Result<Option<tls::TlsContext>> {
    let unsupported: Vec<&str> = [
        (http.no_check_certificate, "--no-check-certificate"),
        (http.client_cert.is_some(), "--client-cert"),
    ]
    .into_iter()
    .filter_map(|(on, f)| on.then_some(f))
    .collect();
    if let Some(flag) = unsupported.first() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("s3 remotes can't use {flag} yet: give the server's CA with --ca-cert instead"),
        ));
    }
    if http.ca_certs.is_empty() {
        return Ok(None);
    }
    let mut store = tls::TrustStore::empty().with_native_roots(false);
    for path in &http.ca_certs {
        let pem = ferry_core::net::read_pem(path, "--ca-cert")?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            let why = "no PEM certificate in it";
            return Err(ferry_core::net::pem_error(path, "--ca-cert", why));
        }
        store.add_pem_certificate(pem);
    }
    let ctx = tls::TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| Error::new(ErrorKind::Config, format!("can't use --ca-cert: {e}")))?;
    Ok(Some(ctx))
}
