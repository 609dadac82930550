//! `--shard auto` under a real scheduler: the testbed's one-node Slurm cluster runs a job
//! array of 4 ferry shards (over local directories, and local → the S3 test server), the
//! test waits for it, runs the final `--shard-summaries` pass, and compares the result with
//! one unsharded sync. A shard killed mid-way (scancel, SIGKILL) must leave nothing
//! deleted. Skips (fails under `CI=true`) when the cluster or the S3 server is not running.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common;
use common::{assert_same_tree, cloud_ok, cloud_run, shard_owner, sorted_lines, split, Scratch};
use ferry_testbed::{Slurm, TaskEnd, Testbed};

const SHARDS: u32 = 4;
const WAIT: Duration = Duration::from_secs(300);

/// The documented partition by path (README): FNV-1a 64 over the path's UTF-8 bytes,
/// modulo N (what a shard between two local directories uses).
fn shard_of(path: &str, n: u64) -> u64 {
    shard_owner(path, n, "path")
}

/// The batch script every task runs: one shard, K and N from Slurm's array variables. A
/// task numbered `$SLOW_TASK` is throttled so a test can kill it mid-way.
const SCRIPT: &str = r#"#!/bin/bash
set -u
extra=()
if [[ ${SLOW_TASK:-} == "$SLURM_ARRAY_TASK_ID" ]]; then extra=(--bwlimit "$SLOW_BWLIMIT"); fi
exec "$FERRY_BIN" sync "$SHARD_SRC" "$SHARD_DST" --shard auto \
    --summary-file "$SHARD_SUMS/shard-$SLURM_ARRAY_TASK_ID.json" "${extra[@]}"
"#;

/// Submits the 4 shards of `sync src dst` as one job array; returns its id.
fn submit(slurm: &Slurm, s: &Scratch, src: &str, dst: &str, slow: Option<u32>) -> String {
    let script = s.path("shard.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    std::fs::create_dir_all(s.path("sums")).unwrap();
    let mut env = vec![
        ("FERRY_BIN", env!("CARGO_BIN_EXE_ferry").to_string()),
        ("SHARD_SRC", src.to_string()),
        ("SHARD_DST", dst.to_string()),
        ("SHARD_SUMS", s.path("sums").to_string_lossy().into_owned()),
        // As common::cloud(): no user config, no cloud credentials or metadata probes.
        ("HOME", std::env::temp_dir().to_string_lossy().into_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ];
    if let Some(task) = slow {
        env.push(("SLOW_TASK", task.to_string()));
        env.push(("SLOW_BWLIMIT", "200k".into()));
    }
    let scrubbed = [
        "FERRY_CONFIG",
        "FERRY_SHARD",
        "FERRY_SHARD_SUMMARIES",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
    ];
    let jobdir = s.path("job");
    std::fs::create_dir_all(&jobdir).unwrap();
    slurm.submit_array(
        &format!("0-{}", SHARDS - 1),
        &script,
        &jobdir,
        &env,
        &scrubbed,
    )
}

/// Every task's output, for failure messages.
fn outputs(s: &Scratch) -> String {
    (0..SHARDS)
        .map(|k| {
            let out =
                std::fs::read_to_string(s.path(&format!("job/task-{k}.out"))).unwrap_or_default();
            format!("task {k}: {out}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_all_completed(ends: &[TaskEnd], s: &Scratch) {
    let tasks: Vec<u32> = ends.iter().map(|e| e.task).collect();
    assert_eq!(tasks, (0..SHARDS).collect::<Vec<_>>(), "{ends:?}");
    for e in ends {
        assert_eq!(e.state, "COMPLETED", "{e:?}\n{}", outputs(s));
    }
}

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

/// Each file was sent by exactly one shard, its own (split `by`, as every summary says),
/// and together they sent `names`; each shard deleted only its own extraneous files.
fn assert_split(s: &Scratch, names: &[String], by: &str) {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for k in 0..u64::from(SHARDS) {
        let sum = s.path(&format!("sums/shard-{k}.json"));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sum).unwrap()).unwrap();
        assert_eq!(doc["shard"]["by"], by, "shard {k}");
        let owner = |p: &str| shard_owner(p, SHARDS.into(), by);
        for path in actions(&sum, "copied_new") {
            assert_eq!(owner(&path), k, "{path} sent by shard {k}");
            assert!(seen.insert(path.clone(), k).is_none(), "{path} sent twice");
        }
        for path in actions(&sum, "deleted") {
            assert_eq!(owner(&path), k, "{path} deleted by shard {k}");
        }
    }
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), names);
}

fn source_tree(s: &Scratch, n: usize) -> Vec<String> {
    let mut names: Vec<String> = (0..n)
        .map(|i| format!("d{}/sub{}/f-{i}.txt", i % 5, i % 3))
        .collect();
    for (i, name) in names.iter().enumerate() {
        s.write(&format!("src/{name}"), &format!("body {i}"), 1000);
    }
    names.sort();
    names
}

const EXTRAS: [&str; 8] = [
    "old/a.txt",
    "old/b.txt",
    "old/deeper/c.txt",
    "old/deeper/d.txt",
    "stale-1.txt",
    "stale-2.txt",
    "stale-3.txt",
    "d0/stale-4.txt",
];

fn write_extras(s: &Scratch, dir: &str) {
    for e in EXTRAS {
        s.write(&format!("{dir}/{e}"), "extra", 10);
    }
}

fn final_pass(s: &Scratch, src: &str, dst: &str) -> (i32, String, String) {
    let sums = s.path("sums").to_string_lossy().into_owned();
    cloud_run(&["sync", src, dst, "--shard-summaries", &sums, "-v"])
}

#[test]
fn a_slurm_job_array_of_four_shards_over_local_directories() {
    let Some(slurm) = Testbed::slurm() else {
        return;
    };
    let s = Scratch::new();
    let names = source_tree(&s, 200);
    write_extras(&s, "dst");
    write_extras(&s, "ref");
    let job = submit(&slurm, &s, &s.src(), &s.dst(), None);
    let ends = slurm.wait(&job, WAIT);
    assert_all_completed(&ends, &s);
    assert_split(&s, &names, "path");

    let (code, _, err) = final_pass(&s, &s.src(), &s.dst());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("There was nothing to transfer"), "{err}");
    // The same as one unsharded sync into a copy of the original destination.
    cloud_ok(&["sync", &s.src(), &s.path("ref").to_string_lossy()]);
    assert_same_tree(&s.path("ref"), &s.path("dst"));
    assert_same_tree(&s.path("src"), &s.path("dst"));
}

#[test]
fn a_slurm_job_array_of_four_shards_to_s3() {
    let Some(slurm) = Testbed::slurm() else {
        return;
    };
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    let names = source_tree(&s, 200);
    let (dst, reference) = (s3.rclone_path("data"), s3.rclone_path("ref"));
    write_extras(&s, "extras");
    for base in [&dst, &reference] {
        cloud_ok(&["copy", &s.path("extras").to_string_lossy(), base]);
    }
    let job = submit(&slurm, &s, &s.src(), &dst, None);
    let ends = slurm.wait(&job, WAIT);
    assert_all_completed(&ends, &s);
    // To an object store the shards split by subtree (d0…d4, old, stale-*.txt).
    assert_split(&s, &names, "subtree:");

    let (code, _, err) = final_pass(&s, &s.src(), &dst);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("There was nothing to transfer"), "{err}");
    cloud_ok(&["sync", &s.src(), &reference]);
    let listing = |remote: &str| {
        let (out, _) = cloud_ok(&["lsf", "-R", "--files-only", "--format", "pst", remote]);
        sorted_lines(&out)
    };
    assert_eq!(listing(&dst), listing(&reference));
    let (code, _, err) = cloud_run(&["check", &s.src(), &dst]);
    assert_eq!(code, 0, "{err}");
}

/// Every file under `root`, relative.
fn snapshot(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = common::tree(root).into_keys().collect();
    out.sort();
    out
}

#[test]
fn a_shard_killed_mid_way_by_slurm_leaves_nothing_deleted() {
    let Some(slurm) = Testbed::slurm() else {
        return;
    };
    let s = Scratch::new();
    let mut names = source_tree(&s, 60);
    // A file of shard 2 that takes it seconds under --bwlimit, so it is killed mid-transfer.
    let big = (0..)
        .map(|i| format!("big/slow-{i}.bin"))
        .find(|p| shard_of(p, SHARDS.into()) == 2)
        .unwrap();
    common::write_file(&s.path(&format!("src/{big}")), &vec![7u8; 3 << 20], 1000);
    names.push(big.clone());
    names.sort();
    write_extras(&s, "dst");
    let mine: Vec<&str> = EXTRAS
        .iter()
        .copied()
        .filter(|e| shard_of(e, SHARDS.into()) == 2)
        .collect();
    assert!(!mine.is_empty(), "shard 2 must own an extraneous file");

    let job = submit(&slurm, &s, &s.src(), &s.dst(), Some(2));
    let deadline = Instant::now() + WAIT;
    while slurm.task_state(&job, 2).as_deref() != Some("RUNNING") {
        assert!(
            Instant::now() < deadline,
            "task 2 never ran: {:?}",
            slurm.records(&job)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3)); // well into the 15 s transfer
    slurm.kill_task(&job, 2);
    let ends = slurm.wait(&job, WAIT);
    for e in &ends {
        let want = if e.task == 2 {
            "CANCELLED"
        } else {
            "COMPLETED"
        };
        assert_eq!(e.state, want, "{e:?}\n{}", outputs(&s));
    }
    // The killed shard deleted none of its extraneous files and wrote no summary.
    for e in &mine {
        assert!(
            s.exists(&format!("dst/{e}")),
            "{e} deleted by the killed shard"
        );
    }
    assert!(!s.exists("sums/shard-2.json"));
    assert!(
        !s.exists(&format!("dst/{big}")),
        "a partial {big} under its final name"
    );

    // The final pass refuses: nothing transferred, nothing deleted.
    let before = snapshot(&s.path("dst"));
    let (code, _, err) = final_pass(&s, &s.src(), &s.dst());
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("shard 2/4 missing"), "{err}");
    assert_eq!(
        snapshot(&s.path("dst")),
        before,
        "the refused final pass changed dst"
    );

    // Shard 2 run again (K/N written out), then the final pass: one sync's result.
    let sum = s.path("sums/shard-2-rerun.json");
    let (code, _, err) = split(
        common::cloud()
            .args([
                "sync",
                &s.src(),
                &s.dst(),
                "--shard",
                "2/4",
                "--summary-file",
            ])
            .arg(&sum)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = final_pass(&s, &s.src(), &s.dst());
    assert_eq!(code, 0, "{err}");
    write_extras(&s, "ref");
    cloud_ok(&["sync", &s.src(), &s.path("ref").to_string_lossy()]);
    assert_same_tree(&s.path("ref"), &s.path("dst"));
    assert_eq!(snapshot(&s.path("dst")).len(), names.len());
}
