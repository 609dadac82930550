//! Compatibility with rclone's obscure and config file.
//!
//! The vectors below were made with `rclone obscure` from rclone v1.75.2.
//! When `FERRY_TEST_RCLONE` names an rclone binary, the tests also run it:
//! rclone must reveal what ferry obscures, and rclone and ferry must read
//! the same config files the same way. If the variable is set but the
//! binary can't be run, the test fails.

use std::path::Path;
use std::process::Command;

use ferry_config::obscure::{obscure_with_iv, reveal_bytes};
use ferry_config::{obscure, reveal, ConfigFile};

/// (plain, `rclone obscure` output) from rclone v1.75.2.
const VECTORS: &[(&str, &str)] = &[
    ("", "tuCd0P4pkc-zZLXTvPXAqg"),
    ("x", "Em4h71PnWJVHhNftdUvfUyc"),
    ("password", "EvdWNEOrLarmMwUaHml6lxppYS6cWspC"),
    ("secret1", "vGyQ-BwtjSfVWuYMT-xEoexiOTgdkl8"),
    ("kfp", "81Z8oPnOAGQUz4THReJBGoeE8g"),
    (
        "pässwörd-日本語-🔑",
        "Y4bDKIS1v93v-k-wcpWau1Jcr4vlGH3lkNjLzF9goQ4dJqdh4GBxcto",
    ),
    (
        "a b,c'd\"e:f=g\\h;#",
        "xVa4mjqf2zDCfaGJj17GuJCrsNZeA9GZE9nBfXF8N_w7",
    ),
    (
        "The quick brown fox jumps over the lazy dog; 0123456789 ~!@#$%^&*()_+ Sphinx of black quartz, judge my vow!",
        "lJjwowwDaNhLrhoTvCF7AnaOQbC6U20T-W8JSMpwcYczn0t5GCB4zQq61BiNMyMV0aHEr-zW2S0_lQZOSozUkBgts4SAs3O4PI8NXzn9SrqR0dN2xBKZWTxcxVMlOj8AugpeQvTvLVAYn2IxG9cKNHL9arWIT3bdduVR",
    ),
];

#[test]
fn ferry_reveals_rclone_vectors() {
    assert!(VECTORS.iter().any(|(p, _)| p.len() > 100));
    for (plain, obscured) in VECTORS {
        assert_eq!(reveal(obscured).unwrap(), *plain, "revealing {obscured}");
    }
}

#[test]
fn ferry_obscures_bit_for_bit_like_rclone() {
    // The IV is the first 16 bytes of rclone's output: obscuring the same
    // plain text with that IV must give exactly rclone's string.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for (plain, obscured) in VECTORS {
        let raw = b64.decode(obscured).unwrap();
        let iv: [u8; 16] = raw[..16].try_into().unwrap();
        assert_eq!(obscure_with_iv(plain.as_bytes(), &iv), *obscured);
        assert_eq!(reveal_bytes(obscured).unwrap(), plain.as_bytes());
    }
}

/// The rclone binary named by `FERRY_TEST_RCLONE`, if set.
fn rclone() -> Option<String> {
    let bin = std::env::var("FERRY_TEST_RCLONE")
        .ok()
        .filter(|s| !s.is_empty())?;
    let out = Command::new(&bin)
        .arg("version")
        .output()
        .unwrap_or_else(|e| panic!("FERRY_TEST_RCLONE={bin} can't be run: {e}"));
    assert!(
        out.status.success(),
        "FERRY_TEST_RCLONE={bin}: `rclone version` failed"
    );
    Some(bin)
}

/// Run rclone with a private HOME so it never touches the user's files.
fn run(bin: &str, home: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("RCLONE_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("running {bin}: {e}"));
    assert!(
        out.status.success(),
        "rclone {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rclone_reveals_ferry_obscure() {
    let Some(bin) = rclone() else {
        eprintln!("FERRY_TEST_RCLONE not set: skipping the live rclone check");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let mut plains: Vec<String> = VECTORS.iter().map(|(p, _)| p.to_string()).collect();
    plains.push("x".repeat(300));
    for plain in &plains {
        if plain.is_empty() {
            continue; // `rclone reveal ""` prints a usage error
        }
        let ours = obscure(plain).unwrap();
        let out = run(&bin, home.path(), &["reveal", "--", &ours]);
        assert_eq!(out.strip_suffix('\n').unwrap_or(&out), plain);
        let theirs = run(&bin, home.path(), &["obscure", "--", plain]);
        assert_eq!(reveal(theirs.trim_end()).unwrap(), *plain);
    }
}

/// Values that stress the INI quoting rules.
const TRICKY: &[&str] = &[
    "plain",
    " leading space",
    "trailing space ",
    "`starts with backtick",
    "has ` inside",
    "\"\"\"triple",
    "a = b : c",
    "# hash ; semicolon",
    "C:\\windows\\path\\",
    "ünïcödé ✓",
    "\"quoted\"",
    "",
];

#[test]
fn rclone_reads_config_written_by_ferry() {
    let Some(bin) = rclone() else {
        eprintln!("FERRY_TEST_RCLONE not set: skipping the live rclone check");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("ferry.conf");
    let mut c = ConfigFile::new(&path);
    for (i, v) in TRICKY.iter().enumerate() {
        c.set("r", "type", "local").unwrap();
        c.set("r", &format!("k{i}"), v).unwrap();
    }
    c.save().unwrap();
    let dump = run(
        &bin,
        home.path(),
        &["--config", path.to_str().unwrap(), "config", "dump"],
    );
    let j: serde_json::Value = serde_json::from_str(&dump).unwrap();
    for (i, v) in TRICKY.iter().enumerate() {
        assert_eq!(
            j["r"][format!("k{i}")],
            *v,
            "value {v:?} as rclone reads it"
        );
    }
}

#[test]
fn ferry_reads_config_written_by_rclone() {
    let Some(bin) = rclone() else {
        eprintln!("FERRY_TEST_RCLONE not set: skipping the live rclone check");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("rclone.conf");
    let p = path.to_str().unwrap();
    // rclone writes a value starting with `"""` unquoted and then can't
    // read its own file back, so that one is left out here.
    for (i, v) in TRICKY
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.starts_with("\"\"\""))
    {
        let kv = format!("description={v}");
        run(
            &bin,
            home.path(),
            &[
                "--config",
                p,
                "config",
                "create",
                &format!("r{i}"),
                "local",
                &kv,
            ],
        );
    }
    run(
        &bin,
        home.path(),
        &[
            "--config",
            p,
            "config",
            "create",
            "s",
            "sftp",
            "host=h",
            "pass=hunter2",
        ],
    );
    let dump = run(&bin, home.path(), &["--config", p, "config", "dump"]);
    let j: serde_json::Value = serde_json::from_str(&dump).unwrap();
    let c = ConfigFile::load(&path).unwrap();
    // Whatever rclone wrote, ferry reads what rclone reads.
    assert_eq!(ferry_config::dump_json(&c), j);
    assert_eq!(reveal(c.get("s", "pass").unwrap()).unwrap(), "hunter2");
}
