//! rclone's `crypt` overlay: a remote whose names and data are encrypted on another
//! remote, in rclone's format exactly (a remote written by one is read by the other).
//!
//! The format is in [`data`] (header, 64 KiB secretbox blocks, sizes), [`names`] (EME
//! names and their encodings, obfuscation, suffixes) and [`keys`]; the streams in
//! [`stream`]. This module maps each backend call to the wrapped remote's. A crypt remote
//! has no hashes of its own (its stored bytes differ from the data), so the engine
//! compares sizes and times; `cryptcheck` compares through [`CryptBackend::encrypted_hash`].

mod base32768;
mod command;
pub mod data;
mod decipher;
mod eme;
pub mod keys;
mod kind;
mod localfile;
mod mac;
pub mod names;
mod salsa;
mod secretbox;
pub mod stream;
mod version;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use ferry_core::kind::Options;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, HashSet, Hashes, ListPages,
    Listing, Location, Metadata, PutOptions, RelPath, Result,
};
use futures::TryStreamExt;
use tokio::io::AsyncReadExt;

pub use kind::KIND;

use data::{DataCipher, Nonce};
use names::{Mode, NameCipher, NameEncoding};
use stream::{Decrypt, Start};

/// A crypt remote's settings, read once from its options: everything needed to turn
/// names and data both ways (`cryptdecode` uses it without opening anything).
#[derive(Clone)]
pub struct CryptConfig {
    pub names: NameCipher,
    data: DataCipher,
    keys: keys::Keys,
    encoding: NameEncoding,
    suffix: String,
    dir_names: bool,
    no_data_encryption: bool,
    pass_bad_blocks: bool,
    strict_names: bool,
    show_mapping: bool,
}

impl CryptConfig {
    /// The settings of a remote of the crypt kind. A missing or unreadable password is an
    /// error naming the remote and the option, never the value.
    pub fn from_options(o: &Options) -> Result<CryptConfig> {
        let password = o.revealed("password")?.ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("{} password not set in config file: crypt needs one (set it with `ferry config`, obscured)", o.remote()),
            )
        })?;
        let salt = o.revealed("password2")?;
        let keys = keys::Keys::derive(
            password.expose(),
            salt.as_ref().map(|s| s.expose()).unwrap_or(""),
        )?;
        let mode = match o.choice("filename_encryption")?.unwrap_or("standard") {
            "obfuscate" => Mode::Obfuscate,
            "off" => Mode::Off,
            _ => Mode::Standard,
        };
        let encoding = match o.choice("filename_encoding")?.unwrap_or("base32") {
            "base64" => NameEncoding::Base64,
            "base32768" => NameEncoding::Base32768,
            _ => NameEncoding::Base32,
        };
        let suffix = suffix(o);
        let dir_names = o.bool("directory_name_encryption")?;
        Ok(CryptConfig {
            names: NameCipher::new(&keys, mode, encoding, dir_names, &suffix),
            data: DataCipher::new(&keys.data),
            keys,
            encoding,
            suffix,
            dir_names,
            no_data_encryption: o.bool("no_data_encryption")?,
            pass_bad_blocks: o.bool("pass_bad_blocks")?,
            strict_names: o.bool("strict_names")?,
            show_mapping: o.bool("show_mapping")?,
        })
    }

    /// Whether data and names stored by `other` read the same through this config (so
    /// stored objects can be copied between them as they are).
    fn same_format(&self, other: &CryptConfig) -> bool {
        self.keys.data == other.keys.data
            && self.keys.name == other.keys.name
            && self.keys.tweak == other.keys.tweak
            && self.names.mode() == other.names.mode()
            && self.encoding == other.encoding
            && self.suffix == other.suffix
            && self.dir_names == other.dir_names
            && self.no_data_encryption == other.no_data_encryption
    }
}

/// `suffix` as rclone reads it: `none` is no suffix, and a missing dot is added.
fn suffix(o: &Options) -> String {
    let s = o.text("suffix").unwrap_or(".bin");
    if s.eq_ignore_ascii_case("none") {
        String::new()
    } else if s.starts_with('.') {
        s.to_owned()
    } else {
        tracing::error!(
            "{} crypt: bad suffix: suffix config setting should include a '.'",
            o.remote()
        );
        format!(".{s}")
    }
}

/// A crypt remote over the backend it wraps (already rooted at the encrypted root).
pub struct CryptBackend {
    under: Arc<dyn Backend>,
    config: CryptConfig,
    features: Features,
    /// The remote's name (`secret:`), for messages.
    remote: String,
    /// The plain root, for messages.
    root: String,
}

impl CryptBackend {
    pub fn new(under: Arc<dyn Backend>, config: CryptConfig, remote: &str, root: &str) -> Self {
        let uf = under.features();
        // What the wrapped remote does, less what ciphertext can't give: no hashes of the
        // plain data, no writes at offsets (blocks are sealed in order).
        let mut features = uf.clone();
        features.semantics.hashes = HashSet::empty();
        // Encrypted names of `A` and `a` differ: only plain names keep the store's rule.
        features.semantics.case_insensitive =
            uf.semantics.case_insensitive && config.names.mode() == Mode::Off;
        features.caps.put_returns_hashes = false;
        features.caps.ranged_put = false;
        // Decrypting is bound by the CPU whatever the store, so ranged reads of one big
        // file decrypt on several cores at once: rclone, too, copies a big file out of
        // crypt in several streams, even from a local directory.
        features.caps.parallel_reads = uf.caps.parallel_reads || !config.no_data_encryption;
        // A crypt file's size is not the stored object's: the limit is the store's less
        // the headers and tags, which no real file comes near; left to the store.
        features.caps.max_object_size = None;
        // A link to the store's object would hand out ciphertext.
        features.caps.public_link = false;
        CryptBackend {
            under,
            config,
            features,
            remote: remote.to_owned(),
            root: root.to_owned(),
        }
    }

    /// The wrapped backend (rooted at the encrypted root).
    pub fn underlying(&self) -> &Arc<dyn Backend> {
        &self.under
    }

    /// The settings.
    pub fn config(&self) -> &CryptConfig {
        &self.config
    }

    fn file_path(&self, path: &RelPath) -> Result<RelPath> {
        stored(self.config.names.encrypt_file(path.as_str()), path)
    }

    fn dir_path(&self, path: &RelPath) -> Result<RelPath> {
        stored(self.config.names.encrypt_dir(path.as_str()), path)
    }

    /// `remote:path` for messages.
    fn shown(&self, path: &RelPath) -> String {
        let mut s = format!("{}{}", self.remote, self.root);
        if !path.is_root() {
            if !self.root.is_empty() {
                s.push('/');
            }
            s.push_str(path.as_str());
        }
        s
    }

    /// A stored entry as this remote shows it: `plain` path, data size.
    fn plain_entry(&self, mut e: Entry, plain: RelPath) -> Result<Entry> {
        if !e.is_dir() && !self.config.no_data_encryption {
            e.size = data::decrypted_size(e.size).ok_or_else(|| {
                Error::new(
                    ErrorKind::Corrupted,
                    format!(
                        "{}: stored size {} is not the size of an encrypted file (truncated?)",
                        self.shown(&plain),
                        e.size
                    ),
                )
            })?;
        }
        e.path = plain;
        e.hashes = Hashes::default();
        e.content_type = None;
        Ok(e)
    }

    /// The plain name of one stored entry directly in `dir`. `Err`: not a name this remote
    /// wrote (the reason, rclone's words).
    fn plain_name(&self, e: &Entry) -> std::result::Result<String, names::BadName> {
        let stored = e.name();
        if e.is_dir() {
            self.config.names.decrypt_dir(stored)
        } else {
            self.config.names.decrypt_file(stored)
        }
    }

    /// One page of the wrapped remote's listing of `dir` as this remote's: names
    /// decrypted, sizes of the data. A name that doesn't decrypt is skipped with a notice
    /// (an error of the listing with `strict_names`); a directory none of whose names
    /// decrypt is an error (a wrong password would otherwise look like an empty remote).
    pub fn decrypt_page(&self, dir: &RelPath, page: Listing) -> Listing {
        let mut out = Listing {
            entries: Vec::with_capacity(page.entries.len()),
            errors: page.errors,
        };
        let mut undecryptable = 0usize;
        let total = page.entries.len();
        for e in page.entries {
            let kind = if e.is_dir() { "dir" } else { "file" };
            let plain = match self.plain_name(&e) {
                Ok(p) => p,
                Err(why) => {
                    undecryptable += 1;
                    let shown = self.shown(&e.path);
                    if self.config.strict_names {
                        let msg = format!("{shown}: undecryptable {kind} name detected: {why}");
                        out.skip(Error::new(ErrorKind::InvalidPath, msg));
                    } else {
                        tracing::warn!("{shown}: Skipping undecryptable {kind} name: {why}");
                    }
                    continue;
                }
            };
            let path = match dir.join(&plain) {
                Ok(p) => p,
                Err(err) => {
                    out.skip(err.with_path(self.shown(dir)));
                    continue;
                }
            };
            if self.config.show_mapping {
                tracing::info!("{path}: Encrypts to {:?}", e.path.as_str());
            }
            match self.plain_entry(e, path) {
                Ok(e) => out.entries.push(e),
                Err(err) => out.skip(err),
            }
        }
        if undecryptable > 0 && undecryptable == total && !self.config.strict_names {
            out.skip(Error::new(
                ErrorKind::Auth,
                format!(
                    "{}: none of the {total} names in this directory decrypts: wrong password or password2, or not a directory this crypt remote wrote",
                    self.shown(dir)
                ),
            ));
        }
        out
    }

    /// Reads a stored file's nonce (its first 32 bytes).
    async fn nonce_of(&self, stored: &RelPath, plain: &RelPath) -> Result<Nonce> {
        let mut s = self.under.open(stored, 0, Some(data::HEADER_LEN)).await?;
        let mut header = Vec::with_capacity(data::HEADER_LEN as usize);
        (&mut s)
            .take(data::HEADER_LEN)
            .read_to_end(&mut header)
            .await
            .map_err(|e| Error::io(self.shown(plain), e))?;
        data::parse_header(&header).map_err(|e| self.bad_header(plain, e))
    }

    fn bad_header(&self, plain: &RelPath, e: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::Corrupted, format!("{}: {e}", self.shown(plain)))
    }

    /// `cryptcheck`'s hash: the stored file's hash of `kind` as the wrapped remote gives
    /// it, and the same hash of `plain` (the source's data) encrypted with the stored
    /// file's nonce. Equal when the stored file holds exactly that data. `None`: the
    /// wrapped remote has no hash of this kind for it.
    pub async fn encrypted_hash(
        &self,
        path: &RelPath,
        plain: ByteStream,
        kind: HashKind,
    ) -> Result<Option<(String, String)>> {
        let stored = self.file_path(path)?;
        let Some(want) = self.under.hash(&stored, kind).await? else {
            return Ok(None);
        };
        let data = if self.config.no_data_encryption {
            plain
        } else {
            let nonce = self.nonce_of(&stored, path).await?;
            stream::encrypt(plain, self.config.data.clone(), nonce)
        };
        let mut hasher = ferry_core::MultiHasher::new([kind].into_iter().collect());
        let mut reader = data;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|e| Error::io(self.shown(path), e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let got = hasher
            .finish()
            .get(kind)
            .map(str::to_owned)
            .unwrap_or_default();
        Ok(Some((want, got)))
    }

    /// One entry of the wrapped remote's recursive listing (its path from the root) as
    /// this remote's; `None`: a name that doesn't decrypt, skipped with a notice. An entry
    /// that can't be shown is an `InvalidPath` error (the listing goes on).
    fn plain_flat(&self, e: Entry) -> Option<Result<Entry>> {
        let plain = if e.is_dir() {
            self.config.names.decrypt_dir(e.path.as_str())
        } else {
            self.config.names.decrypt_file(e.path.as_str())
        };
        let plain = match plain {
            Ok(p) => p,
            Err(why) => {
                let shown = self.shown(&e.path);
                if self.config.strict_names {
                    let msg = format!("{shown}: undecryptable name detected: {why}");
                    return Some(Err(Error::new(ErrorKind::InvalidPath, msg)));
                }
                tracing::warn!("{shown}: Skipping undecryptable name: {why}");
                return None;
            }
        };
        let entry = RelPath::new(&plain).and_then(|path| self.plain_entry(e, path));
        Some(entry.map_err(|err| err.with_kind(ErrorKind::InvalidPath)))
    }

    fn same_format_peer<'a>(&self, src: &'a dyn Backend) -> Option<&'a CryptBackend> {
        src.as_any()
            .downcast_ref::<CryptBackend>()
            .filter(|c| c.config.same_format(&self.config))
    }
}

/// A stored path as a `RelPath` (encrypted names are always valid ones; a plain name
/// the wrapped store can't hold is its error to give).
fn stored(s: String, plain: &RelPath) -> Result<RelPath> {
    RelPath::new(&s).map_err(|e| e.with_path(plain.as_str().to_owned()))
}

#[async_trait]
impl Backend for CryptBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let under = self.under.location();
        Location {
            namespace: format!("crypt:{}", under.namespace),
            path: under.path,
        }
    }

    fn describe(&self) -> String {
        format!("Encrypted drive '{}{}'", self.remote, self.root)
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        if path.is_root() {
            return self.under.stat(path).await;
        }
        let file = self.file_path(path)?;
        if let Some(e) = self.under.stat(&file).await? {
            if !e.is_dir() {
                return self.plain_entry(e, path.clone()).map(Some);
            }
        }
        let dir = self.dir_path(path)?;
        match self.under.stat(&dir).await? {
            Some(e) if e.is_dir() => self.plain_entry(e, path.clone()).map(Some),
            _ => Ok(None),
        }
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        let stored = match self.dir_path(&dir) {
            Ok(stored) => stored,
            Err(e) => return ferry_core::listing::one_page(async move { Err(e) }),
        };
        // Each page of the wrapped listing, decrypted as it arrives.
        Box::pin(
            self.under
                .list_pages(stored)
                .map_ok(move |page| self.decrypt_page(&dir, page)),
        )
    }

    fn list_recursive(self: Arc<Self>, dir: &RelPath) -> Option<ferry_core::EntryStream> {
        use futures::StreamExt;
        let stored = self.dir_path(dir).ok()?;
        let inner = self.under.clone().list_recursive(&stored)?;
        let me = self;
        Some(Box::pin(inner.filter_map(move |item| {
            futures::future::ready(item.map_or_else(|err| Some(Err(err)), |e| me.plain_flat(e)))
        })))
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        let stored = self.file_path(path)?;
        if self.config.no_data_encryption {
            return self.under.open(&stored, offset, len).await;
        }
        let decrypt = |start, skip, limit| Decrypt {
            cipher: self.config.data.clone(),
            start,
            skip,
            limit,
            pass_bad_blocks: self.config.pass_bad_blocks,
            name: self.shown(path),
        };
        if len == Some(0) {
            return Ok(Box::pin(tokio::io::empty()));
        }
        let span = data::span(offset, len);
        if let Some(local) = self.under.local_path(&stored) {
            let opened = localfile::Opened::open(local)
                .await
                .map_err(|e| Error::io("failed to open source", e).with_path(path.to_string()))?;
            let until = span.len.map(|l| span.offset + l);
            let start = match offset {
                0 => Start::Header,
                _ => Start::At(
                    opened
                        .nonce()
                        .map_err(|e| self.bad_header(path, e))?
                        .add(span.first_block),
                ),
            };
            return Ok(opened.decrypt(span.offset, until, decrypt(start, span.skip, len)));
        }
        if offset == 0 {
            let under_len = span.len.map(|l| data::HEADER_LEN + l);
            let s = self.under.open(&stored, 0, under_len).await?;
            return Ok(stream::decrypt(s, decrypt(Start::Header, 0, len)));
        }
        let nonce = self.nonce_of(&stored, path).await?;
        let s = self.under.open(&stored, span.offset, span.len).await?;
        let start = Start::At(nonce.add(span.first_block));
        Ok(stream::decrypt(s, decrypt(start, span.skip, len)))
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let stored = self.file_path(path)?;
        let mut under_opts = opts.clone();
        under_opts.hashes = Hashes::default();
        let body = if self.config.no_data_encryption {
            data
        } else {
            under_opts.size = data::encrypted_size(opts.size);
            let nonce = Nonce::random().map_err(|e| Error::io("crypt: random nonce", e))?;
            stream::encrypt(data, self.config.data.clone(), nonce)
        };
        // As rclone does: where the wrapped remote reports a hash of what it stored, the
        // stored bytes are hashed on the way and compared (crypt has no hash the engine
        // could check).
        let check = self
            .under
            .features()
            .caps
            .put_returns_hashes
            .then(|| self.under.features().semantics.hashes.preferred())
            .flatten()
            .map(|kind| {
                let hasher = ferry_core::MultiHasher::new([kind].into_iter().collect());
                (kind, Arc::new(std::sync::Mutex::new(Some(hasher))))
            });
        let body = match &check {
            Some((_, hasher)) => stream::hashed(body, hasher.clone()),
            None => body,
        };
        let e = self.under.put(&stored, body, &under_opts).await?;
        if let Some((kind, hasher)) = check {
            let sent = hasher
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .map(|h| h.finish());
            let sent = sent.as_ref().and_then(|h| h.get(kind));
            if let (Some(sent), Some(got)) = (sent, e.hashes.get(kind)) {
                if !sent.eq_ignore_ascii_case(got) {
                    if let Err(err) = self.under.delete_file(&stored).await {
                        tracing::error!(
                            "{}: failed to remove corrupted object: {err}",
                            self.shown(path)
                        );
                    }
                    return Err(Error::new(
                        ErrorKind::Corrupted,
                        format!(
                            "{}: corrupted on transfer: {kind} encrypted hashes differ ({sent} sent, {got} stored)",
                            self.shown(path)
                        ),
                    )
                    .temporary(true));
                }
            }
        }
        self.plain_entry(e, path.clone())
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(peer) = self.same_format_peer(src) else {
            return Ok(None);
        };
        let mut under_opts = opts.clone();
        under_opts.hashes = Hashes::default();
        if !self.config.no_data_encryption {
            under_opts.size = data::encrypted_size(opts.size);
        }
        let (from, to) = (peer.file_path(src_path)?, self.file_path(dst_path)?);
        match self
            .under
            .copy_from(&*peer.under, &from, &to, &under_opts)
            .await?
        {
            Some(e) => self.plain_entry(e, dst_path.clone()).map(Some),
            None => Ok(None),
        }
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(peer) = self.same_format_peer(src) else {
            return Ok(None);
        };
        let (from, to) = (peer.file_path(src_path)?, self.file_path(dst_path)?);
        match self.under.move_from(&*peer.under, &from, &to).await? {
            Some(e) => self.plain_entry(e, dst_path.clone()).map(Some),
            None => Ok(None),
        }
    }

    async fn prepare_write(&self) {
        self.under.prepare_write().await
    }

    fn commands(&self) -> &'static [ferry_core::command::CommandHelp] {
        &command::COMMANDS
    }

    async fn command(
        &self,
        call: &ferry_core::command::CommandCall,
    ) -> Result<ferry_core::command::CommandOutput> {
        command::run(&self.config.names, call)
    }

    async fn usage(&self) -> Result<Option<ferry_core::Usage>> {
        self.under.usage().await
    }

    /// What the remote below keeps besides files is no file of this one's.
    async fn clean_up(&self) -> Result<()> {
        self.under.clean_up().await
    }

    /// The encrypted object's tier, as rclone's crypt passes SetTier on.
    async fn set_tier(&self, path: &RelPath, tier: &str) -> Result<()> {
        self.under.set_tier(&self.file_path(path)?, tier).await
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        self.under.metadata(&self.file_path(path)?).await
    }

    async fn hash(&self, _path: &RelPath, _kind: HashKind) -> Result<Option<String>> {
        Ok(None)
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let file = self.file_path(path)?;
        let dir = self.dir_path(path)?;
        match self.under.set_modtime(&file, mtime).await {
            Err(e) if file != dir && matches!(e.kind(), ErrorKind::NotFound) => {
                self.under.set_modtime(&dir, mtime).await
            }
            other => other,
        }
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        self.under.delete_file(&self.file_path(path)?).await
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.under.mkdir(&self.dir_path(dir)?).await
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        self.under.rmdir(&self.dir_path(dir)?).await
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
