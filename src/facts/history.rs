//! Git history facts: when each key first entered history, and whether it
//! is still in HEAD.
//!
//! Gathered by the history source's attribution step, before judgement, and
//! read by the judge (`in_head` decides the "removed from HEAD" advice) and
//! by the `key-rotation-overdue` check ([`crate::judge::overdue`]).

use crate::finding::CommitInfo;
use std::collections::{HashMap, HashSet};

/// When a key first entered the scanned history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstSeen {
    /// Committer time of that commit, seconds since the epoch.
    pub time: i64,
    /// The commit (author, author date), as attribution prints it.
    pub commit: CommitInfo,
}

/// What a history scan learned about the age and presence of keys.
#[derive(Debug, Clone, Default)]
pub struct KeyAges {
    /// By raw secret: the oldest scanned commit holding it.
    pub first_seen: HashMap<String, FirstSeen>,
    /// Raw secrets present somewhere in HEAD's tree.
    pub in_head: HashSet<String>,
    /// `(path, secret)` pairs present in HEAD's tree at that path.
    pub at_head: HashSet<(String, String)>,
    /// HEAD's committer time, when HEAD resolves to a commit.
    pub head_time: Option<i64>,
    /// Paths whose content came from a GitHub Pages branch (`gh-pages`, or
    /// a remote's) and not from HEAD's line of history, with that branch:
    /// a published site, so a key there is public (client).
    pub published: HashMap<String, String>,
    /// HEAD's upstream branch (`@{upstream}`), when it has one.
    pub upstream: Option<String>,
    /// Ids of introducing commits that the upstream branch does not have:
    /// not pushed yet (empty without an upstream: nothing is known).
    pub unpushed: HashSet<String>,
}

impl KeyAges {
    /// Whether `secret` is in HEAD's tree.
    pub fn in_head(&self, secret: &str) -> bool {
        self.in_head.contains(secret)
    }
}
