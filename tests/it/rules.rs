//! Every rule tests itself: each `examples` entry must produce exactly one
//! finding of its rule through the real matcher and judge, each
//! `negative_examples` entry none, and every example must contain one of the
//! rule's keywords or an encoded form of one (so the aho-corasick prefilter can
//! never hide a rule).
//! A failure names the file, the rule and the example.

use keyscan::blob::ScannedBlob;
use keyscan::facts::Facts;
use keyscan::finding::Origin;
use keyscan::judge::{Judge, JudgeSettings, Sightings, Tally};
use keyscan::rules::{RuleSet, RuleSpec, BUILTIN_RULE_FILES};
use keyscan::scan::Matcher;

fn findings_for(judge: &Judge, matcher: &Matcher, text: &str) -> Vec<keyscan::finding::Finding> {
    let blob = ScannedBlob {
        path: "src/example.js".into(),
        origin: Origin::File,
        ignored: false,
        scan: matcher.scan_bytes(text.as_bytes()),
        dotenv: None,
        commit: None,
    };
    judge.judge(
        &blob,
        &Facts::default(),
        &Sightings::default(),
        &mut Tally::default(),
    )
}

#[test]
fn every_builtin_rule_has_examples_and_passes_them() {
    let matcher = Matcher::new(RuleSet::builtin().unwrap());
    let rules = matcher.rules();
    let judge = Judge::new(&matcher, JudgeSettings::default());
    let mut failures = Vec::new();
    for rule in &rules.rules {
        let spec: &RuleSpec = &rule.spec;
        let at = format!("{}: rule `{}`", rule.source_file, spec.id);
        if spec.examples.is_empty() {
            failures.push(format!("{at}: no examples"));
        }
        if spec.negative_examples.is_empty() {
            failures.push(format!("{at}: no negative_examples"));
        }
        for ex in &spec.examples {
            // A keyword, or an encoded form of one (base64, escapes): the
            // literal automaton holds both.
            let has_keyword = spec.keywords.iter().any(|k| {
                ex.contains(k.as_str())
                    || keyscan::scan::decode::encoded_forms(k)
                        .iter()
                        .any(|(f, _)| ex.contains(f.as_str()))
            });
            if !has_keyword {
                failures.push(format!(
                    "{at}: example contains none of the keywords {:?}: {ex}",
                    spec.keywords
                ));
            }
            let found = findings_for(&judge, &matcher, ex);
            let n = found.iter().filter(|f| f.rule_id == spec.id).count();
            match &spec.refines {
                // A refinement reports under the refined rule's id: exactly
                // one finding for the key, worded with this rule's words.
                Some(target) => {
                    let merged = found
                        .iter()
                        .filter(|f| &f.rule_id == target && f.message.contains(&spec.description))
                        .count();
                    if n != 0 || found.len() != 1 || merged != 1 {
                        failures.push(format!(
                            "{at}: example gave {} findings ({n} under its own id, {merged} merged into `{target}`), expected one merged: {ex}",
                            found.len()
                        ));
                    }
                }
                None if n != 1 => {
                    failures.push(format!("{at}: example gave {n} findings, expected 1: {ex}"));
                }
                None => {}
            }
        }
        for ex in &spec.negative_examples {
            let n = findings_for(&judge, &matcher, ex)
                .iter()
                .filter(|f| {
                    f.rule_id == spec.id
                        || (spec.refines.as_ref() == Some(&f.rule_id)
                            && f.message.contains(&spec.description))
                })
                .count();
            if n != 0 {
                failures.push(format!("{at}: negative example gave {n} findings: {ex}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rule example failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn builtin_files_are_the_ones_documented() {
    let names: Vec<&str> = BUILTIN_RULE_FILES.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "rules/miniback.toml",
            "rules/urbackend.toml",
            "rules/stripe.toml",
            "rules/unrecognised.toml"
        ]
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for rule in &RuleSet::builtin().unwrap().rules {
        assert!(
            readme.contains(&format!("`{}`", rule.spec.id)),
            "README does not document `{}`",
            rule.spec.id
        );
    }
}

/// A key never gets reported under two vendors, and a live key of an
/// unexpected shape is still reported (by the group's fallback, the
/// unrecognised-vendor rule for secret keys).
#[test]
fn shared_prefixes_report_exactly_one_vendor() {
    let matcher = Matcher::new(RuleSet::builtin().unwrap());
    let judge = Judge::new(&matcher, JudgeSettings::default());
    // Keys are assembled at run time so this file holds no key-shaped literal.
    let live = |kind: &str, body: &str| format!("{kind}_live_{body}");
    let b43 = "Ab3dE5gH7jK9mN1pQ3sT5vX7zB9cD1fG3hJ5kL7mN9p";
    let cases = [
        // (text, expected rule)
        (
            format!("k = \"{}\"", live("sk", b43)),
            "urbackend-secret-key",
        ),
        (
            format!("STRIPE_SECRET_KEY={}", live("sk", &b43[..24])),
            "stripe-secret-key",
        ),
        (
            format!("const urbackendKey = '{}'", live("sk", &b43[..32])),
            "urbackend-secret-key",
        ),
        // Neither vendor's shape, no vendor word: not Stripe by default (#14).
        (
            format!("k = '{}'", live("sk", &b43[..32])),
            "unrecognised-live-secret-key",
        ),
        (
            format!("STRIPE_KEY = '{}'", live("sk", &b43[..32])),
            "stripe-secret-key",
        ),
        (
            format!("p = '{}-'", live("pk", b43)),
            "urbackend-publishable-key",
        ),
    ];
    for (text, want) in &cases {
        let (text, want) = (text.as_str(), *want);
        let f = findings_for(&judge, &matcher, text);
        assert_eq!(
            f.len(),
            1,
            "{text}: {:?}",
            f.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
        );
        assert_eq!(f[0].rule_id, want, "{text}");
    }
}
