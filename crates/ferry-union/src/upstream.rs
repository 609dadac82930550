//! One upstream of a union: the remote, its tag (`:ro`, `:nc`, `:writeback`) and its
//! usage, measured at most once per `cache_time`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::{Backend, Usage};

/// What an upstream's tag allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// No tag: read, change and create.
    Plain,
    /// `:ro`: only read.
    ReadOnly,
    /// `:nc`: read and change what exists, create nothing new.
    NoCreate,
    /// `:writeback`: files read through the union are copied here first.
    Writeback,
}

/// An upstream as written in the `upstreams` option: the remote and its tag.
#[derive(Debug, PartialEq, Eq)]
pub struct Spec {
    pub remote: String,
    pub tag: Tag,
}

impl Spec {
    /// Reads the tag the way rclone does: a suffix of the path part, so a remote named
    /// `ro` or a path ending in a directory called `ro` is not mistaken for one.
    pub fn parse(written: &str) -> Spec {
        let (config, path) = split_fs(written);
        for (suffix, tag) in [
            (":ro", Tag::ReadOnly),
            (":nc", Tag::NoCreate),
            (":writeback", Tag::Writeback),
        ] {
            if let Some(p) = path.strip_suffix(suffix) {
                return Spec {
                    remote: format!("{config}{p}"),
                    tag,
                };
            }
        }
        Spec {
            remote: written.to_owned(),
            tag: Tag::Plain,
        }
    }
}

/// `remote:` (or `:backend,opts:`) and the path after it; a local path has no remote part.
fn split_fs(s: &str) -> (&str, &str) {
    if let Some(rest) = s.strip_prefix(':') {
        let mut quote = None;
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, ':') => return s.split_at(i + 2),
                _ => {}
            }
        }
        return (s, "");
    }
    match s.find(':') {
        // On Windows one letter before the colon is a drive, not a remote.
        Some(i)
            if i > 0 && !(cfg!(windows) && i == 1) && s[..i].chars().all(is_remote_name_char) =>
        {
            s.split_at(i + 1)
        }
        _ => ("", s),
    }
}

fn is_remote_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '@' | ' ')
}

/// An opened upstream.
pub struct Upstream {
    /// The remote as written, without its tag: names it in messages and recognises the
    /// same store in another union.
    pub remote: String,
    pub backend: Arc<dyn Backend>,
    pub tag: Tag,
    cache_time: Duration,
    usage: tokio::sync::Mutex<Option<(Instant, Option<Usage>)>>,
    unknown_noted: AtomicBool,
}

impl Upstream {
    pub fn new(spec: Spec, backend: Arc<dyn Backend>, cache_time: Duration) -> Upstream {
        Upstream {
            remote: spec.remote,
            backend,
            tag: spec.tag,
            cache_time,
            usage: tokio::sync::Mutex::new(None),
            unknown_noted: AtomicBool::new(false),
        }
    }

    /// Whether what exists here may be changed or removed.
    pub fn writable(&self) -> bool {
        self.tag != Tag::ReadOnly && !self.backend.features().caps.read_only
    }

    /// Whether something new may be written here.
    pub fn creatable(&self) -> bool {
        self.writable() && self.tag != Tag::NoCreate
    }

    /// True the first time it is asked: a policy notes an unknown usage once.
    pub fn first_unknown_usage(&self) -> bool {
        !self.unknown_noted.swap(true, Ordering::Relaxed)
    }

    /// The store's usage, measured again once `cache_time` has passed; `None` where the
    /// backend can't tell (or failed to: a notice says so).
    pub async fn usage(&self) -> Option<Usage> {
        let mut cached = self.usage.lock().await;
        if let Some((at, usage)) = *cached {
            if at.elapsed() < self.cache_time {
                return usage;
            }
        }
        let usage = match self.backend.usage().await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!("{}: can't read its free space: {e}", self.remote);
                None
            }
        };
        *cached = Some((Instant::now(), usage));
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> (String, Tag) {
        let s = Spec::parse(s);
        (s.remote, s.tag)
    }

    #[test]
    fn tags_are_suffixes_of_the_path() {
        assert_eq!(spec("/a:ro"), ("/a".into(), Tag::ReadOnly));
        assert_eq!(spec("r:dir:nc"), ("r:dir".into(), Tag::NoCreate));
        assert_eq!(spec("r::writeback"), ("r:".into(), Tag::Writeback));
        assert_eq!(spec("r:ro"), ("r:ro".into(), Tag::Plain));
        assert_eq!(spec("ro:"), ("ro:".into(), Tag::Plain));
        assert_eq!(
            spec(":s3,endpoint='http://h:9000':bucket:ro"),
            (":s3,endpoint='http://h:9000':bucket".into(), Tag::ReadOnly)
        );
        assert_eq!(spec("C:\\x:ro"), ("C:\\x".into(), Tag::ReadOnly));
    }
}
