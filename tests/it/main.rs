//! keyscan's integration tests, one binary (one link instead of one per file).
//!
//! Each module is one area: the real `keyscan` binary run on temporary trees and
//! git repositories (`common` builds them), rule examples through the real matcher,
//! property tests, insta snapshots of CLI output. Run one area with
//! `cargo test --test it <module>::`, e.g. `cargo test --test it snapshots::`.

mod action;
mod architecture;
mod bounds;
mod bundler;
mod common;
mod context;
mod dotenv_audit;
mod git_history;
mod git_history_cases;
mod git_history_packs;
mod git_index;
mod git_staged;
mod hardening;
mod integrations;
mod keys;
mod links;
mod noise;
mod npm_package;
mod pre_commit;
mod proptest_git;
mod proptest_matcher;
mod release;
mod rules;
mod snapshots;
mod suppression;
mod tree_scan;
