//! `check` and its report files.

mod common;

use common::*;

fn pair() -> Scratch {
    let s = Scratch::new();
    s.write("src/same", "same", 100);
    s.write("src/differs", "source version", 100);
    s.write("src/only-src", "s", 100);
    s.write("dst/same", "same", 100);
    s.write("dst/differs", "dest version!!", 100);
    s.write("dst/only-dst", "d", 100);
    s
}

#[test]
fn identical_trees_exit_0() {
    let s = Scratch::new();
    s.write("src/a", "a", 10);
    s.write("src/d/b", "b", 10);
    run(&["copy", &s.src(), &s.dst()]);
    let (code, _, err) = run(&["check", &s.src(), &s.dst()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 differences found"), "{err}");
    assert!(err.contains("2 matching files"), "{err}");
}

#[test]
fn differences_exit_1_with_report_files() {
    let s = pair();
    let p = |n: &str| s.path(n).to_string_lossy().into_owned();
    let (code, _, err) = run(&[
        "check",
        &s.src(),
        &s.dst(),
        "--combined",
        &p("combined"),
        "--differ",
        &p("differ"),
        "--match",
        &p("match"),
        "--missing-on-src",
        &p("mos"),
        "--missing-on-dst",
        &p("mod"),
        "--error",
        &p("error"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("differs: md5 differ"), "{err}");
    assert!(err.contains("only-src: File not in"), "{err}");
    assert!(err.contains("only-dst: File not in"), "{err}");
    assert!(err.contains("3 differences found"), "{err}");
    assert_eq!(
        s.read("combined"),
        "* differs\n- only-dst\n+ only-src\n= same\n"
    );
    assert_eq!(s.read("differ"), "differs\n");
    assert_eq!(s.read("match"), "same\n");
    assert_eq!(s.read("mos"), "only-dst\n");
    assert_eq!(s.read("mod"), "only-src\n");
    assert_eq!(s.read("error"), "");
}

#[test]
fn one_way_ignores_files_only_at_destination() {
    let s = pair();
    std::fs::remove_file(s.path("src/only-src")).unwrap();
    std::fs::write(s.path("dst/differs"), "source version").unwrap();
    let (code, _, err) = run(&["check", &s.src(), &s.dst(), "--one-way"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run(&["check", &s.src(), &s.dst()]);
    assert_eq!(code, 1);
}

#[test]
fn size_only_and_download() {
    let s = Scratch::new();
    s.write("src/f", "aaaa", 10);
    s.write("dst/f", "bbbb", 10);
    assert_eq!(run(&["check", &s.src(), &s.dst(), "--size-only"]).0, 0);
    let (code, _, err) = run(&["check", &s.src(), &s.dst(), "--download"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("f: contents differ"), "{err}");
}

#[test]
fn check_honours_filters() {
    let s = pair();
    let (code, _, err) = run(&["check", &s.src(), &s.dst(), "--include", "same"]);
    assert_eq!(code, 0, "{err}");
}
