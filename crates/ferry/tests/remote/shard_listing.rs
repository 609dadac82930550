//! `--shard` to and from an object store lists only the shard's subtrees: 20,000 keys on
//! the S3 test server, 4 shards, listing requests counted by a pass-through proxy and
//! compared with one unsharded run (the bound: within 1.2×). The shards' summaries
//! show that each file had exactly one shard. Skips (fails under `CI=true`) when the
//! server is not running.

use std::collections::BTreeMap;

use crate::common;
use crate::s3_list::Proxy;
use common::{cloud_ok, shard_owner, Scratch};
use ferry_testbed::Testbed;

const N: u64 = 4;
const DIRS: usize = 40;
const PER_DIR: usize = 500;

fn summary(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// 20,000 small files under one top-level directory, as a bucket often holds them.
fn tree(s: &Scratch) -> Vec<String> {
    let mut names = Vec::new();
    for d in 0..DIRS {
        for f in 0..PER_DIR {
            let name = format!("data/p{d:02}/f{f:03}.txt");
            s.write(&format!("src/{name}"), &format!("{d}.{f}"), 1000);
            names.push(name);
        }
    }
    names.sort();
    names
}

/// Runs `sync SRC DST` as shards 0..N, each with its summary in `dir`; the number of
/// ListObjectsV2 requests they sent through `proxy` together.
fn shards(proxy: &Proxy, src: &str, dst: &str, s: &Scratch, dir: &str, extra: &[&str]) -> usize {
    std::fs::create_dir_all(s.path(dir)).unwrap();
    proxy.reset();
    for k in 0..N {
        let sum = s.path(&format!("{dir}/shard-{k}.json"));
        let shard = format!("{k}/{N}");
        let sum = sum.to_string_lossy().into_owned();
        let mut args = vec!["sync", src, dst, "--shard", &shard, "--summary-file", &sum];
        args.extend(extra);
        cloud_ok(&args);
    }
    proxy.count("GET", "list-type=2")
}

fn unsharded(proxy: &Proxy, src: &str, dst: &str, extra: &[&str]) -> usize {
    proxy.reset();
    let mut args = vec!["sync", src, dst];
    args.extend(extra);
    cloud_ok(&args);
    proxy.count("GET", "list-type=2")
}

#[test]
fn four_shards_list_20000_keys_within_1_2_times_one_run() {
    let Some(s3) = Testbed::s3() else { return };
    let s = Scratch::new();
    let names = tree(&s);
    let proxy = Proxy::start(&s3.endpoint);
    let remote = proxy.remote(&s3, &[], "");
    let src = s.src();

    // The upload, split: each file sent by exactly one shard, the one its unit names.
    shards(&proxy, &src, &remote, &s, "up", &["--transfers", "16"]);
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for k in 0..N {
        let doc = summary(&s.path(&format!("up/shard-{k}.json")));
        // The source holds only data/: the split directory is data, the units data/pNN.
        assert_eq!(doc["shard"]["by"], "subtree:data", "shard {k}");
        for a in doc["actions"].as_array().unwrap() {
            let path = a["path"].as_str().unwrap().to_owned();
            assert_eq!(a["action"], "copied_new", "{a}");
            assert_eq!(shard_owner(&path, N, "subtree:data"), k, "{path}");
            assert!(seen.insert(path.clone(), k).is_none(), "{path} sent twice");
        }
    }
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), names);
    let per_shard: Vec<usize> = (0..N)
        .map(|k| seen.values().filter(|&&v| v == k).count())
        .collect();

    // Up to date: count the listings of the destination (S3), then of the source (S3).
    let size_only = ["--size-only"];
    let one = unsharded(&proxy, &src, &remote, &size_only);
    let split = shards(&proxy, &src, &remote, &s, "dst-side", &size_only);
    let back_one = unsharded(&proxy, &remote, &src, &size_only);
    let back_split = shards(&proxy, &remote, &src, &s, "src-side", &size_only);
    eprintln!(
        "listing requests for {} keys, {N} shards (files per shard {per_shard:?}): \
         S3 destination {split} vs {one} unsharded, S3 source {back_split} vs {back_one}",
        names.len()
    );
    for (sharded, single) in [(split, one), (back_split, back_one)] {
        assert!(single >= DIRS, "{single}");
        assert!(
            sharded as f64 <= 1.2 * single as f64,
            "{sharded} listing requests by {N} shards against {single} by one run"
        );
    }
    for dir in ["dst-side", "src-side"] {
        for k in 0..N {
            let doc = summary(&s.path(&format!("{dir}/shard-{k}.json")));
            assert_eq!(doc["files_transferred"], 0, "{dir} shard {k}");
            assert_eq!(doc["deleted_files"], 0, "{dir} shard {k}");
        }
    }
}
