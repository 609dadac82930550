//! union and combine remotes end to end, with rclone 1.75 as the reference: the same
//! config file given to both, `lsf -R` through the overlay compared, and files written
//! through a union landing on the upstream rclone's policies choose; sync, copy and
//! check through each; and the errors (an unknown policy, only read-only upstreams, an
//! upstream loop).

use std::path::{Path, PathBuf};

use crate::common::{self, run, sorted_lines, tree, write_file, Scratch};

fn config(s: &Scratch, text: &str) -> PathBuf {
    let path = s.path("rclone.conf");
    std::fs::write(&path, text).unwrap();
    path
}

fn ferry_with(conf: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", conf.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

#[track_caller]
fn ferry_ok(conf: &Path, args: &[&str]) -> String {
    let (code, out, err) = ferry_with(conf, args);
    assert_eq!(code, 0, "ferry {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

#[track_caller]
fn rclone_ok(bin: &Path, conf: &Path, args: &[&str]) -> String {
    let mut all = vec!["--config", conf.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, out, err) = common::rclone_in(bin, Path::new("/"), &all);
    assert_eq!(code, 0, "rclone {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

/// Two upstreams sharing some names (`same.txt` differs in size between them) and a
/// directory on each side.
fn two_upstreams(s: &Scratch) -> (PathBuf, PathBuf) {
    let (a, b) = (s.path("a"), s.path("b"));
    write_file(&a.join("same.txt"), b"from a", 1000);
    write_file(&b.join("same.txt"), b"from b, longer", 500);
    write_file(&a.join("shared/one.txt"), b"1", 1000);
    write_file(&b.join("shared/two.txt"), b"22", 1000);
    write_file(&a.join("docs/readme"), b"docs", 1000);
    write_file(&b.join("pics/cat.jpg"), b"meow", 1000);
    (a, b)
}

fn union_conf(s: &Scratch, a: &Path, b: &Path, extra: &str) -> PathBuf {
    config(
        s,
        &format!(
            "[u]\ntype = union\nupstreams = {} {}\n{extra}\n\n\
             [c]\ntype = combine\nupstreams = one={} \"two={}\"\n",
            a.display(),
            b.display(),
            a.display(),
            b.display()
        ),
    )
}

#[test]
fn union_and_combine_list_as_rclone_does() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    let s = Scratch::new();
    let (a, b) = two_upstreams(&s);
    for policy in ["", "search_policy = newest"] {
        let conf = union_conf(&s, &a, &b, policy);
        for remote in ["u:", "c:", "c:one", "u:shared"] {
            let args = ["lsf", "-R", "--format", "ps", remote];
            let theirs = rclone_ok(&rclone, &conf, &args);
            let ours = ferry_ok(&conf, &args);
            assert_eq!(
                sorted_lines(&ours),
                sorted_lines(&theirs),
                "{remote} {policy}"
            );
        }
    }
}

/// Copies `src` through union `u` (set up fresh by `setup`) once with ferry and once
/// with rclone, and returns each run's two upstream trees by name.
fn placed_by_both(
    rclone: &Path,
    extra: &str,
    setup: impl Fn(&Path, &Path),
) -> [(Vec<String>, Vec<String>); 2] {
    let names = |root: &Path| tree(root).into_keys().collect::<Vec<_>>();
    let mut out = Vec::new();
    for tool in ["ferry", "rclone"] {
        let s = Scratch::new();
        let (a, b) = (s.path("a"), s.path("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        setup(&a, &b);
        write_file(&s.path("src/docs/new.txt"), b"d", 100);
        write_file(&s.path("src/pics/new.jpg"), b"p", 100);
        write_file(&s.path("src/same.txt"), b"updated", 100);
        let conf = union_conf(&s, &a, &b, extra);
        let args = ["copy", &s.src(), "u:"];
        match tool {
            "ferry" => drop(ferry_ok(&conf, &args)),
            _ => drop(rclone_ok(rclone, &conf, &args)),
        }
        out.push((names(&a), names(&b)));
    }
    [out.remove(0), out.remove(0)]
}

#[test]
fn union_writes_land_on_the_upstream_rclone_chooses() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    let setup = |a: &Path, b: &Path| {
        write_file(&a.join("docs/old"), b"o", 1000);
        write_file(&b.join("pics/old"), b"o", 1000);
        write_file(&a.join("same.txt"), b"a", 1000);
        write_file(&b.join("same.txt"), b"b", 1000);
    };
    // epmfs: where the parent exists; epall updates every copy.
    let [ours, theirs] = placed_by_both(&rclone, "", setup);
    assert_eq!(ours, theirs, "epmfs");
    assert!(ours.0.contains(&"docs/new.txt".to_string()), "{ours:?}");
    assert!(ours.1.contains(&"pics/new.jpg".to_string()), "{ours:?}");
    // ff: the first upstream, parents or not.
    let [ours, theirs] = placed_by_both(&rclone, "create_policy = ff", setup);
    assert_eq!(ours, theirs, "ff");
    assert!(ours.0.contains(&"pics/new.jpg".to_string()), "{ours:?}");
}

/// `:ro` on the first upstream: epmfs writes where the parent exists and may be written.
#[test]
fn union_read_only_upstream_keeps_its_files() {
    let Some(rclone) = common::rclone() else {
        return;
    };
    let mut results = Vec::new();
    for tool in ["ferry", "rclone"] {
        let s = Scratch::new();
        let (a, b) = (s.path("a"), s.path("b"));
        write_file(&a.join("docs/old"), b"o", 1000);
        write_file(&b.join("docs/keep"), b"k", 1000);
        write_file(&s.path("src/docs/new.txt"), b"d", 100);
        let conf = config(
            &s,
            &format!(
                "[u]\ntype = union\nupstreams = {}:ro {}\n",
                a.display(),
                b.display()
            ),
        );
        let args = ["copy", &s.src(), "u:"];
        match tool {
            "ferry" => drop(ferry_ok(&conf, &args)),
            _ => drop(rclone_ok(&rclone, &conf, &args)),
        }
        let names = |root: &Path| tree(root).into_keys().collect::<Vec<_>>();
        results.push((names(&a), names(&b)));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].0, ["docs/old"]);
}

#[test]
fn sync_copy_and_check_through_union_and_combine() {
    let s = Scratch::new();
    let (a, b) = (s.path("a"), s.path("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    for (name, data) in [("x.txt", "x"), ("d/y.txt", "yy"), ("d/e/z.txt", "zzz")] {
        write_file(&s.path("src").join(name), data.as_bytes(), 100);
    }
    let conf = union_conf(&s, &a, &b, "");
    for dst in ["u:", "c:two/sub"] {
        ferry_ok(&conf, &["sync", &s.src(), dst]);
        ferry_ok(&conf, &["check", &s.src(), dst]);
        write_file(&s.path("src/x.txt"), b"changed", 10);
        std::fs::remove_file(s.path("src/d/y.txt")).unwrap();
        ferry_ok(&conf, &["sync", &s.src(), dst]);
        ferry_ok(&conf, &["check", &s.src(), dst]);
        let back = s.path(&format!("back-{}", dst.len()));
        ferry_ok(&conf, &["copy", dst, back.to_str().unwrap()]);
        common::assert_same_tree(&s.path("src"), &back);
        // Put the source back for the next destination.
        write_file(&s.path("src/d/y.txt"), b"yy", 100);
    }
    assert!(
        b.join("sub/d/e/z.txt").exists(),
        "combine routes below its upstream"
    );
}

#[test]
fn bad_overlays_fail_with_one_clear_line() {
    let s = Scratch::new();
    let (a, b) = (s.path("a"), s.path("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    write_file(&s.path("src/f.txt"), b"f", 100);
    let conf = config(
        &s,
        &format!(
            "[badpolicy]\ntype = union\nupstreams = {a} {b}\ncreate_policy = mru\n\n\
             [allro]\ntype = union\nupstreams = {a}:ro {b}:ro\n\n\
             [loop]\ntype = union\nupstreams = {a} other:\n\n\
             [other]\ntype = alias\nremote = loop:\n\n\
             [self]\ntype = combine\nupstreams = x=self:sub\n",
            a = a.display(),
            b = b.display()
        ),
    );
    let (code, _, err) = ferry_with(&conf, &["lsf", "badpolicy:"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown create_policy \"mru\""), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (code, _, err) = ferry_with(&conf, &["copy", &s.src(), "allro:"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("can't write: every upstream of union remote allro: is :ro or :nc"),
        "{err}"
    );
    assert!(tree(&a).is_empty() && tree(&b).is_empty());

    for remote in ["loop:", "self:"] {
        let (code, _, err) = ferry_with(&conf, &["lsf", remote]);
        assert_eq!(code, 1, "{remote}: {err}");
        assert!(
            err.contains("itself") || err.contains("loop"),
            "{remote}: {err}"
        );
    }
}

#[test]
fn bisync_through_union_and_combine() {
    let s = Scratch::new();
    let (a, b) = (s.path("a"), s.path("b"));
    std::fs::create_dir_all(a.join("u")).unwrap();
    std::fs::create_dir_all(b.join("c")).unwrap();
    let conf = union_conf(&s, &a, &b, "");
    for (n, (remote, stored)) in [("u:u", a.join("u")), ("c:two/c", b.join("c"))]
        .into_iter()
        .enumerate()
    {
        let local = s.path(&format!("local{n}"));
        write_file(&local.join("start.txt"), b"start", 1000);
        let workdir = s.path(&format!("work{n}"));
        let wd = workdir.to_str().unwrap();
        let l = local.to_str().unwrap();
        ferry_ok(&conf, &["bisync", l, remote, "--resync", "--workdir", wd]);
        assert!(stored.join("start.txt").exists(), "{remote}");
        write_file(&local.join("from_local.txt"), b"l", 100);
        write_file(&stored.join("from_remote.txt"), b"r", 100);
        ferry_ok(&conf, &["bisync", l, remote, "--workdir", wd]);
        assert!(stored.join("from_local.txt").exists(), "{remote}");
        assert!(local.join("from_remote.txt").exists(), "{remote}");
    }
}
