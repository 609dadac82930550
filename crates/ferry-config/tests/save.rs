//! Saving the config file: atomic, private, keeps what it doesn't know.

use std::fs;

use ferry_config::{
    create_remote, locate_config, resolve_arg, ConfigError, ConfigFile, Env, ObscureMode, Registry,
};

#[test]
fn save_round_trip_keeps_unknown_keys_and_comments() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("ferry.conf");
    let original = "\
# top comment

# about box
[box]
type = sftp
host = example.com
x_not_ferrys = keep me
; inner comment

[drv]
type = drive
token = {\"access_token\":\"x\"}
";
    fs::write(&path, original).unwrap();
    let mut c = ConfigFile::load(&path).unwrap();
    c.save().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), original);

    c.set("box", "port", "2222").unwrap();
    c.save().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        original.replace(
            "x_not_ferrys = keep me\n",
            "x_not_ferrys = keep me\nport = 2222\n"
        )
    );
    let again = ConfigFile::load(&path).unwrap();
    assert_eq!(again.get("drv", "token"), Some("{\"access_token\":\"x\"}"));
    assert_eq!(again.get("box", "x_not_ferrys"), Some("keep me"));
}

#[cfg(unix)]
#[test]
fn save_is_private_atomic_and_leaves_no_temp_files() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("sub/dir/ferry.conf");
    let mut c = ConfigFile::new(&path);
    c.set("a", "type", "local").unwrap();
    c.save().unwrap(); // creates the directories
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // An existing world-readable file becomes 0600 on save, through a new
    // inode (rename), and nothing else is left in the directory.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    use std::os::unix::fs::MetadataExt;
    let ino_before = fs::metadata(&path).unwrap().ino();
    c.set("a", "x", "y").unwrap();
    c.save().unwrap();
    let md = fs::metadata(&path).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    assert_ne!(md.ino(), ino_before, "save must replace the file by rename");
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["ferry.conf"]);
}

#[cfg(unix)]
#[test]
fn save_follows_a_symlink() {
    let d = tempfile::tempdir().unwrap();
    let real = d.path().join("real.conf");
    let link = d.path().join("link.conf");
    fs::write(&real, "[a]\ntype = local\n").unwrap();
    std::os::unix::fs::symlink("real.conf", &link).unwrap();
    let mut c = ConfigFile::load(&link).unwrap();
    c.set("a", "k", "v").unwrap();
    c.save().unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_to_string(&real).unwrap(),
        "[a]\ntype = local\nk = v\n"
    );
}

#[cfg(unix)]
#[test]
fn save_into_unwritable_dir_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let ro = d.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
    let path = ro.join("ferry.conf");
    let c = ConfigFile::new(&path);
    let r = c.save();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o700)).unwrap();
    // Root ignores directory permissions; only check when it applied.
    if let Err(e) = r {
        assert!(matches!(e, ConfigError::ConfigWrite { .. }));
        assert!(e
            .to_string()
            .starts_with(&format!("can't write config file {}: ", path.display())));
    }
}

#[test]
fn load_errors_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing.conf");
    let e = ConfigFile::load(&missing).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "config file {} not found: create it with `ferry config create` or pass --config FILE",
            missing.display()
        )
    );
    assert_eq!(
        ConfigFile::load_or_empty(&missing)
            .unwrap()
            .sections()
            .len(),
        0
    );

    // A directory can't be read as a file.
    let e = ConfigFile::load(d.path()).unwrap_err();
    assert!(matches!(e, ConfigError::ConfigRead { .. }));
    assert!(e
        .to_string()
        .starts_with(&format!("can't read config file {}: ", d.path().display())));

    let bad = d.path().join("bad.conf");
    fs::write(&bad, "[a]\ntype = local\nnonsense\n").unwrap();
    assert_eq!(
        ConfigFile::load(&bad).unwrap_err().to_string(),
        format!(
            "{}:3: can't parse line: expected `key = value`, `[remote]` or a `#` comment",
            bad.display()
        )
    );
}

#[test]
fn end_to_end_create_save_resolve() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::from_pairs([("HOME", d.path().to_str().unwrap())]);
    let loc = locate_config(None, &env).unwrap();
    let reg = Registry::of([
        &ferry_local::KIND,
        &ferry_sftp::KIND,
        &ferry_s3::KIND,
        &ferry_azblob::KIND,
    ]);
    let mut c = ConfigFile::open(&loc).unwrap();
    let pairs = vec![
        ("host".to_string(), "example.com".to_string()),
        ("pass".to_string(), "hunter2".to_string()),
    ];
    create_remote(&mut c, &reg, "box", "sftp", &pairs, ObscureMode::Auto).unwrap();
    c.save().unwrap();
    let c = ConfigFile::open(&locate_config(None, &env).unwrap()).unwrap();
    let r = resolve_arg("box:some/dir", &c, &env, &reg).unwrap();
    assert_eq!(r.kind, "sftp");
    assert_eq!(r.path, "some/dir");
    assert_eq!(r.revealed("pass").unwrap().unwrap().expose(), "hunter2");
    assert!(!format!("{r:?}").contains("hunter2"));
}
