//! azcopy: its own command line (the submodules; [`main`] when ferry runs as `azcopy`),
//! and here its flags for users pasting azcopy commands: each maps onto an rclone-style
//! option of ferry's, or onto an Azure backend option.
//!
//! The one difference that matters: `ferry sync` deletes extraneous destination files
//! (rclone), while `azcopy sync` deletes only with `--delete-destination=true`. Here
//! `--delete-destination=true` is the default, `=false` makes `sync` act as `copy`, and
//! `=prompt` asks once, showing how many files would go.

mod cli;
mod dryrun;
mod jobs;
mod list;
mod other;
mod output;
mod paths;
mod plan;
mod prompt;
mod props;
mod run;
mod summary;

pub use run::{main, personality_args};

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use ferry_engine::{ApproveDeletes, Mode, SyncOptions, Verify};

use crate::backend_flags::BackendFlags;
use crate::exit::{fail, USAGE};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeleteDestination {
    True,
    False,
    Prompt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckMd5 {
    #[value(name = "NoCheck")]
    NoCheck,
    #[value(name = "LogOnly")]
    LogOnly,
    #[value(name = "FailIfDifferent")]
    FailIfDifferent,
    #[value(name = "FailIfDifferentOrMissing")]
    FailIfDifferentOrMissing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompareHash {
    #[value(name = "None")]
    None,
    #[value(name = "MD5")]
    Md5,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputType {
    Text,
    Json,
}

/// azcopy's flags, accepted by `copy`, `sync` and `move`.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "azcopy compatibility")]
pub struct AzcopyArgs {
    /// (azcopy) Whether sync deletes extraneous destination files: true (ferry's default), false (act as copy), prompt (ask once)
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "true|false|prompt",
        env = "FERRY_DELETE_DESTINATION"
    )]
    pub delete_destination: Option<DeleteDestination>,
    /// (azcopy) Transfer every file, whatever the destination has (= --ignore-times)
    #[arg(long, env = "FERRY_MIRROR_MODE")]
    pub mirror_mode: bool,
    /// (azcopy) Bandwidth cap in megabits per second (= --bwlimit in bytes)
    #[arg(long, value_name = "MBPS", env = "FERRY_CAP_MBPS")]
    pub cap_mbps: Option<f64>,
    /// (azcopy) text, or json for a JSON log and summary (= --use-json-log)
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        value_name = "text|json",
        env = "FERRY_OUTPUT_TYPE"
    )]
    pub output_type: Option<OutputType>,
    /// (azcopy) The kinds of source and destination, e.g. LocalBlob, BlobLocal, BlobBlob; checked against the paths
    #[arg(long, value_name = "FROMTO", env = "FERRY_FROM_TO")]
    pub from_to: Option<String>,
    /// (azcopy) Store the MD5 of files uploaded in blocks (default true; Put Blob uploads always have one)
    #[arg(long, env = "FERRY_PUT_MD5")]
    pub put_md5: Option<bool>,
    /// (azcopy) How a transferred file's MD5 is checked
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        default_value = "FailIfDifferent",
        env = "FERRY_CHECK_MD5"
    )]
    pub check_md5: CheckMd5,
    /// (azcopy) MD5: compare files by MD5 only, failing files that have none (unlike --checksum)
    #[arg(long, value_enum, ignore_case = true, env = "FERRY_COMPARE_HASH")]
    pub compare_hash: Option<CompareHash>,
    /// (azcopy) Block size in MiB for uploads (= --azureblob-chunk-size)
    #[arg(long, value_name = "MIB", env = "FERRY_BLOCK_SIZE_MB")]
    pub block_size_mb: Option<f64>,
    /// (azcopy) Largest file in MiB sent in one request (= --azureblob-upload-cutoff)
    #[arg(long, value_name = "MIB", env = "FERRY_PUT_BLOB_SIZE_MB")]
    pub put_blob_size_mb: Option<f64>,
    /// (azcopy) Blob-to-blob copies keep the access tier
    #[arg(long, env = "FERRY_S2S_PRESERVE_ACCESS_TIER")]
    pub s2s_preserve_access_tier: Option<bool>,
    /// (azcopy) Blob-to-blob copies keep blob index tags
    #[arg(long, env = "FERRY_S2S_PRESERVE_BLOB_TAGS")]
    pub s2s_preserve_blob_tags: Option<bool>,
}

impl AzcopyArgs {
    /// None of azcopy's flags given: for a command that has none of its own (`convmv`).
    pub fn none() -> &'static AzcopyArgs {
        use clap::FromArgMatches;
        static NONE: std::sync::OnceLock<AzcopyArgs> = std::sync::OnceLock::new();
        NONE.get_or_init(|| {
            let cmd = AzcopyArgs::augment_args(clap::Command::new("none"));
            AzcopyArgs::from_arg_matches(&cmd.get_matches_from(["none"]))
                .expect("azcopy's flags all have defaults")
        })
    }
}

fn mib(flag: &str, v: f64) -> anyhow::Result<String> {
    if !(v.is_finite() && v > 0.0) {
        return Err(fail(
            USAGE,
            format!("{flag} must be a positive number of MiB, not {v}"),
        ));
    }
    Ok(format!("{}B", (v * 1024.0 * 1024.0).round() as u64))
}

impl AzcopyArgs {
    /// Azure backend options these flags set, keyed as [`BackendFlags`] are.
    pub fn backend_flags(&self) -> anyhow::Result<BackendFlags> {
        let mut f = BackendFlags::new();
        if let Some(v) = self.block_size_mb {
            f.insert("azureblob_chunk_size".into(), mib("--block-size-mb", v)?);
        }
        if let Some(v) = self.put_blob_size_mb {
            f.insert(
                "azureblob_upload_cutoff".into(),
                mib("--put-blob-size-mb", v)?,
            );
        }
        if let Some(v) = self.put_md5 {
            f.insert("azureblob_disable_checksum".into(), (!v).to_string());
        }
        if let Some(v) = self.s2s_preserve_access_tier {
            f.insert("azureblob_s2s_preserve_access_tier".into(), v.to_string());
        }
        if let Some(v) = self.s2s_preserve_blob_tags {
            f.insert("azureblob_s2s_preserve_blob_tags".into(), v.to_string());
        }
        Ok(f)
    }

    /// [`AzcopyArgs::backend_flags`] for a run of the azcopy command line itself, whose
    /// uploads also get the Content-Type azcopy would give them (rclone's command line
    /// takes azcopy's flags too, but keeps rclone's types).
    pub fn personality_flags(&self) -> anyhow::Result<BackendFlags> {
        let mut f = self.backend_flags()?;
        f.insert("azureblob_azcopy_content_type".into(), "true".into());
        Ok(f)
    }

    pub fn wants_json(&self) -> bool {
        self.output_type == Some(OutputType::Json)
    }

    /// Applies the flags that change how the run behaves; returns the mode to run in.
    pub fn apply(&self, mode: Mode, opts: &mut SyncOptions) -> anyhow::Result<Mode> {
        if self.mirror_mode {
            opts.compare.ignore_times = true;
        }
        if let Some(mbps) = self.cap_mbps {
            if !(mbps.is_finite() && mbps > 0.0) {
                return Err(fail(
                    USAGE,
                    format!("--cap-mbps must be a positive number, not {mbps}"),
                ));
            }
            opts.bwlimit = Some((mbps * 1_000_000.0 / 8.0).round().max(1.0) as u64);
        }
        opts.verify = match self.check_md5 {
            CheckMd5::NoCheck => Verify::Off,
            CheckMd5::LogOnly => Verify::LogOnly,
            CheckMd5::FailIfDifferent => opts.verify,
            CheckMd5::FailIfDifferentOrMissing => Verify::FailIfMissing,
        };
        if self.compare_hash == Some(CompareHash::Md5) {
            opts.compare.hash_required = true;
        }
        match (self.delete_destination, mode) {
            (Some(DeleteDestination::False), Mode::Sync) => Ok(Mode::Copy),
            (Some(DeleteDestination::Prompt), Mode::Sync) => {
                if opts.delete_mode != ferry_engine::DeleteMode::After {
                    return Err(fail(
                        USAGE,
                        "--delete-destination=prompt asks once before deleting, after the transfers: drop --delete-before/--delete-during",
                    ));
                }
                Ok(Mode::Sync)
            }
            (Some(_), Mode::Copy | Mode::Move) => {
                tracing::warn!("--delete-destination only changes sync; ignored");
                Ok(mode)
            }
            _ => Ok(mode),
        }
    }

    /// The one question `--delete-destination=prompt` asks, or `None` without it.
    pub fn approver(
        &self,
        mode: Mode,
        dry_run: bool,
    ) -> anyhow::Result<Option<Arc<dyn ApproveDeletes>>> {
        if self.delete_destination != Some(DeleteDestination::Prompt)
            || mode != Mode::Sync
            || dry_run
        {
            return Ok(None);
        }
        if !std::io::stdin().is_terminal() {
            return Err(fail(
                USAGE,
                "--delete-destination=prompt needs a terminal to ask on, and stdin is not one: use --delete-destination=true or =false, or --dry-run to see what would be deleted",
            ));
        }
        Ok(Some(Arc::new(PromptOnce::default())))
    }

    /// `--from-to`: refuses a run whose paths are not the kinds it names.
    pub fn check_from_to(&self, src_kind: &str, dst_kind: &str) -> anyhow::Result<()> {
        let Some(ft) = &self.from_to else {
            return Ok(());
        };
        let (from, to) = split_from_to(ft).ok_or_else(|| {
            fail(
                USAGE,
                format!("--from-to {ft:?} is not a pair ferry knows: use LocalBlob, BlobLocal, BlobBlob, LocalLocal, LocalS3, S3Local, S3S3, S3Blob…"),
            )
        })?;
        for (side, want, got) in [("source", from, src_kind), ("destination", to, dst_kind)] {
            if backend_of(want) != got {
                return Err(fail(
                    USAGE,
                    format!("--from-to {ft} says the {side} is {want}, but the {side} path is {}: fix the path or --from-to", label(got)),
                ));
            }
        }
        Ok(())
    }
}

/// azcopy's location names ferry can serve, with the backend each means.
const KINDS: [(&str, &str); 5] = [
    ("Local", "local"),
    ("Blob", "azureblob"),
    ("S3", "s3"),
    ("GCP", "gcs"),
    ("SFTP", "sftp"),
];

fn backend_of(name: &str) -> &'static str {
    KINDS
        .iter()
        .find(|k| k.0.eq_ignore_ascii_case(name))
        .map_or("", |k| k.1)
}

fn label(kind: &str) -> &str {
    KINDS.iter().find(|k| k.1 == kind).map_or(kind, |k| k.0)
}

fn split_from_to(ft: &str) -> Option<(&str, &str)> {
    KINDS.iter().find_map(|(name, _)| {
        let head = ft.get(..name.len())?;
        let tail = &ft[name.len()..];
        (head.eq_ignore_ascii_case(name) && !backend_of(tail).is_empty()).then_some((head, tail))
    })
}

/// Asks on the terminal; a retry of the run gets the same answer unless it would delete
/// more than was agreed to.
#[derive(Default)]
struct PromptOnce {
    /// The answer and the number of files it was given for.
    answer: Mutex<Option<(bool, usize)>>,
}

impl ApproveDeletes for PromptOnce {
    fn approve(&self, count: usize) -> bool {
        let mut answer = self.answer.lock().expect("prompt lock");
        match *answer {
            Some((false, _)) => return false,
            Some((true, agreed)) if count <= agreed => return true,
            _ => {}
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "ferry: the sync would delete {count} file{} from the destination that the source doesn't have.\nDelete them? y/n> ",
            if count == 1 { "" } else { "s" }
        );
        let _ = err.flush();
        let mut line = String::new();
        let yes = std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0
            && matches!(line.trim(), "y" | "Y" | "yes" | "Yes");
        *answer = Some((yes, count));
        yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_to_pairs() {
        assert_eq!(split_from_to("LocalBlob"), Some(("Local", "Blob")));
        assert_eq!(split_from_to("blobblob"), Some(("blob", "blob")));
        assert_eq!(split_from_to("S3Blob"), Some(("S3", "Blob")));
        assert_eq!(split_from_to("BlobFSLocal"), None);
        assert_eq!(split_from_to("Local"), None);
    }
}
