//! `tree`: the listing drawn as a tree, as rclone's (a8m/tree's) text: sizes, dates and
//! protections in brackets, sorted by name, version, size or time (or left as listed),
//! quoted or with full paths, to stdout or `-o FILE`.

use std::cmp::Ordering;
use std::time::SystemTime;

use clap::Args;
use ferry_core::timefmt::go_format;
use ferry_core::{shown, Entry};

use crate::args::FilterArgs;
use crate::cmd::listing::{self, local};
use crate::cmd::ls::Out;
use crate::exit::{self, fail};
use crate::Globals;

#[derive(Args, Debug)]
pub struct TreeArgs {
    /// Path to show
    pub path: String,
    /// Descend only this many levels
    #[arg(long, default_value_t = 0)]
    pub level: usize,
    /// Print the size of each file, and the total of each directory
    #[arg(short = 's', long)]
    pub size: bool,
    /// Print the date of last modification
    #[arg(short = 'D', long)]
    pub modtime: bool,
    /// List directories only
    #[arg(short = 'd', long)]
    pub dirs_only: bool,
    /// All files are listed (names starting with a dot too)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// List directories before files
    #[arg(long)]
    pub dirsfirst: bool,
    /// Turn off the file/directory count at the end of the listing
    #[arg(long)]
    pub noreport: bool,
    /// Print sizes as tree's short units (1.5K, 12M); implies --size
    #[arg(long, env = "FERRY_HUMAN_READABLE")]
    pub human_readable: bool,
    /// Print the full path prefix for each file
    #[arg(long)]
    pub full_path: bool,
    /// Don't print indentation lines
    #[arg(long)]
    pub noindent: bool,
    /// Output to file instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Print the protections for each file
    #[arg(short = 'p', long)]
    pub protections: bool,
    /// Quote filenames with double quotes
    #[arg(short = 'Q', long)]
    pub quote: bool,
    /// Select sort: name,version,size,mtime,ctime
    #[arg(long, value_name = "SORT")]
    pub sort: Option<String>,
    /// Sort files by last status change time (ferry has no change times: by modification time)
    #[arg(long)]
    pub sort_ctime: bool,
    /// Sort files by last modification time
    #[arg(short = 't', long)]
    pub sort_modtime: bool,
    /// Reverse the order of the sort
    #[arg(short = 'r', long)]
    pub sort_reverse: bool,
    /// Leave files unsorted
    #[arg(short = 'U', long)]
    pub unsorted: bool,
    /// Sort files alphanumerically by version
    #[arg(long)]
    pub version: bool,
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// tree's `--human-readable` size (the a8m/tree form rclone prints): binary units, a
/// unit only above it (1024 bytes stays `1024`), one decimal below 10, none from 10 on.
fn tree_size(n: u64) -> String {
    for (shift, unit) in [
        (60, 'E'),
        (50, 'P'),
        (40, 'T'),
        (30, 'G'),
        (20, 'M'),
        (10, 'K'),
    ] {
        if n > 1u64 << shift {
            let v = n as f64 / (1u64 << shift) as f64;
            return if v >= 10.0 {
                format!("{v:.0}{unit}")
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    n.to_string()
}

struct Node {
    entry: Entry,
    children: Vec<usize>,
    /// Whether this directory's contents were listed (within `--level`).
    listed: bool,
    total: u64,
}

pub async fn tree(a: &TreeArgs, g: &Globals) -> anyhow::Result<i32> {
    let mut filters = a.filters.clone();
    if a.level > 0 {
        filters.max_depth = a.level as i64;
    }
    let l = listing::open(g, &a.path, &filters, true).await?;
    // Node 0 is the root; directories are found by path.
    let mut nodes = vec![Node {
        entry: Entry::dir(ferry_core::RelPath::root(), SystemTime::UNIX_EPOCH),
        children: Vec::new(),
        listed: true,
        total: 0,
    }];
    let mut index = std::collections::HashMap::new();
    index.insert(String::new(), 0usize);
    let mut walker = l.walker();
    let mut failed = 0;
    while let Some((dir, mut entries)) = walker
        .next_dir()
        .await
        .map_err(|e| listing::walk_error("tree", e))?
    {
        if a.modtime {
            failed += listing::exact_mtimes(&*l.backend, &mut entries).await;
        }
        let Some(&parent) = index.get(dir.as_str()) else {
            continue;
        };
        nodes[parent].listed = true;
        for e in entries {
            if !a.all && e.name().starts_with('.') {
                continue;
            }
            if a.dirs_only && !e.is_dir() {
                continue;
            }
            let id = nodes.len();
            if e.is_dir() {
                index.insert(e.path.to_string(), id);
            }
            nodes.push(Node {
                entry: e,
                children: Vec::new(),
                listed: false,
                total: 0,
            });
            nodes[parent].children.push(id);
        }
    }
    // Totals: children always come after their parents, so go backwards.
    for id in (0..nodes.len()).rev() {
        let own = if nodes[id].entry.is_dir() {
            nodes[id].total
        } else {
            nodes[id].entry.size
        };
        nodes[id].total = own;
        if id == 0 {
            break;
        }
        let path = nodes[id].entry.path.parent().unwrap_or_default();
        if let Some(&p) = index.get(path.as_str()) {
            nodes[p].total += own;
        }
    }
    sort_children(a, &mut nodes);
    let mut out = Lines::default();
    let this_year = local(SystemTime::now()).year;
    let show_size = a.size || a.human_readable;
    let label = |n: &Node, name: &str| -> String {
        let name = if a.quote {
            format!("\"{name}\"")
        } else {
            name.to_owned()
        };
        let mut parts = Vec::new();
        if a.protections && !n.entry.is_dir() {
            // What rclone shows for every file: remotes keep no Unix modes it reads here.
            parts.push("-rw-rw-rw-".to_owned());
        }
        let unknown = n.entry.is_dir() && !n.listed;
        if show_size {
            parts.push(match (unknown, a.human_readable) {
                (true, true) => "????".to_owned(),
                (true, false) => "?".repeat(11),
                (false, true) => format!("{:>4}", tree_size(n.total)),
                (false, false) => format!("{:>11}", n.total),
            });
        }
        if a.modtime && !n.entry.is_dir() {
            let t = local(n.entry.mtime);
            let layout = if t.year == this_year {
                "Jan 02 15:04"
            } else {
                "Jan 02  2006"
            };
            parts.push(go_format(&t, layout));
        }
        if parts.is_empty() || (unknown && !show_size) {
            name
        } else {
            format!("[{}]  {name}", parts.join(" "))
        }
    };
    out.line(&label(&nodes[0], "/"));
    let (mut dirs, mut files) = (0, 0);
    let mut stack: Vec<(usize, String, usize)> = Vec::new();
    for (i, &k) in nodes[0].children.iter().enumerate().rev() {
        stack.push((k, String::new(), i));
    }
    let root_len = nodes[0].children.len();
    let mut lens = std::collections::HashMap::new();
    lens.insert(0usize, root_len);
    let mut parent_of = std::collections::HashMap::new();
    for (id, n) in nodes.iter().enumerate() {
        for &c in &n.children {
            parent_of.insert(c, id);
        }
    }
    while let Some((id, prefix, pos)) = stack.pop() {
        let parent = parent_of[&id];
        let last = pos + 1 == nodes[parent].children.len();
        let n = &nodes[id];
        if n.entry.is_dir() {
            dirs += 1;
        } else {
            files += 1;
        }
        let branch = match (a.noindent, last) {
            (true, _) => "",
            (false, true) => "└── ",
            (false, false) => "├── ",
        };
        // rclone's tree shows real names, not its standard ones (`␉` that is in a name
        // unquoted); a control character still prints as its picture, never raw.
        let real = ferry_core::encoding::Encoding::INTERNAL.decode(n.entry.name());
        out.line(&format!(
            "{prefix}{branch}{}",
            label(n, &shown_name(a, &n.entry, &real))
        ));
        let child_prefix = match (a.noindent, last) {
            (true, _) => String::new(),
            (false, true) => format!("{prefix}    "),
            (false, false) => format!("{prefix}│   "),
        };
        for (i, &k) in n.children.iter().enumerate().rev() {
            stack.push((k, child_prefix.clone(), i));
        }
    }
    if files == 0 {
        // rclone keeps its counts only when a file was seen, so `-d` (and a tree of
        // empty directories) reports 0 directories; scripts compare this line.
        dirs = 0;
    }
    if !a.noreport {
        out.line("");
        if a.dirs_only {
            out.line(&format!("{dirs} directories"));
        } else {
            out.line(&format!("{dirs} directories, {files} files"));
        }
    }
    out.write(a.output.as_deref())?;
    listing::finish("tree", walker.report(), failed)
}

/// Orders each directory's children as rclone's tree does.
fn sort_children(a: &TreeArgs, nodes: &mut [Node]) {
    // tree's help: -U disables --dirsfirst.
    let Some(order) = Sort::of(a) else { return };
    for id in 0..nodes.len() {
        let mut kids = std::mem::take(&mut nodes[id].children);
        kids.sort_by(|&x, &y| {
            let (x, y) = (&nodes[x].entry, &nodes[y].entry);
            let key = if a.dirsfirst && order != Sort::Time {
                // Then by kind alone, -r putting the files first; only a sort by time
                // takes precedence over --dirsfirst.
                let goes_after = |e: &Entry| e.is_dir() == a.sort_reverse;
                goes_after(x).cmp(&goes_after(y))
            } else if a.sort_reverse {
                order.key_cmp(y, x)
            } else {
                order.key_cmp(x, y)
            };
            // Equal keys stay in name order, -r or not, as in rclone.
            key.then_with(|| x.name().cmp(y.name()))
        });
        nodes[id].children = kids;
    }
}

/// A name as tree shows it: the entry's own, or with `--full-path` its path from the root.
fn shown_name(a: &TreeArgs, e: &Entry, real: &str) -> String {
    if !a.full_path {
        return shown::name(real).into_owned();
    }
    let parent = e.path.parent().map(|p| p.to_string()).unwrap_or_default();
    let full = if parent.is_empty() {
        format!("/{real}")
    } else {
        format!("/{parent}/{real}")
    };
    shown::name(&full).into_owned()
}

/// The tree's lines, written at the end to stdout or to `-o FILE`.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, s: &str) {
        self.0.push_str(s);
        self.0.push('\n');
    }

    fn write(&self, to: Option<&std::path::Path>) -> anyhow::Result<()> {
        match to {
            None => {
                let mut out = Out::new();
                out.raw(self.0.as_bytes());
                out.flush();
                Ok(())
            }
            Some(path) => std::fs::write(path, &self.0).map_err(|e| {
                fail(
                    exit::ERROR,
                    format!(
                        "Failed to tree: failed to create output file: {}: {e}",
                        path.display()
                    ),
                )
            }),
        }
    }
}

/// How siblings are ordered: `None` leaves them as listed (`-U`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sort {
    Name,
    Version,
    Size,
    Time,
}

impl Sort {
    /// tree's choice: `-U`, else `--sort` (an unknown name sorts by name, as rclone's
    /// does), else `-t`/`--sort-ctime`, else `--version`, else by name.
    fn of(a: &TreeArgs) -> Option<Sort> {
        if a.unsorted {
            return None;
        }
        Some(match a.sort.as_deref() {
            Some("version") => Sort::Version,
            Some("size") => Sort::Size,
            Some("mtime" | "ctime") => Sort::Time,
            Some(_) => Sort::Name,
            None if a.sort_modtime || a.sort_ctime => Sort::Time,
            None if a.version => Sort::Version,
            None => Sort::Name,
        })
    }

    /// The order of the sort's own key (names break ties).
    fn key_cmp(self, x: &Entry, y: &Entry) -> Ordering {
        match self {
            Sort::Name => x.name().cmp(y.name()),
            Sort::Version => version_cmp(x.name(), y.name()),
            // A directory's size as the listing gave it (rclone's tree sorts by that too).
            Sort::Size => listed_size(x).cmp(&listed_size(y)),
            Sort::Time => x.mtime.cmp(&y.mtime),
        }
    }
}

/// A file's size, or a directory's as its listing gave it (-1 when it gave none).
fn listed_size(e: &Entry) -> i64 {
    if e.is_dir() {
        listing::dir_size(e)
    } else {
        e.size as i64
    }
}

/// Names compared with their runs of digits as numbers (`v2` before `v10`).
fn version_cmp(x: &str, y: &str) -> Ordering {
    let (mut a, mut b) = (x.as_bytes(), y.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return x.cmp(y),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
                let (n, m) = (run(a), run(b));
                let (p, q) = (&a[..n], &b[..m]);
                let strip = |s: &[u8]| -> usize { s.iter().take_while(|b| **b == b'0').count() };
                let (p, q) = (&p[strip(p)..], &q[strip(q)..]);
                let ord = p.len().cmp(&q.len()).then_with(|| p.cmp(q));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[n..];
                b = &b[m..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_their_numbers() {
        assert_eq!(version_cmp("v9", "v10"), Ordering::Less);
        assert_eq!(version_cmp("a2b", "a2a"), Ordering::Greater);
        assert_eq!(version_cmp("f007", "f7"), Ordering::Less);
        assert_eq!(version_cmp("x", "x1"), Ordering::Less);
        assert_eq!(version_cmp("same", "same"), Ordering::Equal);
    }

    #[test]
    fn tree_sizes_in_short_units() {
        for (n, want) in [
            (0, "0"),
            (1023, "1023"),
            (1024, "1024"),
            (1536, "1.5K"),
            (10_239, "10.0K"),
            (10_240, "10K"),
            (10_752, "10K"),
            (1 << 20, "1024K"),
            ((1 << 20) + 1, "1.0M"),
            (5 << 30, "5.0G"),
        ] {
            assert_eq!(tree_size(n), want, "{n}");
        }
    }
}
