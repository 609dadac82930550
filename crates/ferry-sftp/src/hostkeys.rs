//! Host-key checking: known_hosts files (plain, wildcard and hashed entries, `@revoked`),
//! pinned `host_keys`, and the `strict | accept-new | insecure` policy.
//!
//! A key that differs from a recorded one is always refused, whatever the policy says
//! (except `insecure`, which checks nothing and says so every run).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use hmac::{Hmac, Mac};
use russh::keys::ssh_key::{HashAlg, PublicKey};
use russh::keys::Algorithm;

use crate::options::{HostKeyPolicy, SftpOptions};

/// One matching known_hosts line.
#[derive(Clone, Debug)]
pub struct KnownKey {
    pub file: PathBuf,
    pub line: usize,
    pub key: PublicKey,
    pub revoked: bool,
}

/// What the check decided.
#[derive(Clone, Debug)]
pub enum Verdict {
    Accepted,
    /// Refused; the message says why and what to do.
    Refused(String),
}

/// `SHA256:...` as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

/// Whether a known_hosts host field (`a,b,!c`, wildcards, `|1|salt|hash`) names `host`.
pub fn host_field_matches(field: &str, host: &str) -> bool {
    let mut matched = false;
    for pat in field.split(',') {
        let (negated, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        let hit = if let Some(rest) = pat.strip_prefix("|1|") {
            hashed_matches(rest, host)
        } else {
            wildcard(
                pat.to_ascii_lowercase().as_bytes(),
                host.to_ascii_lowercase().as_bytes(),
            )
        };
        if hit && negated {
            return false;
        }
        matched |= hit;
    }
    matched
}

fn hashed_matches(rest: &str, host: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((salt, hash)) = rest.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(host.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Parses one `algo base64` key (as in known_hosts or `host_keys`).
pub fn parse_key(algo_and_b64: &str) -> Option<PublicKey> {
    let mut it = algo_and_b64.split_whitespace();
    let first = it.next()?;
    let b64 = match it.next() {
        Some(b) => b,
        None => first, // a bare base64 blob
    };
    russh::keys::parse_public_key_base64(b64).ok()
}

/// The keys `file` records for `host` (`host` or `[host]:port`).
pub fn keys_in_file(file: &Path, host: &str) -> Vec<KnownKey> {
    let Ok(text) =
        ferry_core::limited::read_limited_string(file, ferry_core::limited::CONFIG_LIMIT)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next().unwrap_or("");
        let mut revoked = false;
        if first.starts_with('@') {
            match first {
                "@revoked" => revoked = true,
                _ => continue, // @cert-authority: host certificates are not used here
            }
            first = fields.next().unwrap_or("");
        }
        if !host_field_matches(first, host) {
            continue;
        }
        let (Some(_algo), Some(b64)) = (fields.next(), fields.next()) else {
            continue;
        };
        if let Some(key) = parse_key(b64) {
            out.push(KnownKey {
                file: file.to_path_buf(),
                line: i + 1,
                key,
                revoked,
            });
        }
    }
    out
}

/// Every file that is read, in order: `known_hosts_file`, `~/.ssh/known_hosts`, ferry's own.
fn files(opts: &SftpOptions) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for f in [
        &opts.known_hosts_file,
        &opts.user_known_hosts,
        &opts.ferry_known_hosts,
    ]
    .into_iter()
    .flatten()
    {
        if !v.contains(f) {
            v.push(f.clone());
        }
    }
    v
}

/// All recorded keys for the remote's host.
pub fn known_keys(opts: &SftpOptions) -> Vec<KnownKey> {
    let host = opts.host_port();
    files(opts)
        .iter()
        .flat_map(|f| keys_in_file(f, &host))
        .collect()
}

/// Host-key algorithms to offer, those already known for this host first (as OpenSSH
/// does), so a server with several keys shows the one we can check.
pub fn preferred_algorithms(opts: &SftpOptions) -> Vec<Algorithm> {
    let default: Vec<Algorithm> = russh::Preferred::DEFAULT.key.to_vec();
    let mut known: Vec<PublicKey> = known_keys(opts)
        .into_iter()
        .filter(|k| !k.revoked)
        .map(|k| k.key)
        .collect();
    known.extend(opts.host_keys.iter().filter_map(|k| parse_key(k)));
    let mut first = Vec::new();
    for alg in &default {
        let family_known = known.iter().any(|k| same_family(&k.algorithm(), alg));
        if family_known {
            first.push(alg.clone());
        }
    }
    let rest: Vec<Algorithm> = default.into_iter().filter(|a| !first.contains(a)).collect();
    first.extend(rest);
    first
}

fn same_family(a: &Algorithm, b: &Algorithm) -> bool {
    match (a, b) {
        (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
        _ => a == b,
    }
}

fn algo_name(key: &PublicKey) -> String {
    match key.algorithm() {
        Algorithm::Ed25519 => "ED25519".into(),
        Algorithm::Rsa { .. } => "RSA".into(),
        Algorithm::Ecdsa { .. } => "ECDSA".into(),
        other => other.to_string().to_ascii_uppercase(),
    }
}

/// Serialises appends to ferry's known_hosts within this process.
static LEARN: Mutex<()> = Mutex::new(());

/// Decides about the key a server presented.
pub fn check(opts: &SftpOptions, key: &PublicKey) -> Verdict {
    let host = opts.host_port();
    let fp = fingerprint(key);
    if opts.policy == HostKeyPolicy::Insecure {
        tracing::warn!(
            "{}: No host key validation is being performed (host_key_policy = insecure): the connection to {host} could be intercepted; its {} key is {fp}",
            opts.display,
            algo_name(key)
        );
        return Verdict::Accepted;
    }
    let known = known_keys(opts);
    if let Some(r) = known.iter().find(|k| k.revoked && same_key(&k.key, key)) {
        return Verdict::Refused(format!(
            "the host key of {host} ({fp}) is marked @revoked in {} line {}: refusing to connect",
            r.file.display(),
            r.line
        ));
    }
    if !opts.host_keys.is_empty() {
        let pinned: Vec<PublicKey> = opts.host_keys.iter().filter_map(|k| parse_key(k)).collect();
        if pinned.iter().any(|p| same_key(p, key)) {
            return Verdict::Accepted;
        }
        let pins: Vec<String> = pinned.iter().map(fingerprint).collect();
        return Verdict::Refused(format!(
            "HOST KEY MISMATCH for {host}: the server offered {} key {fp}, but host_keys pins {}; if the server's key really changed, update host_keys",
            algo_name(key),
            if pins.is_empty() {
                "no valid key (check its `algo base64` format)".to_string()
            } else {
                pins.join(", ")
            }
        ));
    }
    let valid: Vec<&KnownKey> = known.iter().filter(|k| !k.revoked).collect();
    if valid.iter().any(|k| same_key(&k.key, key)) {
        return Verdict::Accepted;
    }
    if let Some(old) = valid.first() {
        let olds: Vec<String> = valid
            .iter()
            .map(|k| {
                format!(
                    "{} key {} ({} line {})",
                    algo_name(&k.key),
                    fingerprint(&k.key),
                    k.file.display(),
                    k.line
                )
            })
            .collect();
        return Verdict::Refused(format!(
            "HOST KEY CHANGED for {host}: the server offered {} key {fp}, but {} was recorded. \
             Someone could be intercepting the connection, or the server's key was replaced. \
             If you are sure the new key is right, remove the old entry with `ssh-keygen -R '{host}' -f {}` and connect again",
            algo_name(key),
            olds.join(", "),
            old.file.display()
        ));
    }
    match opts.policy {
        HostKeyPolicy::Strict => Verdict::Refused(format!(
            "the host key of {host} is not known ({} key {fp}) and host_key_policy is strict: \
             add it to a known_hosts file (e.g. `ssh-keyscan -p {} {} >> {}` after checking the fingerprint) or set host_keys",
            algo_name(key),
            opts.port,
            opts.host,
            opts.known_hosts_file
                .as_ref()
                .or(opts.ferry_known_hosts.as_ref())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.ssh/known_hosts".into())
        )),
        HostKeyPolicy::AcceptNew => learn(opts, key),
        HostKeyPolicy::Insecure => Verdict::Accepted,
    }
}

fn learn(opts: &SftpOptions, key: &PublicKey) -> Verdict {
    let host = opts.host_port();
    let fp = fingerprint(key);
    let Some(file) = &opts.ferry_known_hosts else {
        tracing::warn!(
            "{}: accepting the unknown host key of {host} ({} {fp}) for this run only: there is no home directory to record it in",
            opts.display,
            algo_name(key)
        );
        return Verdict::Accepted;
    };
    let _guard = LEARN.lock().unwrap_or_else(|e| e.into_inner());
    // Another connection of this run may have recorded it meanwhile.
    let again = keys_in_file(file, &host);
    if again.iter().any(|k| !k.revoked && same_key(&k.key, key)) {
        return Verdict::Accepted;
    }
    if let Some(other) = again.iter().find(|k| !k.revoked) {
        return Verdict::Refused(format!(
            "HOST KEY CHANGED for {host}: the server offered {fp}, but {} was just recorded in {} line {}",
            fingerprint(&other.key),
            other.file.display(),
            other.line
        ));
    }
    let line = match key.to_openssh() {
        Ok(k) => {
            // Drop the comment: `algo base64` only.
            let mut parts = k.split_whitespace();
            format!(
                "{host} {} {}\n",
                parts.next().unwrap_or(""),
                parts.next().unwrap_or("")
            )
        }
        Err(e) => {
            return Verdict::Refused(format!("can't encode the host key of {host}: {e}"));
        }
    };
    let written = (|| -> std::io::Result<()> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)?;
        f.write_all(line.as_bytes())
    })();
    match written {
        Ok(()) => tracing::warn!(
            "{}: Permanently added {host} ({} key {fp}) to ferry's known hosts {} (host_key_policy = accept-new)",
            opts.display,
            algo_name(key),
            file.display()
        ),
        Err(e) => tracing::warn!(
            "{}: accepting the new host key of {host} ({} key {fp}), but it could not be recorded in {}: {e}",
            opts.display,
            algo_name(key),
            file.display()
        ),
    }
    Verdict::Accepted
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";

    #[test]
    fn patterns() {
        assert!(host_field_matches("[127.0.0.1]:2222", "[127.0.0.1]:2222"));
        assert!(!host_field_matches("[127.0.0.1]:2223", "[127.0.0.1]:2222"));
        assert!(host_field_matches("a,b.example", "b.example"));
        assert!(host_field_matches("*.example", "x.example"));
        assert!(!host_field_matches("*.example,!bad.example", "bad.example"));
        assert!(host_field_matches("Host", "host"));
        // From russh's tests: a hashed entry for "example.com".
        assert!(host_field_matches(
            "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak=",
            "example.com"
        ));
        assert!(!host_field_matches(
            "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak=",
            "example.org"
        ));
    }

    #[test]
    fn file_lookup_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("kh");
        std::fs::write(
            &f,
            format!("# comment\nother {KEY}\n[h]:2222 {KEY}\n@revoked h {KEY}\n"),
        )
        .unwrap();
        let k = keys_in_file(&f, "[h]:2222");
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].line, 3);
        let r = keys_in_file(&f, "h");
        assert!(r[0].revoked);
        assert!(fingerprint(&k[0].key).starts_with("SHA256:"));
    }
}
