//! `--max-delete` and `--max-delete-size` for the commands that delete files themselves
//! (`delete`, `purge`, `deletefile`): rclone applies them to every delete, not only to
//! sync's. The counting is the engine's ([`DeleteBudget`], a sync's too): each delete
//! takes room under both limits before it is made (or, under `--dry-run`, reported); the
//! first one refused stops the rest, and the command fails with rclone's fatal-error code.

use ferry_engine::{DeleteBudget, StopReason};

use crate::args::DeleteLimitArgs;
use crate::exit::{self, fail};

pub struct DeleteLimits {
    max_count: Option<u64>,
    max_bytes: Option<u64>,
    budget: DeleteBudget,
}

impl DeleteLimits {
    pub fn new(a: &DeleteLimitArgs) -> DeleteLimits {
        DeleteLimits {
            max_count: u64::try_from(a.max_delete).ok(),
            max_bytes: a.max_delete_size,
            budget: DeleteBudget::default(),
        }
    }

    /// Room for deleting one file of `size` bytes: `false` once a limit is reached (said
    /// once, when it is).
    pub fn take(&mut self, size: u64) -> bool {
        match self.budget.take(self.max_count, self.max_bytes, size) {
            Ok(()) => true,
            Err(said) => {
                if let Some(msg) = said {
                    tracing::error!("{msg}");
                }
                false
            }
        }
    }

    /// The command's failure once a limit refused a delete.
    pub fn check(&self, cmd: &str) -> anyhow::Result<()> {
        let flag = match self.budget.refused() {
            Some(StopReason::MaxDeleteSize) => "--max-delete-size",
            Some(_) => "--max-delete",
            None => return Ok(()),
        };
        Err(fail(
            exit::FATAL,
            format!("Failed to {cmd}: {flag} threshold reached; not all deletes were done"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_delete: i64, max_delete_size: Option<u64>) -> DeleteLimits {
        DeleteLimits::new(&DeleteLimitArgs {
            max_delete,
            max_delete_size,
        })
    }

    #[test]
    fn counts_files_then_refuses_every_later_one() {
        let mut b = budget(2, None);
        assert!(b.take(10) && b.take(10));
        assert!(b.check("delete").is_ok());
        assert!(!b.take(0));
        assert!(!b.take(0), "stays refused");
        let e = b.check("delete").unwrap_err();
        assert!(e.to_string().contains("--max-delete threshold"), "{e}");
    }

    #[test]
    fn sizes_add_up_to_the_limit_and_no_further() {
        let mut b = budget(-1, Some(10));
        assert!(b.take(4) && b.take(6));
        assert!(!b.take(1));
        // A later small file is refused too: the first refusal stops the rest.
        assert!(!b.take(0));
        assert!(b
            .check("purge")
            .unwrap_err()
            .to_string()
            .contains("--max-delete-size"));
    }

    #[test]
    fn no_limits_refuse_nothing_and_zero_refuses_everything() {
        let mut open = budget(-1, None);
        assert!((0..1000).all(|_| open.take(u64::MAX / 2000)));
        assert!(!budget(0, None).take(0));
        assert!(!budget(-1, Some(0)).take(1));
        assert!(
            budget(-1, Some(0)).take(0),
            "an empty file fits a zero size limit"
        );
    }
}
