//! `--shard K/N` and `--shard-summaries`: one sync split across workers, then a final
//! unsharded pass, driven through the real binary over local trees.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::common;

use common::*;

/// The documented partition (README): FNV-1a 64 over the path's UTF-8 bytes, modulo N.
fn shard_of(path: &str, n: u64) -> u64 {
    let h = path.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    h % n
}

/// `ferry` with no scheduler variables from the environment running the tests.
fn fy() -> Command {
    let mut c = ferry();
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
        "FERRY_SHARD_COUNT",
        "FERRY_SHARD",
        "FERRY_SHARD_SUMMARIES",
    ] {
        c.env_remove(v);
    }
    c
}

fn fy_run(args: &[&str]) -> (i32, String, String) {
    split(fy().args(args).output().expect("ferry runs"))
}

/// A few hundred files over nested directories.
fn big_tree(s: &Scratch) -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..300 {
        let name = match i % 5 {
            0 => format!("top-{i}.txt"),
            1 => format!("a/f-{i}.dat"),
            2 => format!("a/b/g-{i}"),
            3 => format!("c/d/e/h {i}.bin"),
            _ => format!("ünï/{i}.txt"),
        };
        s.write(&format!("src/{name}"), &format!("content {i}"), 1000);
        names.push(name);
    }
    names.sort();
    names
}

/// The paths of one summary's actions of a kind (`copied_new`, `deleted`…).
fn actions(summary: &Path, kind: &str) -> Vec<String> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
    doc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == kind)
        .map(|a| a["path"].as_str().unwrap().to_owned())
        .collect()
}

fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every directory under `root`, relative.
fn dirs(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// Runs shards 0..n of `cmd SRC DST`, each writing `sums/shard-K.json`.
fn run_shards(s: &Scratch, cmd: &str, n: u64, extra: &[&str]) {
    std::fs::create_dir_all(s.path("sums")).unwrap();
    for k in 0..n {
        let sum = s.path(&format!("sums/shard-{k}.json"));
        let shard = format!("{k}/{n}");
        let mut args = vec![cmd, "--shard", &shard, "--summary-file"];
        let sum_s = sum.to_string_lossy().into_owned();
        args.push(&sum_s);
        let (src, dst) = (s.src(), s.dst());
        args.extend([src.as_str(), dst.as_str()]);
        args.extend(extra);
        let (code, _, err) = fy_run(&args);
        assert_eq!(code, 0, "shard {shard}: {err}");
    }
}

#[test]
fn four_shards_then_a_final_sync_equal_one_sync_and_split_the_files() {
    let s = Scratch::new();
    let names = big_tree(&s);
    // Extraneous files and directories at the destination.
    s.write("dst/old/x.txt", "x", 10);
    s.write("dst/old/deeper/y.txt", "y", 10);
    s.write("dst/stale.txt", "z", 10);
    std::fs::create_dir_all(s.path("dst/empty-extra")).unwrap();
    run_shards(&s, "sync", 4, &[]);

    // Each file went through exactly one shard: its own; together, the whole tree.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for k in 0..4 {
        let sum = s.path(&format!("sums/shard-{k}.json"));
        assert_eq!(
            summary(&sum)["shard"],
            serde_json::json!({"index": k, "count": 4, "by": "path"})
        );
        for path in actions(&sum, "copied_new") {
            assert_eq!(shard_of(&path, 4), k, "{path} copied by shard {k}");
            assert!(
                seen.insert(path.clone(), k).is_none(),
                "{path} copied twice"
            );
        }
        for path in actions(&sum, "deleted") {
            assert_eq!(shard_of(&path, 4), k, "{path} deleted by shard {k}");
        }
    }
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), names);
    assert_same_tree(&s.path("src"), &s.path("dst"));
    // No shard removed a directory.
    for d in ["old", "old/deeper", "empty-extra"] {
        assert!(
            s.path(&format!("dst/{d}")).is_dir(),
            "{d} removed by a shard"
        );
    }

    let final_sum = s.path("sums/final.json");
    let (code, _, err) = fy_run(&[
        "sync",
        &s.src(),
        &s.dst(),
        "--shard-summaries",
        &s.path("sums").to_string_lossy(),
        "--summary-file",
        &final_sum.to_string_lossy(),
        "-v",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("There was nothing to transfer"), "{err}");
    assert!(actions(&final_sum, "copied_new").is_empty());

    // The same as one unsharded sync into a copy of the original destination.
    std::fs::create_dir_all(s.path("ref/old/deeper")).unwrap();
    std::fs::create_dir_all(s.path("ref/empty-extra")).unwrap();
    std::fs::write(s.path("ref/old/x.txt"), "x").unwrap();
    let (code, _, err) = fy_run(&["sync", &s.src(), &s.path("ref").to_string_lossy()]);
    assert_eq!(code, 0, "{err}");
    assert_same_tree(&s.path("ref"), &s.path("dst"));
    assert_eq!(dirs(&s.path("ref")), dirs(&s.path("dst")));
    assert_eq!(dirs(&s.path("src")), dirs(&s.path("dst")));
}

#[test]
fn a_shard_deletes_only_its_own_extraneous_files_and_no_directories() {
    let s = Scratch::new();
    s.write("src/keep.txt", "k", 100);
    let extras: Vec<String> = (0..40).map(|i| format!("gone/sub/x{i}.txt")).collect();
    for e in &extras {
        s.write(&format!("dst/{e}"), "x", 10);
    }
    let (code, _, err) = fy_run(&["sync", "--shard", "1/4", &s.src(), &s.dst(), "-v"]);
    assert_eq!(code, 0, "{err}");
    for e in &extras {
        let mine = shard_of(e, 4) == 1;
        assert_eq!(!s.exists(&format!("dst/{e}")), mine, "{e}");
    }
    assert!(s.path("dst/gone/sub").is_dir());
    // A shard that finds its part of a directory empty leaves the directory too.
    for k in [0, 2, 3] {
        let shard = format!("{k}/4");
        assert_eq!(
            fy_run(&["sync", "--shard", &shard, &s.src(), &s.dst()]).0,
            0
        );
    }
    assert!(
        s.path("dst/gone/sub").is_dir(),
        "a shard removed a directory"
    );
    assert_eq!(tree(&s.path("dst")).len(), 1);
    assert_eq!(fy_run(&["sync", &s.src(), &s.dst()]).0, 0);
    assert!(!s.exists("dst/gone"));
}

#[test]
fn a_sharded_move_and_check_touch_only_their_files() {
    let s = Scratch::new();
    let names = big_tree(&s);
    s.write("dst/a/f-1.dat", "different", 10);
    let (code, out, err) = fy_run(&["check", "--shard", "0/2", &s.src(), &s.dst()]);
    assert_eq!(code, 1, "{err}");
    let missing = names.iter().filter(|n| shard_of(n, 2) == 0).count()
        - usize::from(shard_of("a/f-1.dat", 2) == 0);
    assert!(
        err.contains(&format!("{missing} files missing")),
        "{missing}: {out}{err}"
    );

    let (code, _, err) = fy_run(&[
        "move",
        "--shard",
        "1/2",
        "--delete-empty-src-dirs",
        &s.src(),
        &s.dst(),
    ]);
    assert_eq!(code, 0, "{err}");
    for n in &names {
        assert_eq!(s.exists(&format!("src/{n}")), shard_of(n, 2) == 0, "{n}");
    }
    // Directories the shard emptied stay for the final pass.
    assert_eq!(
        dirs(&s.path("src")),
        ["a", "a/b", "c", "c/d", "c/d/e", "ünï"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[test]
fn bad_shard_values_are_usage_errors_in_one_line() {
    let s = Scratch::new();
    s.write("src/a", "a", 10);
    for (value, why) in [
        ("4/4", "K must be less than N"),
        ("a/b", "whole numbers"),
        ("3", "expected K/N"),
        ("0/0", "N must be at least 1"),
        ("auto", "neither SLURM_ARRAY_TASK_ID"),
    ] {
        for cmd in ["sync", "copy", "move", "check"] {
            let (code, _, err) = fy_run(&[cmd, "--shard", value, &s.src(), &s.dst()]);
            assert_eq!(code, 2, "{cmd} --shard {value}: {err}");
            assert!(err.contains(why), "{cmd} --shard {value}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
        }
    }
    assert!(!s.exists("dst"), "a usage error copied something");
    let (code, _, err) = fy_run(&[
        "sync",
        "--shard",
        "0/2",
        "--delete-excluded",
        &s.src(),
        &s.dst(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--delete-excluded can't be used with --shard"),
        "{err}"
    );
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_variables() {
    let s = Scratch::new();
    big_tree(&s);
    let sum = s.path("sum.json");
    let sum_s = sum.to_string_lossy().into_owned();
    let args = ["copy", "--shard", "auto", "--summary-file", &sum_s];
    let (src, dst) = (s.src(), s.dst());
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    let k8s = [("JOB_COMPLETION_INDEX", "3"), ("FERRY_SHARD_COUNT", "5")];
    for (vars, index, count) in [(&slurm[..], 2, 4), (&k8s[..], 3, 5)] {
        let mut c = fy();
        c.envs(vars.iter().copied());
        let (code, _, err) = split(c.args(args).args([&src, &dst]).output().unwrap());
        assert_eq!(code, 0, "{err}");
        let doc = summary(&sum);
        assert_eq!(
            doc["shard"],
            serde_json::json!({"index": index, "count": count, "by": "path"})
        );
        for path in actions(&sum, "copied_new") {
            assert_eq!(shard_of(&path, count), index, "{path}");
        }
    }
    let mut c = fy();
    c.env("JOB_COMPLETION_INDEX", "1");
    let (code, _, err) = split(c.args(args).args([&src, &dst]).output().unwrap());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("but FERRY_SHARD_COUNT is not"), "{err}");
}

#[test]
fn shard_summaries_refuse_deletes_unless_every_shard_succeeded() {
    let s = Scratch::new();
    big_tree(&s);
    // An extraneous file of shard 3, the one that goes missing or fails below.
    let extra = (0..)
        .map(|i| format!("extra/x{i}.txt"))
        .find(|p| shard_of(p, 4) == 3)
        .unwrap();
    s.write(&format!("dst/{extra}"), "x", 10);
    std::fs::create_dir_all(s.path("sums")).unwrap();
    let sums = s.path("sums").to_string_lossy().into_owned();
    let final_pass = || fy_run(&["sync", &s.src(), &s.dst(), "--shard-summaries", &sums]);

    // No summaries at all.
    let (code, _, err) = final_pass();
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("no shard summaries"), "{err}");

    // Shards 0..2 of 4 ran; shard 3 is missing.
    for k in 0..3 {
        let sum = s.path(&format!("sums/shard-{k}.json"));
        let shard = format!("{k}/4");
        let args = ["sync", "--shard", &shard, "--summary-file"];
        let (code, _, err) = split(
            fy().args(args)
                .arg(&sum)
                .args([&s.src(), &s.dst()])
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "{err}");
    }
    let before = tree(&s.path("dst"));
    let (code, _, err) = final_pass();
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("shard 3/4 missing"), "{err}");
    assert!(err.contains("nothing was transferred or deleted"), "{err}");
    assert_eq!(
        tree(&s.path("dst")).keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );

    // Shard 3 ran but failed (its summary says so).
    let sum3 = s.path("sums/shard-3.json");
    let mut failed = summary(&s.path("sums/shard-0.json"));
    failed["shard"]["index"] = 3.into();
    failed["success"] = false.into();
    failed["exit_code"] = 5.into();
    std::fs::write(&sum3, failed.to_string()).unwrap();
    let (code, _, err) = final_pass();
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("shard 3/4 failed (exit code 5)"), "{err}");
    assert!(s.exists(&format!("dst/{extra}")));

    // Shard 3 run again, successfully: the final pass deletes.
    std::fs::remove_file(&sum3).unwrap();
    run_shards_one(&s, 3, 4, &s.path("sums/shard-3-retry.json"));
    std::fs::write(&sum3, failed.to_string()).unwrap();
    let (code, _, err) = final_pass();
    assert_eq!(code, 0, "{err}");
    assert!(!s.exists("dst/extra"));
    assert_same_tree(&s.path("src"), &s.path("dst"));

    // Only the final sync takes it.
    for bad in [
        vec!["copy", "--shard-summaries", &sums],
        vec!["sync", "--shard", "0/4", "--shard-summaries", &sums],
    ] {
        let (code, _, err) = fy_run(&[&bad[..], &[&s.src(), &s.dst()]].concat());
        assert_eq!(code, 2, "{bad:?}: {err}");
    }
}

fn run_shards_one(s: &Scratch, k: u64, n: u64, sum: &Path) {
    let shard = format!("{k}/{n}");
    let (code, _, err) = split(
        fy().args(["sync", "--shard", &shard, "--summary-file"])
            .arg(sum)
            .args([&s.src(), &s.dst()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_shard_with_an_error_deletes_nothing_and_the_final_pass_refuses() {
    let s = Scratch::new();
    s.write("src/ok.txt", "ok", 100);
    // A file on the source, a directory at the destination: an error for its shard.
    s.write("src/clash", "file", 100);
    s.write("dst/clash/inner.txt", "dir", 10);
    let k = shard_of("clash", 2);
    let extra = (0..)
        .map(|i| format!("extra{i}.txt"))
        .find(|p| shard_of(p, 2) == k)
        .unwrap();
    s.write(&format!("dst/{extra}"), "x", 10);
    std::fs::create_dir_all(s.path("sums")).unwrap();
    let sum = s.path(&format!("sums/shard-{k}.json"));
    let shard = format!("{k}/2");
    let (code, _, err) = split(
        fy().args(["sync", "--shard", &shard, "--summary-file"])
            .arg(&sum)
            .args([&s.src(), &s.dst()])
            .output()
            .unwrap(),
    );
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("not deleting files as there were IO errors"),
        "{err}"
    );
    assert!(s.exists(&format!("dst/{extra}")));
    assert_eq!(summary(&sum)["success"], false);
    run_shards_one(&s, 1 - k, 2, &s.path(&format!("sums/shard-{}.json", 1 - k)));

    let sums = s.path("sums").to_string_lossy().into_owned();
    let (code, _, err) = fy_run(&["sync", &s.src(), &s.dst(), "--shard-summaries", &sums]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains(&format!("shard {k}/2 failed (exit code {})", code_of(&sum))),
        "{err}"
    );
    assert!(s.exists(&format!("dst/{extra}")));
}

fn code_of(summary_path: &Path) -> i64 {
    summary(summary_path)["exit_code"].as_i64().unwrap()
}
