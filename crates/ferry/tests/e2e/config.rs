//! The config file, remotes and secrets end to end: `ferry config ...`, `listremotes`,
//! `obscure`/`reveal`, remote paths in a sync, environment remotes, rclone's file as a
//! read-only fallback, bad input, and `FERRY_<FLAG>` defaults.
//!
//! Every test runs ferry with its own temporary HOME and names the config file with
//! `--config` or `FERRY_CONFIG`; the real home is never touched. Tests that also run rclone
//! read `FERRY_TEST_RCLONE` and print `SKIPPED: ...` without it (fail when `CI=true`).

use crate::common;

use common::rclone;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// A private HOME for one test, with helpers to run ferry (and rclone) inside it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn p(&self, rel: &str) -> String {
        self.path(rel).to_string_lossy().into_owned()
    }

    /// ferry with HOME set to this home and no config-related variables inherited.
    fn cmd(&self) -> Command {
        let mut cmd = common::ferry();
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("FERRY_") || k.starts_with("RCLONE_") {
                cmd.env_remove(&*k);
            }
        }
        cmd.env_remove("XDG_CONFIG_HOME")
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut cmd = self.cmd();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        common::split(cmd.output().expect("ferry runs"))
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(&[], args)
    }

    /// Runs ferry with `input` on stdin.
    fn run_stdin(&self, args: &[&str], input: &[u8]) -> (i32, String, String) {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferry runs");
        child.stdin.take().unwrap().write_all(input).unwrap();
        common::split(child.wait_with_output().unwrap())
    }

    /// Runs rclone with this HOME and no inherited RCLONE_ variables; returns (code, stdout);
    /// stderr goes into the panic message when the code is 2 (a usage error).
    fn rclone(&self, bin: &Path, args: &[&str]) -> (i32, String) {
        self.rclone_env(bin, &[], args)
    }

    /// [`Home::rclone`] with `env` set.
    fn rclone_env(&self, bin: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
        let mut cmd = Command::new(bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("RCLONE_") {
                cmd.env_remove(&k);
            }
        }
        let out = cmd
            .args(args)
            .envs(env.iter().copied())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path(".config"))
            .env("XDG_CACHE_HOME", self.path(".cache"))
            .output()
            .unwrap_or_else(|e| panic!("can't run rclone {}: {e}", bin.display()));
        let (code, out, err) = common::split(out);
        assert_ne!(code, 2, "rclone {args:?}: {err}");
        (code, out)
    }

    /// A small source tree `a` (absolute path returned).
    fn tree(&self) -> String {
        common::write_file(&self.path("a/x.txt"), b"x", 60);
        common::write_file(&self.path("a/sub/y.txt"), b"yy", 60);
        self.p("a")
    }
}

/// The value of `key` in section `name` of an INI text.
fn ini_value(text: &str, name: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_section = t == format!("[{name}]");
        } else if in_section {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn error_lines(err: &str) -> Vec<&str> {
    err.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// Asserts exit 1 with a single error line (ERROR, or rclone's CRITICAL for a remote
/// that can't be opened) containing every needle.
#[track_caller]
fn assert_error(result: (i32, String, String), needles: &[&str]) {
    let (code, _, err) = result;
    assert_eq!(code, 1, "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "one error line expected: {err}");
    assert!(
        lines[0].contains("ERROR") || lines[0].contains("CRITICAL"),
        "{err}"
    );
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} not in: {err}");
    }
}

// ----- config create / update / delete -------------------------------------------------------

#[test]
fn config_create_prints_the_section_and_stores_the_password_obscured() {
    let h = Home::new();
    let conf = h.p("ferry.conf");
    let (code, out, err) = h.run(&[
        "--config",
        &conf,
        "config",
        "create",
        "box",
        "sftp",
        "host",
        "example.com",
        "user",
        "bob",
        "pass",
        "hunter2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "[box]\ntype = sftp\nhost = example.com\nuser = bob\npass = *** ENCRYPTED ***\n"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(mode(Path::new(&conf)), 0o600, "the config file is private");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(!text.contains("hunter2"), "stored in clear: {text}");
    let stored = ini_value(&text, "box", "pass").expect("pass stored");
    let (code, out, err) = h.run(&["reveal", &stored]);
    assert_eq!((code, out.as_str()), (0, "hunter2\n"), "{err}");

    // key=value pairs work as well, and no temporary file is left next to the config.
    let (code, _, err) = h.run(&[
        "--config",
        &conf,
        "config",
        "create",
        "box2",
        "sftp",
        "host=h2",
        "pass=s3cr=t",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&conf).unwrap();
    let stored2 = ini_value(&text, "box2", "pass").unwrap();
    assert_eq!(h.run(&["reveal", &stored2]).1, "s3cr=t\n");
    assert_eq!(ini_value(&text, "box2", "host").as_deref(), Some("h2"));
    let names: Vec<_> = std::fs::read_dir(h.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("ferry.conf"))
        .collect();
    assert_eq!(names, ["ferry.conf"]);
    assert_eq!(mode(Path::new(&conf)), 0o600);

    // rclone reads the file and reveals the password.
    let Some(bin) = rclone() else { return };
    let (code, out) = h.rclone(&bin, &["reveal", "--", &stored]);
    assert_eq!((code, out.trim_end()), (0, "hunter2"));
    let (code, out) = h.rclone(&bin, &["--config", &conf, "listremotes", "--long"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("box:") && l.contains("sftp")),
        "{out}"
    );
}

#[test]
fn config_create_obscure_and_no_obscure() {
    let h = Home::new();
    let conf = h.p("ferry.conf");
    let obscured = h.run(&["obscure", "secret1"]).1.trim().to_string();
    // `pass=VALUE`: an obscured value may start with `-` (as with rclone, a separate
    // argument starting with `-` would be read as a flag).
    let create = |name: &str, pass: &str, flags: &[&str]| {
        let pass = format!("pass={pass}");
        let mut args = vec!["--config", &conf, "config", "create"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[name, "sftp", "host", "h", &pass]);
        h.run(&args)
    };
    let stored =
        |name: &str| ini_value(&std::fs::read_to_string(&conf).unwrap(), name, "pass").unwrap();
    let reveal = |v: &str| h.run(&["reveal", v]).1.trim_end().to_string();

    // Default: a value that already reveals is stored as given.
    assert_eq!(create("a", &obscured, &[]).0, 0);
    assert_eq!(stored("a"), obscured);
    // --obscure: obscured again.
    assert_eq!(create("b", &obscured, &["--obscure"]).0, 0);
    assert_eq!(reveal(&reveal(&stored("b"))), "secret1");
    // --no-obscure: stored as given even when it's plain.
    assert_eq!(create("c", "plainpw", &["--no-obscure"]).0, 0);
    assert_eq!(stored("c"), "plainpw");
    // Both: an error, nothing written.
    let before = std::fs::read_to_string(&conf).unwrap();
    assert_error(
        create("d", "x", &["--obscure", "--no-obscure"]),
        &["--obscure", "--no-obscure"],
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), before);
}

/// rclone takes its flags anywhere: `rclone config create NAME TYPE pass=X --obscure`.
#[test]
fn config_create_accepts_obscure_flags_after_the_pairs() {
    let h = Home::new();
    let conf = h.p("ferry.conf");
    let obscured = h.run(&["obscure", "secret1"]).1.trim().to_string();
    let (code, _, err) = h.run(&[
        "--config",
        &conf,
        "config",
        "create",
        "b",
        "sftp",
        "host",
        "h",
        &format!("pass={obscured}"),
        "--obscure",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&conf).unwrap();
    let stored = ini_value(&text, "b", "pass").unwrap();
    let once = h.run(&["reveal", &stored]).1.trim_end().to_string();
    assert_eq!(h.run(&["reveal", &once]).1, "secret1\n");
    assert!(ini_value(&text, "b", "--obscure").is_none(), "{text}");

    let (code, _, err) = h.run(&[
        "--config",
        &conf,
        "config",
        "update",
        "b",
        "pass",
        "plainpw",
        "--no-obscure",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(ini_value(&text, "b", "pass").as_deref(), Some("plainpw"));
}

#[test]
fn config_update_changes_keys_and_keeps_the_rest() {
    let h = Home::new();
    let conf = h.path("ferry.conf");
    std::fs::write(
        &conf,
        "# my remotes\n[box]\ntype = sftp\nhost = example.com\nunknown_key = kept\n\n; other\n[loc]\ntype = local\n",
    )
    .unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = conf.to_string_lossy().into_owned();
    let (code, out, err) = h.run(&[
        "--config", &c, "config", "update", "box", "port", "2222", "pass", "newpass",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("[box]\n"), "{out}");
    assert!(out.contains("port = 2222\n") && out.contains("pass = *** ENCRYPTED ***\n"));
    assert!(!out.contains("newpass") && !err.contains("newpass"));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.starts_with("# my remotes\n"), "comments kept: {text}");
    assert!(text.contains("; other\n"), "{text}");
    assert_eq!(
        ini_value(&text, "box", "unknown_key").as_deref(),
        Some("kept")
    );
    assert_eq!(
        ini_value(&text, "box", "host").as_deref(),
        Some("example.com")
    );
    assert_eq!(ini_value(&text, "box", "port").as_deref(), Some("2222"));
    let stored = ini_value(&text, "box", "pass").unwrap();
    assert_eq!(h.run(&["reveal", &stored]).1, "newpass\n");
    assert_eq!(ini_value(&text, "loc", "type").as_deref(), Some("local"));
    assert_eq!(mode(&conf), 0o600);

    // FERRY_CONFIG names the file as well as --config does.
    let (code, _, err) = h.run_env(
        &[("FERRY_CONFIG", &c)],
        &["config", "update", "box", "user", "alice"],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(ini_value(&text, "box", "user").as_deref(), Some("alice"));

    // Bad updates change nothing.
    let before = std::fs::read_to_string(&conf).unwrap();
    assert_error(
        h.run(&["--config", &c, "config", "update", "nosuch", "host", "h"]),
        &["\"nosuch\""],
    );
    assert_error(
        h.run(&["--config", &c, "config", "update", "box", "bogus_key", "1"]),
        &["\"bogus_key\"", "sftp"],
    );
    assert_error(
        h.run(&["--config", &c, "config", "update", "box", "port"]),
        &["\"port\""],
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), before);
}

#[test]
fn config_delete_removes_one_remote() {
    let h = Home::new();
    let conf = h.p("ferry.conf");
    for name in ["one", "two"] {
        assert_eq!(
            h.run(&["--config", &conf, "config", "create", name, "local"])
                .0,
            0
        );
    }
    let (code, out, err) = h.run(&["--config", &conf, "config", "delete", "one"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(h.run(&["--config", &conf, "listremotes"]).1, "two:\n");
    assert_error(
        h.run(&["--config", &conf, "config", "delete", "one"]),
        &["\"one\"", &conf],
    );
    assert_eq!(mode(Path::new(&conf)), 0o600);
}

// ----- show / dump / file / providers / paths ------------------------------------------------

fn two_remotes(h: &Home) -> String {
    let conf = h.p("ferry.conf");
    let runs: [&[&str]; 2] = [
        &["box", "sftp", "host", "h", "pass", "hunter2"],
        &[
            "s3r",
            "s3",
            "access_key_id",
            "AK",
            "secret_access_key",
            "SKSECRET",
        ],
    ];
    for pairs in runs {
        let mut args = vec!["--config", conf.as_str(), "config", "create"];
        args.extend_from_slice(pairs);
        assert_eq!(h.run(&args).0, 0);
    }
    conf
}

#[test]
fn config_show_redacts_secrets_unless_revealed() {
    let h = Home::new();
    let conf = two_remotes(&h);
    let (code, out, err) = h.run(&["--config", &conf, "config", "show"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "[box]\ntype = sftp\nhost = h\npass = *** ENCRYPTED ***\n\n\
         [s3r]\ntype = s3\naccess_key_id = AK\nsecret_access_key = XXX\n"
    );
    let (code, out, _) = h.run(&["--config", &conf, "config", "show", "s3r"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "[s3r]\ntype = s3\naccess_key_id = AK\nsecret_access_key = XXX\n"
    );
    // --reveal shows the values as stored: the password still obscured.
    let (code, out, _) = h.run(&["--config", &conf, "config", "show", "--reveal", "box"]);
    assert_eq!(code, 0);
    let stored = ini_value(&out, "box", "pass").unwrap();
    assert_ne!(stored, "hunter2");
    assert_eq!(h.run(&["reveal", &stored]).1, "hunter2\n");
    let (_, out, _) = h.run(&["--config", &conf, "config", "show", "--reveal"]);
    assert!(out.contains("secret_access_key = SKSECRET"), "{out}");

    assert_error(
        h.run(&["--config", &conf, "config", "show", "nosuch"]),
        &["\"nosuch\""],
    );
    let empty = h.p("empty.conf");
    let (code, out, _) = h.run(&["--config", &empty, "config", "show"]);
    assert_eq!((code, out.as_str()), (0, "; empty config\n"));
}

/// rclone.conf files carry keys ferry's backends don't know (azureblob's `client_secret`,
/// s3's `sse_customer_key`, ...): `config show` must not print those in clear either.
#[test]
fn config_show_hides_secret_looking_keys_the_backend_does_not_know() {
    let h = Home::new();
    let conf = h.path("rclone-style.conf");
    std::fs::write(
        &conf,
        "[az]\ntype = azureblob\naccount = acct\nclient_id = id\nclient_secret = AZSECRET1\n\n\
         [s3x]\ntype = s3\nsse_customer_key = S3SECRET2\nsession_token = S3SECRET3\n",
    )
    .unwrap();
    let c = conf.to_string_lossy().into_owned();
    for args in [
        vec!["--config", &c, "config", "show"],
        vec!["--config", &c, "config", "show", "az"],
        vec!["--config", &c, "config", "show", "s3x"],
    ] {
        let (code, out, err) = h.run(&args);
        assert_eq!(code, 0, "{err}");
        for secret in ["AZSECRET1", "S3SECRET2", "S3SECRET3"] {
            assert!(!out.contains(secret), "{args:?} shows {secret}:\n{out}");
        }
    }
}

#[test]
fn config_dump_is_json_of_the_stored_values() {
    let h = Home::new();
    let conf = two_remotes(&h);
    let (code, out, err) = h.run(&["--config", &conf, "config", "dump"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("config dump is JSON");
    assert_eq!(v["box"]["type"], "sftp");
    assert_eq!(v["box"]["host"], "h");
    let stored = v["box"]["pass"].as_str().unwrap();
    assert_eq!(h.run(&["reveal", stored]).1, "hunter2\n");
    assert_eq!(v["s3r"]["secret_access_key"], "SKSECRET");
    assert_eq!(v.as_object().unwrap().len(), 2);
    let (code, out, _) = h.run(&["--config", &h.p("none.conf"), "config", "dump"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::json!({})
    );
}

#[test]
fn config_file_and_paths_name_the_file_in_use() {
    let h = Home::new();
    let conf = h.p("named.conf");
    let env_conf = h.p("env.conf");
    let (code, out, _) = h.run(&["--config", &conf, "config", "file"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("Configuration file is stored at:\n{conf} (it doesn't exist yet)\n")
    );
    std::fs::write(&env_conf, "").unwrap();
    let (_, out, _) = h.run_env(&[("FERRY_CONFIG", &env_conf)], &["config", "file"]);
    assert_eq!(
        out,
        format!("Configuration file is stored at:\n{env_conf}\n")
    );
    // --config beats FERRY_CONFIG.
    let (_, out, _) = h.run_env(
        &[("FERRY_CONFIG", &env_conf)],
        &["--config", &conf, "config", "file"],
    );
    assert!(out.contains(&conf), "{out}");
    // The default lives under HOME.
    let default = h.p(".config/ferry/ferry.conf");
    let (_, out, _) = h.run(&["config", "file"]);
    assert!(out.contains(&default), "{out}");
    let (code, out, _) = h.run(&["config", "paths"]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("Config file: {default}")), "{out}");
    assert!(
        out.contains("Cache dir:") && out.contains("Temp dir:"),
        "{out}"
    );
    let (_, out, _) = h.run(&["--config", &conf, "config", "paths"]);
    assert!(out.contains(&format!("Config file: {conf}")), "{out}");
}

#[test]
fn config_providers_lists_the_backends_and_their_options() {
    let h = Home::new();
    let (code, out, err) = h.run(&["config", "providers"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("providers is JSON");
    let list = v.as_array().expect("an array");
    let find = |name: &str| {
        list.iter()
            .find(|p| p["Name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"))
    };
    for name in ["local", "sftp", "s3", "azureblob", "ftp", "webdav"] {
        assert!(find(name)["Options"].is_array(), "{name}");
    }
    let option = |backend: &str, key: &str| {
        find(backend)["Options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["Name"] == key)
            .unwrap_or_else(|| panic!("{backend} has no {key}"))
            .clone()
    };
    assert_eq!(option("sftp", "pass")["IsPassword"], true);
    assert_eq!(option("sftp", "host")["IsPassword"], false);
    assert_eq!(option("s3", "secret_access_key")["Sensitive"], true);
    assert_eq!(option("azureblob", "key")["Sensitive"], true);
    assert_eq!(option("webdav", "pass")["IsPassword"], true);
    assert_eq!(option("webdav", "bearer_token")["Sensitive"], true);
    assert_eq!(option("local", "copy_links")["Advanced"], true);
}

/// `ferry config providers | head -1` must not end in a panic and a backtrace.
#[test]
fn output_to_a_closed_pipe_is_not_a_panic() {
    let h = Home::new();
    for args in [&["config", "providers"][..], &["config", "paths"][..]] {
        let mut child = h
            .cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

// ----- listremotes ---------------------------------------------------------------------------

#[test]
fn listremotes_plain_long_and_json() {
    let h = Home::new();
    let conf = two_remotes(&h);
    let env = [("FERRY_CONFIG_ENVR_TYPE", "local")];
    let (code, out, err) = h.run_env(&env, &["--config", &conf, "listremotes"]);
    assert_eq!(code, 0, "{err}");
    // As rclone: the environment's remotes first, then the file's in file order.
    assert_eq!(out, "envr:\nbox:\ns3r:\n");
    let (_, out, _) = h.run_env(&env, &["--config", &conf, "listremotes", "--long"]);
    assert_eq!(out, "envr: local \nbox:  sftp  \ns3r:  s3    \n", "{out:?}");
    let (_, out, _) = h.run_env(&env, &["--config", &conf, "listremotes", "--json"]);
    assert_eq!(
        out,
        "[\n{\"name\":\"envr\",\"type\":\"local\",\"source\":\"environment\",\"description\":\"\"},\n\
         {\"name\":\"box\",\"type\":\"sftp\",\"source\":\"file\",\"description\":\"\"},\n\
         {\"name\":\"s3r\",\"type\":\"s3\",\"source\":\"file\",\"description\":\"\"}\n]\n"
    );
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v.as_array().unwrap().len(), 3);
    // Filters: a glob on any field, or on one, exact when asked.
    let list = |args: &[&str]| {
        let mut all = vec!["--config", conf.as_str(), "listremotes"];
        all.extend_from_slice(args);
        h.run_env(&env, &all).1
    };
    assert_eq!(list(&["--type", "s3"]), "s3r:\n");
    assert_eq!(list(&["s*"]), "box:\ns3r:\n", "box: its type is sftp");
    assert_eq!(list(&["--source", "environment"]), "envr:\n");
    assert_eq!(list(&["--name", "b", "--exact"]), "");
    assert_eq!(list(&["--name", "B?X", "--exact"]), "box:\n");
    // No config at all: nothing listed, no error.
    let (code, out, _) = h.run(&["--config", &h.p("none.conf"), "listremotes"]);
    assert_eq!((code, out.as_str()), (0, ""));
    let Some(bin) = rclone() else { return };
    for args in [
        &["--long"][..],
        &["--json"],
        &["--type", "s*"],
        &["x", "--exact"],
    ] {
        let mut all = vec!["--config", conf.as_str(), "listremotes"];
        all.extend_from_slice(args);
        assert_eq!(h.run(&all).1, h.rclone(&bin, &all).1, "{args:?}");
    }
}

#[test]
fn config_password_redacted_and_dump_as_rclone_writes_them() {
    let h = Home::new();
    let conf = two_remotes(&h);
    let (code, out, err) = h.run(&[
        "--config", &conf, "config", "password", "box", "pass", "newpass",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pass = *** ENCRYPTED ***"), "{out}");
    assert!(!out.contains("newpass"), "{out}");
    let stored = ini_value(&std::fs::read_to_string(&conf).unwrap(), "box", "pass").unwrap();
    assert_eq!(h.run(&["reveal", &stored]).1, "newpass\n");
    let (code, out, _) = h.run(&["--config", &conf, "config", "redacted"]);
    assert_eq!(code, 0);
    assert!(!out.contains("SKSECRET") && !out.contains(&stored), "{out}");
    assert!(out.contains("secret_access_key = XXX"), "{out}");
    assert!(
        out.ends_with("### Double check the config for sensitive info before posting publicly\n")
    );
    let (_, dump, _) = h.run(&["--config", &conf, "config", "dump"]);
    assert!(
        dump.starts_with("{\n    \"box\": {\n        \""),
        "{dump:?}"
    );
    assert!(
        dump.ends_with("\n}"),
        "no newline after the brace, as rclone: {dump:?}"
    );
    let Some(bin) = rclone() else { return };
    for args in [
        &["config", "dump"][..],
        &["config", "redacted"],
        &["config", "redacted", "box"],
    ] {
        let mut all = vec!["--config", conf.as_str()];
        all.extend_from_slice(args);
        assert_eq!(h.run(&all).1, h.rclone(&bin, &all).1, "{args:?}");
    }
}

// ----- obscure / reveal ----------------------------------------------------------------------

fn secrets() -> Vec<String> {
    vec![
        "hunter2".into(),
        String::new(),
        "héllo wörld ✓ 日本語".into(),
        "with spaces, = and : and 'quotes'".into(),
        "x".repeat(150),
    ]
}

#[test]
fn obscure_and_reveal_round_trip() {
    let h = Home::new();
    for plain in secrets() {
        let (code, obscured, err) = h.run(&["obscure", &plain]);
        assert_eq!(code, 0, "{err}");
        let obscured = obscured.trim_end().to_string();
        assert!(!obscured.is_empty());
        if !plain.is_empty() {
            assert!(!obscured.contains(&plain), "{obscured}");
        }
        let (code, out, err) = h.run(&["reveal", &obscured]);
        assert_eq!((code, out), (0, format!("{plain}\n")), "{err}");
        // A fresh IV each time.
        let again = h.run(&["obscure", &plain]).1;
        assert_ne!(again.trim_end(), obscured);
        // From stdin with `-`; no argument at all is a usage error, as in rclone.
        let (code, out, err) = h.run_stdin(&["obscure", "-"], format!("{plain}\n").as_bytes());
        assert_eq!(code, 0, "{err}");
        assert_eq!(h.run(&["reveal", out.trim_end()]).1, format!("{plain}\n"));
        let (code, _, _) = h.run_stdin(&["obscure"], format!("{plain}\n").as_bytes());
        assert_eq!(code, 2);
    }
    // A value starting with `-` is revealed, not taken for a flag.
    let dashy = (0..200)
        .map(|_| h.run(&["obscure", "d"]).1.trim_end().to_string())
        .find(|o| o.starts_with('-'));
    if let Some(o) = dashy {
        assert_eq!(h.run(&["reveal", &o]).1, "d\n");
    }
    assert_error(h.run(&["reveal", "not base64!"]), &["is it obscured?"]);
    assert_error(h.run(&["reveal", "c2hvcnQ"]), &["is it obscured?"]);
}

#[test]
fn obscure_and_reveal_agree_with_rclone() {
    let Some(bin) = rclone() else { return };
    let h = Home::new();
    for plain in secrets() {
        let ours = h.run(&["obscure", &plain]).1.trim_end().to_string();
        let (code, out) = h.rclone(&bin, &["reveal", "--", &ours]);
        assert_eq!(
            (code, out),
            (0, format!("{plain}\n")),
            "rclone reveals ferry's"
        );
        let (code, theirs) = h.rclone(&bin, &["obscure", "--", &plain]);
        assert_eq!(code, 0);
        let (code, out, err) = h.run(&["reveal", theirs.trim_end()]);
        assert_eq!((code, out), (0, format!("{plain}\n")), "{err}");
    }
}

#[test]
fn config_without_a_subcommand_needs_a_terminal() {
    let h = Home::new();
    let conf = h.p("ferry.conf");
    let (code, out, err) = h.run(&["--config", &conf, "config"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("config create"), "{err}");
    assert!(!Path::new(&conf).exists());
}

// ----- remotes in use ------------------------------------------------------------------------

#[test]
fn configured_and_on_the_fly_remotes_in_a_sync() {
    let h = Home::new();
    let a = h.tree();
    let conf = h.p("ferry.conf");
    assert_eq!(
        h.run(&["--config", &conf, "config", "create", "loc", "local"])
            .0,
        0
    );
    let b = h.p("b");
    let (code, _, err) = h.run(&[
        "--config",
        &conf,
        "sync",
        &format!("loc:{a}"),
        &format!("loc:{b}"),
    ]);
    assert_eq!(code, 0, "{err}");
    common::assert_same_tree(Path::new(&a), Path::new(&b));

    // Connection strings: an on-the-fly backend, and an override of a named remote.
    for (i, src) in [
        format!(":local:{a}"),
        format!(":local,copy_links=true:{a}"),
        format!("loc,copy_links=true:{a}"),
        format!("loc,links:{a}"),
    ]
    .iter()
    .enumerate()
    {
        let dst = h.p(&format!("c{i}"));
        let (code, _, err) = h.run(&["--config", &conf, "copy", src, &dst]);
        assert_eq!(code, 0, "{src}: {err}");
        common::assert_same_tree(Path::new(&a), Path::new(&dst));
    }
    // An option the backend doesn't have is refused, naming it.
    for src in [format!("loc,bogus=1:{a}"), format!(":local,bogus=1:{a}")] {
        assert_error(
            h.run(&["--config", &conf, "copy", &src, &h.p("d")]),
            &["\"bogus\"", "local"],
        );
    }
    assert!(!h.path("d").exists());
    // FERRY_CONFIG names the file for remotes too.
    let (code, _, err) = h.run_env(
        &[("FERRY_CONFIG", &conf)],
        &["check", &format!("loc:{a}"), &b],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn remotes_from_the_environment_ferry_before_rclone() {
    let h = Home::new();
    let a = h.tree();
    let conf = h.p("ferry.conf");
    std::fs::write(&conf, "[z]\ntype = sftp\nhost = 127.0.0.1\nport = 1\n").unwrap();
    let sync = |env: &[(&str, &str)], remote: &str, dst: &str| {
        h.run_env(
            env,
            &[
                "--config",
                &conf,
                "sync",
                &format!("{remote}:{a}"),
                &h.p(dst),
            ],
        )
    };
    let (code, _, err) = sync(&[("FERRY_CONFIG_X_TYPE", "local")], "x", "b1");
    assert_eq!(code, 0, "{err}");
    common::assert_same_tree(Path::new(&a), &h.path("b1"));
    let (code, _, err) = sync(&[("RCLONE_CONFIG_Y_TYPE", "local")], "y", "b2");
    assert_eq!(code, 0, "{err}");
    common::assert_same_tree(Path::new(&a), &h.path("b2"));
    // FERRY_ wins over RCLONE_.
    let (code, _, err) = sync(
        &[
            ("FERRY_CONFIG_W_TYPE", "local"),
            ("RCLONE_CONFIG_W_TYPE", "sftp"),
        ],
        "w",
        "b3",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = sync(
        &[
            ("FERRY_CONFIG_W_TYPE", "sftp"),
            ("RCLONE_CONFIG_W_TYPE", "local"),
        ],
        "w",
        "b4",
    );
    assert_eq!(code, 1, "{err}");
    // FERRY_'s type (sftp, with no host) was used, not RCLONE_'s local.
    assert!(err.contains("has no host"), "{err}");
    // The environment overrides the file: z is sftp in the file, local here.
    let (code, _, err) = sync(&[("FERRY_CONFIG_Z_TYPE", "local")], "z", "b5");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = sync(&[("RCLONE_CONFIG_Z_TYPE", "local")], "z", "b6");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = sync(&[], "z", "b7");
    assert_eq!(code, 1, "{err}");
    // The file's sftp remote was used: it names the (unreachable, loopback) host.
    assert!(err.contains("127.0.0.1"), "{err}");
}

#[test]
fn rclone_config_is_read_when_ferrys_is_absent_but_never_written() {
    let h = Home::new();
    let a = h.tree();
    let rc = h.path(".config/rclone/rclone.conf");
    std::fs::create_dir_all(rc.parent().unwrap()).unwrap();
    let obscured = h.run(&["obscure", "rcpass"]).1.trim().to_string();
    let original = format!(
        "# rclone's own\n[rl]\ntype = local\n\n[sf]\ntype = sftp\nhost = 127.0.0.1\nport = 1\npass = {obscured}\n"
    );
    std::fs::write(&rc, &original).unwrap();
    let rc_s = rc.to_string_lossy().into_owned();

    let (code, out, _) = h.run(&["listremotes"]);
    assert_eq!((code, out.as_str()), (0, "rl:\nsf:\n"));
    let (_, out, _) = h.run(&["config", "file"]);
    assert!(out.contains(&rc_s), "{out}");
    let (code, _, err) = h.run(&["sync", &format!("rl:{a}"), &h.p("b"), "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("rclone's config file") && err.contains(&rc_s),
        "{err}"
    );
    common::assert_same_tree(Path::new(&a), &h.path("b"));

    for args in [
        &["config", "create", "new", "local"][..],
        &["config", "update", "rl", "copy_links", "true"][..],
        &["config", "delete", "sf"][..],
    ] {
        let (code, _, err) = h.run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(&rc_s) && err.contains("--config"), "{err}");
        assert_eq!(std::fs::read_to_string(&rc).unwrap(), original);
        assert!(!h.path(".config/ferry").exists(), "{args:?}");
    }
    // Named explicitly, rclone's file may be changed, and rclone still reads it.
    let (code, _, err) = h.run(&["--config", &rc_s, "config", "create", "new", "local"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&rc).unwrap();
    assert!(text.starts_with("# rclone's own\n[rl]\n"), "{text}");
    assert_eq!(ini_value(&text, "sf", "pass"), Some(obscured));
    if let Some(bin) = rclone() {
        let (code, out) = h.rclone(&bin, &["listremotes"]);
        let mut names: Vec<&str> = out.lines().collect();
        names.sort();
        assert_eq!((code, names), (0, vec!["new:", "rl:", "sf:"]));
    }
    // Once ferry's own file exists, it is the one used.
    let own = h.path(".config/ferry/ferry.conf");
    std::fs::create_dir_all(own.parent().unwrap()).unwrap();
    std::fs::write(&own, "[mine]\ntype = local\n").unwrap();
    assert_eq!(h.run(&["listremotes"]).1, "mine:\n");
}

// ----- bad input -----------------------------------------------------------------------------

#[test]
fn bad_remotes_and_config_files_are_one_line_errors() {
    let h = Home::new();
    let a = h.tree();
    let conf = h.p("ferry.conf");
    std::fs::write(&conf, "[loc]\ntype = local\n").unwrap();
    let b = h.p("b");
    let copy = |src: &str| h.run(&["--config", &conf, "copy", src, &b]);

    assert_error(copy(&format!("nosuch:{a}")), &["\"nosuch\""]);
    assert_error(
        copy(&format!(":nosuchtype:{a}")),
        &[
            "\"nosuchtype\"",
            "alias, azureblob, combine, crypt, ftp, gcs, http, local, s3, sftp, smb, union, webdav",
        ],
    );
    // A type with no backend is a usage error (exit 2), as in rclone.
    let (code, _, err) = h.run(&["--config", &conf, "config", "create", "r", "nosuchtype"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"nosuchtype\"")
            && err.contains("alias, azureblob, combine, crypt, ftp, gcs, http, local, s3, sftp, smb, union, webdav"),
        "{err}"
    );
    for bad in [
        format!(":local,copy_links='x:{a}"),
        format!("loc,:{a}"),
        format!("loc,=1:{a}"),
        ":".to_string(),
    ] {
        let (code, _, err) = copy(&bad);
        assert_eq!(code, 1, "{bad}: {err}");
        assert_eq!(error_lines(&err).len(), 1, "{bad}: {err}");
    }
    assert_error(
        h.run(&["--config", &conf, "config", "create", "bad/name", "local"]),
        &[],
    );
    assert_error(
        h.run(&[
            "--config", &conf, "config", "create", "r", "local", "bogus", "1",
        ]),
        &["\"bogus\""],
    );
    assert!(!h.path("b").exists());

    // A corrupt file: named, with the line.
    let corrupt = h.p("corrupt.conf");
    std::fs::write(&corrupt, "[ok]\ntype = local\nthis line is junk\n").unwrap();
    for args in [
        vec!["--config", &corrupt, "listremotes"],
        vec!["--config", &corrupt, "config", "show"],
    ] {
        assert_error(h.run(&args), &[&format!("{corrupt}:3")]);
    }
    let src = format!("ok:{a}");
    assert_error(
        h.run(&["--config", &corrupt, "copy", &src, &b]),
        &[&format!("{corrupt}:3")],
    );
    let half = h.p("half.conf");
    std::fs::write(&half, "[ok\ntype = local\n").unwrap();
    assert_error(
        h.run(&["--config", &half, "listremotes"]),
        &[&format!("{half}:1")],
    );
    // Unreadable (a directory): named.
    let dir = h.p("a");
    assert_error(h.run(&["--config", &dir, "listremotes"]), &[&dir]);
    // Local paths never need the config: a corrupt one doesn't stop them.
    let (code, _, err) = h.run(&["--config", &corrupt, "copy", &a, &b]);
    assert_eq!(code, 0, "{err}");
}

/// Extra environment variables for one run.
type EnvVars = Vec<(&'static str, String)>;

#[test]
fn secrets_never_appear_in_errors_or_logs() {
    const S: &str = "PLAINSECRET";
    let h = Home::new();
    let a = h.tree();
    let conf = h.p("ferry.conf");
    // One remote stored with the password obscured, one (wrongly) in clear.
    std::fs::write(
        &conf,
        format!(
            "[sf]\ntype = sftp\nhost = 127.0.0.1\nport = 1\npass = {}\n\n[clear]\ntype = sftp\nhost = 127.0.0.1\nport = 1\npass = {S}\n\n[loc]\ntype = local\n",
            h.run(&["obscure", S]).1.trim()
        ),
    )
    .unwrap();
    let b = h.p("b");
    let runs: Vec<(EnvVars, String)> = vec![
        (vec![], format!("sf,pass={S}:{a}")),
        (vec![], format!("sf:{a}")),
        (vec![], format!("clear:{a}")),
        (vec![], format!(":sftp,host=127.0.0.1,port=1,pass={S}:{a}")),
        (vec![], format!(":sftp,host=127.0.0.1,port=1,pass='{S}:{a}")),
        (vec![], format!(":sftp,pass={S},bogus=1:{a}")),
        (vec![], format!("sftp://bob:{S}@127.0.0.1:1/x")),
        (
            vec![],
            format!("https://acct.blob.core.windows.net/c/p?sv=2020-01-01&sig={S}"),
        ),
        (vec![], format!(":s3,secret_access_key={S}:bucket")),
        (vec![], format!(":local,bogus={S}:{a}")),
        (vec![], format!("nosuch,pass={S}:{a}")),
        (vec![], format!("loc,links={S}:{a}")),
        (
            vec![
                ("FERRY_CONFIG_ENV_TYPE", "sftp".into()),
                ("FERRY_CONFIG_ENV_PASS", S.into()),
            ],
            format!("env:{a}"),
        ),
        (vec![("RCLONE_CONFIG_SF_PASS", S.into())], format!("sf:{a}")),
    ];
    for (env, src) in &runs {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for verbosity in ["-q", "-v", "-vv"] {
            for cmd in ["sync", "check"] {
                let (_, out, err) = h.run_env(&env, &["--config", &conf, cmd, src, &b, verbosity]);
                assert!(
                    !out.contains(S) && !err.contains(S),
                    "{cmd} {src} {verbosity} {env:?}:\n{out}{err}"
                );
            }
        }
    }
    // Config commands that fail with a secret among their arguments.
    let conf2 = h.p("other.conf");
    for args in [
        vec!["config", "create", "x", "sftp", "pass", S, "bogus"],
        vec!["config", "create", "x", "sftp", "bogus", S],
        vec!["config", "create", "x", "nosuchtype", "pass", S],
        vec!["config", "create", "bad:name", "sftp", "pass", S],
        vec!["config", "update", "nosuch", "pass", S],
        vec![
            "config",
            "create",
            "x",
            "sftp",
            "pass",
            "bad\nvalue",
            "key_file_pass",
            S,
        ],
    ] {
        let mut full = vec!["--config", conf2.as_str(), "-vv"];
        full.extend_from_slice(&args);
        let (code, out, err) = h.run(&full);
        assert_ne!(code, 0, "{args:?}");
        assert!(
            !out.contains(S) && !err.contains(S),
            "{args:?}:\n{out}{err}"
        );
    }
    // And ones that succeed print the section redacted.
    let (code, out, err) = h.run(&[
        "--config",
        &conf2,
        "-vv",
        "config",
        "create",
        "x",
        "sftp",
        "pass",
        S,
        "key_file_pass",
        S,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(S) && !err.contains(S), "{out}{err}");
    let (_, out, err) = h.run(&["--config", &conf2, "-vv", "listremotes", "--long"]);
    assert!(!out.contains(S) && !err.contains(S), "{out}{err}");
}

// ----- FERRY_<FLAG> defaults -----------------------------------------------------------------

#[test]
fn ferry_flag_variables_set_defaults() {
    let h = Home::new();
    let a = h.tree();
    common::write_file(&h.path("a/skip.log"), b"log", 60);
    let b = h.p("b");
    let (code, _, err) = h.run_env(&[("FERRY_DRY_RUN", "true")], &["sync", &a, &b]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("--dry-run"), "{err}");
    assert!(
        !h.path("b").exists(),
        "FERRY_DRY_RUN=true changed the destination"
    );
    // The flag wins over the variable.
    let (code, _, err) = h.run_env(
        &[("FERRY_MAX_DEPTH", "1")],
        &["sync", &a, &b, "--max-depth", "5"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(h.path("b/sub/y.txt").exists());
    std::fs::remove_dir_all(&b).unwrap();
    // Filters and numbers from the environment.
    let (code, _, err) = h.run_env(
        &[("FERRY_EXCLUDE", "*.log"), ("FERRY_MAX_DEPTH", "1")],
        &["copy", &a, &b],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        common::tree(&h.path("b")).into_keys().collect::<Vec<_>>(),
        ["x.txt"]
    );
    std::fs::remove_dir_all(&b).unwrap();
    let (code, _, err) = h.run_env(&[("FERRY_DRY_RUN", "false")], &["sync", &a, &b]);
    assert_eq!(code, 0, "{err}");
    common::assert_same_tree(Path::new(&a), Path::new(&b));
    // A bad value is a usage error naming the flag.
    let (code, _, err) = h.run_env(&[("FERRY_TRANSFERS", "many")], &["sync", &a, &b]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--transfers"), "{err}");
}

/// rclone's own variables work too, below ferry's: `RCLONE_DRY_RUN`, `RCLONE_MAX_DEPTH`,
/// a list as one CSV record (`RCLONE_EXCLUDE="*.log,*.md"`, as rclone 1.75 reads it: the
/// same files copied as rclone copies), and `RCLONE_VERBOSE=2` as `-vv`.
#[test]
fn rclone_flag_variables_set_defaults_below_ferrys() {
    let h = Home::new();
    let a = h.tree();
    common::write_file(&h.path("a/skip.log"), b"log", 60);
    common::write_file(&h.path("a/sub/notes.md"), b"md", 60);
    common::write_file(&h.path("a/sub/a,b.txt"), b"comma", 60);
    let b = h.p("b");
    let (code, _, err) = h.run_env(&[("RCLONE_DRY_RUN", "true")], &["sync", &a, &b]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !h.path("b").exists(),
        "RCLONE_DRY_RUN=true changed the destination"
    );
    let list = r#"*.log,*.md,"a,b.txt""#;
    let (code, _, err) = h.run_env(&[("RCLONE_EXCLUDE", list)], &["copy", &a, &b]);
    assert_eq!(code, 0, "{err}");
    let got: Vec<String> = common::tree(&h.path("b")).into_keys().collect();
    assert_eq!(got, ["sub/y.txt", "x.txt"]);
    if let Some(rclone) = common::rclone() {
        let r = h.p("r");
        let out = Command::new(rclone)
            .args(["copy", &a, &r])
            .env("RCLONE_CONFIG", "/dev/null")
            .env("HOME", h.path(""))
            .env("RCLONE_EXCLUDE", list)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<String> = common::tree(&h.path("r")).into_keys().collect();
        assert_eq!(got, theirs, "rclone reads RCLONE_EXCLUDE the same way");
    }
    std::fs::remove_dir_all(&b).unwrap();
    // FERRY_ wins over RCLONE_, the command line over both.
    let both = [("RCLONE_MAX_DEPTH", "5"), ("FERRY_MAX_DEPTH", "1")];
    let (code, _, err) = h.run_env(&both, &["copy", &a, &b]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !h.path("b/sub").exists(),
        "FERRY_MAX_DEPTH=1 lost to RCLONE_"
    );
    let (code, _, err) = h.run_env(
        &[("RCLONE_EXCLUDE", "*.log")],
        &["copy", &a, &b, "--exclude", "*.txt"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        h.path("b/skip.log").exists(),
        "--exclude on the command line replaces the variable's"
    );
    std::fs::remove_dir_all(&b).unwrap();
    // An ignored flag is said at DEBUG only (-vv), not at INFO (-v).
    let lsf = ["lsf", &a, "--transfers", "8"];
    let (code, _, err) = h.run_env(&[("RCLONE_VERBOSE", "2")], &lsf);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("DEBUG"), "RCLONE_VERBOSE=2 is -vv: {err}");
    let (_, _, err) = h.run_env(&[("RCLONE_VERBOSE", "1")], &lsf);
    assert!(!err.contains("DEBUG"), "RCLONE_VERBOSE=1 is -v: {err}");
    let (code, _, err) = h.run_env(&[("RCLONE_VERBOSE", "lots")], &["copy", &a, &b]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("RCLONE_VERBOSE") && err.lines().count() == 1,
        "{err}"
    );
}

/// rclone parses its `RCLONE_<FLAG>` booleans with Go's `strconv.ParseBool`, so scripts say
/// `RCLONE_DRY_RUN=1` (rclone 1.75 accepts it); the same spelling must work for `FERRY_`.
#[test]
fn ferry_flag_variables_accept_rclone_bool_spellings() {
    let h = Home::new();
    let a = h.tree();
    let b = h.p("b");
    for v in ["1", "t", "TRUE", "True"] {
        let (code, _, err) = h.run_env(&[("FERRY_DRY_RUN", v)], &["sync", &a, &b]);
        assert_eq!(code, 0, "FERRY_DRY_RUN={v}: {err}");
        assert!(
            !h.path("b").exists(),
            "FERRY_DRY_RUN={v} changed the destination"
        );
    }
    let (code, _, err) = h.run_env(&[("FERRY_DRY_RUN", "0")], &["sync", &a, &b]);
    assert_eq!(code, 0, "FERRY_DRY_RUN=0: {err}");
    assert!(h.path("b/x.txt").exists());
}

/// rclone lets the command line turn a boolean off again: `RCLONE_DRY_RUN=true rclone sync
/// a b --dry-run=false` copies (rclone 1.75). Without that, `FERRY_DRY_RUN=true` in the
/// environment could not be overridden, against "flag > env".
#[test]
fn a_bool_flag_given_false_overrides_its_variable() {
    let h = Home::new();
    let a = h.tree();
    let b = h.p("b");
    let (code, _, err) = h.run_env(
        &[("FERRY_DRY_RUN", "true")],
        &["sync", &a, &b, "--dry-run=false"],
    );
    assert_eq!(code, 0, "{err}");
    common::assert_same_tree(Path::new(&a), Path::new(&b));
}

/// An rclone config encrypted by `rclone config encryption set` opens with the password
/// from `RCLONE_CONFIG_PASS` or `--password-command`, as in rclone; a missing or wrong
/// password is rclone's one line (exit 1); what ferry writes into the file stays
/// encrypted, and rclone reads it back. The password is never printed.
#[test]
fn an_encrypted_rclone_config_opens_with_rclones_password_sources() {
    let Some(bin) = rclone() else { return };
    let h = Home::new();
    let conf = h.p("enc.conf");
    std::fs::write(&conf, "[loc]\ntype = local\n").unwrap();
    let (code, _) = h.rclone(
        &bin,
        &[
            "config",
            "encryption",
            "set",
            "--config",
            &conf,
            "--password-command",
            "echo s3cret-pw",
        ],
    );
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("RCLONE_ENCRYPT_V0:") && !text.contains("type = local"),
        "{text}"
    );
    // No password, the wrong one from either source.
    let (code, _, err) = h.run(&["listremotes", "--config", &conf]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("set RCLONE_CONFIG_PASS to your configuration password"),
        "{err}"
    );
    let (code, _, err) = h.run_env(
        &[("RCLONE_CONFIG_PASS", "nope")],
        &["listremotes", "--config", &conf],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("using RCLONE_CONFIG_PASS env password, unable to decrypt configuration"),
        "{err}"
    );
    let (code, _, err) = h.run(&[
        "listremotes",
        "--config",
        &conf,
        "--password-command",
        "echo nope",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("using --password-command derived password"),
        "{err}"
    );
    // The right one, from either source.
    let pass = [("RCLONE_CONFIG_PASS", "s3cret-pw")];
    let (code, out, err) = h.run_env(&pass, &["listremotes", "--config", &conf]);
    assert_eq!((code, out.as_str()), (0, "loc:\n"), "{err}");
    let (code, out, err) = h.run(&[
        "listremotes",
        "--config",
        &conf,
        "--password-command",
        "echo s3cret-pw",
    ]);
    assert_eq!((code, out.as_str()), (0, "loc:\n"), "{err}");
    // A remote of the encrypted config works, and a new one is written encrypted.
    let (src, dst) = (h.tree(), format!("loc:{}", h.p("b")));
    let (code, _, err) = h.run_env(&pass, &["copy", &src, &dst, "--config", &conf]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(h.path("b/sub/y.txt")).unwrap(),
        "yy"
    );
    let (code, _, err) = h.run_env(
        &pass,
        &["config", "create", "second", "local", "--config", &conf],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.starts_with("# Encrypted rclone configuration File"),
        "{text}"
    );
    assert!(
        !text.contains("second") && !text.contains("s3cret"),
        "{text}"
    );
    let listed = h.rclone_env(
        &bin,
        &[("RCLONE_CONFIG_PASS", "s3cret-pw")],
        &["listremotes", "--config", &conf],
    );
    assert_eq!(listed, (0, "loc:\nsecond:\n".to_owned()));
}

/// `config encryption set|check|remove`: ferry encrypts a plain config with the password
/// from `--password-command` (rclone opens it), `check` says whether it is encrypted
/// (exit 2 when not, as rclone) and opens, `remove` writes it plain again.
#[test]
fn config_encryption_set_check_and_remove() {
    let Some(bin) = rclone() else { return };
    let h = Home::new();
    let conf = h.p("f.conf");
    std::fs::write(&conf, "[loc]\ntype = local\n").unwrap();
    let enc = |args: &[&str]| {
        let mut all = vec!["config", "encryption"];
        all.extend_from_slice(args);
        all.extend(["--config", conf.as_str()]);
        all.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let run = |env: &[(&str, &str)], args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        h.run_env(env, &args)
    };
    let (code, _, err) = run(&[], enc(&["check"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("config file is NOT encrypted"), "{err}");
    let (code, _, err) = run(&[], enc(&["set"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no password to encrypt with"), "{err}");
    let (code, _, err) = run(&[], enc(&["set", "--password-command", "echo n3w-pw"]));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("RCLONE_ENCRYPT_V0:") && !text.contains("local"),
        "{text}"
    );
    let listed = h.rclone_env(
        &bin,
        &[("RCLONE_CONFIG_PASS", "n3w-pw")],
        &["listremotes", "--config", &conf],
    );
    assert_eq!(listed, (0, "loc:\n".to_owned()));
    let pass = [("RCLONE_CONFIG_PASS", "n3w-pw")];
    let (code, _, err) = run(&pass, enc(&["check"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[("RCLONE_CONFIG_PASS", "bad")], enc(&["check"]));
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(&pass, enc(&["remove"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "[loc]\ntype = local\n"
    );
}

/// `config unset`, `config string`, `config touch` and `config edit`'s name: what rclone
/// 1.75 does with the same file, side by side.
#[test]
fn config_unset_string_and_touch_as_rclone() {
    let Some(bin) = rclone() else { return };
    let h = Home::new();
    let conf = h.p("ferry.conf");
    let theirs = h.p("rclone.conf");
    for c in [&conf, &theirs] {
        std::fs::write(
            c,
            "[box]\ntype = sftp\nhost = example.org\nport = 22\nuser = ann\nset_modtime = false\nmd5sum_command = md5sum -b\n",
        )
        .unwrap();
    }
    // `config string`: the options that aren't defaults (port 22 is), backend flags too.
    let ours = h.run(&[
        "--config",
        &conf,
        "config",
        "string",
        "box:dir",
        "--sftp-concurrency",
        "8",
    ]);
    assert_eq!(ours.0, 0, "{}", ours.2);
    let (code, rs) = h.rclone(
        &bin,
        &[
            "--config",
            &theirs,
            "config",
            "string",
            "box:dir",
            "--sftp-concurrency",
            "8",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(ours.1, rs);
    assert_eq!(
        ours.1,
        ":sftp,concurrency=8,host=example.org,md5sum_command=md5sum -b,set_modtime=false,user=ann:dir\n"
    );
    // The string opens the same place.
    let (code, _, err) = h.run(&["--config", &conf, "config", "string", "nope:"]);
    assert_eq!(code, 1, "{err}");
    // `config unset`: the keys go from the file; the type can't.
    let ours = h.run(&[
        "--config",
        &conf,
        "config",
        "unset",
        "box",
        "user",
        "set_modtime",
        "absent",
    ]);
    assert_eq!(ours.0, 0, "{}", ours.2);
    h.rclone(
        &bin,
        &[
            "--config",
            &theirs,
            "config",
            "unset",
            "box",
            "user",
            "set_modtime",
            "absent",
        ],
    );
    // (rclone rewrites the file with a blank line after each section; ferry keeps the
    // file's own layout.)
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap().trim_end(),
        std::fs::read_to_string(&theirs).unwrap().trim_end()
    );
    assert!(!std::fs::read_to_string(&conf).unwrap().contains("user"));
    let (code, _, err) = h.run(&["--config", &conf, "config", "unset", "box", "type"]);
    assert_eq!(code, 1, "{err}");
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("type = sftp"));
    // `config touch`: the file exists afterwards, an existing one is left as it is.
    let fresh = h.p("new/ferry.conf");
    let (code, _, err) = h.run(&["--config", &fresh, "config", "touch"]);
    assert_eq!(code, 0, "{err}");
    assert!(Path::new(&fresh).exists());
    let before = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(h.run(&["--config", &conf, "config", "touch"]).0, 0);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), before);
}

/// Scripts create remotes with `--non-interactive` (rclone then answers with its state
/// machine's "nothing left to ask") or `--no-output`; both tools leave the same file and
/// print the same. The flags that answer questions one by one are refused (exit 2).
#[test]
fn config_create_and_update_without_questions_as_rclone() {
    let Some(bin) = rclone() else { return };
    let h = Home::new();
    let steps: [&[&str]; 4] = [
        &[
            "config",
            "create",
            "a",
            "s3",
            "provider=AWS",
            "access_key_id=AK",
            "--non-interactive",
        ],
        &["config", "create", "b", "local", "--no-output"],
        &[
            "config",
            "update",
            "b",
            "copy_links=true",
            "--non-interactive",
        ],
        &[
            "config",
            "update",
            "a",
            "region",
            "eu-west-1",
            "--no-output",
        ],
    ];
    for (conf, rclone_runs) in [(h.p("ferry.conf"), false), (h.p("rclone.conf"), true)] {
        for args in steps {
            let mut all = vec!["--config", conf.as_str()];
            all.extend_from_slice(args);
            let (code, out) = if rclone_runs {
                h.rclone(&bin, &all)
            } else {
                let (code, out, _) = h.run(&all);
                (code, out)
            };
            assert_eq!(code, 0, "{args:?}");
            let want = match args.last() {
                Some(&"--no-output") => "",
                _ => "{\n\t\"State\": \"\",\n\t\"Option\": null,\n\t\"Error\": \"\",\n\t\"Result\": \"\"\n}\n",
            };
            assert_eq!(out, want, "{args:?}");
        }
    }
    let read = |n: &str| std::fs::read_to_string(h.path(n)).unwrap();
    // rclone writes the keys of one `create` in Go's map order, which changes run to
    // run: each section's keys are compared as a set, the sections in order.
    let sections = |text: &str| -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            match line.starts_with('[') {
                true => out.push((line.to_owned(), Vec::new())),
                false => out.last_mut().unwrap().1.push(line.to_owned()),
            }
        }
        for (_, keys) in &mut out {
            keys.sort();
        }
        out
    };
    assert_eq!(
        sections(&read("ferry.conf")),
        sections(&read("rclone.conf"))
    );
    let conf = h.p("ferry.conf");
    for flag in [&["--continue"][..], &["--all"], &["--state", "x"]] {
        let mut all = vec!["--config", conf.as_str(), "config", "create", "c", "local"];
        all.extend_from_slice(flag);
        let (code, _, err) = h.run(&all);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("ask no configuration questions"), "{err}");
    }
    assert!(!read("ferry.conf").contains("[c]"));
}
