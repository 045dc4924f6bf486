//! The unit every source produces: a blob's scan result and where it came from.
//!
//! Sources enumerate content (a file in the tree, a staged blob, a blob in
//! history) and hand its bytes to the matcher; what comes back, for blobs
//! with at least one match, is a [`ScannedBlob`]. It carries only what the
//! source itself knows — the path, the origin, whether the source reached it
//! past an ignore rule, the introducing commit — and never a judgement.
//! Everything else the judge needs comes from [`crate::facts`].

use crate::dotenv;
use crate::finding::{CommitInfo, Origin};
use crate::scan::BlobScan;

/// A blob after matching, with what the source knows about it.
#[derive(Debug, Clone)]
pub struct ScannedBlob {
    /// Path relative to the scan root, `/`-separated.
    pub path: String,
    /// Which source produced it.
    pub origin: Origin,
    /// The source reached it past its ignore rules (a git-ignored build
    /// folder or dotenv file). Whether git really ignores it is a fact
    /// ([`crate::facts::Facts::ignored`]), which wins when known.
    pub ignored: bool,
    /// What the matcher found.
    pub scan: BlobScan,
    /// Parsed dotenv entries, for dotenv files with matches.
    pub dotenv: Option<Vec<dotenv::Entry>>,
    /// History attribution: the commit that introduced the blob at this
    /// path (`in_head` is decided per key by the judge, from the facts).
    pub commit: Option<CommitInfo>,
}
