//! Change detection and planning: what changed on each side since the saved listings,
//! and what to do about it (rclone's decision table), as groups of journaled steps.

use std::collections::{BTreeMap, BTreeSet};

use ferry_core::Result;
use serde::Serialize;

use crate::ctx::{Cmp, Ctx};
use crate::journal::{Group, Op, Plan, Post, Step};
use crate::listing::{is_unknown, Listing};
use crate::names::suffix_name;
use crate::types::{Loser, Prefer, Rec, Side};

/// How one side changed since the last run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Unchanged,
    New,
    Changed,
    Deleted,
    /// Neither in the saved listing nor now.
    Absent,
}

impl Change {
    fn is_other(self) -> bool {
        matches!(self, Change::New | Change::Changed)
    }
    fn quiet(self) -> bool {
        matches!(self, Change::Unchanged | Change::Absent)
    }
}

/// One decision, for the log and `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub path: String,
    pub path1: Change,
    pub path2: Change,
    pub action: String,
    pub reason: String,
    /// `planned`, `done`, `failed`, `skipped`, `dry-run`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub group: Option<usize>,
}

/// The outcome of planning a normal run.
#[derive(Default)]
pub struct Planned {
    pub plan: Plan,
    pub decisions: Vec<Decision>,
    /// The listings to save for every key no group settles (groups are applied when done).
    pub next1: Listing,
    pub next2: Listing,
    /// Errors that leave a path alone this run (e.g. a file on one side, a directory on the other).
    pub errors: Vec<String>,
}

/// What the deltas say about the safety checks.
pub struct Counts {
    pub old1: usize,
    pub old2: usize,
    pub deleted1: usize,
    pub deleted2: usize,
    pub same1: bool,
    pub same2: bool,
    pub changes1: usize,
    pub changes2: usize,
}

pub struct Inputs<'a> {
    /// The saved listings, all of them (entries the filters exclude are carried over).
    pub saved1: &'a Listing,
    pub saved2: &'a Listing,
    /// The saved listings limited to what the filters select now.
    pub prior1: &'a Listing,
    pub prior2: &'a Listing,
    pub now1: &'a Listing,
    pub now2: &'a Listing,
    /// Keys to leave alone on both sides this run (unreadable, or present but not listed).
    pub unknown: &'a BTreeSet<String>,
}

/// A file's change on one side, with rclone's details (newer, larger, ...).
pub fn delta(
    ctx: &Ctx,
    side: Side,
    old: Option<&Rec>,
    now: Option<&Rec>,
) -> (Change, Vec<&'static str>) {
    match (old, now) {
        (None, None) => (Change::Absent, vec![]),
        (None, Some(_)) => (Change::New, vec![]),
        (Some(_), None) => (Change::Deleted, vec![]),
        (Some(o), Some(n)) => {
            if o.dir != n.dir {
                return (Change::Changed, vec!["type"]);
            }
            if o.dir {
                return (Change::Unchanged, vec![]);
            }
            let mut what = Vec::new();
            if ctx.compare.size && o.size != n.size {
                what.push(if n.size > o.size {
                    "size (larger)"
                } else {
                    "size (smaller)"
                });
            }
            if ctx.compare.modtime && Ctx::times_differ(o.mtime, n.mtime, ctx.window(side)) {
                what.push(if n.mtime > o.mtime {
                    "time (newer)"
                } else {
                    "time (older)"
                });
            }
            if ctx.compare.checksum {
                if let (Some(a), Some(b)) = (&o.hash, &n.hash) {
                    if a != b {
                        what.push("hash");
                    }
                }
            }
            if what.is_empty() {
                (Change::Unchanged, what)
            } else {
                (Change::Changed, what)
            }
        }
    }
}

pub fn counts(ctx: &Ctx, inp: &Inputs<'_>) -> Counts {
    let side = |side: Side, prior: &Listing, now: &Listing| {
        let (mut deleted, mut same, mut changes) = (0, false, 0);
        for (k, o) in prior {
            if is_unknown(inp.unknown, k) {
                continue;
            }
            match delta(ctx, side, Some(o), now.get(k)).0 {
                Change::Deleted => {
                    deleted += 1;
                    changes += 1;
                }
                Change::Unchanged => same = true,
                _ => changes += 1,
            }
        }
        changes += now
            .keys()
            .filter(|k| !prior.contains_key(*k) && !is_unknown(inp.unknown, k))
            .count();
        (deleted, same, changes)
    };
    let (deleted1, same1, changes1) = side(Side::One, inp.prior1, inp.now1);
    let (deleted2, same2, changes2) = side(Side::Two, inp.prior2, inp.now2);
    let known = |l: &Listing| l.keys().filter(|k| !is_unknown(inp.unknown, k)).count();
    Counts {
        old1: known(inp.prior1),
        old2: known(inp.prior2),
        deleted1,
        deleted2,
        same1,
        same2,
        changes1,
        changes2,
    }
}

struct Builder<'a> {
    ctx: &'a Ctx,
    inp: &'a Inputs<'a>,
    out: Planned,
    /// Conflict names taken by this plan.
    reserved: BTreeSet<String>,
}

impl Builder<'_> {
    fn group(&mut self, key: &str, post: Vec<Post>, steps: Vec<(u8, Op)>, decision: Decision) {
        let g = self.out.plan.groups.len();
        self.out.plan.groups.push(Group {
            key: key.to_owned(),
            post,
        });
        for (phase, op) in steps {
            self.out.plan.steps.push(Step {
                group: g,
                phase,
                op,
            });
        }
        self.out.decisions.push(Decision {
            group: Some(g),
            ..decision
        });
    }

    /// A decision that needs no step: nothing to do, or left alone.
    fn note(&mut self, decision: Decision) {
        let result = if decision.action == "none" && decision.result == "planned" {
            "ok"
        } else {
            decision.result.as_str()
        };
        self.out.decisions.push(Decision {
            result: result.to_owned(),
            ..decision
        });
    }

    fn set_now(&mut self, key: &str) {
        set(&mut self.out.next1, key, self.inp.now1.get(key).cloned());
        set(&mut self.out.next2, key, self.inp.now2.get(key).cloned());
    }

    /// Copy (or, for a directory, create) `key` from `from` to the other side.
    fn copy(&mut self, key: &str, from: Side, d: Decision) {
        self.copy_as(key, from, d, self.ctx.opts.fix_case);
    }

    /// As [`Builder::copy`]; with `fix_case` a file the other side holds under a name that
    /// differs only in case is renamed to the copied name first.
    fn copy_as(&mut self, key: &str, from: Side, d: Decision, fix_case: bool) {
        let (src, dst) = match from {
            Side::One => (self.inp.now1.get(key), self.inp.now2.get(key)),
            Side::Two => (self.inp.now2.get(key), self.inp.now1.get(key)),
        };
        let Some(src) = src.cloned() else { return };
        // A file keeps the name it has on the other side, unless --fix-case gives it the
        // copied one (the copy then renames it first).
        let dst_path = match dst {
            Some(d) if !fix_case || src.dir => d.path.clone(),
            _ => src.path.clone(),
        };
        let expected = self.ctx.expected_copy(from, &src, &dst_path);
        let op = if src.dir {
            (
                1,
                Op::Mkdir {
                    side: from.other(),
                    key: key.to_owned(),
                    dir: expected.clone(),
                },
            )
        } else {
            (
                1,
                Op::Copy {
                    from,
                    key: key.to_owned(),
                    src: src.clone(),
                    dst_path,
                    dst_before: dst.cloned(),
                },
            )
        };
        let post = post_for(key, from, Some(src), Some(expected));
        self.group(key, vec![post], vec![op], d);
    }

    /// Delete `key` on `side` (it was deleted on the other side).
    fn delete(&mut self, key: &str, side: Side, d: Decision) {
        let now = match side {
            Side::One => self.inp.now1.get(key),
            Side::Two => self.inp.now2.get(key),
        };
        let Some(before) = now.cloned() else { return };
        let op = if before.dir {
            (
                3,
                Op::Rmdir {
                    side,
                    key: key.to_owned(),
                    before,
                },
            )
        } else {
            (
                2,
                Op::Delete {
                    side,
                    key: key.to_owned(),
                    before,
                },
            )
        };
        let post = Post {
            key: key.to_owned(),
            one: None,
            two: None,
        };
        self.group(key, vec![post], vec![op], d);
    }

    fn taken(&self, key: &str) -> bool {
        self.inp.now1.contains_key(key)
            || self.inp.now2.contains_key(key)
            || self.reserved.contains(key)
    }

    /// rclone's numbering: the lowest number whose names are free on both sides.
    fn numerate(&self, start: u64, p1: &str, p2: &str, suffixes: &[&str]) -> u64 {
        let keep = self.ctx.opts.suffix_keep_extension;
        (start..)
            .find(|i| {
                suffixes.iter().all(|s| {
                    [p1, p2].iter().all(|p| {
                        !self.taken(&self.ctx.key(&suffix_name(p, &format!("{s}{i}"), keep)))
                    })
                })
            })
            .unwrap_or(start)
    }

    fn conflict(&mut self, key: &str, n1: &Rec, n2: &Rec, mut d: Decision) {
        let ctx = self.ctx;
        let opts = &ctx.opts;
        let winner = conflict_winner(ctx, opts.conflict_resolve, n1, n2);
        let keep = opts.suffix_keep_extension;
        let (s1, s2) = (ctx.suffix1.clone(), ctx.suffix2.clone());
        let (p1, p2) = (n1.path.clone(), n2.path.clone());
        d.reason = match winner {
            Some(w) => format!(
                "{}; the winner is {} (--conflict-resolve {})",
                d.reason,
                w.name(),
                opts.conflict_resolve.as_str()
            ),
            None if opts.conflict_resolve != Prefer::None => {
                format!("{}; a winner could not be determined", d.reason)
            }
            None => d.reason,
        };
        tracing::warn!("- WARNING  New or changed in both paths        - {key}");
        if let (Loser::Delete, Some(w)) = (opts.conflict_loser, winner) {
            let l = w.other();
            let (wr, lr) = if w == Side::One { (n1, n2) } else { (n2, n1) };
            let expected = ctx.expected_copy(w, wr, &lr.path);
            let steps = vec![
                (
                    0,
                    Op::Delete {
                        side: l,
                        key: key.to_owned(),
                        before: lr.clone(),
                    },
                ),
                (
                    1,
                    Op::Copy {
                        from: w,
                        key: key.to_owned(),
                        src: wr.clone(),
                        dst_path: lr.path.clone(),
                        dst_before: None,
                    },
                ),
            ];
            d.action = format!(
                "conflict: delete the loser on {}, copy {} to {}",
                l.name(),
                w.name(),
                l.name()
            );
            let post = post_for(key, w, Some(wr.clone()), Some(expected));
            self.group(key, vec![post], steps, d);
            return;
        }
        // New names for each side's version (unchanged for a winner).
        let (mut new1, mut new2) = (p1.clone(), p2.clone());
        match opts.conflict_loser {
            Loser::Pathname => {
                let (a, b) = if s1 == s2 {
                    (format!("{s1}1"), format!("{s2}2"))
                } else {
                    (s1.clone(), s2.clone())
                };
                if winner != Some(Side::One) {
                    new1 = suffix_name(&p1, &a, keep);
                }
                if winner != Some(Side::Two) {
                    new2 = suffix_name(&p2, &b, keep);
                }
                // Never clobber a file another decision handles: number instead.
                if new1 != p1 && self.taken(&ctx.key(&new1)) {
                    let n = self.numerate(1, &p1, &p2, &[&a]);
                    new1 = suffix_name(&p1, &format!("{a}{n}"), keep);
                }
                if new2 != p2 && self.taken(&ctx.key(&new2)) {
                    let n = self.numerate(1, &p1, &p2, &[&b]);
                    new2 = suffix_name(&p2, &format!("{b}{n}"), keep);
                }
            }
            Loser::Num | Loser::Delete => {
                let num = self.numerate(1, &p1, &p2, &[&s1, &s2]);
                match winner {
                    Some(Side::One) => new2 = suffix_name(&p2, &format!("{s2}{num}"), keep),
                    Some(Side::Two) => new1 = suffix_name(&p1, &format!("{s1}{num}"), keep),
                    None if s1 == s2 => {
                        new1 = suffix_name(&p1, &format!("{s1}{num}"), keep);
                        self.reserved.insert(ctx.key(&new1));
                        let num2 = self.numerate(num + 1, &p1, &p2, &[&s1, &s2]);
                        new2 = suffix_name(&p2, &format!("{s2}{num2}"), keep);
                    }
                    None => {
                        let a = self.numerate(1, &p1, &p2, &[&s1]);
                        let b = self.numerate(1, &p1, &p2, &[&s2]);
                        new1 = suffix_name(&p1, &format!("{s1}{a}"), keep);
                        new2 = suffix_name(&p2, &format!("{s2}{b}"), keep);
                    }
                }
            }
        }
        let (k1, k2) = (ctx.key(&new1), ctx.key(&new2));
        self.reserved.insert(k1.clone());
        self.reserved.insert(k2.clone());
        let mut steps = Vec::new();
        let mut posts: BTreeMap<String, Post> = BTreeMap::new();
        let mut actions = Vec::new();
        for (side, rec, new, nk) in [(Side::One, n1, &new1, &k1), (Side::Two, n2, &new2, &k2)] {
            let renamed = rec.with_path(new);
            let other = side.other();
            let now_side = if side == Side::One {
                self.inp.now1
            } else {
                self.inp.now2
            };
            let now_other = if other == Side::One {
                self.inp.now1
            } else {
                self.inp.now2
            };
            if *new != rec.path {
                steps.push((
                    0,
                    Op::Rename {
                        side,
                        from_key: key.to_owned(),
                        to_key: nk.clone(),
                        entry: rec.clone(),
                        to_path: new.clone(),
                        to_before: if *nk == key {
                            None
                        } else {
                            now_side.get(nk).cloned()
                        },
                    },
                ));
                actions.push(format!("rename {} copy to {}", side.name(), new));
            }
            // The other side's version of `key` is renamed away (or deleted), so a
            // winner's copy lands on a free name.
            let dst_before = if *nk == key {
                None
            } else {
                now_other.get(nk).cloned()
            };
            let dst_path = dst_before.as_ref().map_or(new.clone(), |r| r.path.clone());
            let expected = ctx.expected_copy(side, &renamed, &dst_path);
            steps.push((
                1,
                Op::Copy {
                    from: side,
                    key: nk.clone(),
                    src: renamed.clone(),
                    dst_path,
                    dst_before,
                },
            ));
            actions.push(format!("copy {} to {}", new, other.name()));
            let post = post_for(nk, side, Some(renamed), Some(expected));
            posts.insert(nk.clone(), post);
        }
        posts.entry(key.to_owned()).or_insert(Post {
            key: key.to_owned(),
            one: None,
            two: None,
        });
        d.action = format!("conflict: {}", actions.join(", "));
        self.group(key, posts.into_values().collect(), steps, d);
    }
}

fn post_for(key: &str, from: Side, src: Option<Rec>, copy: Option<Rec>) -> Post {
    let (one, two) = match from {
        Side::One => (src, copy),
        Side::Two => (copy, src),
    };
    Post {
        key: key.to_owned(),
        one,
        two,
    }
}

pub fn set(l: &mut Listing, key: &str, rec: Option<Rec>) {
    match rec {
        Some(r) => {
            l.insert(key.to_owned(), r);
        }
        None => {
            l.remove(key);
        }
    }
}

/// The winning side of a conflict under `--conflict-resolve`, if one can be determined.
pub fn conflict_winner(ctx: &Ctx, prefer: Prefer, n1: &Rec, n2: &Rec) -> Option<Side> {
    match prefer {
        Prefer::None => None,
        Prefer::Path1 => Some(Side::One),
        Prefer::Path2 => Some(Side::Two),
        Prefer::Newer | Prefer::Older => {
            if ctx.window_x.is_none() || n1.mtime == n2.mtime {
                return None;
            }
            let one_newer = n1.mtime > n2.mtime;
            Some(if one_newer == (prefer == Prefer::Newer) {
                Side::One
            } else {
                Side::Two
            })
        }
        Prefer::Larger | Prefer::Smaller => {
            if n1.size == n2.size {
                return None;
            }
            let one_larger = n1.size > n2.size;
            Some(if one_larger == (prefer == Prefer::Larger) {
                Side::One
            } else {
                Side::Two
            })
        }
    }
}

fn describe(side: Side, c: Change, what: &[&str]) -> String {
    let s = side.name();
    match c {
        Change::New => format!("new on {s}"),
        Change::Changed => format!("changed on {s} ({})", what.join(", ")),
        Change::Deleted => format!("deleted on {s}"),
        Change::Unchanged => format!("unchanged on {s}"),
        Change::Absent => format!("absent on {s}"),
    }
}

fn decision(key: &str, c1: Change, c2: Change, action: &str, reason: String) -> Decision {
    Decision {
        path: key.to_owned(),
        path1: c1,
        path2: c2,
        action: action.to_owned(),
        reason,
        result: "planned".into(),
        error: None,
        group: None,
    }
}

/// `--fix-case`: identical files whose names differ (only in case, or in Unicode form)
/// take Path1's name, as rclone deems Path1's the correct one.
fn names_to_fix(ctx: &Ctx, a: &Rec, b: &Rec) -> bool {
    ctx.opts.fix_case && !a.dir && a.path != b.path
}

/// Plans a normal run.
pub async fn plan(ctx: &Ctx, inp: &Inputs<'_>) -> Result<Planned> {
    let mut b = Builder {
        ctx,
        inp,
        out: Planned {
            next1: inp.saved1.clone(),
            next2: inp.saved2.clone(),
            ..Default::default()
        },
        reserved: BTreeSet::new(),
    };
    let keys: BTreeSet<&String> = inp
        .prior1
        .keys()
        .chain(inp.prior2.keys())
        .chain(inp.now1.keys())
        .chain(inp.now2.keys())
        .collect();
    for key in keys {
        let key = key.as_str();
        let (o1, n1) = (inp.prior1.get(key), inp.now1.get(key));
        let (o2, n2) = (inp.prior2.get(key), inp.now2.get(key));
        let (c1, w1) = delta(ctx, Side::One, o1, n1);
        let (c2, w2) = delta(ctx, Side::Two, o2, n2);
        if is_unknown(inp.unknown, key) {
            if !(c1.quiet() && c2.quiet()) {
                let mut d = decision(
                    key,
                    c1,
                    c2,
                    "none",
                    "left alone this run: it could not be read or listed on one side".into(),
                );
                d.result = "skipped".into();
                b.note(d);
            }
            continue;
        }
        if let (Some(a), Some(b2)) = (n1, n2) {
            if a.dir != b2.dir {
                let msg = format!(
                    "{key}: is a file on one side and a directory on the other; remove one of them to sync this path"
                );
                tracing::error!("{msg}");
                b.out.errors.push(msg.clone());
                let mut d = decision(key, c1, c2, "none", msg);
                d.result = "failed".into();
                b.note(d);
                continue;
            }
        }
        for (side, c, what) in [(Side::One, c1, &w1), (Side::Two, c2, &w2)] {
            // The side's own name for it (keys may be case-folded or normalised).
            let (now, prior) = match side {
                Side::One => (inp.now1, inp.prior1),
                Side::Two => (inp.now2, inp.prior2),
            };
            let key = now
                .get(key)
                .or_else(|| prior.get(key))
                .map_or(key, |r| r.path.as_str());
            match c {
                Change::New => tracing::info!(
                    "- {:<8} File is new                         - {key}",
                    side.name()
                ),
                Change::Changed => tracing::info!(
                    "- {:<8} File changed: {:<22}- {key}",
                    side.name(),
                    what.join(", ")
                ),
                Change::Deleted => {
                    tracing::info!(
                        "- {:<8} File was deleted                    - {key}",
                        side.name()
                    )
                }
                _ => {}
            }
        }
        let r1 = describe(Side::One, c1, &w1);
        let r2 = describe(Side::Two, c2, &w2);
        let both = format!("{r1}, {r2}");
        match (c1, c2) {
            (a, b2) if a.quiet() && b2.quiet() => b.set_now(key),
            (a, b2) if a.is_other() && b2.quiet() => {
                b.copy(key, Side::One, decision(key, c1, c2, "copy to Path2", both))
            }
            (a, Change::Deleted) if a.is_other() => b.copy(
                key,
                Side::One,
                decision(
                    key,
                    c1,
                    c2,
                    "copy to Path2",
                    format!("{both}: Path1's version survives"),
                ),
            ),
            (a, b2) if a.quiet() && b2.is_other() => {
                b.copy(key, Side::Two, decision(key, c1, c2, "copy to Path1", both))
            }
            (Change::Deleted, b2) if b2.is_other() => b.copy(
                key,
                Side::Two,
                decision(
                    key,
                    c1,
                    c2,
                    "copy to Path1",
                    format!("{both}: Path2's version survives"),
                ),
            ),
            (Change::Deleted, Change::Unchanged) => b.delete(
                key,
                Side::Two,
                decision(key, c1, c2, "delete on Path2", both),
            ),
            (Change::Unchanged, Change::Deleted) => b.delete(
                key,
                Side::One,
                decision(key, c1, c2, "delete on Path1", both),
            ),
            (Change::Deleted, _) | (_, Change::Deleted) => {
                b.set_now(key);
                b.note(decision(
                    key,
                    c1,
                    c2,
                    "none",
                    format!("{both}: nothing to do"),
                ));
            }
            _ => {
                // New or changed on both sides.
                let (Some(a), Some(b2)) = (n1, n2) else {
                    continue;
                };
                if a.dir && b2.dir {
                    b.set_now(key);
                    continue;
                }
                if ctx.equal_for_conflict(a, b2).await? {
                    if names_to_fix(ctx, a, b2) {
                        let reason = format!(
                            "Files are equal but will copy anyway to fix case to {}",
                            a.path
                        );
                        tracing::info!("{}: {reason}", b2.path);
                        b.copy(
                            key,
                            Side::One,
                            decision(key, c1, c2, "copy to Path2", reason),
                        );
                    } else if ctx.compare.modtime
                        && Ctx::times_differ(a.mtime, b2.mtime, ctx.window_x)
                    {
                        let (newer, older) = if a.mtime > b2.mtime {
                            (Side::One, Side::Two)
                        } else {
                            (Side::Two, Side::One)
                        };
                        let (nr, or) = if newer == Side::One { (a, b2) } else { (b2, a) };
                        let op = Op::Touch {
                            side: older,
                            key: key.to_owned(),
                            before: or.clone(),
                            mtime: nr.mtime,
                        };
                        let touched = Rec {
                            mtime: nr.mtime,
                            ..or.clone()
                        };
                        let post = post_for(key, newer, Some(nr.clone()), Some(touched));
                        let d = decision(
                            key,
                            c1,
                            c2,
                            &format!("set modification time on {}", older.name()),
                            format!("{both}: identical content; {} is newer", newer.name()),
                        );
                        b.group(key, vec![post], vec![(1, op)], d);
                    } else {
                        b.set_now(key);
                        b.note(decision(
                            key,
                            c1,
                            c2,
                            "none",
                            format!("{both}: files are identical"),
                        ));
                    }
                    continue;
                }
                let d = decision(key, c1, c2, "conflict", format!("{both}: files differ"));
                let (a, b2) = (a.clone(), b2.clone());
                b.conflict(key, &a, &b2, d);
            }
        }
    }
    real_paths(&mut b.out.decisions, inp);
    Ok(b.out)
}

/// Reports decisions by real path (keys may be normalised or case-folded).
fn real_paths(decisions: &mut [Decision], inp: &Inputs<'_>) {
    for d in decisions {
        let found = [inp.now1, inp.now2, inp.prior1, inp.prior2]
            .iter()
            .find_map(|l| l.get(&d.path).map(|r| r.path.clone()));
        if let Some(p) = found {
            d.path = p;
        }
    }
}

/// Plans a `--resync`: copy what only one side has, and settle files that differ by
/// `mode` (path1, path2, newer, older, larger, smaller); nothing is deleted.
pub async fn plan_resync(ctx: &Ctx, mode: Prefer, inp: &Inputs<'_>) -> Result<Planned> {
    let mut b = Builder {
        ctx,
        inp,
        out: Planned {
            next1: inp.saved1.clone(),
            next2: inp.saved2.clone(),
            ..Default::default()
        },
        reserved: BTreeSet::new(),
    };
    let keys: BTreeSet<&String> = inp.now1.keys().chain(inp.now2.keys()).collect();
    for key in keys {
        let key = key.as_str();
        if is_unknown(inp.unknown, key) {
            continue;
        }
        let (n1, n2) = (inp.now1.get(key), inp.now2.get(key));
        let c1 = if n1.is_some() {
            Change::New
        } else {
            Change::Absent
        };
        let c2 = if n2.is_some() {
            Change::New
        } else {
            Change::Absent
        };
        match (n1, n2) {
            (Some(_), None) => b.copy(
                key,
                Side::One,
                decision(key, c1, c2, "copy to Path2", "resync: only on Path1".into()),
            ),
            (None, Some(_)) => b.copy(
                key,
                Side::Two,
                decision(key, c1, c2, "copy to Path1", "resync: only on Path2".into()),
            ),
            (Some(a), Some(b2)) => {
                if a.dir != b2.dir {
                    let msg = format!(
                        "{key}: is a file on one side and a directory on the other; remove one of them to sync this path"
                    );
                    tracing::error!("{msg}");
                    b.out.errors.push(msg);
                    continue;
                }
                if a.dir {
                    b.set_now(key);
                    continue;
                }
                let winner = resync_winner(ctx, mode, a, b2);
                match ctx.sync_compare(a, b2).await? {
                    // As rclone's resync, which copies Path2 to Path1 first: with
                    // --fix-case, Path1's name is renamed to Path2's.
                    Cmp::Equal if names_to_fix(ctx, a, b2) => b.copy(
                        key,
                        Side::Two,
                        decision(
                            key,
                            c1,
                            c2,
                            "copy to Path1",
                            format!(
                                "resync: identical files; --fix-case renames Path1's {} to {}",
                                a.path, b2.path
                            ),
                        ),
                    ),
                    Cmp::Equal => b.set_now(key),
                    Cmp::SameContent => {
                        let (w, wr, lr) = match winner {
                            Side::One => (Side::One, a, b2),
                            Side::Two => (Side::Two, b2, a),
                        };
                        let op = Op::Touch {
                            side: w.other(),
                            key: key.to_owned(),
                            before: lr.clone(),
                            mtime: wr.mtime,
                        };
                        let touched = Rec {
                            mtime: wr.mtime,
                            ..lr.clone()
                        };
                        let post = post_for(key, w, Some(wr.clone()), Some(touched));
                        let d = decision(
                            key,
                            c1,
                            c2,
                            &format!("set modification time on {}", w.other().name()),
                            format!(
                                "resync: identical content; --resync-mode {} prefers {}",
                                mode.as_str(),
                                w.name()
                            ),
                        );
                        b.group(key, vec![post], vec![(1, op)], d);
                    }
                    Cmp::Differ => b.copy_as(
                        key,
                        winner,
                        decision(
                            key,
                            c1,
                            c2,
                            &format!("copy to {}", winner.other().name()),
                            format!(
                                "resync: files differ; --resync-mode {} prefers {}",
                                mode.as_str(),
                                winner.name()
                            ),
                        ),
                        ctx.opts.fix_case && winner == Side::Two,
                    ),
                }
            }
            (None, None) => {}
        }
    }
    real_paths(&mut b.out.decisions, inp);
    Ok(b.out)
}

/// The winner of a difference under `--resync-mode`; when the mode can't decide, Path2
/// (rclone copies Path2 to Path1 first).
pub fn resync_winner(ctx: &Ctx, mode: Prefer, n1: &Rec, n2: &Rec) -> Side {
    match mode {
        Prefer::None | Prefer::Path1 => Side::One,
        other => conflict_winner(ctx, other, n1, n2).unwrap_or(Side::Two),
    }
}
