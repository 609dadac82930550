//! 1,000,000 paths against 20 rules (target: well under 1 s per pass).

use criterion::{criterion_group, criterion_main, Criterion};
use ferry_filter::{Filter, FilterOptions};
use std::hint::black_box;
use std::time::{Duration, SystemTime};

const RULES: [&str; 20] = [
    "- *.tmp",
    "- *.bak",
    "- .git/**",
    "- node_modules/**",
    "- /cache/**",
    "- *~",
    "- build/",
    "- **/thumbs/*",
    "- *.[oa]",
    "- {{.*\\.sw[po]}}",
    "- secret*",
    "+ /src/**/*.rs",
    "+ docs/**",
    "+ README*",
    "+ *.{png,gif}",
    "+ photos/*/*.jpg",
    "+ *.pdf",
    "+ /etc/hosts",
    "+ *.jpg",
    "- *",
];

const DIRS: [&str; 16] = [
    "src",
    "src/engine",
    "docs/guide",
    "photos/2021",
    "photos/2022/thumbs",
    "node_modules/left-pad/lib",
    "cache",
    ".git/objects/ab",
    "build/out",
    "home/user/projects/ferry/crates/filter/src",
    "music",
    "a/b/c/d/e/f",
    "etc",
    "vendor/github.com/x",
    "Downloads",
    "tmp",
];

const FILES: [&str; 16] = [
    "main.rs",
    "lib.rs",
    "README.md",
    "image.jpg",
    "icon.png",
    "notes.tmp",
    "old.bak",
    "file.o",
    ".main.rs.swp",
    "secret-key.pem",
    "report.pdf",
    "song.mp3",
    "data.json",
    "backup~",
    "hosts",
    "index.html",
];

fn paths(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let d = DIRS[i % DIRS.len()];
            let f = FILES[(i / DIRS.len()) % FILES.len()];
            let k = i / (DIRS.len() * FILES.len());
            if k % 3 == 0 {
                format!("{d}/{f}")
            } else {
                format!("{d}/n{k}/{f}")
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let opts = FilterOptions {
        filter: RULES.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let now = SystemTime::now();
    let filter = Filter::new(&opts, now).expect("rules compile");
    let paths = paths(1_000_000);
    let included = paths
        .iter()
        .filter(|p| filter.include_file(p, 1, now))
        .count();
    assert!(included > 0 && included < paths.len());

    let mut group = c.benchmark_group("match");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("1M paths x 20 rules (include_file)", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in &paths {
                n += filter.include_file(black_box(p), 1, now) as usize;
            }
            black_box(n)
        })
    });
    group.bench_function("1M paths x 20 rules (include_file_and_parents)", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in &paths {
                n += filter.include_file_and_parents(black_box(p), 1, now) as usize;
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
