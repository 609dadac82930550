//! `azcopy jobs list|show|remove|clean|resume` over the plans ferry's jobs leave
//! ([`super::plan`]), printed as azcopy 10.32 prints them.

use std::path::PathBuf;

use super::cli::{JobsCommand, OutputType};
use super::output::{log_file, Printer};
use super::paths::AzPath;
use super::plan::{plan_dir, Plan};
use super::summary::{progress_json, Summary, Tally};

/// Runs one `jobs` subcommand that needs no network; `resume` is run by the caller.
pub fn run(c: &JobsCommand, p: &Printer) -> anyhow::Result<i32> {
    match c {
        JobsCommand::List => {
            list(p);
            Ok(0)
        }
        JobsCommand::Show {
            job_id,
            with_status,
        } => show(job_id.as_deref(), with_status.as_deref(), p),
        JobsCommand::Remove { job_id } => remove(job_id, p),
        JobsCommand::Clean { .. } => {
            clean(p);
            Ok(0)
        }
        JobsCommand::Resume { .. } => unreachable!("resume runs a job"),
    }
}

/// A job id as azcopy takes it: UUID-shaped.
pub fn check_id(id: &str) -> anyhow::Result<()> {
    let groups: Vec<&str> = id.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        anyhow::bail!("invalid jobId given {id}")
    }
}

fn list(p: &Printer) {
    let plans = Plan::all();
    if p.kind == OutputType::Json {
        let details: Vec<String> = plans
            .iter()
            .map(|j| {
                format!(
                    "{{\"JobId\":{},\"CommandString\":{},\"StartTime\":{},\"JobStatus\":{}}}",
                    json(&j.id),
                    json(&j.command),
                    j.start,
                    json(&j.status)
                )
            })
            .collect();
        let content = format!(
            "{{\"ErrorMessage\":\"\",\"JobIDDetails\":[{}]}}",
            details.join(",")
        );
        p.record("EndOfJob", &content);
        return;
    }
    let mut out = String::from("\nExisting Jobs \n");
    for j in &plans {
        out.push_str(&format!(
            "JobId: {}\nStart Time: {}\nStatus: {}\nCommand: {}\n\n",
            j.id,
            start_time(j.start),
            j.status,
            j.command
        ));
    }
    if plans.is_empty() {
        out.push('\n');
    }
    print!("{out}");
}

fn show(id: Option<&str>, with_status: Option<&str>, p: &Printer) -> anyhow::Result<i32> {
    let Some(id) = id else {
        anyhow::bail!("get job statistics requires the JobID");
    };
    check_id(id)?;
    let status = match with_status {
        None => None,
        Some(s) => Some(
            ["All", "Started", "Success", "Failed"]
                .into_iter()
                .find(|x| x.eq_ignore_ascii_case(s))
                .ok_or_else(|| anyhow::anyhow!("cannot parse the given Transfer Status {s}"))?,
        ),
    };
    let Some(plan) = Plan::load(id) else {
        anyhow::bail!(
            "failed to get job summary for job {id} due to error: no job with JobId {id} exists"
        );
    };
    match status {
        Some(s) => print_transfers(&plan, s, p),
        None => print_summary(&plan, p),
    }
    Ok(0)
}

fn print_transfers(plan: &Plan, status: &str, p: &Printer) {
    let picked = plan
        .transfers
        .iter()
        .filter(|t| status == "All" || t.status == status);
    if p.kind == OutputType::Json {
        let list: Vec<serde_json::Value> = picked
            .map(|t| serde_json::json!({"Src": t.source, "Dst": t.destination, "TransferStatus": t.status}))
            .collect();
        let content = serde_json::json!({"ErrorMsg": "", "Details": list});
        p.record("ListJobTransfers", &content.to_string());
        return;
    }
    let mut out = format!(
        "\n----------- Transfers for JobId {} -----------\n",
        plan.id
    );
    for t in picked {
        out.push_str(&format!(
            "transfer--> source: {} destination: {} status {}\n",
            t.source, t.destination, t.status
        ));
    }
    println!("{out}");
}

/// The job's figures as `jobs show` prints them (no elapsed time; a percentage).
fn print_summary(plan: &Plan, p: &Printer) {
    let t = plan.totals;
    if p.kind == OutputType::Json {
        let s = Summary {
            id: plan.id.clone(),
            elapsed: std::time::Duration::ZERO,
            sync: false,
            tally: Tally {
                completed: t.completed,
                failed: t.failed,
                bytes: t.bytes,
                ..Tally::default()
            },
            skipped: t.skipped,
            scanned_src: 0,
            scanned_dst: 0,
            shown: (AzPath::parse(""), AzPath::parse("")),
            resumed: false,
        };
        let body = progress_json(&s, true)
            .replacen(
                "\"CompleteJobOrdered\":true",
                "\"CompleteJobOrdered\":false",
                1,
            )
            .replacen(
                &format!("\"JobStatus\":{}", json(s.status())),
                &format!("\"JobStatus\":{}", json(&plan.status)),
                1,
            );
        p.record("GetJobSummary", &body);
        p.record("EndOfJob", &body);
        return;
    }
    let total = t.completed + t.failed + t.skipped;
    let percent = if plan.status == "InProgress" && total > 0 {
        100.0 * t.completed as f64 / total as f64
    } else {
        100.0
    };
    print!(
        "\n\nJob {} summary\nNumber of File Transfers: {total}\nNumber of Folder Property Transfers: 0\nNumber of Symlink Transfers: 0\nTotal Number of Transfers: {total}\nNumber of File Transfers Completed: {}\nNumber of Folder Transfers Completed: 0\nNumber of File Transfers Failed: {}\nNumber of Folder Transfers Failed: 0\nNumber of File Transfers Skipped: {}\nNumber of Folder Transfers Skipped: 0\nTotal Number of Bytes Transferred: {}\nPercent Complete (approx): {percent:.1}\nFinal Job Status: {}\n\n",
        plan.id, t.completed, t.failed, t.skipped, t.bytes, plan.status
    );
}

fn remove(id: &str, p: &Printer) -> anyhow::Result<i32> {
    check_id(id)?;
    if !super::plan::remove(id, &PathBuf::from(log_file(id))) {
        anyhow::bail!("failed to remove log and job plan files for job {id} due to error: cannot find any log or job plan file with the specified ID");
    }
    p.line(&format!(
        "\nSuccessfully removed log and job plan files for job {id}."
    ));
    Ok(0)
}

/// Removes every job's plan and log: ferry's plans, azcopy's (`ID--NNNNN.steV*`) and the
/// `ID.log` files, nothing else that happens to share the directories.
fn clean(p: &Printer) {
    let log_dir = PathBuf::from(log_file("x"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut removed = 0;
    for dir in [plan_dir(), log_dir] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name.get(..36).unwrap_or_default();
            let rest = name.get(36..).unwrap_or_default();
            let job_file = check_id(id).is_ok()
                && (rest == ".log"
                    || rest.starts_with("--")
                    || rest == ".ferry-plan"
                    || rest == ".ferry-done");
            if job_file && std::fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
    }
    p.info(&format!("Removed {removed} files."));
    p.line("\nSuccessfully removed all jobs.");
}

/// The plan of a copy job to resume, with the SAS to put back on its source and
/// destination URLs (a plan keeps none).
pub fn resume_plan(
    id: &str,
    source_sas: Option<&str>,
    destination_sas: Option<&str>,
) -> anyhow::Result<(Plan, [Option<String>; 2])> {
    check_id(id)?;
    let Some(plan) = Plan::load(id) else {
        anyhow::bail!("failed to perform resume command due to error: error resuming job {id}. failed with error: Job with JobID {id} does not exist or is invalid");
    };
    let verb = plan.args.first().map(String::as_str).unwrap_or_default();
    if !matches!(verb, "copy" | "cp" | "c") {
        anyhow::bail!("job {id} is a {verb}, which can't be resumed: run the {verb} again (it transfers only what is missing)");
    }
    let sas = |had: bool, given: Option<&str>, flag: &str| -> anyhow::Result<Option<String>> {
        match (had, given) {
            (true, None) => anyhow::bail!(
                "job {id} used a SAS that ferry doesn't keep: give it again with --{flag}"
            ),
            (_, g) => Ok(g.map(|s| s.trim_start_matches('?').to_owned())),
        }
    };
    let src = sas(plan.source_sas, source_sas, "source-sas")?;
    let dst = sas(plan.destination_sas, destination_sas, "destination-sas")?;
    Ok((plan, [src, dst]))
}

/// A JSON string as Go's encoder writes it: `&`, `<` and `>` escaped.
fn json(s: &str) -> String {
    super::output::go_escaped(&serde_json::Value::String(s.to_owned()).to_string())
}

/// Go's RFC 850 layout, as azcopy shows a job's start: `Saturday, 05-Dec-26 12:41:32 UTC`.
fn start_time(unix: i64) -> String {
    use chrono::{Local, TimeZone};
    match Local.timestamp_opt(unix, 0).single() {
        Some(t) if t.offset().local_minus_utc() == 0 => {
            t.format("%A, %d-%b-%y %H:%M:%S UTC").to_string()
        }
        Some(t) => t.format("%A, %d-%b-%y %H:%M:%S %z").to_string(),
        None => unix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_as_go() {
        assert_eq!(json("a?b=1&c=<2>"), "\"a?b=1\\u0026c=\\u003c2\\u003e\"");
    }

    #[test]
    fn ids_are_uuid_shaped() {
        assert!(check_id("c4fafb7a-e724-d049-5d1a-04ac37fa7ae4").is_ok());
        let e = check_id("nonsense").unwrap_err().to_string();
        assert_eq!(e, "invalid jobId given nonsense");
    }

    #[test]
    fn start_times_read_as_go_rfc850() {
        // Only the shape: the zone is the machine's.
        let s = start_time(1_796_473_988);
        assert!(s.contains(", ") && s.contains("-26 "), "{s}");
    }
}
