//! rclone's reports of a copy, sync or move: `--combined` (every file with its sign),
//! `--match`, `--differ`, `--missing-on-dst`, `--missing-on-src`, `--error`, and
//! `--dest-after` (the destination's files once the run is over). The engine says how
//! each file stood when it was compared ([`Standing`]) and what it did; the files are
//! written when the run ends, in path order (rclone writes them in the order its checkers
//! finish, which differs run to run).

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use ferry_engine::{Action, ActionKind, CheckReport, Observer, Standing};

use ferry_core::shown;

use crate::cmd::check::{create_report, write_report, Reports};

/// The report flags of copy, sync and move.
#[derive(Args, Debug, Default, Clone)]
pub struct SyncReportArgs {
    #[command(flatten)]
    pub lists: Reports,
    /// Report all files that exist on the dest post-sync
    #[arg(long, value_name = "FILE", env = "FERRY_DEST_AFTER")]
    pub dest_after: Option<PathBuf>,
}

impl SyncReportArgs {
    fn wanted(&self) -> bool {
        self.dest_after.is_some() || self.lists.paths().iter().any(|p| p.is_some())
    }

    /// An observer recording for these reports (passing everything on to `inner`), with
    /// the report files created now so an unwritable one fails before the run; `None`
    /// when no report is asked for.
    pub fn recorder(&self, inner: Arc<dyn Observer>) -> anyhow::Result<Option<Arc<Recorder>>> {
        if !self.wanted() {
            return Ok(None);
        }
        self.lists.create()?;
        if let Some(path) = &self.dest_after {
            create_report(path)?;
        }
        Ok(Some(Arc::new(Recorder {
            inner,
            signs: Mutex::default(),
            deleted: Mutex::default(),
        })))
    }
}

/// What the run found and did, by path.
pub struct Recorder {
    inner: Arc<dyn Observer>,
    /// Each path with rclone's sign (`=`, `*`, `+`, `-`, `!`); a file that differed and
    /// then failed has two. A set: a retried run reports the same files again.
    signs: Mutex<BTreeSet<(String, char)>>,
    deleted: Mutex<HashSet<String>>,
}

impl Observer for Recorder {
    fn action(&self, a: &Action) {
        match a.kind {
            ActionKind::Error if !a.path.is_empty() => {
                self.signs
                    .lock()
                    .expect("lock")
                    .insert((a.path.clone(), '!'));
            }
            ActionKind::Deleted => {
                self.deleted.lock().expect("lock").insert(a.path.clone());
            }
            _ => {}
        }
        self.inner.action(a);
    }

    fn compared(&self, path: &str, how: Standing) {
        let sign = match how {
            Standing::Match => '=',
            Standing::Differ => '*',
            Standing::MissingOnDst => '+',
            Standing::MissingOnSrc => '-',
        };
        self.signs
            .lock()
            .expect("lock")
            .insert((path.to_owned(), sign));
        self.inner.compared(path, how);
    }
}

impl Recorder {
    /// Writes the reports `args` asks for. `dry_run`: nothing was sent or deleted.
    pub fn write(&self, args: &SyncReportArgs, dry_run: bool) -> anyhow::Result<()> {
        let signs = self.signs.lock().expect("lock");
        let deleted = self.deleted.lock().expect("lock");
        let mut r = CheckReport::default();
        for (path, sign) in signs.iter() {
            let list = match sign {
                '=' => &mut r.matching,
                '*' => &mut r.differ,
                '+' => &mut r.missing_on_dst,
                '-' => &mut r.missing_on_src,
                _ => &mut r.errors,
            };
            list.push(path.clone());
        }
        args.lists.write(&r)?;
        let failed = |p: &String| signs.contains(&(p.clone(), '!'));
        // What the destination holds now: the same files, the ones sent (the old copy of
        // one that failed is still there), and the ones only it had unless deleted.
        let after: BTreeSet<&String> = signs
            .iter()
            .filter(|(p, sign)| match sign {
                '=' | '*' => true,
                '+' => !dry_run && !failed(p),
                '-' => !deleted.contains(p),
                _ => false,
            })
            .map(|(p, _)| p)
            .collect();
        write_report(
            &args.dest_after,
            after.into_iter().map(|p| format!("{}\n", shown::name(p))),
        )
    }
}
