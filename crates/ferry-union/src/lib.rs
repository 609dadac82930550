//! rclone's `union` remote: several remotes merged into one tree. Listings merge every
//! upstream's (a name in several shows the entry the search policy picks; directories
//! merge), reads go to the upstream the search policy picks, changes to what exists go
//! to those the action policy picks, and new files and directories to those the create
//! policy picks ([`policy`]). Upstreams tagged `:ro` are only read, `:nc` get nothing
//! new, and a `:writeback` upstream receives a copy of each file read from another.

mod kind;
pub mod policy;
mod tee;
pub mod upstream;

use std::time::SystemTime;

use async_trait::async_trait;
use futures::future::{join_all, BoxFuture};

use ferry_core::{
    Backend, ByteStream, Declared, Entry, Error, ErrorKind, Features, HashKind, HashSet, Hashes,
    ListPages, Listing, Location, Metadata, PutOptions, RelPath, Result, Usage,
};

pub use kind::KIND;
use policy::{Category, Choice, Policy};
use upstream::{Tag, Upstream};

/// The policy of each category.
#[derive(Clone, Copy, Debug)]
pub struct Policies {
    pub action: Policy,
    pub create: Policy,
    pub search: Policy,
}

/// A candidate upstream (its index) with the entry that made it one, if any.
type Candidate = (usize, Option<Entry>);

pub struct UnionBackend {
    upstreams: Vec<Upstream>,
    policies: Policies,
    min_free_space: u64,
    features: Features,
    remote: String,
    root: String,
}

impl UnionBackend {
    pub fn new(
        upstreams: Vec<Upstream>,
        policies: Policies,
        min_free_space: u64,
        remote: &str,
        root: &str,
    ) -> Self {
        let mut features = Features::shared(upstreams.iter().map(|u| u.backend.features()));
        // A listing merges every upstream's: there is no one flat listing to hand over.
        features.caps.recursive_list = false;
        features.caps.read_only = upstreams.iter().all(|u| !u.writable());
        // One put may write several upstreams: no single one's ranged write.
        features.caps.ranged_put = false;
        UnionBackend {
            upstreams,
            policies,
            min_free_space,
            features,
            remote: remote.to_owned(),
            root: root.to_owned(),
        }
    }

    /// The upstreams, in the order the option names them.
    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    fn policy(&self, category: Category) -> Policy {
        match category {
            Category::Action => self.policies.action,
            Category::Create => self.policies.create,
            Category::Search => self.policies.search,
        }
    }

    /// Whether upstream `i` may take part in `category`.
    fn allowed(&self, i: usize, category: Category) -> bool {
        match category {
            Category::Action => self.upstreams[i].writable(),
            Category::Create => self.upstreams[i].creatable(),
            Category::Search => true,
        }
    }

    fn denied(&self, path: &RelPath, category: Category) -> Error {
        let why = match category {
            Category::Create => "can't write: every upstream of union remote {} is :ro or :nc (or read only)",
            _ => "can't change it: every upstream of union remote {} holding it is :ro (or read only)",
        }
        .replace("{}", &self.remote);
        Error::new(ErrorKind::PermissionDenied, why)
            .with_path(path.as_str().to_owned())
            .retryable(false)
    }

    fn nowhere(&self, path: &RelPath) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("not found in any upstream of union remote {}", self.remote),
        )
        .with_path(path.as_str().to_owned())
    }

    /// An upstream's error, naming the upstream.
    fn named(&self, i: usize, e: Error) -> Error {
        let msg = format!("{}: {}", self.upstreams[i].remote, e.message());
        let mut out = Error::new(e.kind(), msg)
            .temporary(e.is_temporary())
            .retryable(e.is_retryable());
        if let Some(p) = e.path() {
            out = out.with_path(p.to_owned());
        }
        out
    }

    /// What each upstream has at `path`, in upstream order.
    async fn found(&self, path: &RelPath) -> Result<Vec<(usize, Entry)>> {
        let stats = join_all(self.upstreams.iter().map(|u| u.backend.stat(path))).await;
        let mut out = Vec::new();
        for (i, got) in stats.into_iter().enumerate() {
            if let Some(e) = got.map_err(|e| self.named(i, e))? {
                out.push((i, e));
            }
        }
        Ok(out)
    }

    /// The files at `path` if there are any, else the directories.
    async fn found_objects(&self, path: &RelPath) -> Result<Vec<(usize, Entry)>> {
        let found = self.found(path).await?;
        let (files, dirs): (Vec<_>, Vec<_>) = found.into_iter().partition(|(_, e)| !e.is_dir());
        Ok(if files.is_empty() { dirs } else { files })
    }

    /// The upstream the search policy reads `path` from, with its entry.
    async fn searched(&self, path: &RelPath) -> Result<Option<(usize, Entry)>> {
        let found = self.found_objects(path).await?;
        if found.is_empty() {
            return Ok(None);
        }
        let picked = self.pick_entries(Category::Search, path, &found).await?;
        Ok(picked.first().map(|&k| found[k].clone()))
    }

    /// The file at `path` as the search policy picks it: its upstream.
    async fn searched_file(&self, path: &RelPath) -> Result<usize> {
        match self.searched(path).await? {
            Some((i, e)) if !e.is_dir() => Ok(i),
            _ => Err(self.nowhere(path)),
        }
    }

    /// rclone's policy over upstreams: which upstreams `category` goes to for `path`.
    /// `NotFound` when no candidate has the path (or, creating path-preserving, its
    /// parent); `PermissionDenied` when the tags leave none.
    async fn pick_upstreams(&self, category: Category, path: &RelPath) -> Result<Vec<usize>> {
        let policy = self.policy(category);
        let allowed: Vec<usize> = (0..self.upstreams.len())
            .filter(|&i| self.allowed(i, category))
            .collect();
        if allowed.is_empty() {
            return Err(self.denied(path, category));
        }
        let candidates: Vec<Candidate> = match category {
            Category::Create if !policy.preserves_paths() => {
                allowed.into_iter().map(|i| (i, None)).collect()
            }
            Category::Create => match path.parent() {
                Some(parent) => self.existing(&allowed, &parent).await?,
                // Above the root: there for every upstream.
                None => allowed.into_iter().map(|i| (i, None)).collect(),
            },
            _ => self.existing(&allowed, path).await?,
        };
        if candidates.is_empty() {
            return Err(self.nowhere(path));
        }
        self.choose(policy.choice(category), candidates).await
    }

    /// Those of `among` where something is at `path`, with what is there.
    async fn existing(&self, among: &[usize], path: &RelPath) -> Result<Vec<Candidate>> {
        let stats = join_all(among.iter().map(|&i| self.upstreams[i].backend.stat(path))).await;
        let mut out = Vec::new();
        for (&i, got) in among.iter().zip(stats) {
            if let Some(e) = got.map_err(|e| self.named(i, e))? {
                out.push((i, Some(e)));
            }
        }
        Ok(out)
    }

    /// rclone's policy over entries already found: positions in `found` that
    /// `category` goes to.
    async fn pick_entries(
        &self,
        category: Category,
        path: &RelPath,
        found: &[(usize, Entry)],
    ) -> Result<Vec<usize>> {
        if found.is_empty() {
            return Err(self.nowhere(path));
        }
        let candidates: Vec<Candidate> = found
            .iter()
            .filter(|(i, _)| self.allowed(*i, category))
            .map(|(i, e)| (*i, Some(e.clone())))
            .collect();
        if candidates.is_empty() {
            return Err(self.denied(path, category));
        }
        let chosen = self
            .choose(self.policy(category).choice(category), candidates)
            .await?;
        Ok(chosen
            .into_iter()
            .filter_map(|i| found.iter().position(|(j, _)| *j == i))
            .collect())
    }

    /// Picks among candidates (in upstream order; ties to the earlier one).
    async fn choose(&self, choice: Choice, candidates: Vec<Candidate>) -> Result<Vec<usize>> {
        let indices = || candidates.iter().map(|(i, _)| *i);
        let one = |i: Option<usize>| i.map(|i| vec![i]);
        let chosen = match choice {
            Choice::Every => Some(indices().collect()),
            Choice::First => one(indices().next()),
            Choice::Random => {
                use rand::Rng;
                let k = rand::rng().random_range(0..candidates.len());
                Some(vec![candidates[k].0])
            }
            Choice::Newest => {
                let mut best: Option<(usize, SystemTime)> = None;
                for (i, e) in &candidates {
                    let t = e.as_ref().map_or(SystemTime::UNIX_EPOCH, |e| e.mtime);
                    if best.is_none_or(|(_, b)| t > b) {
                        best = Some((*i, t));
                    }
                }
                one(best.map(|(i, _)| i))
            }
            Choice::MostFree | Choice::LeastFree | Choice::LeastUsed | Choice::FewestObjects => {
                return self.by_usage(choice, indices().collect()).await;
            }
        };
        chosen.ok_or_else(|| Error::new(ErrorKind::NotFound, "no upstream to choose from"))
    }

    /// The choices that read each upstream's usage. An upstream that can't tell counts
    /// as rclone counts it (infinite free space, nothing used, no objects), with a notice
    /// (once per upstream: rclone repeats it for every file).
    async fn by_usage(&self, choice: Choice, among: Vec<usize>) -> Result<Vec<usize>> {
        let usages = join_all(among.iter().map(|&i| self.upstreams[i].usage())).await;
        let mut best: Option<(usize, u64)> = None;
        for (&i, usage) in among.iter().zip(usages) {
            let u = usage.unwrap_or_default();
            let (value, unknown) = match choice {
                Choice::MostFree | Choice::LeastFree => {
                    (u.free.unwrap_or(u64::MAX - 1), u.free.is_none())
                }
                Choice::LeastUsed => (u.used.unwrap_or(0), u.used.is_none()),
                _ => (u.objects.unwrap_or(0), u.objects.is_none()),
            };
            if unknown && self.upstreams[i].first_unknown_usage() {
                tracing::warn!(
                    "{}: its {} is unknown, counted as rclone counts it",
                    self.upstreams[i].remote,
                    match choice {
                        Choice::MostFree | Choice::LeastFree => "free space (infinite)",
                        Choice::LeastUsed => "used space (none)",
                        _ => "number of objects (none)",
                    }
                );
            }
            let better = match (choice, best) {
                (Choice::MostFree, None) => value > 0,
                (Choice::MostFree, Some((_, b))) => value > b,
                (Choice::LeastFree, _) if value <= self.min_free_space => false,
                (_, None) => true,
                (_, Some((_, b))) => value < b,
            };
            if better {
                best = Some((i, value));
            }
        }
        match best {
            Some((i, _)) => Ok(vec![i]),
            None if choice == Choice::LeastFree => Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "union remote {}: no upstream has more than min_free_space free",
                    self.remote
                ),
            )),
            None => Err(Error::new(
                ErrorKind::PermissionDenied,
                format!("union remote {}: no upstream has free space", self.remote),
            )),
        }
    }

    /// Where a new file at `path` goes: the create policy's upstreams, making the
    /// parent directory first where no upstream has it (as rclone's union does).
    async fn create_targets(&self, path: &RelPath) -> Result<Vec<usize>> {
        match self.pick_upstreams(Category::Create, path).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let parent = path.parent().unwrap_or_else(RelPath::root);
                self.mkdir_targets(&parent).await
            }
            other => other,
        }
    }

    /// Makes `dir` where the create policy says (its parents first where no upstream has
    /// them), and returns those upstreams.
    fn mkdir_targets<'a>(&'a self, dir: &'a RelPath) -> BoxFuture<'a, Result<Vec<usize>>> {
        Box::pin(async move {
            let targets = match self.pick_upstreams(Category::Create, dir).await {
                Err(e) if e.kind() == ErrorKind::NotFound => match dir.parent() {
                    Some(parent) => self.mkdir_targets(&parent).await?,
                    None => (0..self.upstreams.len()).collect(),
                },
                other => other?,
            };
            let made = join_all(
                targets
                    .iter()
                    .map(|&i| self.upstreams[i].backend.mkdir(dir)),
            )
            .await;
            for (&i, r) in targets.iter().zip(made) {
                r.map_err(|e| self.named(i, e))?;
            }
            if dir.is_root() {
                return self.pick_upstreams(Category::Create, dir).await;
            }
            Ok(targets)
        })
    }

    /// Writes `data` to each of `targets` (one stream read once), and returns the entry
    /// the search policy picks among what was stored.
    async fn put_to(
        &self,
        targets: &[usize],
        path: &RelPath,
        data: ByteStream,
        opts: &PutOptions,
    ) -> Result<Entry> {
        if let [i] = targets {
            return self.upstreams[*i]
                .backend
                .put(path, data, opts)
                .await
                .map_err(|e| self.named(*i, e));
        }
        let (streams, pump) = tee::tee(data, targets.len());
        let puts = join_all(
            targets
                .iter()
                .zip(streams)
                .map(|(&i, s)| self.upstreams[i].backend.put(path, s, opts)),
        );
        let (results, pumped) = tokio::join!(puts, pump);
        pumped?;
        let mut stored = Vec::new();
        for (&i, r) in targets.iter().zip(results) {
            stored.push((i, r.map_err(|e| self.named(i, e))?));
        }
        let picked = self.pick_entries(Category::Search, path, &stored).await?;
        Ok(stored[picked[0]].1.clone())
    }

    /// Runs `op` on each chosen upstream; the first error (naming its upstream) wins.
    async fn each<'a, F, Fut>(&'a self, chosen: &[usize], op: F) -> Result<()>
    where
        F: Fn(&'a Upstream) -> Fut,
        Fut: std::future::Future<Output = Result<()>> + 'a,
    {
        let done = join_all(chosen.iter().map(|&i| op(&self.upstreams[i]))).await;
        for (&i, r) in chosen.iter().zip(done) {
            r.map_err(|e| self.named(i, e))?;
        }
        Ok(())
    }

    /// The listing of `dir`: every upstream's, merged by name.
    async fn merged(&self, dir: RelPath) -> Result<Listing> {
        let listed = join_all(self.upstreams.iter().map(|u| u.backend.list_dir(&dir))).await;
        let fold = self
            .upstreams
            .iter()
            .all(|u| u.backend.features().semantics.case_insensitive);
        let mut out = Listing::new();
        let mut groups: Vec<Vec<(usize, Entry)>> = Vec::new();
        let mut by_name = std::collections::HashMap::new();
        let (mut missing, mut failed) = (0, Vec::new());
        for (i, got) in listed.into_iter().enumerate() {
            let listing = match got {
                Ok(l) => l,
                Err(e) if e.kind() == ErrorKind::DirNotFound => {
                    missing += 1;
                    continue;
                }
                Err(e) => {
                    failed.push(self.named(i, e));
                    continue;
                }
            };
            out.errors.extend(listing.errors);
            for e in listing.entries {
                let key = if fold {
                    e.name().to_lowercase()
                } else {
                    e.name().to_owned()
                };
                let at = *by_name.entry(key).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[at].push((i, e));
            }
        }
        if missing + failed.len() == self.upstreams.len() {
            return Err(failed.into_iter().next().unwrap_or_else(|| {
                Error::new(
                    ErrorKind::DirNotFound,
                    format!(
                        "directory not found in any upstream of union remote {}",
                        self.remote
                    ),
                )
                .with_path(dir.as_str().to_owned())
            }));
        }
        // An upstream that failed to list may hold what a delete would take for gone.
        out.errors.extend(failed);
        for group in groups {
            let path = group[0].1.path.clone();
            let picked = self.pick_entries(Category::Search, &path, &group).await?;
            out.entries.push(group[picked[0]].1.clone());
        }
        Ok(out)
    }

    /// With a `:writeback` upstream: a file read from another upstream is copied there
    /// first, and read from there.
    async fn written_back(&self, path: &RelPath, from: usize) -> Result<usize> {
        let Some(w) = self.upstreams.iter().position(|u| u.tag == Tag::Writeback) else {
            return Ok(from);
        };
        if w == from {
            return Ok(from);
        }
        if let Some(e) = self.upstreams[w].backend.stat(path).await? {
            if !e.is_dir() {
                return Ok(w);
            }
        }
        let src = &self.upstreams[from].backend;
        let Some(e) = src.stat(path).await? else {
            return Ok(from);
        };
        let opts = PutOptions {
            size: e.size,
            mtime: e.mtime,
            inplace: false,
            hashes: e.hashes.clone(),
            metadata: None,
        };
        let data = src.open(path, 0, None).await?;
        self.upstreams[w]
            .backend
            .put(path, data, &opts)
            .await
            .map_err(|e| self.named(w, e))?;
        Ok(w)
    }

    fn peer(src: &dyn Backend) -> Option<&UnionBackend> {
        src.as_any().downcast_ref::<UnionBackend>()
    }

    /// Our upstream on the same store as `other` (the same remote as written).
    fn same_upstream(&self, other: &Upstream) -> Option<usize> {
        self.upstreams.iter().position(|u| u.remote == other.remote)
    }
}

#[async_trait]
impl Backend for UnionBackend {
    fn features(&self) -> &Features {
        &self.features
    }

    fn location(&self) -> Location {
        let parts: Vec<String> = self
            .upstreams
            .iter()
            .map(|u| {
                let l = u.backend.location();
                format!("{}:{}", l.namespace, l.path)
            })
            .collect();
        Location {
            namespace: format!("union:{}", parts.join(" ")),
            path: format!("/{}", self.root).trim_end_matches('/').to_owned(),
        }
    }

    fn describe(&self) -> String {
        format!("union root '{}'", self.root)
    }

    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        Ok(self.searched(path).await?.map(|(_, e)| e))
    }

    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        // Merging needs every upstream's listing whole: one page.
        ferry_core::listing::one_page(self.merged(dir))
    }

    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        let i = self.searched_file(path).await?;
        let i = self.written_back(path, i).await?;
        self.upstreams[i]
            .backend
            .open(path, offset, len)
            .await
            .map_err(|e| self.named(i, e))
    }

    async fn open_entry(
        &self,
        path: &RelPath,
        offset: u64,
        len: Option<u64>,
    ) -> Result<(ByteStream, Option<Entry>)> {
        let i = self.searched_file(path).await?;
        let i = self.written_back(path, i).await?;
        self.upstreams[i]
            .backend
            .open_entry(path, offset, len)
            .await
            .map_err(|e| self.named(i, e))
    }

    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        let files: Vec<_> = self
            .found(path)
            .await?
            .into_iter()
            .filter(|(_, e)| !e.is_dir())
            .collect();
        let targets = if files.is_empty() {
            self.create_targets(path).await?
        } else {
            // An existing file is updated where the action policy says; where every copy
            // is on a read-only upstream, a new one is created (as rclone does).
            match self.pick_entries(Category::Action, path, &files).await {
                Ok(picked) => picked.into_iter().map(|k| files[k].0).collect(),
                Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                    self.create_targets(path).await?
                }
                Err(e) => return Err(e),
            }
        };
        self.put_to(&targets, path, data, opts).await
    }

    async fn copy_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
        opts: &PutOptions,
    ) -> Result<Option<Entry>> {
        let Some(peer) = Self::peer(src) else {
            return Ok(None);
        };
        let si = peer.searched_file(src_path).await?;
        let Some(di) = self.same_upstream(&peer.upstreams[si]) else {
            return Ok(None);
        };
        if !self.upstreams[di].creatable() {
            return Err(self.denied(dst_path, Category::Create));
        }
        self.upstreams[di]
            .backend
            .copy_declared(&*peer.upstreams[si].backend, src_path, dst_path, opts)
            .await
            .map_err(|e| self.named(di, e))
    }

    async fn move_from(
        &self,
        src: &dyn Backend,
        src_path: &RelPath,
        dst_path: &RelPath,
    ) -> Result<Option<Entry>> {
        let Some(peer) = Self::peer(src) else {
            return Ok(None);
        };
        let files: Vec<_> = peer
            .found(src_path)
            .await?
            .into_iter()
            .filter(|(_, e)| !e.is_dir())
            .collect();
        let picked = peer
            .pick_entries(Category::Action, src_path, &files)
            .await?;
        let mut pairs = Vec::new();
        for k in picked {
            let si = files[k].0;
            match self.same_upstream(&peer.upstreams[si]) {
                Some(di) => pairs.push((si, di)),
                None => return Ok(None),
            }
        }
        let mut moved: Vec<(usize, Entry)> = Vec::new();
        for (si, di) in pairs {
            let from = &*peer.upstreams[si].backend;
            match self.upstreams[di]
                .backend
                .move_declared(from, src_path, dst_path)
                .await
            {
                Ok(Some(e)) => moved.push((di, e)),
                Ok(None) if moved.is_empty() => return Ok(None),
                Ok(None) => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!(
                            "{}: moved on some upstreams but {} can't move it",
                            src_path.as_str(),
                            self.upstreams[di].remote
                        ),
                    ))
                }
                Err(e) => return Err(self.named(di, e)),
            }
        }
        let picked = self
            .pick_entries(Category::Search, dst_path, &moved)
            .await?;
        Ok(Some(moved[picked[0]].1.clone()))
    }

    async fn prepare_write(&self) {
        for u in self.upstreams.iter().filter(|u| u.writable()) {
            u.backend.prepare_write().await;
        }
    }

    async fn usage(&self) -> Result<Option<Usage>> {
        let all = join_all(self.upstreams.iter().map(|u| u.backend.usage())).await;
        let add = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_add(b?));
        let mut sum = Usage {
            total: Some(0),
            used: Some(0),
            free: Some(0),
            objects: Some(0),
        };
        for u in all {
            let Some(u) = u? else { return Ok(None) };
            sum = Usage {
                total: add(sum.total, u.total),
                used: add(sum.used, u.used),
                free: add(sum.free, u.free),
                objects: add(sum.objects, u.objects),
            };
        }
        Ok(Some(sum))
    }

    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let i = self.searched_file(path).await?;
        self.upstreams[i].backend.metadata(path).await
    }

    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        if !self.features.semantics.hashes.contains(kind) {
            return Ok(None);
        }
        let i = self.searched_file(path).await?;
        self.upstreams[i].backend.hash(path, kind).await
    }

    async fn hashes(&self, path: &RelPath, kinds: HashSet) -> Result<Hashes> {
        let i = self.searched_file(path).await?;
        let kinds = kinds.intersect(self.features.semantics.hashes);
        self.upstreams[i].backend.hashes(path, kinds).await
    }

    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        let found = self.found_objects(path).await?;
        let picked = self.pick_entries(Category::Action, path, &found).await?;
        let chosen: Vec<usize> = picked.into_iter().map(|k| found[k].0).collect();
        self.each(&chosen, |u| u.backend.set_modtime(path, mtime))
            .await
    }

    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        let files: Vec<_> = self
            .found(path)
            .await?
            .into_iter()
            .filter(|(_, e)| !e.is_dir())
            .collect();
        let picked = self.pick_entries(Category::Action, path, &files).await?;
        let chosen: Vec<usize> = picked.into_iter().map(|k| files[k].0).collect();
        self.each(&chosen, |u| u.backend.delete_file(path)).await
    }

    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.mkdir_targets(dir).await.map(|_| ())
    }

    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        let chosen = match self.pick_upstreams(Category::Action, dir).await {
            Err(e) if e.kind() == ErrorKind::NotFound && !self.features.semantics.empty_dirs => {
                return Ok(())
            }
            other => other?,
        };
        self.each(&chosen, |u| u.backend.rmdir(dir)).await
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests;
