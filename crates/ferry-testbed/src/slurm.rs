//! The one-node Slurm cluster of `scripts/testbed` (munged, slurmctld and slurmd on
//! 127.0.0.1): submit job arrays with `sbatch`, wait for them, cancel a task. The clients
//! find the cluster through `SLURM_CONF`, which every command made here carries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{output, unavailable, var};

/// The cluster's facts, from `FERRY_TEST_SLURM_*`.
#[derive(Clone, Debug)]
pub struct Slurm {
    /// The cluster's slurm.conf (`SLURM_CONF` for every client).
    pub conf: PathBuf,
    /// The partition jobs go to.
    pub partition: String,
}

/// One array task's end, from `scontrol show job`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskEnd {
    pub task: u32,
    /// `COMPLETED`, `FAILED`, `CANCELLED`…
    pub state: String,
    /// `ExitCode=` as Slurm shows it, `code:signal`.
    pub exit_code: String,
}

/// States after which a task does nothing more.
const DONE: &[&str] = &[
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
];

pub(crate) fn conf() -> Result<Slurm, String> {
    let conf = PathBuf::from(var("FERRY_TEST_SLURM_CONF")?);
    if !conf.is_file() {
        return Err(format!(
            "FERRY_TEST_SLURM_CONF={} does not exist",
            conf.display()
        ));
    }
    let slurm = Slurm {
        conf,
        partition: var("FERRY_TEST_SLURM_PARTITION")?,
    };
    // One real request: the node must be up and able to take jobs.
    let out = slurm
        .command("sinfo")
        .args(["-h", "-N", "-o", "%T", "-p", &slurm.partition])
        .output()
        .map_err(|e| format!("cannot run sinfo (is slurm-client installed?): {e}"))?;
    let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        return Err(format!(
            "sinfo failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if !["idle", "mix", "alloc"]
        .iter()
        .any(|s| state.starts_with(s))
    {
        return Err(format!("the node is {state:?}, not idle"));
    }
    Ok(slurm)
}

#[track_caller]
pub(crate) fn open() -> Option<Slurm> {
    match conf() {
        Ok(s) => Some(s),
        Err(why) => unavailable("Slurm test cluster", &why),
    }
}

impl Slurm {
    /// A Slurm client (`sbatch`, `squeue`, `scancel`…) talking to this cluster.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf).stdin(Stdio::null());
        c
    }

    /// Submits `script` as a job array (`--array=ARRAY`, e.g. `0-3`) with the submitter's
    /// environment plus `env` and less `unset` (Slurm's `--export=ALL`), run in `dir`, each
    /// task's output to `dir/task-%a.out`. Returns the job id.
    pub fn submit_array(
        &self,
        array: &str,
        script: &Path,
        dir: &Path,
        env: &[(&str, String)],
        unset: &[&str],
    ) -> String {
        let mut c = self.command("sbatch");
        c.args(["--parsable", "--partition", &self.partition])
            .arg(format!("--array={array}"))
            .arg(format!("--chdir={}", dir.display()))
            .arg(format!("--output={}/task-%a.out", dir.display()))
            .args(["--job-name", "ferry-shards", "--export=ALL"])
            .arg(script);
        for (k, v) in env {
            c.env(k, v);
        }
        for k in unset {
            c.env_remove(k);
        }
        let out = output(&mut c);
        assert!(
            out.status.success(),
            "sbatch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        // `--parsable` prints `id` or `id;cluster`.
        id.split(';').next().unwrap_or_default().to_string()
    }

    /// Every record of the job: one per array task once it has been started, one for the
    /// tasks still pending together (`ArrayTaskId=1-3`).
    pub fn records(&self, job: &str) -> Vec<String> {
        let out = output(self.command("scontrol").args(["show", "job", "-o", job]));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The state of array task `task` (`PENDING` while it is not started yet).
    pub fn task_state(&self, job: &str, task: u32) -> Option<String> {
        self.records(job)
            .iter()
            .find(|r| field(r, "ArrayTaskId").and_then(|t| t.parse().ok()) == Some(task))
            .and_then(|r| field(r, "JobState").map(str::to_string))
    }

    /// Waits until every task of the array has ended; each task's end, by task number.
    /// Panics after `timeout`, naming the tasks still queued or running.
    pub fn wait(&self, job: &str, timeout: Duration) -> Vec<TaskEnd> {
        let deadline = Instant::now() + timeout;
        loop {
            let records = self.records(job);
            let open: Vec<&String> = records
                .iter()
                .filter(|r| !field(r, "JobState").is_some_and(|s| DONE.contains(&s)))
                .collect();
            if open.is_empty() && !records.is_empty() {
                let mut ends: Vec<TaskEnd> = records.iter().filter_map(|r| end(r)).collect();
                ends.sort_by_key(|e| e.task);
                return ends;
            }
            assert!(
                Instant::now() < deadline,
                "Slurm job {job} not done after {timeout:?}: {open:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills array task `task` at once (SIGKILL to the batch script and everything it started).
    pub fn kill_task(&self, job: &str, task: u32) {
        let out = output(self.command("scancel").args([
            "--signal=KILL",
            "--full",
            &format!("{job}_{task}"),
        ]));
        assert!(
            out.status.success(),
            "scancel {job}_{task}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `Key=value` of one `scontrol -o` record.
fn field<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    record
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn end(record: &str) -> Option<TaskEnd> {
    Some(TaskEnd {
        task: field(record, "ArrayTaskId")?.parse().ok()?,
        state: field(record, "JobState")?.to_string(),
        exit_code: field(record, "ExitCode")?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_give_their_fields() {
        let r = "JobId=7 ArrayJobId=5 ArrayTaskId=2 JobName=ferry-shards JobState=CANCELLED Reason=None ExitCode=0:9";
        assert_eq!(field(r, "ArrayTaskId"), Some("2"));
        assert_eq!(field(r, "JobId"), Some("7"));
        assert_eq!(
            end(r),
            Some(TaskEnd {
                task: 2,
                state: "CANCELLED".into(),
                exit_code: "0:9".into()
            })
        );
        // Pending tasks share one record; it has no single task number.
        assert_eq!(
            end("JobId=5 ArrayTaskId=1-3 JobState=PENDING ExitCode=0:0"),
            None
        );
    }
}
