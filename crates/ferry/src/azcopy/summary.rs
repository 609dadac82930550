//! The counts of one azcopy job and how azcopy shows them: the text summary block and the
//! `Progress`/`EndOfJob` record (azcopy's `ListJobSummaryResponse`, fields in its order).

use std::sync::Mutex;
use std::time::Duration;

use ferry_engine::{Action, ActionKind, Observer};

use super::paths::AzPath;

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
    /// A run of `jobs resume`: azcopy's summary then leaves out the link and special
    /// file counts.
    pub resumed: bool,
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

/// azcopy's `ListJobSummaryResponse`, its fields in azcopy's order.
pub fn progress_json(s: &Summary, end: bool) -> String {
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
    let resume_omits = [
        "Number of Symbolic Links Skipped",
        "Number of Hardlinks Converted",
        "Number of Hardlinks Skipped",
        "Number of Special Files Skipped",
    ];
    let lines = lines
        .into_iter()
        .filter(|(k, _)| !(s.resumed && resume_omits.contains(&k.as_str())));
    let head = if s.sync { "Summary" } else { "summary" };
    // azcopy leaves two blank lines before copy's summary, one before sync's.
    let gap = if s.sync { "" } else { "\n" };
    let mut out = format!("{progress}{gap}Job {} {head}\n", s.id);
    for (k, v) in lines {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    out
}

/// The HTTP status an error message names (azcopy's `ErrorCode`), or "0".
fn http_status(msg: &str) -> String {
    msg.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 3 && matches!(w.as_bytes()[0], b'4' | b'5'))
        .unwrap_or("0")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(sync: bool) -> Summary {
        Summary {
            id: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into(),
            elapsed: Duration::from_secs(3),
            sync,
            tally: Tally {
                completed: 2,
                failed: 1,
                bytes: 12,
                failures: vec![Failure {
                    path: "d/x.txt".into(),
                    size: 5,
                    error: "HTTP 403 Forbidden".into(),
                }],
                ..Tally::default()
            },
            skipped: 1,
            scanned_src: 4,
            scanned_dst: 3,
            shown: (
                AzPath::parse("/src"),
                AzPath::parse("https://a.blob.core.windows.net/c"),
            ),
            resumed: false,
        }
    }

    #[test]
    fn copy_summary_as_azcopy_prints_it() {
        let text = text_summary(&summary(false));
        assert!(text.starts_with(
            "100.0 %, 2 Done, 1 Failed, 0 Pending, 1 Skipped, 4 Total, 2-sec Throughput (Mb/s): 0\n\n\nJob 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 summary\nElapsed Time (Minutes): 0.0500\nNumber of File Transfers: 4\n"
        ), "{text}");
        for line in [
            "Number of File Transfers Completed: 2\n",
            "Number of File Transfers Failed: 1\n",
            "Number of File Transfers Skipped: 1\n",
            "Total Number of Bytes Transferred: 12\n",
            "Final Job Status: CompletedWithErrors\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn sync_summary_has_its_own_lines() {
        let text = text_summary(&summary(true));
        assert!(text.contains("\n\nJob 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 Summary\nFiles Scanned at Source: 4\nFiles Scanned at Destination: 3\n"), "{text}");
        assert!(text.contains("Number of Deletions at Destination: 0\n"));
    }

    #[test]
    fn progress_records_keep_azcopys_field_order() {
        let p = progress_json(&summary(false), false);
        assert!(p.starts_with("{\"ErrorMsg\":\"\",\"JobID\":\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\",\"ActiveConnections\":\"0\",\"CompleteJobOrdered\":true,\"JobStatus\":\"CompletedWithErrors\",\"TotalTransfers\":\"4\""), "{p}");
        let v: serde_json::Value = serde_json::from_str(&p).unwrap();
        let f = &v["FailedTransfers"][0];
        assert_eq!(f["Src"], "/src/d/x.txt");
        assert_eq!(f["Dst"], "https://a.blob.core.windows.net/c/d/x.txt");
        assert_eq!(f["ErrorCode"], "403");
        let end: serde_json::Value =
            serde_json::from_str(&progress_json(&summary(true), true)).unwrap();
        assert_eq!(end["FailedTransfers"], serde_json::json!([]));
        assert_eq!(end["DeleteTransfersCompleted"], "0");
    }
}
