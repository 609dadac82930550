//! Where a path lives on the server: its share (the first segment below the server, as
//! rclone reads `smb:share/dir/file`) and its path inside the share, in SMB's form
//! (`\`-separated, no leading separator; `""` is the share's root).

/// A path on the server, already encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// `""`: the server itself (its listing is the shares).
    pub share: String,
    /// Inside the share, `\`-separated; `""`: the share's root.
    pub path: String,
}

impl Place {
    /// Splits a `/`-separated stored path (root and relative path joined).
    pub fn of(stored: &str) -> Place {
        let stored = stored.trim_matches('/');
        let (share, rest) = stored.split_once('/').unwrap_or((stored, ""));
        Place {
            share: share.to_owned(),
            path: rest.replace('/', "\\"),
        }
    }

    /// The server or a share's root: neither can be made, removed or written.
    pub fn is_top(&self) -> bool {
        self.path.is_empty()
    }

    /// The parent directory inside the share (`""`: the share's root).
    pub fn parent(&self) -> &str {
        self.path.rsplit_once('\\').map_or("", |(p, _)| p)
    }

    /// A sibling in the same directory, named `name` (stored form).
    pub fn sibling(&self, name: &str) -> Place {
        let path = match self.parent() {
            "" => name.to_owned(),
            p => format!("{p}\\{name}"),
        };
        Place {
            share: self.share.clone(),
            path,
        }
    }
}

/// The root as rclone joins it with every path (Go's `path.Join`, leading and trailing
/// slashes trimmed): empty and `.` segments dropped, `..` taking the segment before it.
pub fn clean_root(root: &str) -> String {
    let mut segs: Vec<&str> = Vec::new();
    for seg in root.split('/') {
        match seg {
            "" | "." => {}
            ".." => drop(segs.pop()),
            seg => segs.push(seg),
        }
    }
    segs.join("/")
}

/// `root` and `rel` (both stored, `/`-separated) joined.
pub fn join(root: &str, rel: &str) -> String {
    match (root, rel) {
        ("", rel) => rel.to_owned(),
        (root, "") => root.to_owned(),
        (root, rel) => format!("{root}/{rel}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_the_first_segment() {
        let p = Place::of("share/dir/file");
        assert_eq!((p.share.as_str(), p.path.as_str()), ("share", "dir\\file"));
        assert_eq!(p.parent(), "dir");
        assert_eq!(p.sibling("x").path, "dir\\x");
        let p = Place::of("share");
        assert!(p.is_top() && p.share == "share");
        assert_eq!(Place::of("").share, "");
        assert_eq!(Place::of("s/f").sibling("t").path, "t");
        assert_eq!(clean_root("/a//b/./c/../d/"), "a/b/d");
        assert_eq!(clean_root("../a"), "a");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("", "b"), "b");
        assert_eq!(join("a", "b/c"), "a/b/c");
    }
}
