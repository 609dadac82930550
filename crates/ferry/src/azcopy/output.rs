//! What azcopy 10.32 prints: its text job summary, or with `--output-type json` one JSON
//! object per line (`TimeStamp`, `MessageType`, `MessageContent`, `PromptDetails`), the
//! job's own records (`Init`, `Progress`, `EndOfJob`) carried as a JSON string.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_engine::{Action, ActionKind, Observer};
use serde::Serialize;

use super::cli::OutputType;
use super::paths::AzPath;

/// azcopy's job id: a UUID-shaped random id, fresh per run.
pub fn job_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded randomly per process: enough for an id, no new dependency.
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.finish()
    };
    let h = format!("{:016x}{:016x}", word(1), word(2));
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Where azcopy would put the job's log: `AZCOPY_LOG_LOCATION`, else `~/.azcopy`.
pub fn log_file(id: &str) -> String {
    let dir = std::env::var("AZCOPY_LOG_LOCATION").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        format!("{home}/.azcopy")
    });
    format!("{}/{id}.log", dir.trim_end_matches('/'))
}

/// The counts of one job, gathered from the engine's actions.
#[derive(Default)]
pub struct Counts {
    inner: Mutex<Tally>,
}

/// One failed transfer: its path in the job, size and what went wrong.
#[derive(Clone)]
pub struct Failure {
    pub path: String,
    pub size: u64,
    pub error: String,
}

#[derive(Default, Clone)]
pub struct Tally {
    pub completed: u64,
    /// Of `completed`, the files that replaced (or re-timed) one already there.
    pub replaced: u64,
    pub failed: u64,
    pub deleted: u64,
    /// What a sync deleted, for azcopy's `Deleting extra object:` lines.
    pub deleted_paths: Vec<String>,
    pub bytes: u64,
    /// Each failed transfer.
    pub failures: Vec<Failure>,
    /// Paths a dry run would copy, and would delete.
    pub would_copy: Vec<String>,
}

impl Observer for Counts {
    fn action(&self, a: &Action) {
        let mut t = self.inner.lock().expect("counts lock");
        match a.kind {
            ActionKind::CopiedNew | ActionKind::Moved => {
                t.completed += 1;
                t.bytes += a.size;
            }
            ActionKind::CopiedReplaced => {
                t.completed += 1;
                t.replaced += 1;
                t.bytes += a.size;
            }
            // The content was already there; azcopy would have sent it again.
            ActionKind::ModtimeUpdated => {
                t.completed += 1;
                t.replaced += 1;
            }
            ActionKind::Deleted => {
                t.deleted += 1;
                t.deleted_paths.push(a.path.clone());
            }
            ActionKind::Error => {
                t.failed += 1;
                t.failures.push(Failure {
                    path: a.path.clone(),
                    size: a.size,
                    error: a.error.clone().unwrap_or_default(),
                });
            }
            ActionKind::SkippedDryRun => t.would_copy.push(a.path.clone()),
            ActionKind::DeletedDir | ActionKind::BackedUp => {}
        }
    }
}

impl Counts {
    pub fn tally(&self) -> Tally {
        self.inner.lock().expect("counts lock").clone()
    }
}

/// The job's final figures, as both output types show them.
pub struct Summary {
    pub id: String,
    pub elapsed: Duration,
    pub sync: bool,
    pub tally: Tally,
    pub skipped: u64,
    pub scanned_src: u64,
    pub scanned_dst: u64,
    /// The job's source and destination as JSON's `Src`/`Dst` name them (no SAS).
    pub shown: (AzPath, AzPath),
}

impl Summary {
    pub fn total(&self) -> u64 {
        self.tally.completed + self.tally.failed + self.skipped
    }

    pub fn status(&self) -> &'static str {
        match (self.tally.failed, self.tally.completed + self.skipped) {
            (0, _) if self.skipped > 0 && !self.sync => "CompletedWithSkipped",
            (0, _) => "Completed",
            (_, 0) => "Failed",
            _ => "CompletedWithErrors",
        }
    }

    /// azcopy's exit code: 1 when any transfer failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.tally.failed > 0)
    }
}

/// Writes azcopy's messages in the chosen output type.
pub struct Printer {
    pub kind: OutputType,
    /// `--output-level quiet`: text output shows only errors.
    pub quiet: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PromptDetails {
    prompt_type: &'static str,
    response_options: Option<()>,
    prompt_target: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Record<'a> {
    time_stamp: String,
    message_type: &'a str,
    message_content: &'a str,
    prompt_details: PromptDetails,
}

fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos())
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
        .unwrap_or_default()
}

impl Printer {
    fn json(&self) -> bool {
        self.kind == OutputType::Json
    }

    /// One JSON record on stdout, as azcopy writes them all.
    pub fn record(&self, message_type: &str, content: &str) {
        let r = Record {
            time_stamp: timestamp(),
            message_type,
            message_content: content,
            prompt_details: PromptDetails {
                prompt_type: "",
                response_options: None,
                prompt_target: "",
            },
        };
        let line = serde_json::to_string(&r).expect("record serializes");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    /// An `INFO:` line (text) or an `Info` record (json).
    pub fn info(&self, msg: &str) {
        if self.quiet && !self.json() {
            return;
        }
        if self.json() {
            self.record("Info", &format!("INFO: {msg}"));
        } else {
            println!("INFO: {msg}");
        }
    }

    /// The error that ended the command before or instead of a job.
    pub fn error(&self, msg: &str) {
        if self.json() {
            self.record("Error", msg);
        } else {
            println!("\n{msg}");
        }
    }

    /// A plain line of a command's own output (`list`, `make`…).
    pub fn line(&self, msg: &str) {
        if self.quiet && !self.json() {
            return;
        }
        if self.json() {
            self.record("Info", msg);
        } else {
            println!("{msg}");
        }
    }

    pub fn started(&self, id: &str) {
        let log = log_file(id);
        if self.quiet && !self.json() {
            return;
        }
        if self.json() {
            let init = serde_json::json!({
                "LogFileLocation": log, "JobID": id, "IsCleanupJob": false
            });
            // serde_json keeps keys sorted; azcopy's order is this one.
            let content = format!(
                "{{\"LogFileLocation\":{},\"JobID\":{},\"IsCleanupJob\":false}}",
                init["LogFileLocation"], init["JobID"]
            );
            self.record("Init", &content);
        } else {
            println!("\nJob {id} has started\nLog file is located at: {log}\n");
        }
    }

    pub fn finished(&self, s: &Summary) {
        write_log(s);
        if self.quiet && !self.json() {
            return;
        }
        if self.json() {
            let progress = progress_json(s, false);
            self.record("Progress", &progress);
            self.record("EndOfJob", &progress_json(s, true));
        } else {
            print!("{}", text_summary(s));
        }
    }
}

/// azcopy's `ListJobSummaryResponse`, its fields in azcopy's order.
fn progress_json(s: &Summary, end: bool) -> String {
    let t = &s.tally;
    let n = |v: u64| serde_json::Value::String(v.to_string());
    // azcopy lists the failures in Progress and leaves EndOfJob's list empty.
    let failed: Vec<serde_json::Value> = t
        .failures
        .iter()
        .filter(|_| !end)
        .map(|f| {
            serde_json::json!({"Src": s.shown.0.join(&f.path).base,
                "Dst": s.shown.1.join(&f.path).base, "IsFolderProperties": false,
                "TransferStatus": "Failed", "TransferSize": f.size,
                "ErrorCode": http_status(&f.error)})
        })
        .collect();
    let list = |v: Vec<serde_json::Value>| {
        if end || !v.is_empty() {
            serde_json::Value::Array(v)
        } else {
            serde_json::Value::Null
        }
    };
    let mut fields: Vec<(&str, serde_json::Value)> = vec![
        ("ErrorMsg", "".into()),
        ("JobID", s.id.clone().into()),
        ("ActiveConnections", n(0)),
        ("CompleteJobOrdered", true.into()),
        ("JobStatus", s.status().into()),
        ("TotalTransfers", n(s.total())),
        ("FileTransfers", n(s.total())),
        ("FolderPropertyTransfers", n(0)),
        ("SymlinkTransfers", n(0)),
        ("FoldersCompleted", n(0)),
        ("TransfersCompleted", n(t.completed)),
        ("FoldersFailed", n(0)),
        ("TransfersFailed", n(t.failed)),
        ("FoldersSkipped", n(0)),
        ("TransfersSkipped", n(s.skipped)),
        ("BytesOverWire", n(t.bytes)),
        ("TotalBytesTransferred", n(t.bytes)),
        ("TotalBytesEnumerated", n(t.bytes)),
        ("TotalBytesExpected", n(t.bytes)),
        ("PercentComplete", n(100)),
        ("AverageIOPS", n(0)),
        ("AverageE2EMilliseconds", n(0)),
        ("ServerBusyPercentage", n(0)),
        ("NetworkErrorPercentage", n(0)),
        ("FailedTransfers", list(failed)),
        ("SkippedTransfers", list(Vec::new())),
        ("PerfConstraint", 0.into()),
        ("PerformanceAdvice", serde_json::Value::Array(Vec::new())),
        ("IsCleanupJob", false.into()),
        ("SkippedSymlinkCount", n(0)),
        ("HardlinksConvertedCount", n(0)),
        ("SkippedHardlinkCount", n(0)),
        ("SkippedSpecialFileCount", n(0)),
    ];
    if s.sync {
        fields.push(("DeleteTotalTransfers", n(t.deleted)));
        fields.push(("DeleteTransfersCompleted", n(t.deleted)));
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

fn minutes(d: Duration) -> String {
    format!("{:.4}", d.as_secs_f64() / 60.0)
}

/// azcopy's closing block for `copy` (`Job … summary`) or `sync` (`Job … Summary`).
pub fn text_summary(s: &Summary) -> String {
    let t = &s.tally;
    let progress = format!(
        "100.0 %, {} Done, {} Failed, 0 Pending, {}{} Total, 2-sec Throughput (Mb/s): 0\n\n",
        t.completed,
        t.failed,
        if s.sync {
            String::new()
        } else {
            format!("{} Skipped, ", s.skipped)
        },
        s.total()
    );
    let lines: Vec<(String, String)> = if s.sync {
        vec![
            ("Files Scanned at Source".into(), s.scanned_src.to_string()),
            (
                "Files Scanned at Destination".into(),
                s.scanned_dst.to_string(),
            ),
            ("Elapsed Time (Minutes)".into(), minutes(s.elapsed)),
            (
                "Number of Copy Transfers for Files".into(),
                s.total().to_string(),
            ),
            (
                "Number of Copy Transfers for Folder Properties".into(),
                "0".into(),
            ),
            ("Number of Symlink Transfers".into(), "0".into()),
            (
                "Total Number of Copy Transfers".into(),
                s.total().to_string(),
            ),
            (
                "Number of Copy Transfers Completed".into(),
                t.completed.to_string(),
            ),
            (
                "Number of Copy Transfers Failed".into(),
                t.failed.to_string(),
            ),
            (
                "Number of Deletions at Destination".into(),
                t.deleted.to_string(),
            ),
            ("Number of Symbolic Links Skipped".into(), "0".into()),
            ("Number of Special Files Skipped".into(), "0".into()),
            ("Number of Hardlinks Converted".into(), "0".into()),
            ("Number of Hardlinks Skipped".into(), "0".into()),
            (
                "Total Number of Bytes Transferred".into(),
                t.bytes.to_string(),
            ),
            (
                "Total Number of Bytes Enumerated".into(),
                t.bytes.to_string(),
            ),
            ("Final Job Status".into(), s.status().into()),
        ]
    } else {
        vec![
            ("Elapsed Time (Minutes)".into(), minutes(s.elapsed)),
            ("Number of File Transfers".into(), s.total().to_string()),
            ("Number of Folder Property Transfers".into(), "0".into()),
            ("Number of Symlink Transfers".into(), "0".into()),
            ("Total Number of Transfers".into(), s.total().to_string()),
            (
                "Number of File Transfers Completed".into(),
                t.completed.to_string(),
            ),
            ("Number of Folder Transfers Completed".into(), "0".into()),
            (
                "Number of File Transfers Failed".into(),
                t.failed.to_string(),
            ),
            ("Number of Folder Transfers Failed".into(), "0".into()),
            (
                "Number of File Transfers Skipped".into(),
                s.skipped.to_string(),
            ),
            ("Number of Folder Transfers Skipped".into(), "0".into()),
            ("Number of Symbolic Links Skipped".into(), "0".into()),
            ("Number of Hardlinks Converted".into(), "0".into()),
            ("Number of Hardlinks Skipped".into(), "0".into()),
            ("Number of Special Files Skipped".into(), "0".into()),
            (
                "Total Number of Bytes Transferred".into(),
                t.bytes.to_string(),
            ),
            ("Final Job Status".into(), s.status().into()),
        ]
    };
    let head = if s.sync { "Summary" } else { "summary" };
    let mut out = format!("{progress}\nJob {} {head}\n", s.id);
    for (k, v) in lines {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    out
}

/// The job's log where `Log file is located at:` says: its failures and summary (no
/// URLs, so never a SAS). Best effort: a job doesn't fail for want of its log.
fn write_log(s: &Summary) {
    let path = std::path::PathBuf::from(log_file(&s.id));
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut text = format!(
        "ferry {} (azcopy {})\n",
        env!("CARGO_PKG_VERSION"),
        super::run::AZCOPY_VERSION
    );
    for f in &s.tally.failures {
        text.push_str(&format!("ERROR: {}: {}\n", f.path, f.error));
    }
    text.push_str(&text_summary(s));
    let _ = std::fs::write(path, text);
}

/// The HTTP status an error message names (azcopy's `ErrorCode`), or "0".
fn http_status(msg: &str) -> String {
    msg.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 3 && matches!(w.as_bytes()[0], b'4' | b'5'))
        .unwrap_or("0")
        .to_owned()
}
