//! `backend COMMAND`: help, features, local's `noop` and crypt's `encode`/`decode`, side
//! by side with rclone 1.75 (same stdout, same exit code), and the refusals.

use crate::common;

use common::{rclone, rclone_in, run_in};

/// What one run printed: exit code, stdout, stderr.
type Run = (i32, String, String);

/// Both tools in `cwd`: rclone's exit code and stdout, and ferry's run.
fn both(cwd: &std::path::Path, args: &[&str]) -> Option<((i32, String), Run)> {
    let bin = rclone()?;
    let (rc, rout, _) = rclone_in(&bin, cwd, args);
    Some(((rc, rout), run_in(cwd, args)))
}

#[test]
fn noop_echoes_and_fails_as_rclones_does() {
    let d = tempfile::tempdir().unwrap();
    let here = d.path().to_str().unwrap();
    let cases: [&[&str]; 4] = [
        &[
            "backend", "noop", here, "-o", "echo", "-o", "x=1", "a", "b & <c>",
        ],
        &["backend", "noop", here],
        &["backend", "noop", here, "--json"],
        &["backend", "noop", here, "-o", "error=boom"],
    ];
    for args in cases {
        let Some(((rc, rout), (fc, fout, ferr))) = both(d.path(), args) else {
            return;
        };
        assert_eq!(fout, rout, "stdout of {args:?}: {ferr}");
        assert_eq!(fc, rc, "exit code of {args:?}: {ferr}");
    }
    let (_, _, err) = run_in(d.path(), &["backend", "noop", here, "-o", "error=boom"]);
    assert!(
        err.contains("Failed to backend: command \"noop\" failed: boom"),
        "{err}"
    );
}

#[test]
fn unknown_commands_and_backends_without_commands_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let here = d.path().to_str().unwrap();
    let (code, out, err) = run_in(d.path(), &["backend", "nope", here]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.contains("Failed to backend: \"nope\" command not found"),
        "{err}"
    );
    let (code, _, err) = run_in(d.path(), &["backend", "help", "azureblob"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("azureblob backend has no commands"), "{err}");
    // Over a remote: the remote's own kind answers.
    let http = ":http,url='http://127.0.0.1:1/':";
    let (code, _, err) = run_in(d.path(), &["backend", "anything", http]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("doesn't support backend commands"), "{err}");
    let (code, out, err) = run_in(d.path(), &["backend", "help", "local"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("## Backend commands\n"), "{out}");
    assert!(
        out.contains("### noop\n") && out.contains("- \"echo\": "),
        "{out}"
    );
    let (code, out, _) = run_in(d.path(), &["backend", "help", here]);
    assert_eq!(code, 0);
    assert!(out.contains("### noop\n"), "{out}");
}

#[test]
fn features_say_what_a_local_path_is_as_rclone_does() {
    let d = tempfile::tempdir().unwrap();
    let here = d.path().to_str().unwrap();
    let Some(((rc, rout), (fc, fout, ferr))) = both(d.path(), &["backend", "features", here])
    else {
        return;
    };
    assert_eq!((fc, rc), (0, 0), "{ferr}");
    let r: serde_json::Value = serde_json::from_str(&rout).unwrap();
    let f: serde_json::Value = serde_json::from_str(&fout).unwrap();
    for key in ["Name", "Root", "String", "Precision", "Hashes"] {
        assert_eq!(f[key], r[key], "{key}");
    }
    let names = |v: &serde_json::Value| {
        let mut k: Vec<String> = v["Features"].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(names(&f), names(&r));
    for key in [
        "IsLocal",
        "Move",
        "DirMove",
        "CanHaveEmptyDirectories",
        "Command",
    ] {
        assert_eq!(f["Features"][key], true, "{key}");
    }
    assert_eq!(f["Features"]["Copy"], false);
    // rclone's field order, which a reader diffing the two sees.
    let order: Vec<&str> = fout
        .lines()
        .filter(|l| l.starts_with("\t\"") && !l.starts_with("\t\t"))
        .map(|l| l.trim().split('"').nth(1).unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "Name",
            "Root",
            "String",
            "Precision",
            "Hashes",
            "Features",
            "MetadataInfo"
        ]
    );
}

#[test]
fn crypt_encodes_and_decodes_names_as_rclones_does() {
    let d = tempfile::tempdir().unwrap();
    let (_, pass, _) = run_in(d.path(), &["obscure", "a secret"]);
    let remote = format!(
        ":crypt,remote='{}',password='{}':",
        d.path().display(),
        pass.trim()
    );
    let encode: &[&str] = &["backend", "encode", &remote, "a.txt", "dir/b c.txt"];
    let Some(((rc, rout), (fc, fout, ferr))) = both(d.path(), encode) else {
        return;
    };
    assert_eq!((fc, fout.as_str()), (rc, rout.as_str()), "{ferr}");
    let names: Vec<&str> = fout.lines().collect();
    assert_eq!(names.len(), 2);
    let mut decode = vec!["backend", "decode", &remote];
    decode.extend(&names);
    let (code, out, err) = run_in(d.path(), &decode);
    assert_eq!((code, out.as_str()), (0, "a.txt\ndir/b c.txt\n"), "{err}");
    decode.push("not-encrypted");
    let Some(((rc, rout), (fc, fout, ferr))) = both(d.path(), &decode) else {
        return;
    };
    assert_eq!((fc, fout.as_str()), (rc, rout.as_str()), "{ferr}");
    assert!(
        ferr.contains("command \"decode\" failed: failed to decrypt: not-encrypted: "),
        "{ferr}"
    );
}
