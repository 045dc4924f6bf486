//! Staged-mode facts: what git already knows about the files a commit is
//! about to record, so the judge can word a staged finding for the file's
//! real state.
//!
//! - **Ignored, yet staged.** A dotenv file that git's ignore rules cover
//!   can only be staged with `git add -f`: the finding says it was
//!   force-added, not that git "does not ignore" it.
//! - **Already committed.** A key that HEAD already has at the same path is
//!   in history whatever this commit does: the finding says so, instead of
//!   "nothing has been committed yet".
//!
//! Gathered once per staged scan, for the blobs with matches only, from
//! git's ignore rules and HEAD's blob at each path (a byte search for each
//! matched key, not another run of the matcher).

use crate::blob::ScannedBlob;
use crate::dotenv;
use crate::paths::file_name;
use std::collections::BTreeSet;

/// Facts about the staged files with matches.
#[derive(Debug, Clone, Default)]
pub struct StagedFacts {
    /// Staged dotenv paths that git's ignore rules cover (force-added).
    pub ignored: BTreeSet<String>,
    /// `(path, key)` pairs that HEAD already holds at that path.
    pub in_head: BTreeSet<(String, String)>,
}

impl StagedFacts {
    /// Gathers the facts for `blobs` (the staged blobs with matches):
    /// `is_ignored` asks git's ignore rules about a path, `head_blob` gives
    /// HEAD's content at a path (if HEAD has a file there).
    pub fn gather(
        blobs: &[ScannedBlob],
        is_ignored: impl Fn(&str) -> bool,
        head_blob: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> StagedFacts {
        let mut out = StagedFacts::default();
        for b in blobs {
            if dotenv::is_dotenv_name(file_name(&b.path)) && is_ignored(&b.path) {
                out.ignored.insert(b.path.clone());
            }
            let Some(head) = head_blob(&b.path) else {
                continue;
            };
            for m in &b.scan.matches {
                if memchr::memmem::find(&head, m.secret.as_bytes()).is_some() {
                    out.in_head.insert((b.path.clone(), m.secret.clone()));
                }
            }
        }
        out
    }

    /// Whether HEAD already has `secret` at `path`.
    pub fn committed(&self, path: &str, secret: &str) -> bool {
        self.in_head
            .contains(&(path.to_string(), secret.to_string()))
    }
}
