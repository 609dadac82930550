//! azcopy's job plans as ferry keeps them, so `jobs list|show|resume|remove|clean` work
//! on ferry's jobs: one JSON file per job, `ID.ferry-plan`, under
//! `AZCOPY_JOB_PLAN_LOCATION` (else `~/.azcopy/plans`), rewritten when the job ends, and
//! beside it `ID.ferry-done`, one JSON `[path, bytes]` per completed file, appended as each
//! completes, so a job killed midway still knows what it finished. azcopy's own plan
//! files (`*.steV20`) are left alone. No plan holds a SAS: URLs are kept without their
//! query, and `jobs resume` takes the SAS again, as azcopy's does.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ferry_engine::{Action, ActionKind, Observer, Select};
use serde::{Deserialize, Serialize};

use super::paths::is_url;
use super::summary::Counts;

const PLAN: &str = ".ferry-plan";
const DONE: &str = ".ferry-done";

/// Where job plans live: `AZCOPY_JOB_PLAN_LOCATION`, else `~/.azcopy/plans`.
pub fn plan_dir() -> PathBuf {
    match std::env::var_os("AZCOPY_JOB_PLAN_LOCATION") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
            PathBuf::from(home).join(".azcopy").join("plans")
        }
    }
}

/// What one job was and how it went.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    /// The command line as `jobs list` shows it (a SAS's signature redacted).
    pub command: String,
    /// The command line without any URL's query, to run again on `resume`.
    pub args: Vec<String>,
    /// Whether the source or destination URL carried a SAS (`resume` needs it again).
    pub source_sas: bool,
    pub destination_sas: bool,
    /// Unix seconds.
    pub start: i64,
    /// azcopy's job status: `InProgress` until the job ends.
    pub status: String,
    pub totals: Totals,
    pub transfers: Vec<Transfer>,
}

/// A job's counts over all its runs (a resumed job adds to them).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Totals {
    pub completed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Transfer {
    pub source: String,
    pub destination: String,
    /// `Success` or `Failed`, as `jobs show --with-status` filters them.
    pub status: String,
}

impl Plan {
    /// A new job's plan from the command line it was given.
    pub fn new(id: String, args: &[String]) -> Plan {
        Plan {
            id,
            command: format!(
                "{} ",
                args.iter().map(|a| redact(a)).collect::<Vec<_>>().join(" ")
            ),
            args: args.iter().map(|a| without_query(a)).collect(),
            start: unix_now(),
            status: "InProgress".into(),
            ..Plan::default()
        }
    }

    fn path(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}{PLAN}"))
    }

    /// Writes the plan (private: it names paths), replacing the previous one whole.
    pub fn save(&self) -> std::io::Result<()> {
        let dir = plan_dir();
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{}{PLAN}.tmp", self.id));
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        ferry_core::private::write(&tmp, &json)?;
        std::fs::rename(&tmp, Plan::path(&dir, &self.id))
    }

    pub fn load(id: &str) -> Option<Plan> {
        let bytes = std::fs::read(Plan::path(&plan_dir(), id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Every job with a plan, newest first (as `jobs list` shows them).
    pub fn all() -> Vec<Plan> {
        let Ok(entries) = std::fs::read_dir(plan_dir()) else {
            return Vec::new();
        };
        let mut plans: Vec<Plan> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                Plan::load(name.strip_suffix(PLAN)?)
            })
            .collect();
        plans.sort_by(|a, b| b.start.cmp(&a.start).then(b.id.cmp(&a.id)));
        plans
    }

    /// The files completed so far and the bytes each sent, from the journal appended
    /// while the job ran (a line cut short by a kill is skipped: that file goes again).
    pub fn done(&self) -> BTreeMap<String, u64> {
        let Ok(f) = File::open(done_path(&plan_dir(), &self.id)) else {
            return BTreeMap::new();
        };
        BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str::<(String, u64)>(&l).ok())
            .collect()
    }
}

/// Removes a job's plan, journal and log; false when none of them existed.
pub fn remove(id: &str, log: &Path) -> bool {
    let dir = plan_dir();
    [Plan::path(&dir, id), done_path(&dir, id), log.to_path_buf()]
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
        > 0
}

fn done_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}{DONE}"))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A URL with its SAS signature shown as azcopy shows it: `sig=-REDACTED-`.
fn redact(arg: &str) -> String {
    if !is_url(arg) {
        return arg.to_owned();
    }
    let Some((base, query)) = arg.split_once('?') else {
        return arg.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("sig") => format!("{k}=-REDACTED-"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// A URL without its query (where a SAS lives); anything else as it is.
pub fn without_query(arg: &str) -> String {
    if is_url(arg) {
        arg.split('?').next().unwrap_or(arg).to_owned()
    } else {
        arg.to_owned()
    }
}

/// Passes the engine's actions on to the job's counts and journals each completed path.
pub struct Recorder {
    pub counts: Arc<Counts>,
    done: Mutex<Option<File>>,
}

impl Recorder {
    /// Journals into the plan directory; without one (unwritable) the job still runs.
    pub fn new(counts: Arc<Counts>, id: &str) -> Recorder {
        let dir = plan_dir();
        let file = std::fs::create_dir_all(&dir).ok().and_then(|_| {
            ferry_core::private::file_options()
                .append(true)
                .create(true)
                .open(done_path(&dir, id))
                .ok()
        });
        Recorder {
            counts,
            done: Mutex::new(file),
        }
    }
}

impl Observer for Recorder {
    fn action(&self, a: &Action) {
        self.counts.action(a);
        let bytes = match a.kind {
            ActionKind::CopiedNew | ActionKind::CopiedReplaced | ActionKind::Moved => a.size,
            ActionKind::ModtimeUpdated => 0,
            _ => return,
        };
        if let Some(f) = self.done.lock().expect("journal lock").as_mut() {
            let line = serde_json::to_string(&(&a.path, bytes)).expect("a pair serializes");
            let _ = writeln!(f, "{line}");
        }
    }
}

/// The filter rules of a resumed job, with the files it already completed left out
/// (excluded on both sides, so a resumed sync never deletes them either).
pub struct Skipping {
    pub inner: Arc<dyn Select>,
    pub done: HashSet<String>,
}

impl Select for Skipping {
    fn include_file(&self, path: &str, size: u64, mtime: SystemTime) -> bool {
        !self.done.contains(path) && self.inner.include_file(path, size, mtime)
    }
    fn include_dir(&self, path: &str) -> bool {
        self.inner.include_dir(path)
    }
    fn within_depth(&self, path: &str, is_dir: bool) -> bool {
        self.inner.within_depth(path, is_dir)
    }
    fn exclude_if_present(&self) -> &[String] {
        self.inner.exclude_if_present()
    }
    fn is_active(&self) -> bool {
        true
    }
    fn uses_mtime(&self) -> bool {
        self.inner.uses_mtime()
    }
    fn uses_directory_filters(&self) -> bool {
        self.inner.uses_directory_filters()
    }
    fn uses_metadata(&self) -> bool {
        self.inner.uses_metadata()
    }
    fn include_metadata(&self, path: &str, metadata: &ferry_core::Metadata) -> bool {
        self.inner.include_metadata(path, metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sas_is_redacted_for_show_and_dropped_for_resume() {
        let url = "https://a.blob.core.windows.net/c/d?sv=2020-08-04&sig=abc%2Bdef&sp=r";
        assert_eq!(
            redact(url),
            "https://a.blob.core.windows.net/c/d?sv=2020-08-04&sig=-REDACTED-&sp=r"
        );
        assert_eq!(without_query(url), "https://a.blob.core.windows.net/c/d");
        assert_eq!(without_query("local/dir?x"), "local/dir?x");
        let args: Vec<String> = ["copy", url, "dst", "--recursive"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = Plan::new("id".into(), &args);
        assert!(!p.command.contains("abc"), "{}", p.command);
        assert!(p.command.ends_with("--recursive "));
        assert!(p.args.iter().all(|a| !a.contains("sig")));
    }
}
