//! rclone's union policies: which upstreams an operation goes to. Each policy is a
//! scope (which upstreams are candidates) and a choice among them, per category:
//!
//! - **action** (change or remove what exists): writable upstreams where the path
//!   exists;
//! - **create** (write something new): upstreams that may create, all of them or, for
//!   the path-preserving `ep*` policies and `newest`, those where the parent exists;
//! - **search** (read): upstreams where the path exists.
//!
//! The choice is every candidate (`all`, `epall` for action and create), the first
//! (`ff`, `epff`, and `all`/`epall` for search), the one with the most or least free
//! space, the least used space, the fewest objects, the newest entry, or a random one.
//! Ties go to the earlier upstream in the `upstreams` list, as in rclone.

/// A policy by its rclone name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    All,
    EpAll,
    EpFf,
    EpLfs,
    EpLno,
    EpLus,
    EpMfs,
    EpRand,
    Ff,
    Lfs,
    Lno,
    Lus,
    Mfs,
    Newest,
    Rand,
}

/// How a policy picks among its candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Every candidate.
    Every,
    /// The first, in the order of the `upstreams` option.
    First,
    /// Most free space.
    MostFree,
    /// Least free space above `min_free_space`.
    LeastFree,
    /// Least used space.
    LeastUsed,
    /// Fewest objects.
    FewestObjects,
    /// The newest modification time.
    Newest,
    /// One at random.
    Random,
}

/// The three categories an operation falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Action,
    Create,
    Search,
}

const NAMES: &[(&str, Policy)] = &[
    ("all", Policy::All),
    ("epall", Policy::EpAll),
    ("epff", Policy::EpFf),
    ("eplfs", Policy::EpLfs),
    ("eplno", Policy::EpLno),
    ("eplus", Policy::EpLus),
    ("epmfs", Policy::EpMfs),
    ("eprand", Policy::EpRand),
    ("ff", Policy::Ff),
    ("lfs", Policy::Lfs),
    ("lno", Policy::Lno),
    ("lus", Policy::Lus),
    ("mfs", Policy::Mfs),
    ("newest", Policy::Newest),
    ("rand", Policy::Rand),
];

impl Policy {
    /// The policy called `name` (any case), as rclone names them.
    pub fn parse(name: &str) -> Option<Policy> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, p)| *p)
    }

    /// Every policy's name, for messages.
    pub fn names() -> String {
        NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    }

    /// Whether creating needs the parent directory to exist on the upstream already.
    pub fn preserves_paths(self) -> bool {
        use Policy::*;
        matches!(
            self,
            EpAll | EpFf | EpLfs | EpLno | EpLus | EpMfs | EpRand | Newest
        )
    }

    /// How this policy picks in `category`.
    pub fn choice(self, category: Category) -> Choice {
        use Policy::*;
        match self {
            All | EpAll if category == Category::Search => Choice::First,
            All | EpAll => Choice::Every,
            Ff | EpFf => Choice::First,
            Mfs | EpMfs => Choice::MostFree,
            Lfs | EpLfs => Choice::LeastFree,
            Lus | EpLus => Choice::LeastUsed,
            Lno | EpLno => Choice::FewestObjects,
            Newest => Choice::Newest,
            Rand | EpRand => Choice::Random,
        }
    }

    /// Whether the choice reads the upstreams' usage (`about`).
    pub fn reads_usage(self) -> bool {
        [Category::Action, Category::Create, Category::Search]
            .into_iter()
            .any(|c| {
                matches!(
                    self.choice(c),
                    Choice::MostFree
                        | Choice::LeastFree
                        | Choice::LeastUsed
                        | Choice::FewestObjects
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rclone_policy_parses_and_nothing_else() {
        for name in Policy::names().split(", ") {
            assert!(Policy::parse(name).is_some(), "{name}");
            assert!(Policy::parse(&name.to_uppercase()).is_some(), "{name}");
        }
        assert_eq!(Policy::names().split(", ").count(), 15);
        assert_eq!(Policy::parse("mru"), None);
    }

    #[test]
    fn categories_pick_as_rclone_does() {
        assert_eq!(Policy::EpAll.choice(Category::Action), Choice::Every);
        assert_eq!(Policy::EpAll.choice(Category::Search), Choice::First);
        assert_eq!(Policy::EpMfs.choice(Category::Create), Choice::MostFree);
        assert!(Policy::EpMfs.preserves_paths() && !Policy::Mfs.preserves_paths());
        assert!(Policy::Newest.preserves_paths());
        assert!(!Policy::Ff.reads_usage() && Policy::Lno.reads_usage());
    }
}
