//! Secrets and names: a path argument's secret (a SAS signature, a connection-string
//! password or key) never becomes part of a name, a log line, a state file or its name;
//! names holding control characters can't forge log lines or reach the terminal raw; a
//! backend that can't be reached says so in one line naming the endpoint.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ferry_testbed::Testbed;

use super::common::{cloud, rclone, split, write_file, Scratch};

/// Runs `cmd` with `args` (and `stdin` piped in); returns (code, stdout, stderr).
fn run_with(mut cmd: Command, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    cmd.args(args);
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("ferry runs");
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    split(child.wait_with_output().unwrap())
}

#[track_caller]
fn ok(cmd: Command, args: &[&str], stdin: Option<&[u8]>) -> (String, String) {
    let (code, out, err) = run_with(cmd, args, stdin);
    assert_eq!(
        code, 0,
        "ferry {args:?} failed\nstdout: {out}\nstderr: {err}"
    );
    (out, err)
}

#[track_caller]
fn assert_hidden(secret: &str, what: &str, text: &str) {
    assert!(
        !text.contains(secret),
        "{what} shows the secret {secret:?}:\n{text}"
    );
}

// ------------------------------------------------------------------------ item 1

/// A container SAS whose signature holds `/` (as pasted unencoded), and that signature.
fn sas_with_slash(az: &ferry_testbed::Azure) -> (String, String) {
    for secs in 600..800 {
        let q = az.container_sas(Duration::from_secs(secs));
        if q.contains("%2F") {
            let q = q.replace("%2F", "/");
            let sig = q.split("sig=").nth(1).unwrap().split('&').next().unwrap();
            return (q.clone(), sig.to_owned());
        }
    }
    panic!("no signature with a slash in 200 tries");
}

#[test]
fn a_sas_in_a_file_argument_never_becomes_part_of_the_name() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    write_file(&s.path("a.txt"), b"copied", 100);
    write_file(&s.path("b.txt"), b"moved", 100);
    let (sas, sig) = sas_with_slash(&az);
    let url = |name: &str| format!("{}/{}/dir/{name}?{sas}", az.endpoint, az.container);
    let a = s.path("a.txt").to_string_lossy().into_owned();
    let b = s.path("b.txt").to_string_lossy().into_owned();
    let mut logs = String::new();
    for (args, stdin) in [
        (vec!["copyto", "-v", &a, &url("copied.txt")], None),
        (vec!["moveto", "-v", &b, &url("moved.txt")], None),
        (vec!["rcat", "-v", &url("rcat.txt")], Some(&b"piped"[..])),
        (vec!["touch", "-v", &url("touched.txt")], None),
    ] {
        let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
        let (out, err) = ok(cloud(), &args, stdin);
        logs.push_str(&out);
        logs.push_str(&err);
    }
    assert_hidden(&sig, "the log", &logs);
    assert_hidden("sig=", "the log", &logs);
    let (listed, _) = ok(cloud(), &["lsf", "-R", &az.rclone_path("")], None);
    let names: BTreeSet<&str> = listed.lines().collect();
    let want: BTreeSet<&str> = [
        "dir/",
        "dir/copied.txt",
        "dir/moved.txt",
        "dir/rcat.txt",
        "dir/touched.txt",
    ]
    .into();
    assert_eq!(names, want, "blobs made from SAS arguments");
    let (body, _) = ok(cloud(), &["cat", &az.rclone_path("dir/copied.txt")], None);
    assert_eq!(body, "copied");
    assert!(!s.exists("b.txt"), "moveto left its source");
}

// ------------------------------------------------------------------------ item 2

/// Everything ferry wrote under `dir`: (relative name, mode, content).
fn written(dir: &Path) -> Vec<(String, u32, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                out.push((rel, mode, String::new()));
                stack.push(p);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                out.push((rel, mode, text));
            }
        }
    }
    out
}

/// Runs bisync between a local directory and `remote` twice (resync, then a normal run
/// with a change to carry), with the default work directory under a fresh cache home;
/// checks that no `secret` reaches the output, the state, its name or its directory
/// listing, and that ferry's cache is private.
fn bisync_keeps_secret(remote: &str, secrets: &[&str]) {
    let s = Scratch::new();
    let cache = s.path("cache");
    write_file(&s.path("local/one.txt"), b"one", 100);
    let local = s.path("local").to_string_lossy().into_owned();
    let mut logs = String::new();
    let bisync = |extra: &[&str]| {
        let mut c = cloud();
        c.env("XDG_CACHE_HOME", &cache);
        let mut args = vec!["bisync", "-v", &local, remote];
        args.extend_from_slice(extra);
        ok(c, &args, None)
    };
    let (out, err) = bisync(&["--resync"]);
    logs.push_str(&(out + &err));
    write_file(&s.path("local/two.txt"), b"two", 50);
    let (out, err) = bisync(&[]);
    logs.push_str(&(out + &err));
    let (out, err) = bisync(&["--dry-run", "--json"]);
    logs.push_str(&(out + &err));
    assert!(
        logs.contains("two.txt"),
        "the second run carried nothing:\n{logs}"
    );
    let ferry_dir = cache.join("ferry");
    let files = written(&ferry_dir);
    assert!(
        files.iter().any(|(n, _, _)| n.ends_with(".state.json")),
        "no state saved: {files:?}"
    );
    for secret in secrets {
        assert_hidden(secret, "the output", &logs);
        for (name, _, text) in &files {
            assert_hidden(secret, "a state file's name", name);
            assert_hidden(secret, &format!("state file {name}"), text);
        }
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ferry_dir), 0o700, "{}", ferry_dir.display());
    for (name, m, text) in &files {
        let want = if text.is_empty() && ferry_dir.join(name).is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(*m, want, "mode of {name}");
        assert!(name.len() <= 255);
    }
}

#[test]
fn bisync_never_writes_an_sftp_password_to_logs_or_state() {
    let Some(sftp) = Testbed::sftp() else { return };
    // The connection string alone makes a name past 255 bytes: it used to fail.
    let remote = format!("{}{}", sftp.rclone_remote_password(), sftp.path(""));
    let pass = remote
        .split("pass=")
        .nth(1)
        .unwrap()
        .split([',', ':'])
        .next()
        .unwrap()
        .trim_matches('\'')
        .to_owned();
    assert!(pass.len() > 8, "{remote}");
    bisync_keeps_secret(&remote, &[&pass, "testpass"]);
}

#[test]
fn bisync_never_writes_a_webdav_password_to_logs_or_state() {
    let Some(w) = Testbed::webdav() else { return };
    let remote = w.rclone_path("");
    let pass = remote
        .split("pass=")
        .nth(1)
        .unwrap()
        .split([',', ':'])
        .next()
        .unwrap()
        .trim_matches('\'')
        .to_owned();
    assert!(pass.len() > 8, "{remote}");
    bisync_keeps_secret(&remote, &[&pass, &w.password]);
}

#[test]
fn bisync_never_writes_an_s3_secret_key_to_logs_or_state() {
    let Some(s3) = Testbed::s3() else { return };
    let secret = "Zq8sEcReT/Key+With/Slashes0";
    let remote = format!(
        ":s3,provider=Other,access_key_id={},secret_access_key='{secret}',endpoint='{}',region={},force_path_style=true:{}",
        s3.access_key, s3.endpoint, s3.region, s3.bucket
    );
    bisync_keeps_secret(&remote, &[secret]);
}

#[test]
fn bisync_never_writes_a_sas_signature_to_logs_or_state() {
    let Some(az) = Testbed::azure() else { return };
    let sas = az.container_sas(Duration::from_secs(3600));
    let sig = sas.split("sig=").nth(1).unwrap().split('&').next().unwrap();
    let url = format!("{}/{}?{sas}", az.endpoint, az.container);
    bisync_keeps_secret(&url, &[sig, "sig="]);
}

/// rclone's canonical name of a path argument (what older ferry named state by).
fn rclone_canonical(p: &str) -> String {
    p.trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_whitespace() || matches!(c, '/' | '\\' | ':' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn bisync_still_finds_state_saved_under_a_name_holding_a_secret() {
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    let wd = s.path("wd");
    write_file(&s.path("local/one.txt"), b"one", 100);
    let local = s.path("local").to_string_lossy().into_owned();
    let remote = format!(
        ":s3,provider=Other,access_key_id={},secret_access_key=OldS3cret,endpoint='{}',region={},force_path_style=true:{}",
        s3.access_key, s3.endpoint, s3.region, s3.bucket
    );
    let wd_s = wd.to_string_lossy().into_owned();
    let bisync = |extra: &[&str]| {
        let mut args = vec!["bisync", &local, &remote, "--workdir", &wd_s];
        args.extend_from_slice(extra);
        run_with(cloud(), &args, None)
    };
    let (code, _, err) = bisync(&["--resync"]);
    assert_eq!(code, 0, "{err}");
    // Put the state where an older ferry kept it: named from the arguments themselves.
    let legacy = format!(
        "{}..{}",
        rclone_canonical(&local),
        rclone_canonical(&remote)
    );
    let state: Vec<_> = std::fs::read_dir(&wd)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".state.json"))
        .collect();
    assert_eq!(state.len(), 1, "{state:?}");
    let new_name = state[0].clone();
    std::fs::rename(&new_name, wd.join(format!("{legacy}.state.json"))).unwrap();
    write_file(&s.path("local/two.txt"), b"two", 50);
    let (code, _, err) = bisync(&["-v"]);
    assert_eq!(code, 0, "the old state was not found:\n{err}");
    assert!(new_name.exists(), "the state was not moved to its new name");
    assert!(!wd.join(format!("{legacy}.state.json")).exists());
    assert_hidden("OldS3cret", "the output", &err);
}

// ------------------------------------------------------------------------ item 6

/// Local files whose names hold control characters; the last is a path whose printed
/// form would forge an ERROR line.
const NASTY_NAMES: [&str; 6] = [
    "nl\nx",
    "cr\rx",
    "esc\x1b[31mx",
    "tab\tx",
    "del\x7fx",
    "x\n2026/12/04 12:00:00 ERROR : forged",
];

#[test]
fn control_characters_in_names_never_reach_the_log_or_terminal_raw() {
    let s = Scratch::new();
    for (i, n) in NASTY_NAMES.iter().enumerate() {
        write_file(&s.path("src").join(n), b"a", 100 + i as u64);
    }
    write_file(&s.path("src/lit\u{240a}x"), b"a", 100);
    let (code, out, err) = run_with(cloud(), &["copy", "-v", &s.src(), &s.dst()], None);
    assert_eq!(code, 0, "{err}");
    for (what, text) in [("copy -v", &err), ("copy stdout", &out)] {
        assert!(
            !text.contains('\x1b') && !text.contains('\r'),
            "{what}: {text:?}"
        );
        for line in text.lines() {
            assert!(
                !line.starts_with("2026/12/04 12:00:00 ERROR"),
                "{what} has a forged line: {text}"
            );
        }
    }
    assert!(err.contains("nl\u{240a}x: Copied (new)"), "{err}");
    assert!(err.contains("esc\u{241b}[31mx: Copied (new)"), "{err}");
    // The files themselves keep their real names.
    for n in NASTY_NAMES {
        assert!(Path::new(&s.dst()).join(n).exists(), "{n:?}");
    }
    // Listings: the same look-alikes as rclone 1.75 prints, line for line.
    for cmd in ["ls", "lsf", "lsl"] {
        let (code, out, err) = run_with(cloud(), &[cmd, &s.src()], None);
        assert_eq!(code, 0, "{err}");
        assert!(
            !out.contains(['\x1b', '\r', '\t', '\x7f']),
            "{cmd}: {out:?}"
        );
        assert_eq!(
            out.lines().count(),
            NASTY_NAMES.len() + 1,
            "{cmd} printed a name over several lines: {out}"
        );
        if let Some(bin) = rclone() {
            if cmd == "lsl" {
                continue; // times are printed to a different precision
            }
            let (rc, rout, rerr) = super::common::rclone_in(&bin, s.dir.path(), &[cmd, &s.src()]);
            assert_eq!(rc, 0, "{rerr}");
            let sorted = |t: &str| t.lines().map(str::to_owned).collect::<BTreeSet<_>>();
            assert_eq!(sorted(&out), sorted(&rout), "{cmd} differs from rclone");
        }
    }
    // lsjson shows the names rclone 1.75's lsjson shows: control characters as their
    // look-alikes there too (rclone's standard names; see the README's encoding notes).
    let (code, out, _) = run_with(cloud(), &["lsjson", "-R", "--files-only", &s.src()], None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: BTreeSet<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Path"].as_str().unwrap().to_owned())
        .collect();
    for n in NASTY_NAMES {
        let shown: String = n
            .chars()
            .map(|c| match c {
                '\0'..='\x1f' => char::from_u32(0x2400 + c as u32).unwrap(),
                '\x7f' => '\u{2421}',
                c => c,
            })
            .collect();
        assert!(names.contains(&shown), "{shown:?} not in {names:?}");
    }
}

// ------------------------------------------------------------------------ item 7

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[track_caller]
fn assert_one_clear_line(what: &str, args: &[&str], endpoint: &str) {
    let (code, out, err) = run_with(cloud(), args, None);
    assert_ne!(code, 0, "{what}: {out}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: one line expected:\n{err}");
    let line = lines[0];
    assert!(
        line.len() < 300,
        "{what}: {} characters: {line}",
        line.len()
    );
    for raw in [
        "{",
        "DispatchFailure",
        "ConnectorError",
        "Custom {",
        "kind:",
    ] {
        assert!(!line.contains(raw), "{what}: debug output: {line}");
    }
    assert!(
        line.contains(endpoint),
        "{what}: doesn't name {endpoint}: {line}"
    );
    assert!(line.contains("connection refused"), "{what}: {line}");
}

#[test]
fn an_unreachable_endpoint_is_one_line_naming_it() {
    let port = closed_port();
    let ep = format!("127.0.0.1:{port}");
    let s3 = format!(
        ":s3,provider=Other,access_key_id=a,secret_access_key=b,endpoint='http://{ep}',region=us-east-1,force_path_style=true:bucket/x"
    );
    assert_one_clear_line("s3 ls", &["ls", &s3], &ep);
    let az = format!(
        ":azureblob,account=devstoreaccount1,key=V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk=,endpoint='http://{ep}/devstoreaccount1':cont/x"
    );
    assert_one_clear_line("azure ls", &["ls", &az], &ep);
    let sftp = format!(":sftp,host=127.0.0.1,port={port},user=u:dir");
    assert_one_clear_line("sftp ls", &["ls", &sftp], &ep);
    let webdav = format!(":webdav,url='http://{ep}/dav/',user=u:dir");
    assert_one_clear_line("webdav ls", &["ls", &webdav], &ep);
}
