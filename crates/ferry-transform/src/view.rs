//! [`Transformed`]: a backend's tree as `--name-transform` names it.
//!
//! Listing a directory gives each entry its new name and remembers its real path, so a
//! later open, hash, delete or server-side move of that shown path reaches the real one.
//! Only renamed paths are remembered; a run that renames every file holds one pair of
//! paths per file (the price of names that can't be turned back: `lowercase` forgets).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use ferry_core::{
    Backend, ByteStream, Entry, Error, ErrorKind, Features, HashKind, HashSet as Kinds, Hashes,
    ListPages, Listing, Location, Metadata, PutOptions, RelPath, Result, Usage,
};
use futures::StreamExt;

use crate::NameTransform;

/// The entry that got a new name in one directory listing.
struct Holder {
    /// Its real name.
    real: String,
    is_dir: bool,
}

/// The new names given so far in one directory listing.
type Taken = HashMap<String, Holder>;

/// `inner` seen under the names `rules` give.
pub struct Transformed {
    inner: Arc<dyn Backend>,
    rules: Arc<NameTransform>,
    /// `inner` is also the destination (`convmv`): no file may be renamed onto a name
    /// that another file of its directory leaves in the same run.
    in_place: bool,
    /// Shown path to real path, for each renamed entry listed so far.
    real: Mutex<HashMap<RelPath, RelPath>>,
}

impl Transformed {
    pub fn new(inner: Arc<dyn Backend>, rules: Arc<NameTransform>, in_place: bool) -> Self {
        Transformed {
            inner,
            rules,
            in_place,
            real: Mutex::new(HashMap::new()),
        }
    }

    /// The real path of a shown one.
    fn real(&self, shown: &RelPath) -> RelPath {
        let map = self.real.lock().expect("lock");
        map.get(shown).cloned().unwrap_or_else(|| shown.clone())
    }

    /// One directory's real listing, renamed. Whole, in place, so that names left by
    /// one file and taken by another are known before either is shown.
    async fn list_renamed(&self, shown_dir: RelPath) -> Result<Listing> {
        let real_dir = self.real(&shown_dir);
        let mut pages = self.inner.list_pages(real_dir);
        let mut out = Listing::new();
        let mut taken = HashMap::new();
        if self.in_place {
            let mut whole = Listing::new();
            while let Some(page) = pages.next().await {
                let page = page?;
                whole.entries.extend(page.entries);
                whole.errors.extend(page.errors);
            }
            self.rename(&shown_dir, whole, &mut taken, &mut out);
            return Ok(out);
        }
        while let Some(page) = pages.next().await {
            self.rename(&shown_dir, page?, &mut taken, &mut out);
        }
        Ok(out)
    }

    /// Renames `page`'s entries into `out`; `taken` holds the new names given so far in
    /// this directory.
    fn rename(&self, shown_dir: &RelPath, mut page: Listing, taken: &mut Taken, out: &mut Listing) {
        out.errors.append(&mut page.errors);
        let mut renamed: Vec<(Entry, std::result::Result<String, String>)> = page
            .entries
            .into_iter()
            .map(|e| {
                let name = self.rules.name(e.path.name(), e.is_dir());
                (e, name)
            })
            .collect();
        // Who keeps a name two entries get: a file that has it already, then a directory
        // that gets it (as rclone, the other directory of that name is passed over, not
        // an error: what is in it keeps its place), then one that has it, then a file
        // that would get it.
        let rank = |(e, n): &(Entry, std::result::Result<String, String>)| {
            let moves = n.as_deref() != Ok(e.path.name());
            match (e.is_dir(), moves) {
                (false, false) => 0,
                (true, true) => 1,
                (true, false) => 2,
                (false, true) => 3,
            }
        };
        renamed.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.0.path.cmp(&b.0.path)));
        // In place, a name some other entry gives up is not free until it has gone.
        let leaving: HashSet<&str> = renamed
            .iter()
            .filter(|(e, n)| self.in_place && n.as_deref().is_ok_and(|n| n != e.path.name()))
            .map(|(e, _)| e.path.name())
            .collect();
        let mut shown_entries = Vec::new();
        for (e, name) in &renamed {
            match self.show(shown_dir, e, name, taken, &leaving) {
                Ok(Some(shown)) => shown_entries.push(shown),
                Ok(None) => {}
                Err(err) => out.errors.push(err),
            }
        }
        out.entries.extend(shown_entries);
    }

    /// `e` under its new name, or why it can't be shown.
    fn show(
        &self,
        shown_dir: &RelPath,
        e: &Entry,
        name: &std::result::Result<String, String>,
        taken: &mut Taken,
        leaving: &HashSet<&str>,
    ) -> Result<Option<Entry>> {
        let real = &e.path;
        let fail =
            |msg: String| Error::new(ErrorKind::InvalidPath, msg).with_path(real.to_string());
        let name = name
            .as_ref()
            .map_err(|why| fail(format!("Failed to transform: {why}")))?;
        match taken.get(name) {
            Some(first) if first.is_dir && e.is_dir() => {
                tracing::warn!(
                    "{}: Duplicate directory found in source - ignoring",
                    shown_dir.join(name).map_err(|err| fail(err.message().to_owned()))?
                );
                return Ok(None);
            }
            Some(first) if first.real == *name => {
                return Err(fail(format!(
                    "--name-transform renames it to {name:?}, which another file has: left as it is, so that neither overwrites the other"
                )))
            }
            Some(first) => {
                return Err(fail(format!(
                    "--name-transform gives it the name {name:?}, as it gives {:?}: left out, so that neither overwrites the other",
                    first.real
                )))
            }
            None => {}
        }
        if name != real.name() && leaving.contains(name.as_str()) {
            return Err(fail(format!(
                "--name-transform renames it to {name:?}, a name another file leaves in this run: left as it is (run again to rename it)"
            )));
        }
        let shown = shown_dir
            .join(name)
            .map_err(|err| fail(err.message().to_owned()))?;
        taken.insert(
            name.clone(),
            Holder {
                real: real.name().to_owned(),
                is_dir: e.is_dir(),
            },
        );
        if &shown != real {
            self.real
                .lock()
                .expect("lock")
                .insert(shown.clone(), real.clone());
        }
        let mut e = e.clone();
        e.path = shown;
        Ok(Some(e))
    }
}

#[async_trait]
impl Backend for Transformed {
    fn features(&self) -> &Features {
        self.inner.features()
    }
    fn location(&self) -> Location {
        self.inner.location()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        let found = self.inner.stat(&self.real(path)).await?;
        Ok(found.map(|mut e| {
            e.path = path.clone();
            e
        }))
    }
    fn list_pages(&self, dir: RelPath) -> ListPages<'_> {
        ferry_core::listing::one_page(self.list_renamed(dir))
    }
    fn expect_tree_walk(&self) {
        self.inner.expect_tree_walk()
    }
    fn expect_hashes(&self, kind: HashKind) {
        self.inner.expect_hashes(kind)
    }
    async fn cheap_hash(&self, e: &Entry, kind: HashKind) -> Result<Option<String>> {
        let mut real = e.clone();
        real.path = self.real(&e.path);
        self.inner.cheap_hash(&real, kind).await
    }
    async fn open(&self, path: &RelPath, offset: u64, len: Option<u64>) -> Result<ByteStream> {
        self.inner.open(&self.real(path), offset, len).await
    }
    async fn open_entry(
        &self,
        path: &RelPath,
        offset: u64,
        len: Option<u64>,
    ) -> Result<(ByteStream, Option<Entry>)> {
        let (stream, seen) = self.inner.open_entry(&self.real(path), offset, len).await?;
        let seen = seen.map(|mut e| {
            e.path = path.clone();
            e
        });
        Ok((stream, seen))
    }
    async fn put(&self, path: &RelPath, data: ByteStream, opts: &PutOptions) -> Result<Entry> {
        self.inner.put(&self.real(path), data, opts).await
    }
    async fn usage(&self) -> Result<Option<Usage>> {
        self.inner.usage().await
    }
    async fn metadata(&self, path: &RelPath) -> Result<Option<Metadata>> {
        self.inner.metadata(&self.real(path)).await
    }
    async fn hash(&self, path: &RelPath, kind: HashKind) -> Result<Option<String>> {
        self.inner.hash(&self.real(path), kind).await
    }
    async fn hashes(&self, path: &RelPath, kinds: Kinds) -> Result<Hashes> {
        self.inner.hashes(&self.real(path), kinds).await
    }
    async fn set_modtime(&self, path: &RelPath, mtime: SystemTime) -> Result<()> {
        self.inner.set_modtime(&self.real(path), mtime).await
    }
    async fn delete_file(&self, path: &RelPath) -> Result<()> {
        self.inner.delete_file(&self.real(path)).await
    }
    async fn mkdir(&self, dir: &RelPath) -> Result<()> {
        self.inner.mkdir(&self.real(dir)).await
    }
    async fn rmdir(&self, dir: &RelPath) -> Result<()> {
        self.inner.rmdir(&self.real(dir)).await
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    /// The real object, so a destination of the source's kind copies or moves it on the
    /// server (in place, a rename).
    fn view_of(&self, path: &RelPath) -> Option<(&dyn Backend, RelPath)> {
        Some((&*self.inner, self.real(path)))
    }
    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        self.inner.local_path(&self.real(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::timefmt::Clock;

    fn view(dir: &std::path::Path, rules: &[&str], in_place: bool) -> Transformed {
        let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        let rules = NameTransform::parse(&rules, &Clock::at(SystemTime::now(), 0)).unwrap();
        let inner: Arc<dyn Backend> = ferry_local::LocalBackend::new(dir, Default::default());
        Transformed::new(inner, Arc::new(rules), in_place)
    }

    fn names(list: &Listing) -> Vec<&str> {
        let mut names: Vec<&str> = list.entries.iter().map(|e| e.path.as_str()).collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn shows_new_names_and_reads_the_real_files() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::fs::write(tmp.path().join("sub/a.txt"), b"data").unwrap();
        let v = view(tmp.path(), &["all,uppercase"], false);
        let root = v.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(names(&root), ["SUB"]);
        let sub = v.list_dir(&RelPath::new("SUB").unwrap()).await.unwrap();
        assert_eq!(names(&sub), ["SUB/A.TXT"]);
        let shown = RelPath::new("SUB/A.TXT").unwrap();
        let (inner, real) = v.view_of(&shown).unwrap();
        assert_eq!(real.as_str(), "sub/a.txt");
        assert!(inner.stat(&real).await.unwrap().is_some());
        assert_eq!(v.stat(&shown).await.unwrap().unwrap().path, shown);
        v.delete_file(&shown).await.unwrap();
        assert!(!tmp.path().join("sub/a.txt").exists());
    }

    #[tokio::test]
    async fn two_names_made_one_are_an_error_not_an_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("A"), b"1").unwrap();
        std::fs::write(tmp.path().join("a"), b"2").unwrap();
        let v = view(tmp.path(), &["lowercase"], false);
        let root = v.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(names(&root), ["a"]);
        assert_eq!(root.errors.len(), 1);
        assert!(
            root.errors[0]
                .to_string()
                .contains("which another file has"),
            "{}",
            root.errors[0]
        );
        assert_eq!(root.errors[0].path(), Some("A"));
    }

    #[tokio::test]
    async fn in_place_a_name_another_file_leaves_is_not_taken() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a"), b"1").unwrap();
        std::fs::write(tmp.path().join("b"), b"2").unwrap();
        // a becomes b while b becomes c: renaming a first would destroy b.
        let rules = ["replace=b:c", "replace=a:b"];
        let v = view(tmp.path(), &rules, true);
        let root = v.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(names(&root), ["c"]);
        assert_eq!(root.errors.len(), 1);
        assert_eq!(root.errors[0].path(), Some("a"));
        // Not in place (another destination), both go.
        let v = view(tmp.path(), &rules, false);
        let root = v.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(names(&root), ["b", "c"]);
    }

    #[tokio::test]
    async fn a_directory_given_a_name_another_has_is_kept_as_rclone_does() {
        let tmp = tempfile::tempdir().unwrap();
        for f in ["SUB/B.TXT", "sub/new.txt"] {
            let p = tmp.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let v = view(tmp.path(), &["all,uppercase"], true);
        let root = v.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(names(&root), ["SUB"]);
        assert!(root.errors.is_empty(), "{:?}", root.errors);
        // The one that gets the name is shown: what is in it is renamed.
        let sub = v.list_dir(&RelPath::new("SUB").unwrap()).await.unwrap();
        assert_eq!(names(&sub), ["SUB/NEW.TXT"]);
    }

    #[tokio::test]
    async fn a_name_that_fails_is_an_error_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("keep"), b"1").unwrap();
        std::fs::write(tmp.path().join("x.txt"), b"2").unwrap();
        let v = view(tmp.path(), &["trimsuffix=x.txt"], false);
        let root = v.list_dir(&RelPath::root()).await.unwrap();
        assert_eq!(names(&root), ["keep"]);
        assert!(root.errors[0]
            .to_string()
            .contains("Failed to transform: transform cannot render path segments empty"));
    }
}
