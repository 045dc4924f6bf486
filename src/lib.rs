//! keyscan finds leaked API keys — Miniback (`mbk_…`), urBackend (`sk_live_…`,
//! `pk_live_…`, `ub_key_…`) and Stripe — in a working tree, and judges each
//! by where it would end up.
//!
//! # How the pieces fit
//!
//! ```text
//!  source ──► Blob bytes ──► scan::Matcher ──► RawMatch ──► judge::Judge ──► Finding ──► report
//!  (tree)                    one aho-corasick   (rule,       placeholder,      (+ suppress)   text,
//!                            pass; regex only    span,        vendor, context,                json
//!                            at keyword hits)    line/col)    severity, rotation
//! ```
//!
//! - [`rules`] loads the rule data (`rules/*.toml`, embedded) and a config's
//!   extra rules, validates and compiles them.
//! - [`scan`] is the matcher: one automaton over every keyword, regexes run
//!   anchored at hits inside a bounded window, line/column computed for hits
//!   only; large files are streamed.
//! - [`source`] enumerates content: [`source::tree`] walks directories in
//!   parallel with the `ignore` crate; [`source::staged`] reads the blobs a
//!   commit is about to record and [`source::history`] every blob in git
//!   history, each once, through `git2`. Sources never see rules.
//! - [`judge`] turns raw matches into [`finding::Finding`]s: placeholders,
//!   vendor disambiguation, context (client / server / dotenv / docs / test),
//!   severity, redaction, fingerprint, rotation guidance.
//! - [`audit`] checks the repository's shape — does git ignore dotenv files,
//!   are secret files tracked, is one key reused across environments — and
//!   reports through the same finding type; `--fix` appends ignore lines.
//! - [`suppress`] applies allowlists; [`report`] renders findings. Reporters
//!   see only findings and a summary.
//! - [`pipeline::run`] ties them together; the binary is a thin layer over it.
//!
//! # Embedding
//!
//! ```no_run
//! use keyscan::pipeline::{run, ScanRequest};
//! let outcome = run(&ScanRequest::new(vec![".".into()])).unwrap();
//! for f in &outcome.findings {
//!     println!("{} {} {}:{}", f.severity, f.rule_id, f.location.path, f.location.line);
//! }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod config;
pub mod dotenv;
pub mod error;
pub mod exit;
pub mod finding;
pub mod judge;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod sanitize;
pub mod scan;
pub mod source;
pub mod suppress;

pub use error::{Error, Result};
