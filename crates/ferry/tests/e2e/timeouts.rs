//! `--contimeout` and `--timeout` reach every network backend: a server that takes the
//! connection and then says nothing makes a run fail after the given time, with one line
//! saying so, instead of hanging for the defaults (1m to connect, 5m idle).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::common::run;

/// A listener on loopback that accepts connections (the kernel does) and never answers.
fn silent_server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn timeout_ends_a_request_to_a_silent_http_server() {
    let (_server, port) = silent_server();
    let remote = format!(
        ":s3,provider=Other,endpoint='http://127.0.0.1:{port}',access_key_id=a,secret_access_key=b:bucket"
    );
    let started = Instant::now();
    let (code, _, err) = run(&[
        "lsf",
        &remote,
        "--timeout",
        "1s",
        "--low-level-retries",
        "1",
        "--retries",
        "1",
    ]);
    let took = started.elapsed();
    assert_ne!(code, 0, "{err}");
    assert!(took < Duration::from_secs(30), "took {took:?}: {err}");
    assert!(
        err.to_lowercase().contains("timed out") || err.to_lowercase().contains("timeout"),
        "{err}"
    );
    assert!(!err.contains("secret_access_key=b"), "{err}");
}

#[test]
fn contimeout_ends_an_ssh_handshake_that_never_comes() {
    let (_server, port) = silent_server();
    let remote = format!(":sftp,host=127.0.0.1,port={port},user=nobody:");
    let started = Instant::now();
    let (code, _, err) = run(&["lsf", &remote, "--contimeout", "1s", "--retries", "1"]);
    let took = started.elapsed();
    assert_ne!(code, 0, "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {err}");
    assert!(err.contains("timed out after 1s"), "{err}");
}

#[test]
fn a_remotes_own_connect_timeout_wins_over_contimeout() {
    let (_server, port) = silent_server();
    let remote = format!(":sftp,host=127.0.0.1,port={port},user=nobody,connect_timeout=2s:");
    let (code, _, err) = run(&["lsf", &remote, "--contimeout", "1s", "--retries", "1"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("timed out after 2s"), "{err}");
}
