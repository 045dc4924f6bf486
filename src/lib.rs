//! keyscan finds leaked API keys — Miniback (`mbk_…`), urBackend (`sk_live_…`,
//! `pk_live_…`, `ub_key_…`) and Stripe — in a working tree, the staged index
//! or git history, and judges each by where it would end up.
//!
//! # How the pieces fit
//!
//! ```text
//!  source ─────────► matcher ───────► facts ──────────► judge + audits ─────► final step ──► report
//!  (enumerate)       (scan)           (once, before     (only authors of      (allowlist,    text, json,
//!  tree / staged /   keywords →       judging)          a finding's words     sort,          sarif,
//!  history: bytes    regex at hits    project model,    and severity)         summary)       github
//!  + origin          in a window      git facts
//! ```
//!
//! Dependencies run one way, left to right: a source never sees a judge, a
//! report or an audit; the judge never sees a report; reports see only
//! findings, a summary and rule descriptions.
//!
//! - [`source`] enumerates content: [`source::tree`] walks directories in
//!   parallel with the `ignore` crate (per-thread state, no lock per file);
//!   [`source::staged`] reads the blobs a commit is about to record and
//!   [`source::history`] every blob in git history, each once. A source hands
//!   each blob's bytes to the matcher and keeps the [`blob::ScannedBlob`]s
//!   with matches; it never sees a rule, and lists (never interprets) the
//!   manifests and dotenv files the facts step needs.
//! - [`scan`] is the matcher: one automaton over every keyword, regexes run
//!   anchored at hits inside a bounded window, line/column computed for hits
//!   only; large files are streamed. It owns its [`rules::RuleSet`].
//! - [`facts`] gathers, once per scan and before judging, what a judgement
//!   needs beyond the blob: the project model ([`facts::project`]), which
//!   secret files git tracks or ignores and which project roots lack ignore
//!   lines ([`facts::tree`], asked of git itself), and when keys entered
//!   history and whether they are still in HEAD ([`facts::history`]).
//! - [`judge`] turns raw matches and facts into [`finding::Finding`]s:
//!   placeholders, vendor disambiguation, context (client / server / dotenv /
//!   docs / test), severity, message, remediation, redaction, fingerprint. It
//!   is the only author of those fields; nothing edits a finding afterwards.
//! - `audit` judges the repository's shape — does git ignore dotenv files,
//!   are secret files tracked, is one key reused across environments — from
//!   the same facts, through the same finding type; `--fix` appends ignore
//!   lines.
//! - [`pipeline`] builds one [`pipeline::Scanner`] (rules, matcher, judge
//!   settings, allowlist) that serves every mode and ends each in one final
//!   step: allowlists ([`suppress`]), sort, [`summary::Summary`].
//!   [`report`] renders the result: machines read places (one finding
//!   each), a person reads keys ([`report::keys`] groups the places of one
//!   key for text, JSON and SARIF). The binary is a thin layer over it.
//!
//! Neutral homes for what several layers share: `paths` (display paths),
//! [`blob`], [`summary`] (with [`summary::ScanIssue`]), `fs` (opening
//! files a hostile repository controls), [`sanitize`] (escaping for
//! terminals and CI logs).
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

pub(crate) mod audit;
pub mod blob;
pub mod cli;
pub mod config;
pub mod dotenv;
pub mod error;
pub mod exit;
pub mod facts;
pub mod finding;
pub(crate) mod fs;
pub mod index;
pub mod judge;
pub(crate) mod paths;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod sanitize;
pub mod scan;
pub mod source;
pub mod summary;
pub mod suppress;
#[cfg(test)]
pub(crate) mod testing;

pub use error::{Error, Result};
