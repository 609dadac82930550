//! The README's first command, as written there: a new user's first run must work on a
//! fresh clone and show what the README says it shows. The command is read from README.md,
//! so changing the README to something that fails fails this test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::split;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first line of the first `sh` block under "## Two commands".
fn first_command(readme: &str) -> String {
    let section = readme
        .split_once("## Two commands")
        .expect("README.md has a \"## Two commands\" section")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("the section opens with a sh code block")
        .1;
    block.lines().next().unwrap_or_default().to_string()
}

/// The first command minus its build step, with this build's ferry in place of
/// `./target/release/ferry` (the test doesn't make a release build).
fn run_part(command: &str) -> String {
    let rest = command
        .strip_prefix("cargo build --release && ")
        .unwrap_or_else(|| panic!("the first command starts by building ferry: {command}"));
    assert!(
        rest.contains("./target/release/ferry sync"),
        "the first command runs ferry's main job, a sync: {command}"
    );
    rest.replace("./target/release/ferry", env!("CARGO_BIN_EXE_ferry"))
}

#[test]
fn readme_first_command_syncs_and_shows_what_the_readme_says() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let script = run_part(&first_command(&readme));
    let tmp = tempfile::tempdir().unwrap();
    let run = |script: &str| {
        split(
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .current_dir(&root)
                // mktemp -d makes its directory under here, removed with `tmp`.
                .env("TMPDIR", tmp.path())
                .env("HOME", tmp.path())
                .env_remove("FERRY_CONFIG")
                .output()
                .expect("sh runs"),
        )
    };
    let (code, out, err) = run(&script);
    assert_eq!(code, 0, "{script}\nstdout: {out}\nstderr: {err}");
    let all = format!("{out}{err}");
    for shown in [
        "Transferred:",
        "100%",
        "Checks:",
        "Elapsed time:",
        "Total objects:",
        "Total size:",
    ] {
        assert!(
            all.contains(shown),
            "the README promises {shown:?}; got:\n{all}"
        );
    }
    // The copy's totals are those of the folder synced, as the README says.
    let size_line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("Total objects:"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no Total objects line in:\n{text}"))
    };
    let (_, src_size, _) = crate::common::run_in(&root, &["size", "./crates"]);
    assert_eq!(size_line(&out), size_line(&src_size));
}

#[test]
fn readme_first_command_is_read_from_its_section() {
    let readme = "# x\n\n## Two commands\n\nBuild.\n\n```sh\ncargo build --release && ./target/release/ferry sync -P ./a \"$d\"\n```\n";
    assert_eq!(
        first_command(readme),
        "cargo build --release && ./target/release/ferry sync -P ./a \"$d\""
    );
    assert!(run_part(&first_command(readme)).contains(" sync -P ./a "));
}
