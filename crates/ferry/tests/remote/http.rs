//! The http backend end to end: the `ferry` binary against the testbed's nginx
//! (127.0.0.1:18080, autoindex on), side by side with rclone 1.75. Tests write files into
//! the served directory, then read them through both. Every test skips (or fails under
//! `CI=true`) when the server is not running.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use common::{cloud_ok, cloud_run};
use ferry_testbed::{Http, Testbed};

/// Files with names that need URL escaping, nested directories and an empty file, each
/// with a fixed whole-second time.
fn serve_tree(h: &Http) {
    for (i, (name, data)) in [
        ("plain.txt", "plain"),
        ("with space.txt", "spaced"),
        ("ünïcødé 日本.md", "unicode"),
        ("100% & more #1.txt", "escapes"),
        ("empty", ""),
        ("dir/sub/deep.bin", "deep"),
        ("dir/a;b=c+d.txt", "semi"),
    ]
    .into_iter()
    .enumerate()
    {
        let p = h.write(name, data);
        set_time(&p, 1_600_000_000 + i as u64 * 3_600);
    }
    std::fs::create_dir_all(h.path("empty dir")).unwrap();
}

fn set_time(p: &Path, secs: u64) {
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    filetime::set_file_mtime(p, filetime::FileTime::from_system_time(t)).unwrap();
}

/// rclone's output for `args` (which must succeed).
fn rclone_ok(h: &Http, args: &[&str]) -> String {
    String::from_utf8(ferry_testbed::run(h.rclone().args(args))).unwrap()
}

/// Lines, sorted: both tools list directories concurrently, in no fixed order.
fn sorted(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = out
        .lines()
        .map(|l| l.trim_end_matches(',').to_owned())
        .collect();
    lines.sort();
    lines
}

#[test]
fn listings_match_rclone() {
    let Some(h) = Testbed::http() else { return };
    serve_tree(&h);
    let remote = h.rclone_remote();
    for args in [
        vec!["lsf", "-R"],
        vec!["lsf", "-R", "--format", "pst", "--dirs-only"],
        vec!["lsl"],
        vec!["lsd", "-R"],
        vec!["lsjson", "-R"],
        vec!["lsf", "-R", "--format", "pm"],
        vec!["size"],
    ] {
        let mut full = args.clone();
        full.push(&remote);
        let (ours, _) = cloud_ok(&full);
        let theirs = rclone_ok(&h, &full);
        assert_eq!(
            sorted(&ours),
            sorted(&theirs),
            "ferry {args:?} differs from rclone"
        );
    }
    let (ours, _) = cloud_ok(&["lsf", "-R", "--files-only", &remote]);
    assert_eq!(ours.lines().count(), 7, "{ours}");
}

#[test]
fn copy_and_sync_from_http_then_nothing_to_do() {
    let Some(h) = Testbed::http() else { return };
    serve_tree(&h);
    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().to_str().unwrap();
    let (_, err) = cloud_ok(&[
        "copy",
        &h.rclone_remote(),
        d,
        "-v",
        "--create-empty-src-dirs",
    ]);
    assert!(err.contains("Transferred:"), "{err}");
    common::assert_same_tree(&h.dir(), dst.path());
    assert!(
        dst.path().join("empty dir").is_dir(),
        "empty directories come when asked"
    );
    // Size and time (to the second) match: a second run copies nothing.
    for cmd in ["copy", "sync"] {
        let (_, err) = cloud_ok(&[cmd, &h.rclone_remote(), d, "-v"]);
        assert!(!err.contains(": Copied"), "{cmd} copied again:\n{err}");
    }
    // A changed file (new size, new time) is copied again, and only it.
    let p = h.write("plain.txt", "plain, changed");
    set_time(&p, 1_700_000_000);
    let (_, err) = cloud_ok(&["sync", &h.rclone_remote(), d, "-v"]);
    let copied: Vec<&str> = err.lines().filter(|l| l.contains(": Copied")).collect();
    assert_eq!(copied.len(), 1, "{err}");
    assert!(copied[0].contains("plain.txt"), "{err}");
    common::assert_same_tree(&h.dir(), dst.path());
}

#[test]
fn a_root_naming_a_file_is_that_file_as_in_rclone() {
    let Some(h) = Testbed::http() else { return };
    serve_tree(&h);
    for name in ["plain.txt", "with space.txt", "dir/sub/deep.bin"] {
        let arg = format!("{}{name}", h.rclone_remote());
        for args in [vec!["lsl", &arg], vec!["lsf", &arg], vec!["cat", &arg]] {
            let (ours, _) = cloud_ok(&args);
            assert_eq!(ours, rclone_ok(&h, &args), "{args:?}");
        }
        let dst = tempfile::tempdir().unwrap();
        let d = format!("{}/", dst.path().display());
        cloud_ok(&["copy", &arg, &d]);
        let leaf = name.rsplit('/').next().unwrap();
        assert_eq!(
            std::fs::read(dst.path().join(leaf)).unwrap(),
            std::fs::read(h.path(name)).unwrap()
        );
        assert_eq!(
            common::mtime(&dst.path().join(leaf)),
            common::mtime(&h.path(name))
        );
    }
    // A ranged read.
    let arg = format!("{}with space.txt", h.rclone_remote());
    let (ours, _) = cloud_ok(&["cat", "--offset", "2", "--count", "3", &arg]);
    assert_eq!(ours, "ace");
}

#[test]
fn the_url_flag_and_environment_name_the_server() {
    let Some(h) = Testbed::http() else { return };
    serve_tree(&h);
    let (ours, _) = cloud_ok(&["lsf", "--http-url", &h.url(), ":http:dir"]);
    assert_eq!(sorted(&ours), ["a;b=c+d.txt", "sub/"]);
    let (code, out, err) = common::split(
        common::cloud()
            .env("RCLONE_HTTP_URL", h.url())
            .args(["lsf", ":http:dir/sub"])
            .output()
            .unwrap(),
    );
    assert_eq!((code, out.as_str()), (0, "deep.bin\n"), "{err}");
}

#[test]
fn headers_are_sent_with_every_request() {
    let Some(h) = Testbed::http_in("header-only") else {
        return;
    };
    serve_tree(&h);
    let with = format!(":http,url='{}',headers='{}':", h.url(), h.header);
    let (ours, _) = cloud_ok(&["lsl", &with]);
    assert_eq!(sorted(&ours), sorted(&rclone_ok(&h, &["lsl", &with])));
    let (out, _) = cloud_ok(&["cat", &format!("{with}dir/sub/deep.bin")]);
    assert_eq!(out, "deep");
    let (code, _, err) = cloud_run(&["lsf", &h.rclone_remote()]);
    assert_ne!(code, 0);
    assert!(err.contains("403"), "{err}");
    let (code, _, err) = cloud_run(&["lsf", &format!(":http,url='{}',headers=Odd:", h.url())]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("headers") && err.contains("odd"), "{err}");
}

#[test]
fn a_login_in_the_url_is_used_and_never_shown() {
    let Some(h) = Testbed::http_in("auth") else {
        return;
    };
    serve_tree(&h);
    let enc = |s: &str| {
        s.replace('%', "%25")
            .replace(' ', "%20")
            .replace('@', "%40")
    };
    let url = h.url().replacen(
        "http://",
        &format!("http://{}:{}@", h.user, enc(&h.pass)),
        1,
    );
    let remote = format!(":http,url='{url}':");
    let (out, err) = cloud_ok(&["lsf", "-R", "-vv", &remote]);
    assert!(out.contains("dir/sub/deep.bin"), "{out}");
    let secret = enc(&h.pass);
    for text in [&out, &err] {
        assert!(
            !text.contains(&secret) && !text.contains(&h.pass),
            "password shown:\n{text}"
        );
    }
    // Refused: the error says so, and shows no password either.
    let wrong = url.replace(&secret, "not-it");
    let (code, out, err) = cloud_run(&[
        "copy",
        "-vv",
        &format!(":http,url='{wrong}':"),
        "/nonexistent-ferry-dst",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains("not-it") && !out.contains("not-it"), "{err}");
}

#[test]
fn bad_servers_and_roots_fail_as_rclone_does() {
    let Some(h) = Testbed::http() else { return };
    serve_tree(&h);
    let exit = |args: &[&str]| {
        let ours = cloud_run(args);
        let theirs = h
            .rclone()
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
            .unwrap();
        assert_eq!(ours.0, theirs, "{args:?}: {}", ours.2);
        ours.2
    };
    let err = exit(&["lsf", ":http,url='http://127.0.0.1:1/':"]);
    assert!(err.contains("connection refused to 127.0.0.1:1"), "{err}");
    let err = exit(&["lsf", &format!("{}no/such/dir", h.rclone_remote())]);
    assert!(err.contains("directory not found"), "{err}");
    let err = exit(&["lsf", &format!("{}no-such-dir/", h.rclone_remote())]);
    assert!(err.contains("directory not found"), "{err}");
    // Options ferry lacks or needs: said once, in one line.
    let (code, _, err) = cloud_run(&["lsf", &format!(":http,url='{}',no_head=true:", h.url())]);
    assert_eq!(code, 2, "refused as every unimplemented option is: {err}");
    assert!(
        err.contains("no_head") && err.contains("not implemented"),
        "{err}"
    );
    let (code, _, err) = cloud_run(&["lsf", ":http:"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("url is required"), "{err}");
    let Some(j) = Testbed::http_in("json-index") else {
        return;
    };
    j.write("x.txt", "x");
    let err = exit(&["lsf", &j.rclone_remote()]);
    assert!(err.contains("application/json"), "{err}");
}

#[test]
fn writes_to_http_fail_clearly() {
    let Some(h) = Testbed::http() else { return };
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("up.txt"), "up").unwrap();
    let s = src.path().to_str().unwrap();
    let remote = h.rclone_remote();
    for args in [
        vec!["copy", s, remote.as_str()],
        vec!["mkdir", &format!("{remote}new")],
        vec!["deletefile", &format!("{remote}up.txt")],
    ] {
        let (code, _, err) = cloud_run(&args);
        let theirs = h
            .rclone()
            .args(&args)
            .output()
            .unwrap()
            .status
            .code()
            .unwrap();
        assert_eq!(code, theirs, "{args:?}: {err}");
        assert!(
            err.contains("read only") || err.contains("not found"),
            "{args:?}: {err}"
        );
    }
    let listed: BTreeSet<_> = std::fs::read_dir(h.dir())
        .unwrap()
        .collect::<Result<_, _>>()
        .map(|v: Vec<_>| v.len())
        .into_iter()
        .collect();
    assert_eq!(listed, BTreeSet::from([0]), "nothing was written");
}

#[test]
fn hostile_links_are_never_entries() {
    let Some(h) = Testbed::http() else { return };
    h.write("real.txt", "real");
    h.write("sub/inner.txt", "inner");
    // nginx serves index.html as the directory's page: a page written to mislead.
    let page = r#"<html><body>
<a href="../x">up</a> <a href="../">parent</a> <a href="/">root</a>
<a href="http://192.0.2.1/elsewhere.txt">other host</a>
<a href="https://127.0.0.1:18080/real.txt">other scheme</a>
<a href="?C=N;O=D">sort</a> <a href="real.txt?download=1">query</a>
<a href="sub/inner.txt">deeper</a> <a href="a%2Fb">encoded slash</a>
<a href="real.txt">real</a> <a href="real.txt">twice</a> <a href="sub/">sub</a>
<a href="index.html">the page itself</a> <a href="r&#101;al.txt">entity</a>
<a href="missing.txt">a link whose HEAD fails</a>
</body></html>"#;
    h.write("index.html", page);
    let args = ["lsf", "-R", &h.rclone_remote()];
    let (ours, _) = cloud_ok(&args);
    assert_eq!(
        sorted(&ours),
        ["index.html", "real.txt", "sub/", "sub/inner.txt"]
    );
    assert_eq!(sorted(&ours), sorted(&rclone_ok(&h, &args)));
}

#[test]
fn no_slash_reads_html_links_as_directories() {
    let Some(h) = Testbed::http() else { return };
    h.write("real.txt", "real");
    h.write("sub/inner.txt", "inner");
    // A site whose directory links lack the `/`: nginx redirects `sub` to `sub/`.
    h.write(
        "index.html",
        r#"<a href="real.txt">f</a> <a href="sub">d</a> <a href="index.html">p</a>"#,
    );
    let remote = format!(":http,url='{}',no_slash=true:", h.url());
    let args = ["lsf", "-R", &remote];
    // The page itself is text/html too: a "directory" that can't be listed (exit 3), as
    // in rclone.
    let (code, ours, err) = cloud_run(&args);
    assert_eq!(
        sorted(&ours),
        ["index.html/", "real.txt", "sub/", "sub/inner.txt"]
    );
    assert!(err.contains("index.html: directory not found"), "{err}");
    let theirs = h.rclone().args(args).output().unwrap();
    assert_eq!(code, theirs.status.code().unwrap());
    assert_eq!(
        sorted(&ours),
        sorted(&String::from_utf8_lossy(&theirs.stdout))
    );
    // Without it, `sub` is a file: what its redirect leads to, a page nginx sends without
    // a length. rclone lists it with size -1; ferry has no unknown sizes yet, so it names
    // the entry and why, lists the rest, and the run fails.
    let (code, ours, err) = cloud_run(&["lsf", &h.rclone_remote()]);
    assert_eq!(sorted(&ours), ["index.html", "real.txt"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sub: the server gives no size"), "{err}");
}
