//! The commands, each taking its arguments and resolved settings.

pub mod about;
pub mod backend;
pub mod backend_features;
pub mod bisync;
pub mod check;
pub mod cleanup;
pub mod completion;
pub mod config;
pub mod convmv;
pub mod copyto;
pub mod copyurl;
pub mod crypt;
pub mod dedupe;
pub mod dedupe_hash;
pub mod delete_limits;
pub mod gendocs;
pub mod hashsum;
pub mod help_backend;
pub mod link;
pub mod listing;
pub mod ls;
pub mod ops;
pub mod settier;
pub mod sync_reports;
pub mod transfer;
pub mod tree;
pub mod version;

use ferry_engine::Mode;

use crate::cli::Command;
use crate::{exit, settings, Globals};
use transfer::TransferCall;

/// Runs the command with its settings resolved; its exit code.
pub async fn dispatch(command: &Command, g: &Globals) -> anyhow::Result<i32> {
    match command {
        Command::Copy(c) => transfer::run_watchable(Mode::Copy, c, g).await,
        Command::Sync(c) => transfer::run_watchable(Mode::Sync, c, g).await,
        Command::Move(m) => {
            let call = TransferCall::resolve(Mode::Move, &m.inner, m.delete_empty_src_dirs)?
                .sharded(&m.shard);
            transfer::run(call, g).await
        }
        Command::Check(a) => check::run(a, g).await,
        Command::Checksum(a) => check::run_checksum(a, g).await,
        Command::Cryptcheck(a) => check::run_crypt(a, g).await,
        Command::Bisync(a) => bisync::run(a, &settings::Bisync::resolve(a)?, g).await,
        Command::Config(a) => config::run(a, g),
        Command::Listremotes(a) => config::listremotes(a, g),
        Command::Obscure(a) => config::obscure(a),
        Command::Reveal(a) => config::reveal(a),
        Command::Cryptdecode(a) => crypt::cryptdecode(a, g),
        Command::Ls(a) => ls::ls(a, g, false).await,
        Command::Lsl(a) => ls::ls(a, g, true).await,
        Command::Lsd(a) => ls::lsd(a, g).await,
        Command::Lsf(a) => ls::lsf(a, g).await,
        Command::Lsjson(a) => ls::lsjson(a, g).await,
        Command::Tree(a) => tree::tree(a, g).await,
        Command::Md5sum(a) => hashsum::sum(ferry_core::HashKind::Md5, a, g).await,
        Command::Sha1sum(a) => hashsum::sum(ferry_core::HashKind::Sha1, a, g).await,
        Command::Hashsum(a) => hashsum::hashsum(a, g).await,
        Command::Size(a) => ops::size(a, g).await,
        Command::About(a) => about::about(a, g).await,
        Command::Cleanup(a) => cleanup::cleanup(a, g).await,
        Command::Backend(a) => backend::backend(a, g).await,
        Command::Link(a) => link::link(a, g).await,
        Command::Cat(a) => ops::cat(a, g).await,
        Command::Rcat(a) => ops::rcat(a, g).await,
        Command::Copyurl(a) => copyurl::copyurl(a, g).await,
        Command::Settier(a) => settier::settier(a, g).await,
        Command::Touch(a) => ops::touch(a, g).await,
        Command::Deletefile(a) => ops::deletefile(a, g).await,
        Command::Delete(a) => ops::delete(a, g).await,
        Command::Purge(a) => ops::purge(a, g).await,
        Command::Mkdir(a) => ops::mkdir(a, g).await,
        Command::Rmdir(a) => ops::rmdir(a, g).await,
        Command::Rmdirs(a) => ops::rmdirs(a, g).await,
        Command::Dedupe(a) => dedupe::dedupe(a, g).await,
        Command::Copyto(c) => copyto::run(TransferCall::resolve(Mode::Copy, c, false)?, g).await,
        Command::Moveto(c) => copyto::run(TransferCall::resolve(Mode::Move, c, false)?, g).await,
        Command::Convmv(a) => convmv::run(a, g).await,
        Command::Completion(a) => completion::completion(a),
        Command::Help(a) => completion::help(a),
        Command::Gendocs(a) => gendocs::gendocs(a),
        Command::Version => {
            version::run();
            Ok(exit::SUCCESS)
        }
    }
}
