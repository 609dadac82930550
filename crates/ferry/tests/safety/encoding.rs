//! rclone's name encoding (issue 18 §2): a name a backend can't store is kept as rclone
//! keeps it (a look-alike character, quoted where the look-alike was really there), and
//! read back as the same name, so files round-trip exactly and rclone and ferry read
//! each other's uploads under the same names. Each claim here was checked against
//! rclone 1.75 side by side.

use std::collections::BTreeMap;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::Command;

use ferry_testbed::Testbed;

use super::common::{cloud_run, rclone, rclone_in, split, write_file, Scratch};

/// Every file below `root` by its raw on-disk name (bytes, `/`-joined) and content.
fn raw_tree(root: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn shown(t: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<String> {
    t.keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

/// Writes files under `dir` with each raw name (each holding its own name).
fn write_raw(dir: &Path, names: &[&[u8]]) {
    for n in names {
        let p = dir.join(std::ffi::OsString::from_vec(n.to_vec()));
        write_file(&p, n, 1000);
    }
}

/// Names no backend's default lets through unchanged somewhere: a `\` (Azure's
/// directory separator), a trailing `.` (Azure drops it), control characters (stored as
/// their pictures on Azure and SFTP), characters rclone leaves alone on all four
/// (`?`, `*`), and look-alikes that were really in the name (rclone quotes them with
/// `‛`, so they come back as themselves). A lone `‛` in a local name is left out: rclone
/// 1.75 can't open such a file (ferry refuses it in the listing, see the README).
const NAMES: &[&[u8]] = &[
    b"\\.jpg",
    b"a.",
    b"dir./in.txt",
    b"tab\tx",
    b"nl\nx",
    b"del\x7fx",
    b"q?",
    b"star*",
    " sp ".as_bytes(),
    "\u{ff3c}x".as_bytes(), // ＼x: FULLWIDTH REVERSE SOLIDUS, really in the name
    "x\u{ff0e}".as_bytes(), // x．: FULLWIDTH FULL STOP at the end
    "\u{2409}pic".as_bytes(), // ␉pic: the tab's picture, really in the name
    "a\u{ff0f}b".as_bytes(), // a／b: the slash's look-alike
    "\u{ff0e}\u{ff0e}".as_bytes(), // ．．: the look-alike of `..`
];

/// local → remote → local with ferry, then the same tree read by rclone: the names
/// come back exactly, and rclone lists ferry's upload as it lists its own.
fn round_trip_and_interop(remote: &str, rclone_cmd: impl Fn() -> Command, names: &[&[u8]]) {
    let Some(rclone_bin) = rclone() else { return };
    let s = Scratch::new();
    write_raw(&s.path("src"), names);
    let src = raw_tree(&s.path("src"));
    assert_eq!(src.len(), names.len());
    let ours = format!("{remote}/ferry");
    let theirs = format!("{remote}/rclone");

    // ferry up and back.
    let (code, _, err) = cloud_run(&["copy", &s.src(), &ours]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cloud_run(&["copy", &ours, s.path("back").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        shown(&raw_tree(&s.path("back"))),
        shown(&src),
        "names changed on the way through {remote}"
    );
    assert_eq!(raw_tree(&s.path("back")), src);

    // rclone uploads the same tree; both tools list both uploads alike.
    let (code, _, err) = split(
        rclone_cmd()
            .args(["copy", &s.src(), &theirs])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "rclone copy: {err}");
    // (Line order is each store's own: compared as sets of lines.)
    let lines = |t: &str| {
        let mut l: Vec<String> = t.lines().map(str::to_owned).collect();
        l.sort_unstable();
        l
    };
    let (_, local_listing, _) = rclone_in(&rclone_bin, s.dir.path(), &["lsf", "-R", &s.src()]);
    for upload in [&ours, &theirs] {
        let (rc, r_out, r_err) = split(rclone_cmd().args(["lsf", "-R", upload]).output().unwrap());
        assert_eq!(rc, 0, "{r_err}");
        let (fc, f_out, f_err) = cloud_run(&["lsf", "-R", upload]);
        assert_eq!(fc, 0, "{f_err}");
        assert_eq!(
            lines(&f_out),
            lines(&r_out),
            "ferry and rclone list {upload} differently"
        );
        assert_eq!(
            lines(&r_out),
            lines(&local_listing),
            "{upload} lists other names than the source"
        );
    }
    // ferry reads rclone's upload back under the original names, and rclone ferry's.
    let (code, _, err) = cloud_run(&["copy", &theirs, s.path("from-rclone").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(raw_tree(&s.path("from-rclone")), src);
    let (code, _, err) = split(
        rclone_cmd()
            .args(["copy", &ours, s.path("by-rclone").to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(raw_tree(&s.path("by-rclone")), src);
}

#[test]
fn names_azure_cannot_store_round_trip_and_match_rclone() {
    let Some(az) = Testbed::azure() else { return };
    round_trip_and_interop(&az.rclone_path(""), || az.rclone(), NAMES);
    // As stored: `\` and a trailing `.` as their FULLWIDTH look-alikes, as rclone stores
    // them (read raw with rclone's `Raw` encoding).
    let (_, raw, _) = split(
        az.rclone()
            .args([
                "lsf",
                "-R",
                "--azureblob-encoding",
                "Raw",
                &az.rclone_path("ferry"),
            ])
            .output()
            .unwrap(),
    );
    assert!(raw.contains("\u{ff3c}.jpg\n"), "{raw}");
    assert!(raw.contains("a\u{ff0e}\n"), "{raw}");
    assert!(raw.contains("dir\u{ff0e}/in.txt\n"), "{raw}");
}

#[test]
fn names_s3_cannot_store_round_trip_and_match_rclone() {
    let Some(s3) = Testbed::s3() else { return };
    // The test server (moto) answers 404 to rclone's upload of a key holding a newline.
    let names: Vec<&[u8]> = NAMES
        .iter()
        .copied()
        .filter(|n| !n.contains(&b'\n'))
        .collect();
    round_trip_and_interop(&s3.rclone_path(""), || s3.rclone(), &names);
    // S3's default leaves real names alone; with more flags (set in the remote, which
    // both tools read) control characters, `\` and `?` become look-alikes as well.
    let base = s3.rclone_remote();
    let with_flags = format!(
        "{},encoding='Slash,InvalidUtf8,Dot,Ctl,Del,BackSlash,Question':{}/flags",
        base.trim_end_matches(':'),
        s3.bucket
    );
    round_trip_and_interop(&with_flags, || s3.rclone(), &names);
    let (_, raw, _) = split(
        s3.rclone()
            .args([
                "lsf",
                "-R",
                "--s3-encoding",
                "Raw",
                &s3.rclone_path("flags/ferry"),
            ])
            .output()
            .unwrap(),
    );
    // (rclone shows a raw name's `␉` quoted, as a look-alike that is really there.)
    assert!(
        raw.contains("tab\u{201b}\u{2409}x\n") && raw.contains("q\u{ff1f}\n"),
        "{raw}"
    );
}

#[test]
fn names_sftp_cannot_store_round_trip_and_match_rclone() {
    let Some(sftp) = Testbed::sftp() else { return };
    round_trip_and_interop(&sftp.rclone_path(""), || sftp.rclone(), NAMES);
    // On the server a control character is its picture, as rclone stores it.
    let on_server = raw_tree(&Path::new(&sftp.dir).join("ferry"));
    assert!(
        on_server.contains_key("tab\u{2409}x".as_bytes()),
        "{:?}",
        shown(&on_server)
    );
}

/// ferry's one deliberate difference (a guard: ferry kept these bytes before too): a
/// local name that is not UTF-8 keeps its bytes through S3, where rclone's own upload
/// would have replaced them by U+FFFD.
#[test]
fn a_name_that_is_not_utf8_round_trips_through_s3() {
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    write_raw(&s.path("src"), &[b"gro\xdf.txt"]);
    let remote = s3.rclone_path("bytes");
    let (code, _, err) = cloud_run(&["copy", &s.src(), &remote]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cloud_run(&["lsf", &remote]);
    assert_eq!((code, out.as_str()), (0, "gro\u{201b}DF.txt\n"), "{err}");
    let (code, _, err) = cloud_run(&["copy", &remote, s.dst().as_str()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(raw_tree(&s.path("dst")), raw_tree(&s.path("src")));
    // rclone reads the key under S3's InvalidUtf8 as the same bytes.
    let by_rclone = s.path("by-rclone");
    let (code, _, err) = split(
        s3.rclone()
            .args(["copy", &remote, by_rclone.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(raw_tree(&by_rclone), raw_tree(&s.path("src")));
}

/// Local names as rclone 1.75 prints them: a control character as its picture, a
/// picture or quote that was really there quoted, `\` and trailing `.` unchanged.
#[test]
fn listings_print_names_as_rclone_does() {
    let Some(bin) = rclone() else { return };
    let s = Scratch::new();
    write_raw(&s.path("src"), NAMES);
    for args in [
        vec!["lsf", "-R"],
        vec!["ls"],
        vec!["lsf", "-R", "--format", "ps"],
    ] {
        let mut full = args.clone();
        let src = s.src();
        full.push(&src);
        let (rc, r_out, r_err) = rclone_in(&bin, s.dir.path(), &full);
        assert_eq!(rc, 0, "{r_err}");
        let (fc, f_out, f_err) = cloud_run(&full);
        assert_eq!(fc, 0, "{f_err}");
        let sorted = |t: &str| {
            let mut l: Vec<&str> = t.lines().collect();
            l.sort_unstable();
            l.join("\n")
        };
        assert_eq!(sorted(&f_out), sorted(&r_out), "{args:?}");
    }
    // lsjson's names are rclone's too (a tab is `␉` there as well).
    let names = |json: &str| {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut n: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Path"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let (_, r_json, _) = rclone_in(&bin, s.dir.path(), &["lsjson", "-R", &s.src()]);
    let (_, f_json, _) = cloud_run(&["lsjson", "-R", &s.src()]);
    assert_eq!(names(&f_json), names(&r_json));
    assert!(names(&f_json).contains(&"tab\u{2409}x".to_owned()));
    // rclone's tree shows real names (a `␉` that is in a name unquoted); ferry too, with
    // a control character as its picture rather than raw.
    write_raw(
        &s.path("tree"),
        &[
            b"a\tb",
            "\u{2409}pic".as_bytes(),
            "\u{ff3c}x".as_bytes(),
            b"d./f",
        ],
    );
    let tree = s.path("tree");
    let tree = tree.to_str().unwrap();
    let (_, r_tree, _) = rclone_in(&bin, s.dir.path(), &["tree", tree]);
    let (code, f_tree, err) = cloud_run(&["tree", tree]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f_tree, r_tree.replace('\t', "\u{2409}"));
}

/// `:local,encoding=...:`, a config file's `encoding = ...` and `--local-encoding`
/// change how names are stored and read exactly as in rclone.
#[test]
fn an_encoding_override_stores_names_as_rclone_does() {
    let Some(bin) = rclone() else { return };
    let s = Scratch::new();
    write_raw(&s.path("src"), &[b"q?", b"a:b", b"plain"]);
    let enc = "Slash,Dot,Question,Colon";
    let dst = |who: &str| s.path(who).to_str().unwrap().to_owned();
    // The encoding on the destination only (a flag would apply to the source too).
    let inline = |who: &str| format!(":local,encoding='{enc}':{}", dst(who));
    let (rc, _, r_err) = rclone_in(
        &bin,
        s.dir.path(),
        &["copy", &s.src(), &inline("by-rclone")],
    );
    assert_eq!(rc, 0, "{r_err}");
    let want = raw_tree(&s.path("by-rclone"));
    assert!(
        want.contains_key("q\u{ff1f}".as_bytes()),
        "{:?}",
        shown(&want)
    );

    let (fc, _, f_err) = cloud_run(&["copy", &s.src(), &inline("inline")]);
    assert_eq!(fc, 0, "{f_err}");
    assert_eq!(raw_tree(&s.path("inline")), want, "{}", inline("inline"));

    let conf = s.path("rclone.conf");
    std::fs::write(&conf, format!("[enc]\ntype = local\nencoding = {enc}\n")).unwrap();
    let conf = conf.to_str().unwrap();
    let remote = format!("enc:{}", dst("config"));
    let (fc, _, f_err) = cloud_run(&["--config", conf, "copy", &s.src(), &remote]);
    assert_eq!(fc, 0, "{f_err}");
    assert_eq!(raw_tree(&s.path("config")), want, "config file");

    // Read back through the same encoding (the flag, the remote), the names are the
    // source's, as rclone lists them.
    let by_rclone = dst("by-rclone");
    let (rc, r_out, r_err) = rclone_in(
        &bin,
        s.dir.path(),
        &["lsf", "--local-encoding", enc, &by_rclone],
    );
    assert_eq!(rc, 0, "{r_err}");
    assert_eq!(r_out, "a:b\nplain\nq?\n");
    let (fc, f_out, f_err) = cloud_run(&["lsf", "--local-encoding", enc, &by_rclone]);
    assert_eq!((fc, f_out.as_str()), (0, r_out.as_str()), "{f_err}");
    let (fc, f_out, f_err) = cloud_run(&["--config", conf, "lsf", &remote]);
    assert_eq!((fc, f_out.as_str()), (0, r_out.as_str()), "{f_err}");
}

#[test]
fn an_azure_encoding_flag_is_honoured() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    write_raw(&s.path("src"), &[b"q?"]);
    let enc = "Slash,BackSlash,Del,Ctl,RightPeriod,InvalidUtf8,Question";
    let remote = az.rclone_path("flag");
    let (code, _, err) = cloud_run(&["copy", "--azureblob-encoding", enc, &s.src(), &remote]);
    assert_eq!(code, 0, "{err}");
    let (_, raw, _) = split(
        az.rclone()
            .args(["lsf", "--azureblob-encoding", "Raw", &remote])
            .output()
            .unwrap(),
    );
    assert_eq!(raw, "q\u{ff1f}\n");
    let (code, out, err) = cloud_run(&["lsf", "--azureblob-encoding", enc, &remote]);
    assert_eq!((code, out.as_str()), (0, "q?\n"), "{err}");
}

/// A bad word is a clear one-line error naming it: exit 2 for a flag (a usage error,
/// as rclone), 1 for a remote's or the environment's value (as rclone).
#[test]
fn a_bad_encoding_word_is_a_clear_error() {
    let Some(bin) = rclone() else { return };
    let s = Scratch::new();
    write_raw(&s.path("src"), &[b"a"]);
    let src = s.src();
    let inline = format!(":local,encoding=Bogus:{src}");
    for (args, env) in [
        (vec!["lsf", "--local-encoding", "Bogus", &src], None),
        (vec!["lsf", "--local-encoding", "slash", &src], None),
        (vec!["lsf", &inline], None),
        (vec!["lsf", &src], Some("Bogus")),
    ] {
        let mut r = Command::new(&bin);
        r.env("RCLONE_CONFIG", "/dev/null").args(&args);
        let mut f = super::common::cloud();
        f.args(&args);
        if let Some(v) = env {
            r.env("RCLONE_LOCAL_ENCODING", v);
            f.env("RCLONE_LOCAL_ENCODING", v);
        }
        let (rc, _, _) = split(r.output().unwrap());
        let (fc, _, err) = split(f.output().unwrap());
        assert_eq!(fc, rc, "{args:?} {env:?}: {err}");
        let word = if args.contains(&"slash") {
            "slash"
        } else {
            "Bogus"
        };
        assert!(
            err.contains(&format!(
                "bad encoding \"{word}\": possible values are: Asterisk"
            )),
            "{args:?}: {err}"
        );
    }
}

/// A temporary file is named from the name on disk, so it stays hidden (and is cleaned)
/// however that name is shown: a control character's picture never makes a leftover
/// look like a user's file.
#[test]
fn a_temp_file_of_a_name_with_a_control_character_is_never_listed() {
    let s = Scratch::new();
    write_raw(&s.path("dst"), &[b"tab\tx"]);
    let leftover = s.path("dst").join(ferry_core::partial::temp_name("tab\tx"));
    write_file(&leftover, b"half", 1000);
    let (code, out, err) = cloud_run(&["lsf", &s.dst()]);
    assert_eq!((code, out.as_str()), (0, "tab\u{2409}x\n"), "{err}");
}

/// A blob name Azure's encoding could not have written (a raw tab, put there by another
/// tool) lists in rclone under a name that reads another blob; ferry skips it with an
/// error that names it and says why, and the sync deletes nothing.
#[test]
fn never_deletes_after_a_name_the_encoding_cannot_give_back() {
    let Some(az) = Testbed::azure() else { return };
    let s = Scratch::new();
    write_raw(&s.path("src"), &[b"tab\tx", b"ok"]);
    let remote = az.rclone_path("raw");
    let (code, _, err) = split(
        az.rclone()
            .args(["copy", "--azureblob-encoding", "Raw", &s.src(), &remote])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    write_raw(&s.path("dst"), &[b"extra"]);
    let (code, _, err) = cloud_run(&["sync", &remote, &s.dst()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("\"tab\\tx\": skipping a name"), "{err}");
    assert!(err.contains("can't give back"), "{err}");
    assert!(s.path("dst/extra").exists(), "{err}");
    assert!(s.path("dst/ok").exists(), "{err}");
}
