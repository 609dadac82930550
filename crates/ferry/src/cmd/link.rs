//! `link`: a public URL of one file, where the store can make one (S3: a presigned URL,
//! at most a week); elsewhere, as in rclone, it fails saying the remote doesn't support
//! public links.

use clap::Args;
use ferry_core::{units, RelPath};

use crate::exit::{self, fail};
use crate::Globals;

#[derive(Args, Debug)]
pub struct LinkArgs {
    /// The file to link to
    pub path: String,
    /// The amount of time that the link will be valid
    #[arg(long, value_parser = units::parse_duration)]
    pub expire: Option<std::time::Duration>,
    /// Remove existing public link to file/folder (S3's links can't be withdrawn: ignored,
    /// as rclone ignores it there)
    #[arg(long)]
    pub unlink: bool,
}

pub async fn link(a: &LinkArgs, g: &Globals) -> anyhow::Result<i32> {
    let src = g.remotes.open_source(&a.path).await?;
    let failed = |code, why: String| fail(code, format!("Failed to link: {why}"));
    if !src.backend.features().caps.public_link {
        return Err(failed(
            exit::ERROR,
            format!("{} doesn't support public links", src.backend.describe()),
        ));
    }
    // A directory has no object to sign.
    let Some(name) = src.file else {
        return Err(failed(exit::FILE_NOT_FOUND, "object not found".into()));
    };
    let url = src
        .backend
        .public_link(&RelPath::new(&name)?, a.expire)
        .await
        .map_err(|e| {
            failed(
                exit::code_for_kind(e.kind(), e.is_temporary()),
                e.to_string(),
            )
        })?;
    println!("{url}");
    Ok(exit::SUCCESS)
}
