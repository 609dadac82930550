//! `cryptdecode`: a crypt remote's names, both ways, as rclone prints them; and the
//! comparison `cryptcheck` makes (the rest of it is `check`'s).

use std::sync::Arc;

use clap::Args;
use ferry_core::{Backend, Entry, HashKind};
use ferry_engine::Compared;

use crate::exit::{fail, ERROR, USAGE};
use crate::Globals;

#[derive(Args, Debug)]
pub struct CryptdecodeArgs {
    /// The crypt remote (`secret:`)
    pub remote: String,
    /// Encrypted names to decrypt (plain names to encrypt with --reverse); at most 10
    #[arg(required = true, num_args = 1..=10)]
    pub names: Vec<String>,
    /// Reverse cryptdecode, encrypts filenames
    #[arg(long)]
    pub reverse: bool,
}

/// The names of a crypt remote's config, without opening what it wraps (as rclone does).
pub fn cryptdecode(a: &CryptdecodeArgs, g: &Globals) -> anyhow::Result<i32> {
    let r = g.remotes.resolve(&a.remote)?;
    if r.kind != ferry_crypt::KIND.name {
        return Err(fail(USAGE, "the remote needs to be of type \"crypt\""));
    }
    let kind = g.remotes.kind_of(&r)?;
    let options = r.typed(kind);
    let config =
        ferry_crypt::CryptConfig::from_options(&options).map_err(|e| fail(ERROR, e.to_string()))?;
    let mut out = String::new();
    for name in &a.names {
        let shown = if a.reverse {
            config.names.encrypt_file(name)
        } else {
            config
                .names
                .decrypt_file(name)
                .unwrap_or_else(|_| "Failed to decrypt".to_owned())
        };
        // rclone separates the two with " \t " (a space each side of the tab).
        out.push_str(&format!("{name} \t {shown}\n"));
    }
    print!("{out}");
    Ok(0)
}

/// `cryptcheck`'s comparison: the source's data encrypted with the nonce of the crypt
/// file, hashed, against the hash the wrapped remote gives for the stored file.
pub struct EncryptedHash {
    pub dst: Arc<dyn Backend>,
    pub kind: HashKind,
}

impl std::fmt::Debug for EncryptedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptedHash({}, {})", self.dst.describe(), self.kind)
    }
}

#[async_trait::async_trait]
impl ferry_engine::Comparer for EncryptedHash {
    async fn compare(
        &self,
        src: &dyn Backend,
        s: &Entry,
        d: &Entry,
    ) -> ferry_core::Result<Compared> {
        let Some(crypt) = self
            .dst
            .as_any()
            .downcast_ref::<ferry_crypt::CryptBackend>()
        else {
            return Ok(Compared::Unchecked);
        };
        let plain = src.open(&s.path, 0, None).await?;
        Ok(
            match crypt.encrypted_hash(&d.path, plain, self.kind).await? {
                None => Compared::Unchecked,
                Some((stored, computed)) if stored.eq_ignore_ascii_case(&computed) => {
                    Compared::Match
                }
                Some((stored, computed)) => Compared::Differ(format!(
                    "hashes differ ({}) {computed:?} vs ({}) {stored:?}",
                    self.dst.describe(),
                    crypt.underlying().describe()
                )),
            },
        )
    }
}
