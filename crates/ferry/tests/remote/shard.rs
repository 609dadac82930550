//! `--shard` against the S3 test server: four shards local → S3, then the final
//! unsharded pass guarded by `--shard-summaries`. Skips (fails under `CI=true`) when the
//! server is not running.

use std::collections::BTreeMap;

use crate::common;
use common::{cloud_ok, cloud_run, shard_owner, sorted_lines, Scratch};
use ferry_testbed::Testbed;

fn by(summary: &std::path::Path) -> String {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
    doc["shard"]["by"].as_str().unwrap().to_owned()
}

fn copied(summary: &std::path::Path, kind: &str) -> Vec<String> {
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

#[test]
fn four_shards_to_s3_then_a_final_pass() {
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    let mut names = Vec::new();
    for i in 0..120 {
        let name = format!("d{}/sub{}/f{i}.txt", i % 3, i % 2);
        s.write(&format!("src/{name}"), &format!("body {i}"), 1000);
        names.push(name);
    }
    names.sort();
    let dst = s3.rclone_path("data");
    // Extraneous objects, one per shard at least.
    let extras: Vec<String> = (0..12).map(|i| format!("old/x{i}.txt")).collect();
    s.write("extra/keep", "k", 10);
    for e in &extras {
        cloud_ok(&[
            "copyto",
            &s.path("extra/keep").to_string_lossy(),
            &format!("{dst}/{e}"),
        ]);
    }
    std::fs::create_dir_all(s.path("sums")).unwrap();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for k in 0..4u64 {
        let sum = s.path(&format!("sums/shard-{k}.json"));
        let shard = format!("{k}/4");
        cloud_ok(&[
            "sync",
            &s.src(),
            &dst,
            "--shard",
            &shard,
            "--summary-file",
            &sum.to_string_lossy(),
        ]);
        // S3 lists recursively: the split is by subtree, below the root here (d0, d1, d2
        // and old are the units).
        let by = by(&sum);
        assert_eq!(by, "subtree:");
        for p in copied(&sum, "copied_new") {
            assert_eq!(shard_owner(&p, 4, &by), k, "{p}");
            assert!(seen.insert(p.clone(), k).is_none(), "{p} copied twice");
        }
        let mut deleted = copied(&sum, "deleted");
        deleted.sort();
        let mut mine: Vec<String> = extras
            .iter()
            .filter(|e| shard_owner(e, 4, &by) == k)
            .cloned()
            .collect();
        mine.sort();
        assert_eq!(deleted, mine, "shard {k}'s deletes");
    }
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), names);

    let sums = s.path("sums").to_string_lossy().into_owned();
    let (code, _, err) = cloud_run(&["sync", &s.src(), &dst, "--shard-summaries", &sums, "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("There was nothing to transfer"), "{err}");
    let (code, _, err) = cloud_run(&["check", &s.src(), &dst]);
    assert_eq!(code, 0, "{err}");
    let (out, _) = cloud_ok(&["lsf", "-R", "--files-only", &dst]);
    assert_eq!(sorted_lines(&out), names);
}
