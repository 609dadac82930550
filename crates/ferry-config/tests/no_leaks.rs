//! A secret given anywhere never shows up in an error message or in a
//! `Debug`/`Display` of what this crate returns.

use ferry_config::{
    create_remote, parse_location, resolve, resolve_arg, update_remote, ConfigFile, Env,
    ObscureMode, Registry,
};

const S: &str = "Hunter2Secret";

fn assert_clean(what: &str, text: String) {
    assert!(!text.contains(S), "{what} leaks the secret: {text}");
}

#[test]
fn errors_and_debug_never_show_secrets() {
    let reg = Registry::of([
        &ferry_local::KIND,
        &ferry_sftp::KIND,
        &ferry_s3::KIND,
        &ferry_azblob::KIND,
        &ferry_webdav::KIND,
    ]);
    let cfg = ConfigFile::parse(
        &format!("[box]\ntype = sftp\nhost = h\npass = {S}\n\n[b]\ntype = s3\nsecret_access_key = {S}\nsession_token = {S}\n\n[az]\ntype = azureblob\nkey = {S}\nsas_url = https://a.blob.core.windows.net/c?sig={S}\n\n[dav]\ntype = webdav\nurl = https://d.example/dav/\nuser = {S}\npass = {S}\nbearer_token = {S}\n"),
        "/c/f.conf",
    )
    .unwrap();
    let env = Env::from_pairs([
        ("FERRY_CONFIG_BOX_KEY_FILE_PASS", S),
        ("FERRY_CONFIG_ENVR_TYPE", "sftp"),
        ("FERRY_CONFIG_ENVR_PASS", S),
    ]);
    assert_clean("Env debug", format!("{env:?}"));
    assert_clean("ConfigFile debug", format!("{cfg:?}"));

    // Successful resolutions: Debug hides secret and sensitive values.
    for arg in [
        "box:",
        "b:x",
        "az:c",
        "envr:",
        "dav:x",
        &format!("box,key_pem={S}:"),
    ] {
        let r = resolve_arg(arg, &cfg, &env, &reg).unwrap();
        assert_clean(arg, format!("{r:?}"));
    }
    // Location Debug/Display.
    for arg in [
        format!(":sftp,host=h,pass={S}:x"),
        format!(":s3,secret_access_key='{S}':b"),
        format!(":webdav,url='https://d.example/',pass={S},bearer_token={S}:x"),
        format!("box,key_file_pass=\"{S}\":x"),
        format!("sftp://u:{S}@h/x"),
        format!("https://a.blob.core.windows.net/c/p?sv=1&sig={S}"),
    ] {
        let l = parse_location(&arg, &reg).unwrap();
        assert_clean(&arg, format!("{l:?}"));
        assert_clean(&arg, format!("{l}"));
    }

    // Failing parses and resolutions.
    let failing = [
        format!(":sftp,pass='{S}"),
        format!(":sftp,pass='{S}'x:y"),
        format!("sftp://u:{S}@:22/x"),
        format!("sftp://u:{S}@h:0/x"),
        format!("s3://AKIA:{S}@bucket/x"),
        format!("https://example.com/x?sig={S}"),
        format!("https://u:{S}@example.com/x"),
    ];
    for arg in &failing {
        let e = parse_location(arg, &reg).unwrap_err();
        assert_clean(arg, e.to_string());
        assert_clean(arg, format!("{e:?}"));
    }
    for arg in [
        format!(":sftp,bogus={S}:x"),
        format!("box,bogus={S}:x"),
        format!("nope,pass={S}:x"),
    ] {
        let e = resolve(&parse_location(&arg, &reg).unwrap(), &cfg, &env, &reg).unwrap_err();
        assert_clean(&arg, e.to_string());
        assert_clean(&arg, format!("{e:?}"));
    }

    // Config operations.
    let mut c = cfg.clone();
    let bad_pairs: Vec<Vec<(String, String)>> = vec![
        vec![("pass".into(), format!("{S}\nx"))],
        vec![("bogus".into(), S.into())],
        vec![("type".into(), S.into())],
    ];
    for p in &bad_pairs {
        let e = create_remote(&mut c, &reg, "box", "sftp", p, ObscureMode::Auto).unwrap_err();
        assert_clean("create", format!("{e} {e:?}"));
    }
    let e = update_remote(
        &mut c,
        &reg,
        "box",
        &[("type".into(), "nope".into()), ("pass".into(), S.into())],
        ObscureMode::Auto,
    )
    .unwrap_err();
    assert_clean("update", format!("{e} {e:?}"));
    let e = c.set("box", "k", &format!("{S}\r")).unwrap_err();
    assert_clean("set", format!("{e} {e:?}"));

    // Bad lines in the file.
    let e = ConfigFile::parse(&format!("[a]\n{S}\n"), "f").unwrap_err();
    assert_clean("parse", format!("{e} {e:?}"));
    let e = ConfigFile::parse(&format!("[a]\nk = `{S}\n"), "f").unwrap_err();
    assert_clean("parse", format!("{e} {e:?}"));

    // Show hides; reveal errors don't echo.
    let shown = ferry_config::show(&cfg, &reg, None, false).unwrap();
    assert_clean("show", shown);
    let e = ferry_config::reveal(S).unwrap_err();
    assert_clean("reveal", format!("{e} {e:?}"));
}
