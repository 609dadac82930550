//! Building the SDK client: explicit configuration only, never the instance-metadata
//! service (the SDK's default credential chain is not even compiled in).

use std::path::PathBuf;

use aws_credential_types::Credentials;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};
use aws_smithy_http_client::tls;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use ferry_core::{Error, ErrorKind, Result};

use crate::options::S3Options;

/// Attempts per request made by the SDK itself (throttling, 5xx, dropped connections),
/// with exponential backoff and jitter; ferry's own low-level retries come on top.
pub const SDK_ATTEMPTS: u32 = 5;

/// Credentials found in `AWS_*` variables or the shared credentials file (`env_auth`).
fn env_credentials() -> Option<Credentials> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let key = var("AWS_ACCESS_KEY_ID").or_else(|| var("AWS_ACCESS_KEY"));
    let secret = var("AWS_SECRET_ACCESS_KEY").or_else(|| var("AWS_SECRET_KEY"));
    if let (Some(key), Some(secret)) = (key, secret) {
        return Some(Credentials::new(
            key,
            secret,
            var("AWS_SESSION_TOKEN"),
            None,
            "ferry-env",
        ));
    }
    let file = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".aws/credentials")))?;
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let text =
        ferry_core::limited::read_limited_string(&file, ferry_core::limited::CONFIG_LIMIT).ok()?;
    let (key, secret, token) = profile_keys(&text, &profile);
    Some(Credentials::new(
        key?,
        secret?,
        token,
        None,
        "ferry-profile",
    ))
}

/// `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token` of `[profile]`.
fn profile_keys(text: &str, profile: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (mut key, mut secret, mut token) = (None, None, None);
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            inside =
                name == profile || name.strip_prefix("profile ").map(str::trim) == Some(profile);
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = Some(v.trim().to_owned());
            match k.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => key = v,
                "aws_secret_access_key" => secret = v,
                "aws_session_token" => token = v,
                _ => {}
            }
        }
    }
    (key, secret, token)
}

/// The region to sign for: the option, else (with `env_auth`) `AWS_REGION`, else us-east-1.
pub fn region(opts: &S3Options) -> String {
    if let Some(r) = &opts.region {
        return r.clone();
    }
    if opts.env_auth {
        for k in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let Some(v) = std::env::var(k).ok().filter(|v| !v.is_empty()) {
                return v;
            }
        }
    }
    "us-east-1".into()
}

/// The endpoint URL: the option, else (with `env_auth`) `AWS_ENDPOINT_URL_S3` or
/// `AWS_ENDPOINT_URL`; `None` means AWS's own endpoint for the region.
pub fn endpoint(opts: &S3Options) -> Option<String> {
    let fix = |e: &str| {
        if e.contains("://") {
            e.trim_end_matches('/').to_owned()
        } else {
            format!("https://{}", e.trim_end_matches('/'))
        }
    };
    if let Some(e) = &opts.endpoint {
        return Some(fix(e));
    }
    if opts.env_auth {
        for k in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] {
            if let Some(v) = std::env::var(k).ok().filter(|v| !v.is_empty()) {
                return Some(fix(&v));
            }
        }
    }
    None
}

pub fn build(opts: &S3Options) -> Result<aws_sdk_s3::Client> {
    let mut http = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::Ring,
    ));
    if let Some(ctx) = crate::http_flags::tls_context(&opts.http)? {
        http = http.tls_context(ctx);
    }
    let http = http.build_https();
    let mut b = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::reach::Named(http))
        .region(Region::new(region(opts)))
        .force_path_style(opts.force_path_style)
        // Content-MD5 is sent by ferry itself; no CRC trailers that other servers reject.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(SDK_ATTEMPTS)
                // ferry's one policy (ferry_core::retry), applied by the SDK.
                .with_initial_backoff(ferry_core::retry::Backoff::DEFAULT.base)
                .with_max_backoff(ferry_core::retry::Backoff::DEFAULT.max),
        )
        .timeout_config({
            let mut t = TimeoutConfig::builder();
            t.set_connect_timeout(opts.timeouts.connect);
            t.set_read_timeout(opts.timeouts.idle);
            t.build()
        })
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Some(e) = endpoint(opts) {
        b = b.endpoint_url(e);
    }
    if let Some(headers) = crate::http_flags::HeaderInterceptor::new(&opts.http) {
        b = b.interceptor(headers);
    }
    if opts.dump.any() {
        b = b.interceptor(crate::dump::DumpInterceptor(opts.dump));
    }
    let creds = match (&opts.access_key_id, &opts.secret_access_key) {
        (Some(k), Some(s)) => Some(Credentials::new(
            k,
            s,
            opts.session_token.clone(),
            None,
            "ferry-config",
        )),
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::new(
                ErrorKind::Auth,
                "s3: access_key_id and secret_access_key must be set together",
            ))
        }
        (None, None) if opts.env_auth => env_credentials(),
        (None, None) => None,
    };
    b = match creds {
        Some(c) => b.credentials_provider(c),
        None => b.allow_no_auth(),
    };
    Ok(aws_sdk_s3::Client::from_conf(b.build()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key=B\n\n[profile other]\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=T\n";
        assert_eq!(
            profile_keys(text, "default"),
            (Some("A".into()), Some("B".into()), None)
        );
        assert_eq!(
            profile_keys(text, "other"),
            (Some("C".into()), Some("D".into()), Some("T".into()))
        );
        assert_eq!(profile_keys(text, "none"), (None, None, None));
    }

    #[test]
    fn endpoints_get_a_scheme() {
        let o = S3Options {
            endpoint: Some("minio.local:9000/".into()),
            ..S3Options::default()
        };
        assert_eq!(endpoint(&o).as_deref(), Some("https://minio.local:9000"));
    }
}
