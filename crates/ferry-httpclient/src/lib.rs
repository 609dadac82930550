//! The HTTP client every HTTP backend (and `copyurl`) builds from the run's settings:
//! rclone's timeouts, `--user-agent`, `--header`, the TLS flags and the HTTP/2 and
//! keep-alive switches, in one place so that each backend honours them the same way.

use std::time::Duration;

use ferry_core::net::{pem_error, read_pem, HttpSettings, Timeouts};
use ferry_core::{Error, ErrorKind, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The `User-Agent` sent unless `--user-agent` says otherwise.
pub const USER_AGENT: &str = concat!("ferry/", env!("CARGO_PKG_VERSION"));

/// A client builder with the run's settings applied; the caller adds what is its own
/// (a redirect policy, a Unix socket) and builds it.
pub fn builder(timeouts: &Timeouts, http: &HttpSettings) -> Result<reqwest::ClientBuilder> {
    let mut b = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(http.user_agent.as_deref().unwrap_or(USER_AGENT))
        .default_headers(header_map(&http.headers, "--header")?);
    // rclone's --contimeout and --timeout (an answer or a transfer going quiet).
    if let Some(t) = timeouts.connect {
        b = b.connect_timeout(t);
    }
    if let Some(t) = timeouts.idle {
        b = b.read_timeout(t);
    }
    if http.disable_http2 {
        b = b.http1_only();
    }
    if http.disable_keep_alives {
        b = b.pool_max_idle_per_host(0);
    }
    if http.use_cookies {
        // One jar for the whole run, as rclone's: every client (a backend's redirecting
        // and non-redirecting ones, copyurl's) sends back what any of them was given.
        static JAR: std::sync::OnceLock<std::sync::Arc<reqwest::cookie::Jar>> =
            std::sync::OnceLock::new();
        b = b.cookie_provider(JAR.get_or_init(Default::default).clone());
    }
    if http.no_check_certificate {
        b = b.danger_accept_invalid_certs(true);
    }
    if !http.ca_certs.is_empty() {
        // As rclone: the CAs given are the only ones trusted.
        b = b.tls_built_in_root_certs(false);
        for path in &http.ca_certs {
            let pem = read_pem(path, "--ca-cert")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| pem_error(path, "--ca-cert", e))?;
            if certs.is_empty() {
                return Err(pem_error(path, "--ca-cert", "no PEM certificate in it"));
            }
            for cert in certs {
                b = b.add_root_certificate(cert);
            }
        }
    }
    if let Some((cert, key)) = &http.client_cert {
        let mut pem = read_pem(cert, "--client-cert")?;
        pem.push(b'\n');
        pem.extend(read_pem(key, "--client-key")?);
        let id =
            reqwest::Identity::from_pem(&pem).map_err(|e| pem_error(cert, "--client-cert", e))?;
        b = b.identity(id);
    }
    Ok(b)
}

/// The client `builder` makes, for `kind` (named in the error, with its innermost cause:
/// reqwest's own says only "builder error").
pub fn build(builder: reqwest::ClientBuilder, kind: &str) -> Result<reqwest::Client> {
    builder.build().map_err(|e| {
        let mut cause: &(dyn std::error::Error + 'static) = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        Error::new(
            ErrorKind::Config,
            format!("{kind}: can't set up HTTP: {cause}"),
        )
    })
}

/// A response's body as a file's data: counted against its Content-Length, a failure
/// one line without the URL (which may hold a signature).
pub fn download(res: reqwest::Response) -> ferry_core::ByteStream {
    let expected = res.content_length();
    ferry_core::body::counted(body_reader(res), "the download", expected)
}

/// A whole (small) answer's body, `what` naming it in errors ("the directory page").
pub async fn read_body(res: reqwest::Response, what: &str) -> Result<Vec<u8>> {
    let expected = res.content_length();
    ferry_core::body::read_all(body_reader(res), what, expected).await
}

fn body_reader(res: reqwest::Response) -> impl tokio::io::AsyncRead + Send + Unpin + 'static {
    use futures::TryStreamExt;
    let stream = res
        .bytes_stream()
        .map_err(|e| std::io::Error::other(ferry_core::body::innermost(&e.without_url())));
    tokio_util::io::StreamReader::new(stream)
}

/// `headers` (`--header-upload` or `--header-download`) added to one request.
pub fn with_headers(
    mut req: reqwest::RequestBuilder,
    headers: &[(String, String)],
) -> reqwest::RequestBuilder {
    for (name, value) in headers {
        req = req.header(name.as_str(), value.as_str());
    }
    req
}

/// `headers` given with `flag`, as a header map: a name or value HTTP can't carry is a
/// configuration error before anything is sent, not a failed request later.
pub fn header_map(headers: &[(String, String)], flag: &str) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = |what: &str| {
            Error::new(
                ErrorKind::Config,
                format!("{flag} {name:?}: {what} can't be sent in an HTTP header"),
            )
        };
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("the name"))?;
        let v = HeaderValue::from_str(value).map_err(|_| bad("the value"))?;
        map.append(n, v);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_certificate_file_is_a_config_error_naming_it() {
        let mut http = HttpSettings {
            ca_certs: vec!["/nonexistent/ca.pem".into()],
            ..Default::default()
        };
        let e = builder(&Timeouts::DEFAULT, &http).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.to_string().contains("--ca-cert /nonexistent/ca.pem"),
            "{e}"
        );
        let empty = std::env::temp_dir().join(format!("ferry-empty-ca-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        http.ca_certs = vec![empty.clone()];
        let e = builder(&Timeouts::DEFAULT, &http).err().unwrap();
        std::fs::remove_file(&empty).unwrap();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn unsendable_headers_are_refused_before_any_request() {
        let bad = [("X-A".to_owned(), "line\nbreak".to_owned())];
        let e = header_map(&bad, "--header-upload").unwrap_err();
        assert!(
            e.to_string().contains("--header-upload \"X-A\": the value"),
            "{e}"
        );
        let ok = header_map(&[("X-A".into(), "ok".into())], "--header").unwrap();
        assert_eq!(ok["x-a"], "ok");
    }
}
