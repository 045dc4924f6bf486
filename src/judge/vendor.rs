//! One key, one vendor.
//!
//! urBackend and Stripe share the `sk_live_`/`pk_live_` prefixes. Rules that
//! declare the same `vendor.group` all run at a keyword hit; when several
//! match the same secret, [`resolve`] keeps exactly one, deciding by:
//!
//! 1. **shape** — the rule's `vendor.shape` regex on the random part (a `-`/`_`
//!    or exactly 43 characters says urBackend; 24 or 90+ alphanumerics says
//!    Stripe);
//! 2. **the key's line** — a context word (`STRIPE_SECRET_KEY`, `urbackend`)
//!    before the key on its line;
//! 3. **the file** — a context word anywhere in the file (`import Stripe`),
//!    when only one candidate has one;
//! 4. **the fallback** rule of the group.
//!
//! Candidates never disappear for lack of evidence: the decision only picks
//! the rule id (and so the rotation steps).

use crate::rules::RuleSet;
use crate::scan::RawMatch;

/// For each match, whether it survives vendor resolution.
pub fn resolve(
    matches: &[RawMatch],
    rules: &RuleSet,
    file_has_word: impl Fn(&str) -> bool,
) -> Vec<bool> {
    let mut keep = vec![true; matches.len()];
    for i in 0..matches.len() {
        let Some(group) = group_of(rules, &matches[i]) else {
            continue;
        };
        // Handle each (group, offset) once, at its first member. Matches
        // come sorted by offset: the members are neighbours (a binary
        // search, so a file of 10,000 live keys is not 10^8 comparisons).
        let offset = matches[i].offset;
        let from = matches.partition_point(|m| m.offset < offset);
        let members: Vec<usize> = (from..matches.len())
            .take_while(|&j| matches[j].offset == offset)
            .filter(|&j| group_of(rules, &matches[j]) == Some(group))
            .collect();
        if members[0] != i || members.len() < 2 {
            continue;
        }
        let winner = pick(&members, matches, rules, &file_has_word);
        for &j in &members {
            keep[j] = j == winner;
        }
    }
    keep
}

fn group_of<'a>(rules: &'a RuleSet, m: &RawMatch) -> Option<&'a str> {
    rules.rules[m.rule]
        .spec
        .vendor
        .as_ref()
        .map(|v| v.group.as_str())
}

fn pick(
    members: &[usize],
    matches: &[RawMatch],
    rules: &RuleSet,
    file_has_word: &impl Fn(&str) -> bool,
) -> usize {
    let rule = |j: usize| &rules.rules[matches[j].rule];
    let words = |j: usize| -> &[String] {
        rule(j)
            .spec
            .vendor
            .as_ref()
            .map(|v| v.context.as_slice())
            .unwrap_or(&[])
    };

    if let Some(&j) = members.iter().find(|&&j| {
        let r = rule(j);
        let (_, body) = r.split_secret(&matches[j].secret);
        r.vendor_shape().is_some_and(|re| re.is_match(body))
    }) {
        return j;
    }
    if let Some(&j) = members.iter().find(|&&j| {
        let line = &matches[j].line_before;
        words(j)
            .iter()
            .any(|w| memchr::memmem::find(line, w.as_bytes()).is_some())
    }) {
        return j;
    }
    let in_file: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&j| words(j).iter().any(|w| file_has_word(w)))
        .collect();
    if in_file.len() == 1 {
        return in_file[0];
    }
    members
        .iter()
        .copied()
        .find(|&j| rule(j).spec.vendor.as_ref().is_some_and(|v| v.fallback))
        .unwrap_or(members[0])
}
