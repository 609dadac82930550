//! The service-account JWT bearer flow against a token endpoint started here, with a key
//! generated here (`openssl genpkey`): the assertion is RS256-signed by the key in the
//! file, names the account, the scope and the endpoint, and its token is used as the
//! bearer of storage requests, fetched once and then reused.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ferry_core::{Backend, RelPath};
use ferry_gcs::{GcsBackend, GcsOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "ya29.test-token-from-the-local-endpoint";
const EMAIL: &str = "ferry-test@example.iam.gserviceaccount.com";

/// A fresh 2048-bit RSA key as PKCS#8 PEM, as Google's key files hold it.
fn generate_key() -> Option<String> {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        _ if ferry_testbed::Testbed::in_ci() => {
            panic!("CI=true: openssl is needed to generate a test key")
        }
        _ => {
            eprintln!("SKIPPED: openssl genpkey is not available");
            None
        }
    }
}

fn der_of(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

struct Seen {
    token_requests: AtomicUsize,
    authorised_requests: AtomicUsize,
}

/// Reads one HTTP/1.1 request: (request line, headers, body).
async fn read_request(s: &mut tokio::net::TcpStream) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut tmp).await.unwrap();
        assert!(n > 0, "connection closed mid-request");
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut tmp).await.unwrap();
        body.extend_from_slice(&tmp[..n]);
    }
    (line, headers, body)
}

async fn reply(s: &mut tokio::net::TcpStream, status: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(msg.as_bytes()).await.unwrap();
}

/// Checks the assertion as Google does: signature by the account's key, issuer, scope,
/// audience and lifetime.
fn check_assertion(form: &str, public_key: &[u8], token_uri: &str) {
    let assertion = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("assertion="))
        .expect("an assertion");
    let assertion = ferry_core::kind::percent_decode(assertion).unwrap();
    assert!(
        form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant%2Dtype%3Ajwt%2Dbearer"),
        "{form}"
    );
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], EMAIL);
    assert_eq!(claims["aud"], token_uri);
    assert_eq!(claims["scope"], ferry_gcs::SCOPE);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    )
    .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
    .expect("the assertion is signed by the service account's key");
}

/// Token endpoint at `/token`, a storage API answering empty listings to the token it gave.
async fn serve(listener: TcpListener, public_key: Vec<u8>, token_uri: String, seen: Arc<Seen>) {
    loop {
        let (mut s, _) = listener.accept().await.unwrap();
        let (line, headers, body) = read_request(&mut s).await;
        if line.starts_with("POST /token ") {
            seen.token_requests.fetch_add(1, Ordering::SeqCst);
            check_assertion(&String::from_utf8(body).unwrap(), &public_key, &token_uri);
            reply(
                &mut s,
                "200 OK",
                &format!(r#"{{"access_token":"{TOKEN}","expires_in":3600,"token_type":"Bearer"}}"#),
            )
            .await;
            continue;
        }
        let auth = headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone());
        if auth.as_deref() == Some(&format!("Bearer {TOKEN}")) {
            seen.authorised_requests.fetch_add(1, Ordering::SeqCst);
            reply(
                &mut s,
                "200 OK",
                r#"{"kind":"storage#objects","items":[],"prefixes":[]}"#,
            )
            .await;
        } else {
            reply(
                &mut s,
                "401 Unauthorized",
                r#"{"error":{"code":401,"message":"no token"}}"#,
            )
            .await;
        }
    }
}

#[tokio::test]
async fn service_account_key_is_traded_for_a_token_once() {
    let Some(pem) = generate_key() else { return };
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der_of(&pem)).unwrap();
    let public_key = ring::signature::KeyPair::public_key(&key).as_ref().to_vec();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let token_uri = format!("{base}/token");
    let seen = Arc::new(Seen {
        token_requests: AtomicUsize::new(0),
        authorised_requests: AtomicUsize::new(0),
    });
    tokio::spawn(serve(listener, public_key, token_uri.clone(), seen.clone()));

    let creds = serde_json::json!({
        "type": "service_account",
        "client_email": EMAIL,
        "private_key": pem,
        "private_key_id": "k1",
        "token_uri": token_uri,
    })
    .to_string();
    // From a file, as service_account_file reads it, and inline.
    let dir = std::env::temp_dir().join(format!("ferry-gcs-sa-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key.json");
    std::fs::write(&file, &creds).unwrap();
    for (key, value) in [
        ("service_account_file", file.to_str().unwrap()),
        ("service_account_credentials", creds.as_str()),
    ] {
        let before = seen.token_requests.load(Ordering::SeqCst);
        let opts = GcsOptions::from_pairs(&[(key, value), ("endpoint", &base)]).unwrap();
        assert!(
            !format!("{opts:?}").contains("PRIVATE KEY"),
            "options' Debug shows no key"
        );
        let b = GcsBackend::new("bkt/dir", opts).unwrap();
        for _ in 0..2 {
            let listing = b.list_dir(&RelPath::root()).await.unwrap();
            assert!(listing.entries.is_empty());
        }
        assert_eq!(
            seen.token_requests.load(Ordering::SeqCst) - before,
            1,
            "{key}: the token is cached"
        );
    }
    // env_auth: the key file named by GOOGLE_APPLICATION_CREDENTIALS.
    let options = ferry_core::kind::Options::from_pairs(
        &ferry_gcs::KIND,
        [("env_auth", "true"), ("endpoint", base.as_str())],
    );
    let path = file.to_str().unwrap().to_owned();
    let env = move |k: &str| (k == "GOOGLE_APPLICATION_CREDENTIALS").then(|| path.clone());
    let b = GcsBackend::from_options("bkt", &options, env).unwrap();
    b.list_dir(&RelPath::root()).await.unwrap();
    assert_eq!(seen.token_requests.load(Ordering::SeqCst), 3);
    assert_eq!(seen.authorised_requests.load(Ordering::SeqCst), 5);
    // Without the variable, env_auth says what is missing.
    let e = GcsBackend::from_options("bkt", &options, |_| None)
        .err()
        .unwrap();
    assert!(
        e.message().contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_refused_key_fails_in_one_line_without_secrets() {
    let Some(pem) = generate_key() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = read_request(&mut s).await;
            reply(
                &mut s,
                "400 Bad Request",
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            )
            .await;
        }
    });
    let creds = serde_json::json!({
        "type": "service_account", "client_email": EMAIL, "private_key": pem, "token_uri": format!("{base}/token"),
    })
    .to_string();
    let opts = GcsOptions::from_pairs(&[
        ("service_account_credentials", creds.as_str()),
        ("endpoint", &base),
    ])
    .unwrap();
    let b = GcsBackend::new("bkt", opts).unwrap();
    let e = b.list_dir(&RelPath::root()).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("invalid_grant: Invalid JWT Signature."),
        "{msg}"
    );
    assert!(
        !msg.contains('\n') && !msg.contains("PRIVATE") && !msg.contains("assertion="),
        "{msg}"
    );
}
