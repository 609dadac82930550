//! One list of cases, instantiated once per backend type.

mod cases;
mod faults;
mod open;

/// Declares, for one backend type, a test per case that opens a fresh fixture (skipped,
/// or failed under `CI=true`, when the backend's server is not running).
macro_rules! suite {
    ($kind:ident, [$($case:ident),* $(,)?]) => {
        mod $kind {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(fx) = super::open::fixture(stringify!($kind)) else { return };
                    fx.writer.mkdir(&ferry_core::RelPath::root()).await.expect("the root");
                    super::cases::$case(&fx).await;
                }
            )*
        }
    };
}

/// Every case, for every backend.
macro_rules! every_backend {
    ($($case:ident),* $(,)?) => {
        suite!(local, [$($case),*]);
        suite!(sftp, [$($case),*]);
        suite!(s3, [$($case),*]);
        suite!(azureblob, [$($case),*]);
        suite!(ftp, [$($case),*]);
        suite!(webdav, [$($case),*]);
        suite!(http, [$($case),*]);
        suite!(crypt, [$($case),*]);
        suite!(alias, [$($case),*]);
        suite!(smb, [$($case),*]);
        suite!(combine, [$($case),*]);
        suite!(union, [$($case),*]);
        suite!(gcs, [$($case),*]);
    };
}

every_backend!(
    names_round_trip,
    names_needing_encoding_round_trip,
    names_with_url_metacharacters,
    empty_file,
    overwrite_replaces,
    ranged_read,
    mtime_at_declared_precision,
    set_modtime,
    hashes_match_the_bytes,
    delete_file,
    stat_of_a_missing_file,
    missing_directory,
    mkdir_and_rmdir,
    recursive_listing_matches_the_walk,
    server_side_copy,
    move_within,
    short_write_keeps_nothing,
    writes_are_refused,
    temporary_faults_are_retried,
    a_sync_deletes_nothing_after_an_unrecovered_fault,
);
