//! How azcopy 10.32 prints: text lines, or with `--output-type json` one JSON
//! object per line (`TimeStamp`, `MessageType`, `MessageContent`, `PromptDetails`), the
//! job's own records (`Init`, `Progress`, `EndOfJob`) carried as a JSON string.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::cli::OutputType;
use super::paths::AzPath;
use super::summary::{progress_json, text_summary, Summary};

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

/// Writes azcopy's messages in the chosen output type.
pub struct Printer {
    pub kind: OutputType,
    /// `--output-level quiet`: text output shows only errors.
    pub quiet: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PromptDetails<'a> {
    prompt_type: &'a str,
    response_options: Option<&'a [ResponseOption]>,
    prompt_target: &'a str,
}

/// One answer a `Prompt` record offers (fields in azcopy's order).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseOption {
    response_type: &'static str,
    user_friendly_response_type: &'static str,
    response_string: &'static str,
}

/// azcopy's answers to an overwrite question.
const OVERWRITE_ANSWERS: [ResponseOption; 4] = [
    answer("Yes", "Yes", "y"),
    answer("No", "No", "n"),
    answer("YesForAll", "Yes for all", "a"),
    answer("NoForAll", "No for all", "l"),
];

const fn answer(
    response_type: &'static str,
    user_friendly_response_type: &'static str,
    response_string: &'static str,
) -> ResponseOption {
    ResponseOption {
        response_type,
        user_friendly_response_type,
        response_string,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Record<'a> {
    time_stamp: String,
    message_type: &'a str,
    message_content: &'a str,
    prompt_details: PromptDetails<'a>,
}

/// One JSON record on stdout, flushed (a prompt's reader waits on it).
fn write_record(message_type: &str, content: &str, prompt_details: PromptDetails<'_>) {
    let r = Record {
        time_stamp: timestamp(),
        message_type,
        message_content: content,
        prompt_details,
    };
    let line = serde_json::to_string(&r).expect("record serializes");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

pub use crate::cmd::listing::go_escaped;

fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos())
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
        .unwrap_or_default()
}

/// What azcopy says of empty folders before a job: the ends ferry's azcopy serves (the
/// local disk and Blob storage) are never both folder-aware, except a removal's.
#[derive(Clone, Copy)]
pub enum Folders {
    /// A copy or sync: Blob storage has no real folders.
    NotAware,
    /// A removal (azcopy removes folder stubs too): only when recursive, and unless a
    /// filter that reads file names only is in play.
    Remove { recursive: bool, file_filter: bool },
}

impl Folders {
    fn message(self) -> &'static str {
        match self {
            Folders::NotAware => "Any empty folders will not be processed, because source and/or destination doesn't have full folder support",
            Folders::Remove { recursive: false, .. } => "Any empty folders will not be processed, because --recursive was not specified",
            Folders::Remove { file_filter: true, .. } => "Any empty folders will not be processed, because a file-focused filter is applied",
            Folders::Remove { .. } => "Any empty folders will be processed, because source and destination both support folders",
        }
    }
}

impl Printer {
    pub fn json(&self) -> bool {
        self.kind == OutputType::Json
    }

    /// One JSON record on stdout, as azcopy writes them all.
    pub fn record(&self, message_type: &str, content: &str) {
        let none = PromptDetails {
            prompt_type: "",
            response_options: None,
            prompt_target: "",
        };
        write_record(message_type, content, none);
    }

    /// A `Prompt` record: the question, azcopy's four answers, and what it is about.
    pub fn prompt(&self, question: &str, target: &str) {
        let details = PromptDetails {
            prompt_type: "Overwrite",
            response_options: Some(&OVERWRITE_ANSWERS),
            prompt_target: target,
        };
        write_record("Prompt", question, details);
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

    /// azcopy's notes before it scans: plain HTTP in use (once, for any location), then
    /// what happens to empty folders (`None`: nothing said, as in a dry run).
    pub fn notes(&self, locations: &[&AzPath], folders: Option<Folders>) {
        if locations.iter().any(|l| l.is_plain_http()) {
            self.info("NOTE: HTTP is in use for one or more location(s). The use of HTTP is not recommended due to security concerns.");
        }
        if let Some(f) = folders {
            self.info(f.message());
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
