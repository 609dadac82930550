//! The SFTP backend end to end: the `ferry` binary against the testbed's sshd
//! (127.0.0.1:2222). Every test skips (or fails under `CI=true`) when the server is missing.
//!
//! The server runs on this machine, so files it wrote are checked directly on disk under
//! the test's directory (`Sftp::dir`), independently of ferry's own listing.

use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{split, write_file};
use ferry_testbed::{Sftp, Testbed};

/// A private HOME and config directory, so ferry's own known_hosts is per test.
struct Env {
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn config(&self) -> PathBuf {
        self.home.path().join("cfg").join("ferry.conf")
    }

    fn known_hosts(&self) -> PathBuf {
        self.home.path().join("cfg").join("known_hosts")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
        c.env_remove("FERRY_CONFIG")
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("FERRY_KNOWN_HOSTS")
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("xdg"))
            .arg("--config")
            .arg(self.config())
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        split(self.cmd().args(args).output().expect("ferry runs"))
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> (String, String) {
        let (code, out, err) = self.run(args);
        assert_eq!(
            code, 0,
            "ferry {args:?} failed\nstdout: {out}\nstderr: {err}"
        );
        (out, err)
    }

    #[track_caller]
    fn fails(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_ne!(
            code, 0,
            "ferry {args:?} should fail\nstdout: {out}\nstderr: {err}"
        );
        err
    }

    fn obscure(&self, s: &str) -> String {
        let (out, _) = self.ok(&["obscure", s]);
        out.trim().to_string()
    }
}

/// `:sftp,host=...,port=...,user=...` plus `opts`, then `:path`.
fn remote(s: &Sftp, opts: &[(&str, &str)], path: &str) -> String {
    let mut r = format!(":sftp,host={},port={},user={}", s.host, s.port, s.user);
    for (k, v) in opts {
        if v.contains([',', ':', '\'', '"', '=', ' ']) {
            r.push_str(&format!(",{k}='{}'", v.replace('\'', "''")));
        } else {
            r.push_str(&format!(",{k}={v}"));
        }
    }
    r.push(':');
    r.push_str(path);
    r
}

fn key_opts(s: &Sftp) -> Vec<(&'static str, String)> {
    vec![
        ("key_file", s.key.to_string_lossy().into_owned()),
        (
            "known_hosts_file",
            s.known_hosts.to_string_lossy().into_owned(),
        ),
    ]
}

/// The usual remote: key without passphrase, the testbed's known_hosts, at `rel` in the test dir.
fn kr(s: &Sftp, rel: &str) -> String {
    let o = key_opts(s);
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    remote(s, &o, &s.path(rel))
}

fn md5_hex(data: &[u8]) -> String {
    use std::fmt::Write;
    let out = Command::new("md5sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .expect("md5sum runs");
    let mut s = String::new();
    let _ = write!(s, "{}", String::from_utf8_lossy(&out.stdout));
    s.split_whitespace().next().unwrap().to_string()
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Files under `dir` on disk (the server's view): relative path -> bytes.
fn server_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    common::tree(dir)
        .into_iter()
        .map(|(k, (v, _))| (k, v))
        .collect()
}

fn mtime_secs(p: &Path) -> u64 {
    std::fs::metadata(p)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ------------------------------------------------------------------------ auth

#[test]
fn every_auth_mode_logs_in() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let local = env.home.path().join("up");
    write_file(&local.join("a.txt"), b"hello", 100);
    let kh = s.known_hosts.to_string_lossy().into_owned();
    // Key without passphrase.
    env.ok(&["copy", local.to_str().unwrap(), &kr(&s, "k")]);
    // Password (obscured, as rclone stores it).
    let pass = env.obscure(&s.password);
    let r = remote(
        &s,
        &[("pass", &pass), ("known_hosts_file", &kh)],
        &s.path("p"),
    );
    env.ok(&["copy", local.to_str().unwrap(), &r]);
    // Encrypted key with its passphrase.
    let kp = env.obscure(&s.key_passphrase);
    let r = remote(
        &s,
        &[
            ("key_file", s.key_pass.to_str().unwrap()),
            ("key_file_pass", &kp),
            ("known_hosts_file", &kh),
        ],
        &s.path("kp"),
    );
    env.ok(&["copy", local.to_str().unwrap(), &r]);
    // key_pem: the key inline, newlines written as \n.
    let pem = std::fs::read_to_string(&s.key)
        .unwrap()
        .replace('\n', "\\n");
    let r = remote(
        &s,
        &[("key_pem", &pem), ("known_hosts_file", &kh)],
        &s.path("pem"),
    );
    env.ok(&["copy", local.to_str().unwrap(), &r]);
    // `~` in key_file is the home directory.
    let home_key = env.home.path().join(".ssh").join("id_test");
    std::fs::create_dir_all(home_key.parent().unwrap()).unwrap();
    std::fs::copy(&s.key, &home_key).unwrap();
    let r = remote(
        &s,
        &[("key_file", "~/.ssh/id_test"), ("known_hosts_file", &kh)],
        &s.path("tilde"),
    );
    env.ok(&["copy", local.to_str().unwrap(), &r]);
    for d in ["k", "p", "kp", "pem", "tilde"] {
        assert_eq!(
            std::fs::read(Path::new(&s.path(d)).join("a.txt")).unwrap(),
            b"hello",
            "{d}"
        );
    }
    // A path relative to the login directory (`remote:path`) and an absolute one agree.
    let rel = s
        .path("k")
        .strip_prefix(&format!("{}/", s.root))
        .unwrap()
        .to_string();
    let o = key_opts(&s);
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (out, _) = env.ok(&["lsf", &remote(&s, &o, &rel)]);
    assert_eq!(out, "a.txt\n");
}

/// Adds public keys to the testbed's authorized_keys for one test, removing them on drop.
struct AuthorizedKeys {
    file: PathBuf,
    tag: String,
}

impl AuthorizedKeys {
    fn add(s: &Sftp, pubs: &[PathBuf]) -> AuthorizedKeys {
        let file = s.known_hosts.with_file_name("authorized_keys");
        let tag = format!("ferry-sftp-test-{}", std::process::id());
        let mut text = std::fs::read_to_string(&file).unwrap();
        for p in pubs {
            let k = std::fs::read_to_string(p).unwrap();
            let mut it = k.split_whitespace();
            text.push_str(&format!(
                "{} {} {tag}\n",
                it.next().unwrap(),
                it.next().unwrap()
            ));
        }
        std::fs::write(&file, text).unwrap();
        AuthorizedKeys { file, tag }
    }
}

impl Drop for AuthorizedKeys {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(&self.file) {
            let kept: String = text
                .lines()
                .filter(|l| !l.ends_with(&self.tag))
                .map(|l| format!("{l}\n"))
                .collect();
            let _ = std::fs::write(&self.file, kept);
        }
    }
}

fn keygen(path: &Path, args: &[&str]) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-C", "ferry-test"])
        .args(args)
        .arg("-f")
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success(), "ssh-keygen {args:?}");
}

#[test]
fn rsa_ecdsa_keys_and_the_agent() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let local = env.home.path().join("up");
    write_file(&local.join("a.txt"), b"keys", 100);
    let kh = s.known_hosts.to_string_lossy().into_owned();
    let dir = env.home.path();
    let rsa = dir.join("id_rsa");
    keygen(
        &rsa,
        &["-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "rsapass"],
    );
    let ecdsa = dir.join("id_ecdsa");
    keygen(&ecdsa, &["-t", "ecdsa", "-b", "256", "-N", "ecpass"]);
    let ecdsa384 = dir.join("id_ecdsa384");
    keygen(&ecdsa384, &["-t", "ecdsa", "-b", "384", "-N", ""]);
    let _ak = AuthorizedKeys::add(
        &s,
        &[
            rsa.with_extension("pub"),
            ecdsa.with_extension("pub"),
            ecdsa384.with_extension("pub"),
        ],
    );
    assert!(std::fs::read_to_string(&rsa)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    for (i, (key, pass)) in [(&rsa, "rsapass"), (&ecdsa, "ecpass"), (&ecdsa384, "")]
        .into_iter()
        .enumerate()
    {
        let mut o = vec![
            ("key_file", key.to_str().unwrap().to_string()),
            ("known_hosts_file", kh.clone()),
        ];
        if !pass.is_empty() {
            o.push(("key_file_pass", env.obscure(pass)));
        }
        let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.ok(&[
            "copy",
            local.to_str().unwrap(),
            &remote(&s, &o, &s.path(&format!("k{i}"))),
        ]);
        assert_eq!(
            std::fs::read(Path::new(&s.path(&format!("k{i}"))).join("a.txt")).unwrap(),
            b"keys"
        );
    }

    // The ssh-agent: our own, on a private socket, holding the testbed's key.
    let sock = dir.join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh-agent runs");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(&s.key)
        .env("SSH_AUTH_SOCK", &sock)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(added.success());
    let run_agent = |opts: &[(&str, &str)], rel: &str| {
        let mut c = env.cmd();
        c.env("SSH_AUTH_SOCK", &sock)
            .args(["copy", local.to_str().unwrap()])
            .arg(remote(&s, opts, &s.path(rel)));
        split(c.output().unwrap())
    };
    // key_use_agent, and the agent by default when no key or password is set.
    let (code, _, err) = run_agent(
        &[("key_use_agent", "true"), ("known_hosts_file", &kh)],
        "agent1",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_agent(&[("known_hosts_file", &kh)], "agent2");
    assert_eq!(code, 0, "{err}");
    // key_use_agent with key_file: only the agent key matching that file is offered.
    let (code, _, err) = run_agent(
        &[
            ("key_use_agent", "true"),
            ("key_file", ecdsa384.to_str().unwrap()),
            ("known_hosts_file", &kh),
        ],
        "agent3",
    );
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("refused"), "{err}");
    let _ = agent.kill();
    let _ = agent.wait();
    for d in ["agent1", "agent2"] {
        assert!(Path::new(&s.path(d)).join("a.txt").exists(), "{d}");
    }
}

#[test]
fn auth_failures_are_clear_and_never_show_secrets() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let kh = s.known_hosts.to_string_lossy().into_owned();
    let target = s.path("");

    // Wrong password.
    let secret = "Wr0ngPassw0rd-xyzzy";
    let bad = env.obscure(secret);
    let err = env.fails(&[
        "lsf",
        &remote(&s, &[("pass", &bad), ("known_hosts_file", &kh)], &target),
    ]);
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        err.contains("127.0.0.1:2222") && err.contains("pass"),
        "{err}"
    );
    assert!(!err.contains(secret) && !err.contains(&bad), "{err}");

    // Wrong passphrase.
    let secret = "not-the-passphrase-42";
    let bad = env.obscure(secret);
    let err = env.fails(&[
        "lsf",
        &remote(
            &s,
            &[
                ("key_file", s.key_pass.to_str().unwrap()),
                ("key_file_pass", &bad),
                ("known_hosts_file", &kh),
            ],
            &target,
        ),
    ]);
    assert!(
        err.contains("wrong passphrase") && err.contains("key_file_pass"),
        "{err}"
    );
    assert!(!err.contains(secret) && !err.contains(&bad), "{err}");

    // Encrypted key, no passphrase given.
    let err = env.fails(&[
        "lsf",
        &remote(
            &s,
            &[
                ("key_file", s.key_pass.to_str().unwrap()),
                ("known_hosts_file", &kh),
            ],
            &target,
        ),
    ]);
    assert!(
        err.contains("is encrypted") && err.contains("key_file_pass"),
        "{err}"
    );

    // A key the server does not know.
    let stranger = env.home.path().join("stranger");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(st.success());
    let err = env.fails(&[
        "lsf",
        &remote(
            &s,
            &[
                ("key_file", stranger.to_str().unwrap()),
                ("known_hosts_file", &kh),
            ],
            &target,
        ),
    ]);
    assert!(
        err.contains("refused") && err.contains("authorized_keys"),
        "{err}"
    );
    assert!(
        err.contains("127.0.0.1:2222") && err.contains("SHA256:"),
        "{err}"
    );

    // Nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = key_opts(&s);
    let mut o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let port_s = port.to_string();
    let r = remote(&s, &o, "/x").replace(",port=2222,", &format!(",port={port_s},"));
    let err = env.fails(&["lsf", &r]);
    assert!(
        err.contains("connection refused") && err.contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("check host and port"), "{err}");

    // A server that accepts and never speaks: a timeout naming the host.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sport = silent.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        silent.set_nonblocking(false).unwrap();
        if let Ok((c, _)) = silent.accept() {
            held.push(c);
            std::thread::sleep(Duration::from_secs(6));
        }
    });
    o.push(("connect_timeout", "2s"));
    let r = remote(&s, &o, "/x").replace(",port=2222,", &format!(",port={sport},"));
    let t0 = std::time::Instant::now();
    let err = env.fails(&["lsf", &r]);
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t0.elapsed()
    );
    assert!(
        err.contains("timed out") && err.contains(&format!("127.0.0.1:{sport}")),
        "{err}"
    );
    holder.join().unwrap();
}

// ------------------------------------------------------------------ host keys

fn other_key_line(env: &Env, host: &str) -> String {
    let f = env.home.path().join("otherhost");
    let _ = std::fs::remove_file(&f);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let pubkey = std::fs::read_to_string(f.with_extension("pub")).unwrap();
    let mut it = pubkey.split_whitespace();
    format!("{host} {} {}\n", it.next().unwrap(), it.next().unwrap())
}

fn host_fp(s: &Sftp) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(&s.known_hosts)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .find(|w| w.starts_with("SHA256:"))
        .expect("fingerprint")
        .to_string()
}

#[test]
fn host_keys_accepted_refused_changed() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let key = s.key.to_string_lossy().into_owned();
    let fp = host_fp(&s);
    let dir = s.path("");

    // accept-new (the default): recorded in ferry's known_hosts beside its config, with a notice.
    let r = remote(&s, &[("key_file", &key)], &dir);
    let (_, err) = env.ok(&["lsf", &r]);
    assert!(
        err.contains("Permanently added") && err.contains(&fp),
        "{err}"
    );
    let recorded = std::fs::read_to_string(env.known_hosts()).unwrap();
    assert!(
        recorded.starts_with("[127.0.0.1]:2222 ssh-ed25519 "),
        "{recorded}"
    );
    // Second time: known, silent.
    let (_, err) = env.ok(&["lsf", &r]);
    assert!(!err.contains("Permanently added"), "{err}");

    // strict: an unknown host is refused, with its fingerprint.
    let env2 = Env::new();
    let r = remote(
        &s,
        &[("key_file", &key), ("host_key_policy", "strict")],
        &dir,
    );
    let err = env2.fails(&["lsf", &r]);
    assert!(
        err.contains("not known") && err.contains(&fp) && err.contains("strict"),
        "{err}"
    );
    assert!(!env2.known_hosts().exists());
    // ... and accepted when a known_hosts file vouches for it, also as a hashed entry.
    let hashed = env2.home.path().join("hashed_known_hosts");
    std::fs::copy(&s.known_hosts, &hashed).unwrap();
    let st = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&hashed)
        .output()
        .unwrap();
    assert!(st.status.success());
    assert!(std::fs::read_to_string(&hashed).unwrap().starts_with("|1|"));
    let r = remote(
        &s,
        &[
            ("key_file", &key),
            ("host_key_policy", "strict"),
            ("known_hosts_file", hashed.to_str().unwrap()),
        ],
        &dir,
    );
    env2.ok(&["lsf", &r]);

    // A changed key is refused under every checking policy, naming both fingerprints.
    let env3 = Env::new();
    let wrong = env3.home.path().join("wrong_known_hosts");
    let line = other_key_line(&env3, "[127.0.0.1]:2222");
    std::fs::write(&wrong, &line).unwrap();
    let old_fp = {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(&wrong)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .find(|w| w.starts_with("SHA256:"))
            .unwrap()
            .to_string()
    };
    for policy in ["accept-new", "strict"] {
        let r = remote(
            &s,
            &[
                ("key_file", &key),
                ("host_key_policy", policy),
                ("known_hosts_file", wrong.to_str().unwrap()),
            ],
            &dir,
        );
        let err = env3.fails(&["lsf", &r]);
        assert!(err.contains("HOST KEY CHANGED"), "{policy}: {err}");
        assert!(
            err.contains(&fp) && err.contains(&old_fp),
            "{policy}: {err}"
        );
        assert!(err.contains("ssh-keygen -R"), "{policy}: {err}");
    }
    // ... also when the old key is in ferry's own known_hosts.
    std::fs::create_dir_all(env3.known_hosts().parent().unwrap()).unwrap();
    std::fs::write(env3.known_hosts(), &line).unwrap();
    let err = env3.fails(&["lsf", &remote(&s, &[("key_file", &key)], &dir)]);
    assert!(
        err.contains("HOST KEY CHANGED") && err.contains(&old_fp),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(env3.known_hosts()).unwrap(), line);

    // host_keys pins: the right key passes, another is refused.
    let pin = std::fs::read_to_string(&s.known_hosts).unwrap();
    let pin: Vec<&str> = pin.split_whitespace().skip(1).take(2).collect();
    let pin = pin.join(" ");
    let env4 = Env::new();
    env4.ok(&[
        "lsf",
        &remote(
            &s,
            &[
                ("key_file", &key),
                ("host_keys", &pin),
                ("host_key_policy", "strict"),
            ],
            &dir,
        ),
    ]);
    let other: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect();
    let err = env4.fails(&[
        "lsf",
        &remote(
            &s,
            &[("key_file", &key), ("host_keys", &other.join(" "))],
            &dir,
        ),
    ]);
    assert!(err.contains("MISMATCH") && err.contains(&fp), "{err}");

    // insecure: connects whatever is recorded, and says so.
    let r = remote(
        &s,
        &[
            ("key_file", &key),
            ("host_key_policy", "insecure"),
            ("known_hosts_file", wrong.to_str().unwrap()),
        ],
        &dir,
    );
    let (_, err) = env3.ok(&["lsf", &r]);
    assert!(err.contains("No host key validation"), "{err}");
}

// ------------------------------------------------------------------ transfers

#[test]
fn copy_and_sync_both_ways() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let src = env.home.path().join("src");
    write_file(&src.join("a.txt"), b"alpha", 3600);
    write_file(&src.join("dir/b.txt"), b"bravo bravo", 7200);
    write_file(
        &src.join("dir/deeper/c.bin"),
        &pseudo_random(300_000, 1),
        10,
    );
    write_file(&src.join("empty"), b"", 50);
    let dst = kr(&s, "up");
    env.ok(&["copy", src.to_str().unwrap(), &dst]);
    let on_server = Path::new(&s.dir).join("up");
    let want: std::collections::BTreeMap<String, Vec<u8>> = server_tree(&src);
    assert_eq!(server_tree(&on_server), want);
    // mtimes kept to the second
    for rel in ["a.txt", "dir/b.txt", "dir/deeper/c.bin", "empty"] {
        assert_eq!(
            mtime_secs(&src.join(rel)),
            mtime_secs(&on_server.join(rel)),
            "{rel}"
        );
    }
    // No temporary files left behind.
    let (out, _) = env.ok(&["lsf", "-R", &dst]);
    assert!(!out.contains(".partial"), "{out}");
    // A second run has nothing to do.
    let (_, err) = env.ok(&["copy", "-v", src.to_str().unwrap(), &dst]);
    assert!(!err.contains("Copied"), "{err}");

    // sync: a change, an addition, a deletion.
    write_file(&src.join("a.txt"), b"alpha two", 5);
    write_file(&src.join("new.txt"), b"new", 5);
    std::fs::remove_file(src.join("dir/b.txt")).unwrap();
    env.ok(&["sync", src.to_str().unwrap(), &dst]);
    assert_eq!(server_tree(&on_server), server_tree(&src));

    // Back down: sftp -> local.
    let down = env.home.path().join("down");
    env.ok(&["sync", &dst, down.to_str().unwrap()]);
    assert_eq!(server_tree(&down), server_tree(&src));
    for rel in ["a.txt", "dir/deeper/c.bin"] {
        assert_eq!(
            mtime_secs(&down.join(rel)),
            mtime_secs(&src.join(rel)),
            "{rel}"
        );
    }
    let (_, err) = env.ok(&["sync", "-v", &dst, down.to_str().unwrap()]);
    assert!(!err.contains("Copied"), "{err}");

    // Ranges: cat --offset/--count reads part of a file.
    let (out, _) = env.ok(&[
        "cat",
        "--offset",
        "2",
        "--count",
        "3",
        "--include",
        "a.txt",
        &dst,
    ]);
    assert_eq!(out, "pha");
    let (out, _) = env.ok(&["cat", "--tail", "2", "--include", "new.txt", &dst]);
    assert_eq!(out, "ew");

    // mkdir, rmdir, deletefile, purge.
    env.ok(&["mkdir", &kr(&s, "made/sub")]);
    assert!(Path::new(&s.path("made/sub")).is_dir());
    env.ok(&["rmdir", &kr(&s, "made/sub")]);
    assert!(!Path::new(&s.path("made/sub")).exists());
    // (A single-file path, `remote:dir/file`, is opened as a directory for non-local
    // backends by the CLI today, so the file is selected with a filter.)
    env.ok(&["delete", "--include", "new.txt", &dst]);
    assert!(!on_server.join("new.txt").exists());
    env.ok(&["purge", &kr(&s, "up")]);
    assert!(!on_server.exists());
}

#[test]
fn sftp_to_sftp_copy_and_server_side_move() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let src = env.home.path().join("src");
    for i in 0..20 {
        write_file(
            &src.join(format!("d{}/f{i}.txt", i % 3)),
            format!("file {i}").as_bytes(),
            100 + i,
        );
    }
    env.ok(&["copy", src.to_str().unwrap(), &kr(&s, "one")]);
    // A second remote on the same server, logging in with the password.
    let pass = env.obscure(&s.password);
    let kh = s.known_hosts.to_string_lossy().into_owned();
    let two = remote(
        &s,
        &[("pass", &pass), ("known_hosts_file", &kh)],
        &s.path("two"),
    );
    env.ok(&["sync", &kr(&s, "one"), &two]);
    assert_eq!(server_tree(Path::new(&s.path("two"))), server_tree(&src));
    let (_, err) = env.ok(&["check", &kr(&s, "one"), &two]);
    assert!(err.contains("0 differences found"), "{err}");
    // One connection for everything, few requests in flight: slower, same result.
    let mut o = key_opts(&s);
    o.push(("connections", "1".into()));
    o.push(("concurrency", "2".into()));
    o.push(("idle_timeout", "1s".into()));
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let four = remote(&s, &o, &s.path("four"));
    env.ok(&["copy", "--transfers", "8", src.to_str().unwrap(), &four]);
    assert_eq!(server_tree(Path::new(&s.path("four"))), server_tree(&src));
    // move within one server is a rename.
    let (_, err) = env.ok(&["move", "-v", &two, &kr(&s, "three")]);
    assert!(err.contains("Moved (server-side)"), "{err}");
    assert_eq!(server_tree(Path::new(&s.path("three"))), server_tree(&src));
    assert!(server_tree(Path::new(&s.path("two"))).is_empty());
}

#[test]
fn nasty_names_hash_safely() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let canary = std::env::temp_dir().join(format!("ferry-pwned-{}", std::process::id()));
    let _ = std::fs::remove_file(&canary);
    let c = canary.to_str().unwrap();
    let names = [
        "with space".to_string(),
        "a'b".to_string(),
        "x;y".to_string(),
        format!("$(touch {c})"),
        format!("`touch {c}`"),
        format!("x; touch {c}"),
        "new\nline".to_string(),
        "back\\slash".to_string(),
        "dq\"uote".to_string(),
        "ünïcödé ✓".to_string(),
        "-dash".to_string(),
        "$HOME".to_string(),
    ];
    let src = env.home.path().join("src");
    for (i, n) in names.iter().enumerate() {
        write_file(&src.join(n), format!("content {i}").as_bytes(), 60);
    }
    let dst = kr(&s, "nasty");
    env.ok(&["copy", src.to_str().unwrap(), &dst]);
    // On the server a newline is its picture `␊`, as rclone's default encoding stores it.
    let as_stored = |t: std::collections::BTreeMap<String, Vec<u8>>| {
        t.into_iter()
            .map(|(k, v)| (k.replace('\n', "\u{240a}"), v))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        server_tree(Path::new(&s.path("nasty"))),
        as_stored(server_tree(&src))
    );
    // Hashes of every name, computed by the server.
    let (out, _) = env.ok(&["md5sum", &dst]);
    for (i, n) in names.iter().enumerate() {
        let h = md5_hex(format!("content {i}").as_bytes());
        assert!(out.contains(&h), "{n:?}: {h} not in {out}");
    }
    let (out, _) = env.ok(&["sha1sum", &dst]);
    let sums = out
        .split_whitespace()
        .filter(|w| w.len() == 40 && w.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(sums.count(), names.len(), "{out}");
    // check and --checksum use them.
    let (_, err) = env.ok(&["check", src.to_str().unwrap(), &dst]);
    assert!(err.contains("0 differences found"), "{err}");
    let (_, err) = env.ok(&["sync", "--checksum", "-v", src.to_str().unwrap(), &dst]);
    assert!(!err.contains("Copied"), "{err}");
    // A change of content with equal size and time is found by --checksum.
    let victim = Path::new(&s.path("nasty")).join("x;y");
    let t = std::fs::metadata(&victim).unwrap().modified().unwrap();
    std::fs::write(&victim, b"content X").unwrap();
    filetime::set_file_mtime(&victim, filetime::FileTime::from_system_time(t)).unwrap();
    let (code, _, err) = env.run(&["check", src.to_str().unwrap(), &dst]);
    assert_eq!(code, 1, "{err}");
    env.ok(&["sync", "--checksum", src.to_str().unwrap(), &dst]);
    assert_eq!(std::fs::read(&victim).unwrap(), b"content 2");
    assert!(
        !canary.exists(),
        "a file name was executed by the remote shell"
    );
    // The same names come back down intact.
    let down = env.home.path().join("down");
    env.ok(&["copy", &dst, down.to_str().unwrap()]);
    assert_eq!(server_tree(&down), server_tree(&src));
    // Files too big to read back are checked by one batched `cksum` of all these names.
    let big = env.home.path().join("big");
    for (i, n) in names.iter().enumerate() {
        write_file(&big.join(n), &pseudo_random(70_000 + i, i as u64), 60);
    }
    let (_, err) = env.ok(&["copy", "-vv", big.to_str().unwrap(), &kr(&s, "nasty-big")]);
    assert!(!err.contains("not verified"), "{err}");
    assert_eq!(
        server_tree(Path::new(&s.path("nasty-big"))),
        as_stored(server_tree(&big))
    );
    assert!(
        !canary.exists(),
        "a file name was executed by the remote shell"
    );
}

#[test]
fn hashes_off_without_shell_or_when_disabled() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let src = env.home.path().join("src");
    write_file(&src.join("f"), b"data", 60);
    let mut o = key_opts(&s);
    o.push(("disable_hashcheck", "true".into()));
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dst = remote(&s, &o, &s.path("nohash"));
    env.ok(&["copy", src.to_str().unwrap(), &dst]);
    let (out, _) = env.ok(&["lsjson", "--hash", &dst]);
    assert!(!out.contains("\"md5\""), "{out}");
    let mut o = key_opts(&s);
    o.push(("shell_type", "none".into()));
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (out, _) = env.ok(&["lsjson", "--hash", &remote(&s, &o, &s.path("nohash"))]);
    assert!(!out.contains("\"md5\""), "{out}");
    let (out, _) = env.ok(&["lsjson", "--hash", &kr(&s, "nohash")]);
    assert!(out.contains(&md5_hex(b"data")), "{out}");
}

/// A hash command on the server that answers correctly for the detection probe
/// (`/dev/null`) and wrongly for every real file, standing in for a corrupted upload.
fn lying_hash_command(dir: &Path, real: &str, width: usize) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(format!("lying-{real}"));
    let zeros = "0".repeat(width);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = /dev/null ]; then exec {real} /dev/null; fi\nfor f; do printf '%s  %s\\n' {zeros} \"$f\"; done\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script.to_string_lossy().into_owned()
}

/// A `cksum` that answers the probe (empty stdin) correctly and gives every real file a
/// wrong CRC with its true size.
fn lying_cksum(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("lying-cksum");
    std::fs::write(
        &script,
        "#!/bin/sh\nif [ $# -eq 0 ]; then exec cksum; fi\nfor f; do printf '1 %s %s\\n' \"$(wc -c < \"$f\")\" \"$f\"; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script.to_string_lossy().into_owned()
}

#[test]
fn uploads_are_checked_by_the_server_hash() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let src = env.home.path().join("src");
    // Bigger than one read, so the server's hash checks it (smaller files are read back).
    write_file(&src.join("f.txt"), &pseudo_random(100_000, 3), 60);
    // The server user must be able to run the scripts: a world-readable dir outside HOME.
    let bin = tempfile::Builder::new()
        .prefix("ferry-lying-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(
        bin.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let sha1 = lying_hash_command(bin.path(), "sha1sum", 40);
    let md5 = lying_hash_command(bin.path(), "md5sum", 32);
    let dir = Path::new(&s.path("lied")).to_path_buf();
    let with = |extra: &[(&'static str, String)]| {
        let mut o = key_opts(&s);
        o.extend(extra.iter().cloned());
        let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
        remote(&s, &o, &s.path("lied"))
    };
    let files = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    // cksum (CRC-32 and size) is what uploads are checked with when the server has it.
    let dst = with(&[("cksum_command", lying_cksum(bin.path()))]);
    let (code, _, err) = env.run(&["copy", "--retries", "1", src.to_str().unwrap(), &dst]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("cksum sums (CRC-32 and size) differ"), "{err}");
    assert!(files(&dir).is_empty(), "left behind: {:?}", files(&dir));
    // Then SHA-1...
    let dst = with(&[
        ("cksum_command", "none".into()),
        ("sha1sum_command", sha1.clone()),
    ]);
    let (code, _, err) = env.run(&["copy", "--retries", "1", src.to_str().unwrap(), &dst]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("sha1 hashes differ"), "{err}");
    assert!(files(&dir).is_empty(), "left behind: {:?}", files(&dir));
    // ...then MD5.
    let dst = with(&[
        ("cksum_command", "none".into()),
        ("sha1sum_command", "none".into()),
        ("md5sum_command", md5),
    ]);
    let (code, _, err) = env.run(&["copy", "--retries", "1", src.to_str().unwrap(), &dst]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("md5 hashes differ"), "{err}");
    assert!(files(&dir).is_empty(), "left behind: {:?}", files(&dir));
    // An honest server: the same upload lands, checked by its real cksum.
    let (_, err) = env.ok(&["copy", "-vv", src.to_str().unwrap(), &kr(&s, "lied")]);
    assert_eq!(files(&dir), vec!["f.txt".to_string()]);
    assert!(err.contains("cksum true"), "{err}");
    assert!(!err.contains("not verified"), "{err}");
}

/// A second sshd on the testbed's keys whose SFTP server refuses setstat and fsetstat
/// (OpenSSH's `sftp-server -P`), as SFTP gateways in front of object storage treat times.
struct NoTimesServer {
    child: std::process::Child,
    port: u16,
    known_hosts: PathBuf,
    _dir: tempfile::TempDir,
}

impl NoTimesServer {
    fn start(s: &Sftp) -> NoTimesServer {
        const SFTP_SERVER: &str = "/usr/lib/openssh/sftp-server";
        assert!(
            Path::new(SFTP_SERVER).exists(),
            "{SFTP_SERVER} is missing: install openssh-server (scripts/testbed install)"
        );
        let run =
            std::env::var("FERRY_TESTBED_RUN").unwrap_or_else(|_| "/tmp/ferry-testbed".into());
        let conf = std::fs::read_to_string(Path::new(&run).join("ssh/sshd_config"))
            .expect("the testbed's sshd_config");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf: Vec<String> = conf
            .lines()
            .map(|l| match l.split_whitespace().next() {
                Some("Port") => format!("Port {port}"),
                Some("PidFile") => format!("PidFile {}", dir.path().join("pid").display()),
                Some("Subsystem") => format!("Subsystem sftp {SFTP_SERVER} -P setstat,fsetstat"),
                _ => l.to_string(),
            })
            .collect();
        let cfg = dir.path().join("sshd_config");
        std::fs::write(&cfg, conf.join("\n") + "\n").unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-f"])
            .arg(&cfg)
            .arg("-E")
            .arg(dir.path().join("log"))
            .spawn()
            .expect("sshd starts (tests run as root, like the testbed)");
        let known_hosts = dir.path().join("known_hosts");
        let line = s
            .hostkey_line
            .replacen(&format!(":{}]", s.port), &format!(":{port}]"), 1);
        std::fs::write(&known_hosts, line + "\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the setstat-refusing sshd did not listen: {}",
                std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        NoTimesServer {
            child,
            port,
            known_hosts,
            _dir: dir,
        }
    }

    fn remote(&self, s: &Sftp, rel: &str) -> String {
        let port = self.port.to_string();
        let kh = self.known_hosts.to_string_lossy().into_owned();
        let key = s.key.to_string_lossy().into_owned();
        let r = remote(
            s,
            &[("key_file", &key), ("known_hosts_file", &kh)],
            &s.path(rel),
        );
        r.replacen(&format!("port={}", s.port), &format!("port={port}"), 1)
    }
}

impl Drop for NoTimesServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_server_that_refuses_times_is_detected_once() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let server = NoTimesServer::start(&s);
    let src = env.home.path().join("src");
    for i in 0..5 {
        write_file(
            &src.join(format!("d/f{i}")),
            format!("file {i}").as_bytes(),
            86_400 * 30,
        );
    }
    let dst = server.remote(&s, "notimes");
    let (_, err) = env.ok(&["sync", "-v", src.to_str().unwrap(), &dst]);
    assert!(err.contains("stops sending times"), "{err}");
    assert_eq!(err.matches("stops sending times").count(), 1, "{err}");
    assert_eq!(
        server_tree(Path::new(&s.path("notimes"))),
        server_tree(&src)
    );
    // The server kept its own times: nothing claims otherwise.
    let on_server = Path::new(&s.path("notimes")).join("d/f0");
    let age = SystemTime::now()
        .duration_since(std::fs::metadata(&on_server).unwrap().modified().unwrap())
        .unwrap_or_default();
    assert!(
        age < Duration::from_secs(3600),
        "the server's time was {age:?} old"
    );
    // The next run finds the same content (by hash) and copies nothing.
    let (_, err) = env.ok(&["sync", "-v", src.to_str().unwrap(), &dst]);
    assert!(!err.contains("Copied"), "{err}");
    // Without hashes too: the server is probed before any comparison, so sizes decide.
    let nohash = dst.replacen(":sftp,", ":sftp,disable_hashcheck=true,", 1);
    let (_, err) = env.ok(&["sync", "-v", src.to_str().unwrap(), &nohash]);
    assert!(!err.contains("Copied"), "{err}");
    assert!(err.contains("stops sending times"), "{err}");
    // No probe file is left behind, and a server that keeps times hears nothing of this.
    assert_eq!(
        server_tree(Path::new(&s.path("notimes"))),
        server_tree(&src)
    );
    let (_, err) = env.ok(&["sync", "-v", src.to_str().unwrap(), &kr(&s, "times")]);
    assert!(!err.contains("stops sending times"), "{err}");
    let kept = Path::new(&s.path("times")).join("d/f0");
    assert_eq!(mtime_secs(&kept), mtime_secs(&src.join("d/f0")));
}

#[test]
fn a_200_mib_file_both_ways() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let src = env.home.path().join("src");
    let data = pseudo_random(200 * 1024 * 1024 + 12345, 7);
    write_file(&src.join("big.bin"), &data, 30);
    let want = md5_hex(&data);
    drop(data);
    env.ok(&["copy", src.to_str().unwrap(), &kr(&s, "big")]);
    let on_server = Path::new(&s.path("big")).join("big.bin");
    let mut f = std::fs::File::open(&on_server).unwrap();
    let mut back = Vec::new();
    f.read_to_end(&mut back).unwrap();
    assert_eq!(md5_hex(&back), want);
    drop(back);
    let down = env.home.path().join("down");
    env.ok(&["copy", &kr(&s, "big"), down.to_str().unwrap()]);
    assert_eq!(md5_hex(&std::fs::read(down.join("big.bin")).unwrap()), want);
    let (_, err) = env.ok(&["check", "--download", src.to_str().unwrap(), &kr(&s, "big")]);
    assert!(err.contains("0 differences found"), "{err}");
}

// ----------------------------------------------------------- dropped connections

/// The testbed sshd's master PID (from its PID file).
fn sshd_master() -> Option<u32> {
    let run = std::env::var("FERRY_TESTBED_RUN").unwrap_or_else(|_| "/tmp/ferry-testbed".into());
    let text = std::fs::read_to_string(Path::new(&run).join("sftp.pid")).ok()?;
    text.trim().parse().ok()
}

fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(1)?.parse().ok()
}

fn descends_from(mut pid: u32, ancestor: u32) -> bool {
    for _ in 0..8 {
        match ppid(pid) {
            Some(p) if p == ancestor => return true,
            Some(p) if p > 1 => pid = p,
            _ => return false,
        }
    }
    false
}

/// Socket inodes a process holds.
fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    rd.filter_map(|e| {
        let l = std::fs::read_link(e.ok()?.path()).ok()?;
        let s = l.to_string_lossy().into_owned();
        s.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
    })
    .collect()
}

/// (local port, remote port, inode) of the loopback TCP sockets.
fn tcp_table() -> Vec<(u16, u16, u64)> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let port = |s: &str| u16::from_str_radix(s.rsplit(':').next()?, 16).ok();
            Some((port(f.get(1)?)?, port(f.get(2)?)?, f.get(9)?.parse().ok()?))
        })
        .collect()
}

/// Kills the testbed sshd processes serving `client`'s connections (and nothing else).
fn kill_sessions_of(client: u32) -> usize {
    let Some(master) = sshd_master() else {
        return 0;
    };
    let table = tcp_table();
    let client_ports: Vec<u16> = socket_inodes(client)
        .into_iter()
        .filter_map(|ino| table.iter().find(|t| t.2 == ino).map(|t| t.0))
        .collect();
    let server_inodes: Vec<u64> = table
        .iter()
        .filter(|t| t.0 == 2222 && client_ports.contains(&t.1))
        .map(|t| t.2)
        .collect();
    // Find them all first: a killed monitor's child is re-parented at once.
    let mut victims = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == master || !descends_from(pid, master) {
            continue;
        }
        if socket_inodes(pid).iter().any(|i| server_inodes.contains(i)) {
            victims.push(pid);
        }
    }
    victims
        .into_iter()
        // SAFETY: kill(2) on PIDs just verified to be the testbed sshd's session processes.
        .filter(|pid| unsafe { libc_kill(*pid as i32, 9) } == 0)
        .count()
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Waits until an upload into `dir` is under way (a temporary file holding some bytes).
fn wait_for_partial(dir: &Path) -> bool {
    for _ in 0..600 {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".partial") && e.metadata().is_ok_and(|m| m.len() > 1 << 20) {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn server_killed_mid_transfer_then_rerun_completes() {
    let Some(s) = Testbed::sftp() else { return };
    if sshd_master().is_none() {
        eprintln!("SKIPPED: no testbed sshd PID file");
        return;
    }
    let env = Env::new();
    let src = env.home.path().join("src");
    let data = pseudo_random(40 * 1024 * 1024, 3);
    write_file(&src.join("big.bin"), &data, 30);
    write_file(&src.join("small.txt"), b"small", 30);
    let dst = kr(&s, "killed");
    let child = env
        .cmd()
        .args([
            "copy",
            "--bwlimit",
            "8M",
            "--retries",
            "1",
            "--low-level-retries",
            "1",
        ])
        .arg(&src)
        .arg(&dst)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(
        wait_for_partial(Path::new(&s.path("killed"))),
        "the upload never started"
    );
    let killed = kill_sessions_of(pid);
    assert!(killed > 0, "found no sshd session of ferry to kill");
    let out = child.wait_with_output().unwrap();
    let (code, _, err) = split(out);
    let final_path = Path::new(&s.path("killed")).join("big.bin");
    // Reported, and never a partial file under the final name.
    assert_ne!(
        code, 0,
        "the run should report the dropped connection\n{err}"
    );
    assert!(err.contains("big.bin"), "{err}");
    if let Ok(m) = std::fs::metadata(&final_path) {
        assert_eq!(
            m.len(),
            data.len() as u64,
            "a partial file under the final name"
        );
    }
    // A re-run completes.
    env.ok(&["copy", src.to_str().unwrap(), &dst]);
    assert_eq!(
        md5_hex(&std::fs::read(&final_path).unwrap()),
        md5_hex(&data)
    );
    // The leftover temporary file, if any, is hidden from listings.
    let (out, _) = env.ok(&["lsf", &dst]);
    assert_eq!(out, "big.bin\nsmall.txt\n");
}

#[test]
fn reconnects_after_a_dropped_connection() {
    let Some(s) = Testbed::sftp() else { return };
    if sshd_master().is_none() {
        return;
    }
    let env = Env::new();
    let src = env.home.path().join("src");
    let data = pseudo_random(24 * 1024 * 1024, 5);
    write_file(&src.join("big.bin"), &data, 30);
    let dst = kr(&s, "retry");
    // With low-level retries the same run reconnects and restarts the file.
    let child = env
        .cmd()
        .args([
            "copy",
            "--bwlimit",
            "8M",
            "--retries",
            "1",
            "--low-level-retries",
            "5",
        ])
        .arg(&src)
        .arg(&dst)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for_partial(Path::new(&s.path("retry"))),
        "the upload never started"
    );
    assert!(kill_sessions_of(child.id()) > 0);
    let out = child.wait_with_output().unwrap();
    let (code, _, err) = split(out);
    assert_eq!(code, 0, "{err}");
    let got = std::fs::read(Path::new(&s.path("retry")).join("big.bin")).unwrap();
    assert_eq!(md5_hex(&got), md5_hex(&data));
}

#[test]
fn refresh_times_fixes_times_where_no_hash_can_tell() {
    let Some(s) = Testbed::sftp() else { return };
    let sc = common::Scratch::new();
    sc.write("src/a.txt", "same bytes", 100);
    let base = s.rclone_remote();
    let dst = format!(
        "{},shell_type=none:{}",
        base.trim_end_matches(':'),
        s.path("rt")
    );
    let ok = |args: &[&str]| {
        let (code, out, err) = split(common::cloud().args(args).output().unwrap());
        assert_eq!(code, 0, "{args:?}: {err}");
        (out, err)
    };
    ok(&["copy", &sc.src(), &dst]);
    // The server's copy gets an older time; no hash is available to show it is equal.
    let on_server = Path::new(&s.path("rt")).join("a.txt");
    let old = SystemTime::now() - Duration::from_secs(86_400);
    filetime::set_file_mtime(&on_server, filetime::FileTime::from_system_time(old)).unwrap();
    let (_, err) = ok(&["copy", "-v", "--dry-run", &sc.src(), &dst]);
    assert!(
        err.contains("a.txt: Skipped copy"),
        "sent again without the flag: {err}"
    );
    let (_, err) = ok(&["copy", "-v", "--refresh-times", &sc.src(), &dst]);
    assert!(
        err.contains("a.txt: Updated modification time in destination"),
        "{err}"
    );
    assert!(!err.contains("Copied"), "{err}");
    let t = std::fs::metadata(&on_server).unwrap().modified().unwrap();
    let want = std::fs::metadata(sc.path("src/a.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        want.duration_since(UNIX_EPOCH).unwrap().as_secs()
    );
}

#[test]
fn a_missing_directory_exits_as_rclone_does_for_move_purge_and_rmdirs() {
    let Some(sftp) = Testbed::sftp() else { return };
    let s = common::Scratch::new();
    let local_gone = s.path("gone").to_string_lossy().into_owned();
    let remote_gone = sftp.rclone_path("gone");
    let local_dst = s.dst();
    let remote_dst = sftp.rclone_path("moved");
    // rclone: "directory not found" (3) from the listing or SFTP's rmdir; a plain error
    // (1) from the local rmdir and from a rename within one file system.
    for (args, code) in [
        (vec!["move", &local_gone, &remote_dst], 3),
        (vec!["move", &remote_gone, &local_dst], 3),
        (vec!["move", &remote_gone, &remote_dst], 1),
        (vec!["move", &local_gone, &local_dst], 1),
        (vec!["purge", &remote_gone], 3),
        (vec!["rmdirs", &remote_gone], 3),
        (vec!["rmdir", &remote_gone], 3),
        (vec!["purge", &local_gone], 1),
        (vec!["rmdirs", &local_gone], 1),
    ] {
        let retries: &[&str] = if args[0] == "move" {
            &["--retries", "1"]
        } else {
            &[]
        };
        let args = [&args[..], retries].concat();
        let (rclone, ferry) = common::side_by_side(sftp.rclone(), &args);
        assert_eq!(rclone.0, code, "rclone {args:?}");
        assert_eq!(ferry, rclone, "ferry {args:?} differs from rclone");
    }
}

/// A destination the SFTP user can't write gives one accurate error per file, naming the
/// directory ferry tried to make and why; nothing follows that would mislead (no advice to
/// turn modification times off, no claim to have set the time of a directory that was
/// never made).
#[test]
fn a_destination_the_user_cant_write_gives_one_accurate_error_per_file() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let src = env.home.path().join("src");
    write_file(&src.join("a.txt"), b"alpha", 3600);
    write_file(&src.join("sub/b.txt"), b"bravo", 3600);
    let o = key_opts(&s);
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // /etc belongs to root: the test user may not make a directory there.
    let dst = remote(&s, &o, "/etc/ferry-not-writable");
    let (code, _, err) = env.run(&["sync", "-v", "--retries", "1", src.to_str().unwrap(), &dst]);
    assert_eq!(code, 1, "{err}");
    let mkdir = "mkdir \"/etc/ferry-not-writable\" failed: permission denied";
    let url = format!(
        "sftp://{}@{}:{}/etc/ferry-not-writable",
        s.user, s.host, s.port
    );
    let mut want = vec![
        format!("ERROR: a.txt: Failed to copy: {mkdir}"),
        format!("ERROR: sub/b.txt: Failed to copy: {mkdir}"),
        format!("ERROR: {url}: not deleting files as there were IO errors"),
        "NOTICE: Failed to sync with 3 errors: last error was: not deleting files as there were IO errors".to_string(),
    ];
    want.sort();
    assert_eq!(common::log_messages(&err), want, "{err}");
}

/// Creating a file in, and removing one from, a directory the user can't write: each
/// failure names the step and the full server path, once.
#[test]
fn refused_creates_and_removes_name_the_step_and_the_server_path() {
    let Some(s) = Testbed::sftp() else { return };
    let env = Env::new();
    let src = env.home.path().join("src");
    write_file(&src.join("a.txt"), b"alpha", 3600);
    let o = key_opts(&s);
    let o: Vec<(&str, &str)> = o.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, _, err) = env.run(&[
        "copy",
        "--retries",
        "1",
        src.to_str().unwrap(),
        &remote(&s, &o, "/etc"),
    ]);
    assert_eq!(code, 1, "{err}");
    let lines = common::log_messages(&err);
    assert_eq!(lines.len(), 2, "{err}");
    // The upload goes to a temporary name first; that is the file the server refused.
    assert!(
        lines[1].starts_with("NOTICE: Failed to copy: create \"/etc/.a.txt.")
            && lines[1].ends_with(".partial\" failed: permission denied"),
        "{err}"
    );
    assert!(
        lines[0].starts_with("ERROR: a.txt: Failed to copy: create \"/etc/.a.txt."),
        "{err}"
    );
    let (code, _, err) = env.run(&["deletefile", &remote(&s, &o, "/etc/hostname")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("remove \"/etc/hostname\" failed: permission denied"),
        "{err}"
    );
    assert_eq!(err.matches("/etc/hostname").count(), 1, "{err}");
}
