//! azcopy 10.32's command line, as its own clap types: the personality ferry takes when
//! it runs as `azcopy` (argv[0]) or as `ferry azcopy ARGS…`. The rclone CLI is untouched.
//!
//! azcopy is a Go (cobra/pflag) program: boolean flags take their value only after `=`
//! (`--recursive=false`), string flags after `=` or a space, and usage errors exit 1.

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// azcopy's flags that apply to all commands.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Format of the command's output: text or json
    #[arg(
        long,
        global = true,
        value_enum,
        ignore_case = true,
        default_value = "text"
    )]
    pub output_type: OutputType,
    /// Log verbosity for the log file: DEBUG, INFO, WARNING, ERROR, NONE (accepted)
    #[arg(long, global = true, default_value = "INFO")]
    pub log_level: String,
    /// Output verbosity: default, essential, quiet
    #[arg(long, global = true, default_value = "default")]
    pub output_level: String,
    /// Caps the transfer rate, in megabits per second (0: no cap)
    #[arg(long, global = true)]
    pub cap_mbps: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputType {
    Text,
    Json,
}

#[derive(Parser, Debug)]
#[command(
    name = "azcopy",
    about = "azcopy's command line on ferry's engine (Blob via a SAS URL or an account key)",
    disable_version_flag = true
)]
pub struct AzCli {
    /// Print the version
    #[arg(long)]
    pub version: bool,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<AzCommand>,
}

#[derive(Subcommand, Debug)]
pub enum AzCommand {
    /// Copies source data to a destination location
    #[command(visible_aliases = ["cp", "c"])]
    Copy(Box<CopyArgs>),
    /// Replicates the source location to the destination location
    Sync(SyncArgs),
    /// List the entities in a given resource
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Create a container
    #[command(visible_alias = "mk")]
    Make(MakeArgs),
    /// Delete blobs
    #[command(visible_alias = "rm")]
    Remove(RemoveArgs),
    /// Given a location, change all the valid system properties of that storage (blob)
    #[command(visible_aliases = ["set-props", "sp", "setprops"])]
    SetProperties(SetPropertiesArgs),
    /// Sub-commands related to managing jobs
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Shows the environment variables that configure azcopy's behaviour
    Env,
    /// Log in with Microsoft Entra ID (not supported by ferry)
    Login(Rest),
    /// Log out (not supported by ferry)
    Logout(Rest),
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Displays information on all jobs
    #[command(visible_alias = "ls")]
    List,
    /// Show detailed information for the given job ID
    Show {
        job_id: Option<String>,
        /// List only the transfers with this status: All, Started, Success, Failed
        #[arg(long)]
        with_status: Option<String>,
    },
    /// Remove all files associated with the given job ID
    #[command(visible_alias = "rm")]
    Remove { job_id: String },
    /// Remove all log and plan files for all jobs
    Clean {
        /// Accepted: every job's files are removed
        #[arg(long)]
        with_status: Option<String>,
    },
    /// Resume the existing job with the given job ID
    Resume {
        job_id: String,
        /// The source's SAS (a job's plan keeps none)
        #[arg(long)]
        source_sas: Option<String>,
        /// The destination's SAS (a job's plan keeps none)
        #[arg(long)]
        destination_sas: Option<String>,
    },
}

/// Whatever a command given only to say it isn't supported was called with.
#[derive(Args, Debug)]
pub struct Rest {
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub rest: Vec<String>,
}

/// The filter, transfer and output flags `copy` and `sync` share.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Include only files whose name matches one of these ;-separated patterns
    #[arg(long, allow_hyphen_values = true)]
    pub include_pattern: Option<String>,
    /// Exclude files whose name matches one of these ;-separated patterns
    #[arg(long, allow_hyphen_values = true)]
    pub exclude_pattern: Option<String>,
    /// Include only these ;-separated relative paths (prefixes, no wildcards)
    #[arg(long)]
    pub include_path: Option<String>,
    /// Exclude these ;-separated relative paths (prefixes, no wildcards)
    #[arg(long)]
    pub exclude_path: Option<String>,
    /// Include only relative paths matching one of these ;-separated regular expressions
    #[arg(long, allow_hyphen_values = true)]
    pub include_regex: Option<String>,
    /// Exclude relative paths matching one of these ;-separated regular expressions
    #[arg(long, allow_hyphen_values = true)]
    pub exclude_regex: Option<String>,
    /// Create an MD5 hash of each file and save it as the blob's Content-MD5
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub put_md5: Option<bool>,
    /// How strictly MD5 hashes are validated when downloading
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        default_value = "FailIfDifferent"
    )]
    pub check_md5: super::CheckMd5,
    /// Print what would be copied or removed, change nothing
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub dry_run: Option<bool>,
    /// Block size in MiB for uploads and downloads
    #[arg(long)]
    pub block_size_mb: Option<f64>,
    /// Largest blob in MiB uploaded in a single request
    #[arg(long)]
    pub put_blob_size_mb: Option<f64>,
    /// The source and destination kinds, e.g. LocalBlob, BlobLocal, BlobBlob
    #[arg(long)]
    pub from_to: Option<String>,
    /// Blob-to-blob copies keep the access tier
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub s2s_preserve_access_tier: Option<bool>,
    /// Blob-to-blob copies keep blob index tags
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub s2s_preserve_blob_tags: Option<bool>,
}

#[derive(Args, Debug, Clone)]
pub struct CopyArgs {
    pub source: String,
    pub destination: String,
    #[command(flatten)]
    pub common: Common,
    /// Look into sub-directories (default false)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub recursive: Option<bool>,
    /// Places folder sources as subdirectories under the destination (default true)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub as_subdir: Option<bool>,
    /// Overwrite conflicting files: true, false, ifSourceNewer, prompt
    #[arg(long, value_enum, ignore_case = true, default_value = "true")]
    pub overwrite: Overwrite,
    /// Include only files modified on or after this ISO 8601 time
    #[arg(long)]
    pub include_after: Option<String>,
    /// Include only files modified before or on this ISO 8601 time
    #[arg(long)]
    pub include_before: Option<String>,
    /// Check the length of a file on the destination after the transfer (default true; ferry always does)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub check_length: Option<bool>,
    #[command(flatten)]
    pub props: BlobFlags,
    /// A text file of the relative paths (files and folders) to copy, one per line
    #[arg(long)]
    pub list_of_files: Option<std::path::PathBuf>,
}

/// `copy`'s flags for what an uploaded blob is given, and a download's file times.
#[derive(Args, Debug, Clone, Default)]
pub struct BlobFlags {
    /// Type of blob at the destination: Detect (default) or BlockBlob; ferry writes block blobs
    #[arg(long)]
    pub blob_type: Option<String>,
    /// Access tier of uploaded block blobs: None (default), Hot, Cool, Cold, Archive
    #[arg(long)]
    pub block_blob_tier: Option<String>,
    /// Index tags of uploaded blobs, URL-encoded: k=v&k2=v2
    #[arg(long)]
    pub blob_tags: Option<String>,
    /// Metadata of uploaded blobs: k=v;k2=v2
    #[arg(long)]
    pub metadata: Option<String>,
    /// Content-Type of uploaded blobs (default: guessed from the name)
    #[arg(long)]
    pub content_type: Option<String>,
    /// Content-Encoding of uploaded blobs
    #[arg(long)]
    pub content_encoding: Option<String>,
    /// Content-Disposition of uploaded blobs
    #[arg(long)]
    pub content_disposition: Option<String>,
    /// Content-Language of uploaded blobs
    #[arg(long)]
    pub content_language: Option<String>,
    /// Cache-Control of uploaded blobs
    #[arg(long)]
    pub cache_control: Option<String>,
    /// Don't guess the Content-Type from the name (uploads only)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub no_guess_mime_type: Option<bool>,
    /// Downloaded files get the blob's time instead of the time they were written
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub preserve_last_modified_time: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Overwrite {
    True,
    False,
    #[value(name = "ifSourceNewer")]
    IfSourceNewer,
    Prompt,
}

#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    pub source: String,
    pub destination: String,
    #[command(flatten)]
    pub common: Common,
    /// Look into sub-directories (default true)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub recursive: Option<bool>,
    /// Delete destination files the source doesn't have: true, false (default), prompt
    #[arg(long, value_enum, ignore_case = true, default_value = "false")]
    pub delete_destination: super::DeleteDestination,
    /// Compare by hash instead of last-modified time: None, MD5
    #[arg(long, value_enum, ignore_case = true)]
    pub compare_hash: Option<super::CompareHash>,
    /// Transfer every file, whatever the destination has
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub mirror_mode: Option<bool>,
    /// Where local files' hashes are kept between runs: XAttr (default) or HiddenFiles; ferry keeps them in its hash cache either way
    #[arg(long)]
    pub local_hash_storage_mode: Option<String>,
    /// The directory the hash cache is kept in (azcopy: for HiddenFiles)
    #[arg(long)]
    pub hash_meta_dir: Option<std::path::PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    pub container_url: String,
    /// Print sizes in bytes
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub machine_readable: Option<bool>,
    /// Count the files and their total size at the end
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub running_tally: Option<bool>,
    /// Units in powers of 10 (1000) instead of 2 (1024)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub mega_units: Option<bool>,
    /// Properties to show for each blob, separated by semicolons
    #[arg(long)]
    pub properties: Option<String>,
    /// The kind of location listed (Blob: the only one ferry serves)
    #[arg(long)]
    pub location: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct MakeArgs {
    pub resource_url: String,
}

#[derive(Args, Debug, Clone)]
pub struct RemoveArgs {
    pub url: String,
    #[command(flatten)]
    pub blobs: BlobSelection,
}

/// `set-properties URL`: the blob's (or the blobs') access tier or metadata.
#[derive(Args, Debug, Clone)]
pub struct SetPropertiesArgs {
    pub url: String,
    #[command(flatten)]
    pub blobs: BlobSelection,
    /// Changes the access tier of the block blobs to the given tier: Hot, Cool, Cold, Archive (default None)
    #[arg(long)]
    pub block_blob_tier: Option<String>,
    /// Set the given location with these key-value pairs (separated by ';') as metadata; "clear" removes all
    #[arg(long)]
    pub metadata: Option<String>,
    /// Set tags on blobs to categorize data in your storage account (separated by '&'); "clear" removes them
    #[arg(long)]
    pub blob_tags: Option<String>,
    /// Priority of a rehydration from Archive: Standard (default) or High (accepted; the emulator and ferry don't rehydrate)
    #[arg(long)]
    pub rehydrate_priority: Option<String>,
}

/// Which blobs `remove` and `set-properties` act on, and how.
#[derive(Args, Debug, Clone)]
pub struct BlobSelection {
    /// Everything under a virtual directory
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub recursive: Option<bool>,
    #[arg(long, allow_hyphen_values = true)]
    pub include_pattern: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub exclude_pattern: Option<String>,
    #[arg(long)]
    pub exclude_path: Option<String>,
    #[arg(long)]
    pub include_path: Option<String>,
    #[arg(long)]
    pub include_after: Option<String>,
    #[arg(long)]
    pub include_before: Option<String>,
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub dry_run: Option<bool>,
    #[arg(long)]
    pub from_to: Option<String>,
    /// A text file of the relative paths (blobs and virtual directories) to act on, one per line
    #[arg(long)]
    pub list_of_files: Option<std::path::PathBuf>,
}

/// azcopy 10.32's flags that ferry does not implement; naming one is a usage error
/// (exit 1) saying so, rather than a silent difference.
pub const NOT_IMPLEMENTED: &[&str] = &[
    "backup",
    "cpk-by-name",
    "cpk-by-value",
    "decompress",
    "delete-snapshots",
    "disable-auto-decoding",
    "exclude-attributes",
    "exclude-blob-type",
    "exclude-container",
    "follow-symlinks",
    "force-if-read-only",
    "hardlinks",
    "include-attributes",
    "include-directory-stub",
    "list-of-versions",
    "page-blob-tier",
    "permanent-delete",
    "posix-properties-style",
    "preserve-info",
    "preserve-owner",
    "preserve-permissions",
    "preserve-posix-properties",
    "preserve-smb-info",
    "preserve-smb-permissions",
    "preserve-symlinks",
    "s2s-detect-source-changed",
    "s2s-handle-invalid-metadata",
    "s2s-preserve-properties",
    "trailing-dot",
    "check-version",
    "trusted-microsoft-suffixes",
    "await-continue",
    "await-open",
    "debug-skip-files",
    "delete-destination-file",
    "recursive-directory-stub",
    "include-root",
    "quota-gb",
];

/// azcopy's commands that ferry doesn't have yet.
pub const COMMANDS_NOT_IMPLEMENTED: &[&str] = &["bench", "load", "doc", "completion"];

/// The azcopy command in `args` that ferry doesn't implement, if it is one.
pub fn unimplemented_command(args: &[String]) -> Option<&str> {
    let first = args.iter().find(|a| !a.starts_with('-'))?;
    COMMANDS_NOT_IMPLEMENTED
        .contains(&first.as_str())
        .then_some(first.as_str())
}

/// The first azcopy flag in `args` that ferry doesn't implement, as typed.
pub fn unimplemented_flag(args: &[String]) -> Option<&str> {
    args.iter()
        .take_while(|a| a.as_str() != "--")
        .filter_map(|a| a.strip_prefix("--"))
        .map(|a| a.split('=').next().unwrap_or(a))
        .find(|name| NOT_IMPLEMENTED.contains(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> AzCli {
        AzCli::try_parse_from(std::iter::once("azcopy").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn bools_take_their_value_after_equals() {
        let AzCommand::Copy(c) = parse(&["cp", "a", "b", "--recursive", "--as-subdir=false"])
            .command
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((c.recursive, c.as_subdir), (Some(true), Some(false)));
        let AzCommand::Sync(s) = parse(&["sync", "a", "b", "--delete-destination", "TRUE"])
            .command
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(s.delete_destination, crate::azcopy::DeleteDestination::True);
        assert!(s.recursive.is_none());
    }

    #[test]
    fn unimplemented_flags_are_named() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            unimplemented_flag(&a(&["cp", "x", "y", "--preserve-smb-info"])),
            Some("preserve-smb-info")
        );
        assert_eq!(unimplemented_flag(&a(&["cp", "--recursive"])), None);
    }
}
