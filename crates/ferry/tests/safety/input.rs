//! Bad input, end to end: options ferry doesn't implement are refused or noticed (never
//! dropped), the config wizard never replaces a remote and saves nothing unconfirmed, and
//! numbers out of range are usage errors (exit 2) naming the flag and the range, never a
//! panic.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::common::{cloud, ferry, split, Scratch};
use ferry_testbed::Testbed;

/// `ferry` with `config` as its config file and `args`; (exit code, stdout, stderr).
fn with_config(config: &str, args: &[&str]) -> (i32, String, String) {
    let sc = Scratch::new();
    let conf = sc.path("ferry.conf");
    std::fs::write(&conf, config).unwrap();
    let mut c = cloud();
    c.arg("--config").arg(&conf).args(args);
    split(c.output().expect("ferry runs"))
}

#[track_caller]
fn assert_usage_error(code: i32, err: &str, must_name: &[&str]) {
    assert_eq!(code, 2, "expected a usage error (exit 2):\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for want in must_name {
        assert!(err.contains(want), "error should name {want:?}:\n{err}");
    }
}

// ------------------------------------------------------------------ item 3: options

#[test]
fn an_unimplemented_option_that_changes_what_is_stored_refuses_the_remote() {
    let sc = Scratch::new();
    sc.write("src/f.txt", "data", 10);
    let dst = sc.path("dst");
    // S3 with a customer key: refused before any request (no server needed).
    let (code, _, err) = with_config(
        "[vault]\ntype = s3\nprovider = Other\nendpoint = http://127.0.0.1:9\nsse_customer_algorithm = AES256\nsse_customer_key = 0123456789abcdef0123456789abcdef\n",
        &["copy", &sc.src(), "vault:bucket/x"],
    );
    assert_usage_error(code, &err, &["vault:", "sse_customer_algorithm"]);
    assert!(
        !err.contains("0123456789abcdef"),
        "the key must not be printed: {err}"
    );
    // Local with rclone's time_type: the times shown and compared would differ.
    let (code, _, err) = with_config(
        "[enc]\ntype = local\ntime_type = btime\n",
        &["copy", &sc.src(), &format!("enc:{}", dst.display())],
    );
    assert_usage_error(code, &err, &["enc:", "time_type"]);
    assert!(!dst.exists(), "nothing may be written");
    // The same option from rclone's environment variables or a backend flag.
    let mut c = cloud();
    c.env("RCLONE_S3_REQUESTER_PAYS", "true").args([
        "lsf",
        ":s3,provider=Other,endpoint='http://127.0.0.1:9':bucket",
    ]);
    let (code, _, err) = split(c.output().unwrap());
    assert_usage_error(code, &err, &[":s3:", "requester_pays"]);
    let (code, _, err) = split(
        cloud()
            .args([
                "lsf",
                "--s3-versions",
                ":s3,provider=Other,endpoint='http://127.0.0.1:9':bucket",
            ])
            .output()
            .unwrap(),
    );
    assert_usage_error(code, &err, &[":s3:", "versions"]);
    let mut c = cloud();
    c.env("RCLONE_CONFIG_BOX_TYPE", "sftp")
        .env("RCLONE_CONFIG_BOX_HOST", "127.0.0.1")
        .env("RCLONE_CONFIG_BOX_SOCKS_PROXY", "127.0.0.1:1080")
        .args(["lsf", "box:"]);
    let (code, _, err) = split(c.output().unwrap());
    assert_usage_error(code, &err, &["box:", "socks_proxy"]);
}

#[test]
fn a_local_remotes_own_options_are_honoured_or_refused() {
    let sc = Scratch::new();
    sc.write("src/real.txt", "target", 10);
    std::os::unix::fs::symlink("real.txt", sc.path("src/link.txt")).unwrap();
    let dst = sc.path("dst");
    // copy_links = true in the remote follows the link, as rclone does (it was dropped).
    let (code, _, err) = with_config(
        "[here]\ntype = local\ncopy_links = true\n",
        &[
            "copy",
            &format!("here:{}", sc.src()),
            &dst.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dst.join("link.txt")).unwrap(),
        "target"
    );
    // no_set_modtime would store other times than ferry does: refused.
    let (code, _, err) = with_config(
        "[here]\ntype = local\nno_set_modtime = true\n",
        &[
            "copy",
            &sc.src(),
            &format!("here:{}", sc.path("dst2").display()),
        ],
    );
    assert_usage_error(code, &err, &["here:", "no_set_modtime"]);
    assert!(!sc.path("dst2").exists());
}

#[test]
fn options_that_only_tune_rclone_and_unknown_keys_get_a_notice() {
    let sc = Scratch::new();
    sc.write("src/f.txt", "data", 10);
    let dst = sc.path("dst");
    let (code, _, err) = with_config(
        "[here]\ntype = local\nno_clone = true\nfavourite_colour = blue\n",
        &["copy", &sc.src(), &format!("here:{}", dst.display())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(dst.join("f.txt").exists());
    let notices: Vec<&str> = err.lines().filter(|l| l.contains("NOTICE")).collect();
    assert!(
        notices
            .iter()
            .any(|l| l.contains("here:") && l.contains("no_clone")),
        "{err}"
    );
    assert!(
        notices
            .iter()
            .any(|l| l.contains("here:") && l.contains("favourite_colour")),
        "{err}"
    );
    // Once per remote, however often it is opened.
    assert_eq!(
        notices.iter().filter(|l| l.contains("no_clone")).count(),
        1,
        "{err}"
    );
}

#[test]
fn sse_kms_key_id_is_stored_with_every_object() {
    let Some(s3) = Testbed::s3() else { return };
    let sc = Scratch::new();
    sc.write("src/small.txt", "kms", 10);
    std::fs::write(sc.path("src/big.bin"), vec![7u8; 6 << 20]).unwrap();
    let key = "ferry-test-kms-key-1234";
    let base = s3.rclone_remote();
    let remote = format!(
        "{},server_side_encryption='aws:kms',sse_kms_key_id={key},upload_cutoff=5Mi:{}",
        &base[..base.len() - 1],
        s3.bucket
    );
    let (code, _, err) = split(cloud().args(["copy", &sc.src(), &remote]).output().unwrap());
    assert_eq!(code, 0, "{err}");
    for name in ["small.txt", "big.bin"] {
        let head = Command::new("curl")
            .args(["-s", "-I", "-H"])
            .arg("Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
            .arg(format!("{}/{}/{name}", s3.endpoint, s3.bucket))
            .output()
            .expect("curl runs");
        let head = String::from_utf8_lossy(&head.stdout).to_ascii_lowercase();
        assert!(
            head.contains(&format!(
                "x-amz-server-side-encryption-aws-kms-key-id: {}",
                key.to_ascii_lowercase()
            )),
            "{name} was stored without its KMS key id:\n{head}"
        );
    }
}

// ------------------------------------------------------------------ item 4: config wizard

/// ferry under a pseudo-terminal (util-linux `script`), answered one prompt at a time so
/// that what the terminal echoes can be seen.
struct Pty {
    child: std::process::Child,
    screen: Arc<Mutex<Vec<u8>>>,
    seen: usize,
}

impl Pty {
    fn start(args: &[&str]) -> Pty {
        let mut child = super::common::pty_command(args)
            .env("HOME", std::env::temp_dir())
            .env_remove("FERRY_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("util-linux `script` is needed to give ferry a terminal");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut out = child.stdout.take().unwrap();
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            screen,
            seen: 0,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits for `prompt` after what was already answered, then types `answer`.
    #[track_caller]
    fn answer(&mut self, prompt: &str, answer: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if let Some(at) = text[self.seen..].find(prompt) {
                self.seen += at + prompt.len();
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no prompt {prompt:?}; the screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the prompt's reader start before typing (echo is decided as keys arrive).
        std::thread::sleep(Duration::from_millis(150));
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) -> (i32, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("ferry config did not finish:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        (code, self.text())
    }
}

const BOX: &str = "[box]\ntype = sftp\nhost = files.example.com\nuser = me\nport = 2022\n";

#[test]
fn config_wizard_never_replaces_an_existing_remote() {
    let sc = Scratch::new();
    let conf = sc.path("ferry.conf");
    std::fs::write(&conf, BOX).unwrap();
    let mut p = Pty::start(&["config", "--config", conf.to_str().unwrap()]);
    p.answer("name> ", "box");
    // Refused and asked again, as rclone does; the type is never asked for `box`.
    p.answer("name> ", "scratch");
    p.answer("type> ", "local");
    let (code, screen) = loop {
        let text = p.text();
        let tail = &text[p.seen..];
        if tail.contains("y/e/d> ") {
            p.answer("y/e/d> ", "y");
            break p.finish();
        }
        if let Some(at) = tail.rfind("> ") {
            let prompt = &tail[..at + 2];
            let line = prompt.lines().last().unwrap_or_default().to_owned();
            p.answer(&line, "");
            continue;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("\"box\" already exists"), "{screen}");
    let after = std::fs::read_to_string(&conf).unwrap();
    assert!(after.starts_with(BOX), "box was changed:\n{after}");
    assert!(after.contains("[scratch]\ntype = local"), "{after}");
}

#[test]
fn config_wizard_checks_values_hides_secrets_and_saves_nothing_unconfirmed() {
    let sc = Scratch::new();
    let conf = sc.path("ferry.conf");
    std::fs::write(&conf, BOX).unwrap();
    let mut p = Pty::start(&["config", "--config", conf.to_str().unwrap()]);
    p.answer("name> ", "other");
    p.answer("type> ", "sftp");
    p.answer("host> ", "h.example.com");
    p.answer("user> ", "u");
    p.answer("port> ", "99999");
    p.answer("port> ", "22");
    p.answer("pass> ", "hunter2-secret");
    p.answer("Confirm pass> ", "hunter2-secret");
    // The rest empty, then the section is shown and dropped.
    let (code, screen) = loop {
        let text = p.text();
        let tail = &text[p.seen..];
        if tail.contains("y/e/d> ") {
            p.answer("y/e/d> ", "d");
            break p.finish();
        }
        if let Some(at) = tail.rfind("> ") {
            let line = tail[..at + 2].lines().last().unwrap_or_default().to_owned();
            p.answer(&line, "");
            continue;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("65535"),
        "port 99999 must be refused: {screen}"
    );
    assert!(
        !screen.contains("hunter2-secret"),
        "the password was echoed or shown:\n{screen}"
    );
    assert!(screen.contains("[other]"), "the section is shown: {screen}");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        BOX,
        "nothing may be saved unconfirmed"
    );
}

// ------------------------------------------------------------------ item 5: ranges

#[test]
fn huge_durations_are_usage_errors_naming_the_flag_and_range() {
    let sc = Scratch::new();
    sc.write("src/f.txt", "data", 10);
    for flag in [
        "--stats",
        "--max-duration",
        "--timeout",
        "--retries-sleep",
        "--contimeout",
        "--modify-window",
    ] {
        for value in ["18446744073709551615", "213503982334601d", "-5s"] {
            let (code, _, err) = split(
                ferry()
                    .args(["copy", &sc.src(), &sc.dst(), flag, value])
                    .output()
                    .unwrap(),
            );
            assert_usage_error(code, &err, &[flag]);
            if !value.starts_with('-') {
                assert!(err.contains("106751d"), "{flag} {value}: {err}");
            }
        }
    }
    // The largest duration itself is fine.
    let (code, _, err) = split(
        ferry()
            .args([
                "copy",
                &sc.src(),
                &sc.dst(),
                "--max-duration",
                "106751d",
                "--stats",
                "106751d",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn negative_counts_mean_off_only_where_rclone_says_so() {
    let sc = Scratch::new();
    sc.write("src/f.txt", "data", 10);
    let run = |args: &[&str]| {
        let mut all = vec!["copy", "--dry-run"];
        let (s, d) = (sc.src(), sc.dst());
        all.extend(args);
        all.extend([s.as_str(), d.as_str()]);
        split(ferry().args(&all).output().unwrap())
    };
    for off in [["--max-delete", "-1"], ["--max-depth", "-1"]] {
        let (code, _, err) = run(&off);
        assert_eq!(code, 0, "{off:?}: {err}");
    }
    for (flag, value, range) in [
        ("--max-delete", "-5", "from -1 to"),
        ("--max-depth", "-2", "from -1 to"),
        ("--retries", "-1", "from 0 to"),
        ("--low-level-retries", "-1", "from 0 to"),
        ("--transfers", "-1", "from 1 to"),
        ("--transfers", "99999999999", "from 1 to"),
        ("--checkers", "0", "from 1 to"),
        ("--multi-thread-streams", "-1", "from 0 to"),
    ] {
        let (code, _, err) = run(&[flag, value]);
        assert_usage_error(code, &err, &[flag, range]);
        assert!(!err.contains("-- -"), "clap's advice is no answer: {err}");
    }
    for (flag, value) in [
        ("--max-transfer", "-1"),
        ("--min-size", "-5"),
        ("--max-transfer", "99999999P"),
    ] {
        let (code, _, err) = run(&[flag, value]);
        assert_usage_error(code, &err, &[flag]);
    }
}

#[test]
fn out_of_range_backend_options_are_clear_errors_not_panics() {
    let sc = Scratch::new();
    sc.write("src/f.txt", "data", 10);
    let s3 = ":s3,provider=Other,endpoint='http://127.0.0.1:9':bucket";
    for (args, names) in [
        (vec!["--s3-chunk-size", "99999999P"], "chunk_size"),
        (vec!["--s3-upload-concurrency", "-1"], "upload_concurrency"),
        (vec!["--s3-list-chunk", "99999999999"], "list_chunk"),
    ] {
        let mut all = args.clone();
        all.extend(["lsf", s3]);
        let (code, _, err) = split(cloud().args(&all).output().unwrap());
        assert_ne!(code, 0, "{args:?}");
        assert!(!err.contains("panicked") && code != 101, "{args:?}: {err}");
        assert!(err.contains(names), "{args:?}: {err}");
    }
    for (conf, name) in [
        ("port = 99999\n", "port"),
        ("concurrency = -1\n", "concurrency"),
        ("idle_timeout = 213503982334601d\n", "idle_timeout"),
    ] {
        let (code, _, err) = with_config(
            &format!("[box]\ntype = sftp\nhost = 127.0.0.1\n{conf}"),
            &["lsf", "box:"],
        );
        assert_ne!(code, 0, "{conf}");
        assert!(!err.contains("panicked") && code != 101, "{conf}: {err}");
        assert!(err.contains(name), "{conf}: {err}");
    }
}

#[test]
fn bwlimit_takes_rclones_timetable_and_up_down_forms_and_applies_them() {
    let sc = Scratch::new();
    std::fs::create_dir_all(sc.path("src")).unwrap();
    std::fs::write(sc.path("src/f.bin"), vec![1u8; 200 * 1024]).unwrap();
    for (i, rate) in [
        "00:00,100k",           // a timetable in force all day
        "Mon-00:00,100k Tue-00:00,100k Wed-00:00,100k Thu-00:00,100k Fri-00:00,100k Sat-00:00,100k Sun-00:00,100k",
        "10M:100k",             // local to local: the lower of the two
    ]
    .iter()
    .enumerate()
    {
        let dst = sc.path(&format!("dst{i}"));
        let start = Instant::now();
        let (code, _, err) = split(
            ferry()
                .args(["copy", "--bwlimit", rate, &sc.src(), dst.to_str().unwrap()])
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "--bwlimit {rate:?}: {err}");
        assert!(dst.join("f.bin").exists());
        assert!(
            start.elapsed() >= Duration::from_millis(1500),
            "--bwlimit {rate:?} did not limit: {:?}",
            start.elapsed()
        );
    }
    for bad in ["25:00,1M", "08:00,-1", "Xyz-08:00,1M"] {
        let (code, _, err) = split(
            ferry()
                .args(["copy", "--bwlimit", bad, &sc.src(), &sc.dst()])
                .output()
                .unwrap(),
        );
        assert_usage_error(code, &err, &["--bwlimit"]);
    }
}

/// A boolean rclone option ferry lacks, set to false, asks for rclone's default, which is
/// what ferry does: neither refused nor noticed, from the file, a flag or the environment.
/// Set to true it is still refused.
#[test]
fn a_refused_boolean_set_to_false_asks_for_nothing_ferry_lacks() {
    let sc = Scratch::new();
    sc.write("src/f.txt", "data", 10);
    let dst = sc.path("dst");
    let (code, _, err) = with_config(
        "[here]\ntype = local\nno_set_modtime = false\nno_clone = false\n",
        &["copy", &sc.src(), &format!("here:{}", dst.display())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(dst.join("f.txt").exists());
    assert!(
        !err.contains("no_set_modtime") && !err.contains("no_clone"),
        "{err}"
    );

    let (code, _, err) = with_config(
        "",
        &[
            "copy",
            &sc.src(),
            &sc.path("dst2").display().to_string(),
            "--local-no-set-modtime=false",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("no-set-modtime"), "{err}");

    let (code, _, err) = with_config(
        "",
        &[
            "copy",
            &sc.src(),
            &sc.path("dst3").display().to_string(),
            "--local-no-set-modtime",
        ],
    );
    assert_usage_error(code, &err, &["no_set_modtime"]);
    assert!(!sc.path("dst3").exists());
}
