//! `dedupe --by-hash`: the same content under different names, found by the first hash the
//! remote has (MD5 where it has it), and each group of duplicates dealt with as the mode
//! says, in rclone's words: `list`, `skip`, `first`, `newest`, `oldest`, `largest`,
//! `smallest`, `rename` (to `HASH-N`, as rclone does) and `interactive` (on standard
//! input: skip, keep one, or quit). Deletions honour `--dry-run`.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use ferry_core::timefmt::go_format;
use ferry_core::{Backend, Entry, HashKind, RelPath};
use ferry_engine::{AllowAll, WalkOptions, Walker};
use futures::StreamExt;

use crate::cmd::delete_limits::DeleteLimits;
use crate::cmd::listing::{exact_mtimes, local};
use crate::exit::{self, fail};

/// Files hashed at once (rclone's `--checkers` default).
const AT_ONCE: usize = 8;

/// `limits`: `--max-delete` and `--max-delete-size`, which rclone applies to these
/// deletes as to any.
pub async fn dedupe(
    backend: Arc<dyn Backend>,
    mode: &str,
    dry_run: bool,
    mut limits: DeleteLimits,
) -> anyhow::Result<i32> {
    let name = backend.describe();
    let Some(kind) = backend.features().semantics.hashes.iter().next() else {
        return Err(fail(
            exit::ERROR,
            format!("Failed to dedupe: {name} has no hashes"),
        ));
    };
    let what = format!("{} hashes", kind.name());
    tracing::info!("{name}: Looking for duplicate {what} using {mode} mode.");
    for (hash, mut files) in groups(&backend, kind).await? {
        tracing::warn!("{hash}: Found {} files with duplicate {what}", files.len());
        // Listed times may be provisional (an object store's upload time): the ones
        // shown and compared are the files' own, as rclone reads them.
        exact_mtimes(backend.as_ref(), &mut files).await;
        let keep = match mode {
            "list" => {
                list(&hash, &files);
                continue;
            }
            "skip" => {
                tracing::warn!(
                    "{hash}: Skipping {} files with duplicate {what}",
                    files.len()
                );
                continue;
            }
            "rename" => {
                rename(&backend, &hash, &files, dry_run).await;
                continue;
            }
            "interactive" => {
                list(&hash, &files);
                match ask(files.len())? {
                    Choice::Keep(keep) => keep,
                    Choice::Skip => continue,
                    Choice::Quit => return Ok(exit::SUCCESS),
                }
            }
            "first" => 0,
            "newest" | "oldest" => {
                files.sort_by_key(|e| e.mtime);
                if mode == "newest" {
                    files.len() - 1
                } else {
                    0
                }
            }
            _ => {
                files.sort_by_key(|e| e.size);
                if mode == "largest" {
                    files.len() - 1
                } else {
                    0
                }
            }
        };
        if !delete_all_but(&backend, &hash, &files, keep, dry_run, &mut limits).await {
            break;
        }
    }
    limits.check("dedupe")?;
    Ok(exit::SUCCESS)
}

/// The files of the whole tree grouped by hash, groups of two or more only, in the order
/// their first file was listed.
async fn groups(
    backend: &Arc<dyn Backend>,
    kind: HashKind,
) -> anyhow::Result<Vec<(String, Vec<Entry>)>> {
    let mut walker = Walker::new(backend.clone(), Arc::new(AllowAll), WalkOptions::default());
    let mut files = Vec::new();
    while let Some((_, entries)) = walker.next_dir().await.map_err(|e| {
        fail(
            exit::code_for_kind(e.kind(), e.is_temporary()),
            format!("Failed to dedupe: {e}"),
        )
    })? {
        files.extend(entries.into_iter().filter(|e| !e.is_dir()));
    }
    let hashed: Vec<(Entry, Option<String>)> = futures::stream::iter(files)
        .map(|e| async move {
            let h = match e.hashes.get(kind) {
                Some(h) => Some(h.to_owned()),
                None => match backend.hash(&e.path, kind).await {
                    Ok(h) => h,
                    Err(err) => {
                        tracing::error!("{}: Failed to hash: {err}", e.path);
                        None
                    }
                },
            };
            (e, h)
        })
        .buffered(AT_ONCE)
        .collect()
        .await;
    let mut order: Vec<String> = Vec::new();
    let mut by_hash: HashMap<String, Vec<Entry>> = HashMap::new();
    for (e, h) in hashed {
        let Some(h) = h.filter(|h| !h.is_empty()) else {
            continue;
        };
        let group = by_hash.entry(h.clone()).or_default();
        if group.is_empty() {
            order.push(h);
        }
        group.push(e);
    }
    Ok(order
        .into_iter()
        .filter_map(|h| by_hash.remove(&h).map(|g| (h, g)))
        .filter(|(_, g)| g.len() > 1)
        .collect())
}

/// rclone's listing of one group, on standard output.
fn list(hash: &str, files: &[Entry]) {
    let mut out = String::new();
    out.push_str(&format!("{hash}: {} duplicates\n", files.len()));
    for (i, e) in files.iter().enumerate() {
        let t = go_format(&local(e.mtime), "2006-01-02 15:04:05.000000000");
        out.push_str(&format!(
            "  {}: {:>12} bytes, {t}, {}\n",
            i + 1,
            e.size,
            ferry_core::shown::name(e.path.as_str())
        ));
    }
    print!("{out}");
    let _ = std::io::stdout().flush();
}

/// Deletes every file of the group but `keep`, and says rclone's count of those deleted
/// (or, in a dry run, that would have been). `false` once a delete limit stops the rest.
async fn delete_all_but(
    backend: &Arc<dyn Backend>,
    hash: &str,
    files: &[Entry],
    keep: usize,
    dry_run: bool,
    limits: &mut DeleteLimits,
) -> bool {
    let mut count = 0;
    let mut room = true;
    for (i, e) in files.iter().enumerate() {
        if i == keep {
            continue;
        }
        if !limits.take(e.size) {
            room = false;
            break;
        }
        if crate::cmd::ops::delete_listed(backend.as_ref(), e, dry_run)
            .await
            .is_ok()
        {
            count += 1;
        }
    }
    if count > 0 {
        tracing::warn!("{hash}: Deleted {count} extra copies");
    }
    room
}

/// rclone's rename of a group found by hash: each file to `HASH-N` at the root, the
/// first free N from the file's place in the group.
async fn rename(backend: &Arc<dyn Backend>, hash: &str, files: &[Entry], dry_run: bool) {
    'files: for (i, e) in files.iter().enumerate() {
        let mut suffix = i + 1;
        let target = loop {
            let Ok(candidate) = RelPath::new(&format!("{hash}-{suffix}")) else {
                continue 'files;
            };
            match backend.stat(&candidate).await {
                Ok(None) => break candidate,
                Ok(Some(_)) if suffix <= i + 100 => suffix += 1,
                Ok(Some(_)) => {
                    tracing::error!("{}: Could not find an available new name", e.path);
                    continue 'files;
                }
                Err(err) => {
                    tracing::error!("{}: Failed to check for existing object: {err}", e.path);
                    continue 'files;
                }
            }
        };
        if dry_run {
            tracing::warn!("{}: Skipped rename as --dry-run is set", e.path);
            continue;
        }
        match backend.move_from(backend.as_ref(), &e.path, &target).await {
            Ok(Some(_)) => tracing::info!("{target}: renamed from: {}", e.path),
            Ok(None) => tracing::error!(
                "{}: Failed to rename: {} can't rename files",
                e.path,
                backend.describe()
            ),
            Err(err) => tracing::error!("{}: Failed to rename: {err}", e.path),
        }
    }
}

/// What the user chose for one group.
enum Choice {
    Skip,
    /// The file to keep (0-based).
    Keep(usize),
    Quit,
}

/// rclone's interactive choice for one group, read from standard input (the end of
/// input fails the run, as rclone's does).
fn ask(n: usize) -> anyhow::Result<Choice> {
    let menu = "s) Skip and do nothing\nk) Keep just one (choose which in next step)\nq) Quit\n";
    match read_choice(menu, "s/k/q> ", "skq")? {
        's' => Ok(Choice::Skip),
        'k' => loop {
            let line = read_line("Enter the number of the file to keep> ")?;
            match line.parse::<usize>() {
                Ok(i) if (1..=n).contains(&i) => return Ok(Choice::Keep(i - 1)),
                Ok(_) => println!("Out of range - 1 to {n} inclusive"),
                Err(e) => println!("Bad number: {e}"),
            }
        },
        _ => Ok(Choice::Quit),
    }
}

fn read_choice(menu: &str, prompt: &str, keys: &str) -> anyhow::Result<char> {
    print!("{menu}");
    loop {
        let line = read_line(prompt)?.to_lowercase();
        let mut chars = line.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if keys.contains(c) {
                return Ok(c);
            }
        }
    }
}

fn read_line(prompt: &str) -> anyhow::Result<String> {
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(fail(exit::ERROR, "Failed to read line: EOF"));
    }
    Ok(line.trim().to_owned())
}
