//! Rules: loading, validating and compiling the data in `rules/*.toml`.
//!
//! Rules are data, not code. The built-in files are embedded with
//! `include_str!`; a user's `.keyscan.toml` may add `[[rule]]` tables of the
//! same shape. [`RuleSet::load`] parses and validates everything up front, so a
//! broken rule stops keyscan with an error naming the file, the rule and the
//! field (exit 2) instead of silently never firing.
//!
//! A compiled [`Rule`] keeps its regex as a `regex_automata::meta::Regex` built
//! for bytes with ASCII semantics: the matcher runs it *anchored* at keyword
//! hits inside a bounded window, never over a whole file.

pub mod audits;
mod spec;
mod words;

pub use words::IdentifierWords;

pub use spec::{
    IdentifierSpec, PlaceholderSpec, ProjectSpec, RotationSpec, RuleFile, RuleKind, RuleSpec,
    SeverityTable, VendorSpec,
};

use crate::error::{Error, Result};
use regex_automata::meta;
use regex_automata::util::syntax;
use std::sync::OnceLock;

/// The built-in rule files, embedded at compile time: (file name, contents).
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    (
        "rules/miniback.toml",
        include_str!("../../rules/miniback.toml"),
    ),
    (
        "rules/urbackend.toml",
        include_str!("../../rules/urbackend.toml"),
    ),
    ("rules/stripe.toml", include_str!("../../rules/stripe.toml")),
    (
        "rules/unrecognised.toml",
        include_str!("../../rules/unrecognised.toml"),
    ),
];

/// The built-in placeholder heuristics.
pub const BUILTIN_PLACEHOLDERS: (&str, &str) = (
    "rules/placeholders.toml",
    include_str!("../../rules/placeholders.toml"),
);

/// The built-in identifier word list.
pub const BUILTIN_IDENTIFIERS: (&str, &str) = (
    "rules/identifiers.toml",
    include_str!("../../rules/identifiers.toml"),
);

/// Largest compiled size we accept for a built-in rule's regex.
const REGEX_SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// Largest compiled size we accept for a rule from a config file: four times
/// the largest built-in rule (about 110 KiB). The time a regex takes per byte
/// grows with its compiled size, so this also bounds the work per keyword hit;
/// a rule such as `(a{1000}){1000}` fails with a clear error instead.
pub const CONFIG_REGEX_SIZE_LIMIT: usize = 512 * 1024;

/// Most bytes a match may start before its keyword (`lookbehind`).
pub const MAX_LOOKBEHIND: usize = 256;

/// A validated, compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Where it came from (`rules/miniback.toml`, `.keyscan.toml`).
    pub source_file: String,
    /// A built-in rule (embedded, vetted); false for rules from a config,
    /// whose regexes the matcher runs on a time budget.
    pub builtin: bool,
    /// The validated spec.
    pub spec: RuleSpec,
    /// The compiled pattern (bytes, ASCII semantics, anchored use), built
    /// on first use for built-in rules ([`Rule::regex`]).
    regex: OnceLock<meta::Regex>,
    /// The compiled-size limit the pattern is built with.
    size_limit: usize,
    /// Compiled `vendor.shape` and `project.patterns` ([`Rule::vendor_shape`],
    /// [`Rule::find_project_id`]), built on first use for built-in rules.
    extras: OnceLock<Extras>,
}

impl Rule {
    /// The compiled pattern.
    ///
    /// A built-in rule's pattern is compiled the first time a keyword of
    /// the rule is found: a pre-commit run on a few files finds few, and
    /// compiling every rule up front was most of its start-up time. Its
    /// syntax and capture group were checked at load time, and a unit test
    /// compiles every built-in pattern, so this cannot fail; a config rule's
    /// pattern is compiled at load time, where an error names the file.
    pub fn regex(&self) -> &meta::Regex {
        self.regex.get_or_init(|| {
            compile_matcher_regex_limited(&self.spec.pattern, self.size_limit)
                .expect("built-in rule patterns compile (unit-tested)")
        })
    }

    fn extras(&self) -> &Extras {
        self.extras.get_or_init(|| {
            compile_extras(&self.spec, self.size_limit)
                .expect("built-in vendor shapes and project patterns compile (unit-tested)")
        })
    }

    /// The compiled `vendor.shape`, if the rule has one.
    pub fn vendor_shape(&self) -> Option<&regex::Regex> {
        self.extras().vendor_shape.as_ref()
    }

    /// The public id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// True for publishable keys (meant for browsers).
    pub fn is_publishable(&self) -> bool {
        self.spec.kind == RuleKind::Publishable
    }

    /// The first project id this rule's `project.patterns` find in `bytes`
    /// (patterns in order; the capture group of the first that matches).
    pub fn find_project_id(&self, bytes: &[u8]) -> Option<String> {
        self.extras()
            .project_patterns
            .iter()
            .find_map(|re| re.captures(bytes))
            .map(|c| String::from_utf8_lossy(&c[1]).into_owned())
    }

    /// Splits a secret into (prefix kept in clear, random part).
    pub fn split_secret<'a>(&self, secret: &'a str) -> (&'a str, &'a str) {
        match &self.spec.secret_prefix {
            Some(p) if secret.starts_with(p.as_str()) => secret.split_at(p.len()),
            _ => ("", secret),
        }
    }
}

/// Every compiled rule plus the shared placeholder heuristics.
#[derive(Debug)]
pub struct RuleSet {
    /// Rules in load order (built-ins first).
    pub rules: Vec<Rule>,
    /// Shared placeholder heuristics.
    pub placeholders: PlaceholderSpec,
    /// The words that tell a name in code from a random key.
    pub identifiers: IdentifierWords,
}

impl RuleSet {
    /// The built-in rules only.
    pub fn builtin() -> Result<RuleSet> {
        RuleSet::load(&[])
    }

    /// Built-in rules plus extra rules (file name, specs) from config files.
    pub fn load(extra: &[(String, Vec<RuleSpec>)]) -> Result<RuleSet> {
        let (pfile, ptext) = BUILTIN_PLACEHOLDERS;
        let placeholders: PlaceholderSpec = toml::from_str(ptext)
            .map_err(|e| Error::rule(pfile, None, "placeholders", e.to_string()))?;
        let (ifile, itext) = BUILTIN_IDENTIFIERS;
        let ispec: IdentifierSpec = toml::from_str(itext)
            .map_err(|e| Error::rule(ifile, None, "identifiers", e.to_string()))?;
        let identifiers = IdentifierWords::new(ifile, &ispec)?;

        let mut rules = Vec::new();
        for (file, text) in BUILTIN_RULE_FILES {
            let parsed: RuleFile = toml::from_str(text)
                .map_err(|e| Error::rule(*file, None, "rule", e.to_string()))?;
            for spec in parsed.rule {
                rules.push(compile_rule(file, spec, true)?);
            }
        }
        for (file, specs) in extra {
            for spec in specs {
                rules.push(compile_rule(file, spec.clone(), false)?);
            }
        }
        check_unique_ids(&rules)?;
        check_vendor_groups(&rules)?;
        check_refinements(&rules)?;
        Ok(RuleSet {
            rules,
            placeholders,
            identifiers,
        })
    }

    /// Look a rule up by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id() == id)
    }
}

fn compile_rule(file: &str, spec: RuleSpec, builtin: bool) -> Result<Rule> {
    let size_limit = if builtin {
        REGEX_SIZE_LIMIT
    } else {
        CONFIG_REGEX_SIZE_LIMIT
    };
    let id = spec.id.clone();
    let err = |field: &'static str, msg: String| Error::rule(file, Some(&id), field, msg);

    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(err(
            "id",
            "must be non-empty and use only a-z, 0-9 and `-`".into(),
        ));
    }
    if spec.keywords.is_empty() {
        return Err(err(
            "keywords",
            "at least one keyword is required: the prefilter never runs a rule without one".into(),
        ));
    }
    if let Some(k) = spec.keywords.iter().find(|k| k.len() < 3) {
        return Err(err(
            "keywords",
            format!("keyword `{k}` is shorter than 3 bytes; it would fire everywhere"),
        ));
    }
    if spec.lookbehind > MAX_LOOKBEHIND {
        return Err(err(
            "lookbehind",
            format!(
                "{} is more than the maximum {MAX_LOOKBEHIND}",
                spec.lookbehind
            ),
        ));
    }
    if spec.rotation.url.is_empty() {
        return Err(err("rotation.url", "must not be empty".into()));
    }
    // Built-in patterns are parsed now (syntax, capture groups) and compiled
    // on first use; a config rule's is compiled now, so a pattern too large
    // is an error at load time.
    let regex = OnceLock::new();
    let captures = if builtin {
        syntax::parse_with(&spec.pattern, &matcher_syntax())
            .map_err(|e| err("pattern", e.to_string()))?
            .properties()
            .explicit_captures_len()
    } else {
        let compiled = compile_matcher_regex_limited(&spec.pattern, size_limit)
            .map_err(|m| err("pattern", m))?;
        let n = compiled.captures_len() - 1;
        let _ = regex.set(compiled);
        n
    };
    if captures != 1 {
        return Err(err(
            "pattern",
            format!("must have exactly one capture group (the secret), found {captures}"),
        ));
    }
    // The vendor shape and project-id patterns: a config rule's now (an error
    // names the file), a built-in rule's on first use (unit-tested).
    let extras = OnceLock::new();
    if !builtin {
        let _ = extras.set(compile_extras(&spec, size_limit).map_err(|(f, m)| err(f, m))?);
    }
    Ok(Rule {
        source_file: file.to_string(),
        builtin,
        spec,
        regex,
        size_limit,
        extras,
    })
}

/// A rule's `vendor.shape` and `project.patterns`, compiled.
#[derive(Debug)]
struct Extras {
    vendor_shape: Option<regex::Regex>,
    project_patterns: Vec<regex::bytes::Regex>,
}

/// Compiles a rule's `vendor.shape` and `project.patterns`, or names the
/// field that is wrong and why.
fn compile_extras(
    spec: &RuleSpec,
    size_limit: usize,
) -> std::result::Result<Extras, (&'static str, String)> {
    let vendor_shape = match spec.vendor.as_ref().and_then(|v| v.shape.as_ref()) {
        Some(s) => Some(
            regex::RegexBuilder::new(s)
                .size_limit(size_limit)
                .build()
                .map_err(|e| ("vendor.shape", e.to_string()))?,
        ),
        None => None,
    };
    let mut project_patterns = Vec::new();
    for p in spec.project.iter().flat_map(|p| p.patterns.iter()) {
        let re = regex::bytes::RegexBuilder::new(p)
            .size_limit(size_limit)
            .build()
            .map_err(|e| ("project.patterns", e.to_string()))?;
        if re.captures_len() != 2 {
            return Err((
                "project.patterns",
                format!("`{p}` must have exactly one capture group (the project id)"),
            ));
        }
        project_patterns.push(re);
    }
    Ok(Extras {
        vendor_shape,
        project_patterns,
    })
}

/// Compile a rule pattern the way the matcher uses it: on bytes, ASCII
/// semantics (so `\b` is fast and invalid UTF-8 never stops a match), with the
/// built-in rules' size limit.
pub fn compile_matcher_regex(pattern: &str) -> std::result::Result<meta::Regex, String> {
    compile_matcher_regex_limited(pattern, REGEX_SIZE_LIMIT)
}

/// The syntax rule patterns are read with: bytes, ASCII semantics.
fn matcher_syntax() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// [`compile_matcher_regex`] with an explicit compiled-size limit (bytes).
pub fn compile_matcher_regex_limited(
    pattern: &str,
    size_limit: usize,
) -> std::result::Result<meta::Regex, String> {
    meta::Regex::builder()
        .syntax(matcher_syntax())
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(size_limit))
                .onepass_size_limit(Some(size_limit))
                .dfa_size_limit(Some(size_limit)),
        )
        .build(pattern)
        .map_err(|e| {
            let mut msg = e.to_string();
            if let Some(size) = e.size_limit() {
                msg = format!(
                    "regex is too large (compiled size exceeds {size} bytes); simplify the pattern"
                );
            } else if let Some(syn) = e.syntax_error() {
                msg = syn.to_string();
            }
            msg
        })
}

fn check_unique_ids(rules: &[Rule]) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for r in rules {
        if let Some(prev) = seen.insert(r.id(), &r.source_file) {
            return Err(Error::rule(
                r.source_file.clone(),
                Some(r.id()),
                "id",
                format!("duplicate rule id (already defined in {prev})"),
            ));
        }
    }
    Ok(())
}

fn check_refinements(rules: &[Rule]) -> Result<()> {
    for r in rules {
        let Some(target) = &r.spec.refines else {
            continue;
        };
        let err = |msg: String| Error::rule(r.source_file.clone(), Some(r.id()), "refines", msg);
        let Some(t) = rules.iter().find(|t| t.id() == target) else {
            return Err(err(format!("no rule `{target}` to refine")));
        };
        if t.id() == r.id() || t.spec.refines.is_some() {
            return Err(err(format!(
                "`{target}` must be another rule that refines nothing itself"
            )));
        }
        if t.spec.secret_prefix != r.spec.secret_prefix {
            return Err(err(format!(
                "`{target}` has another secret prefix: a refinement must describe the same keys"
            )));
        }
    }
    Ok(())
}

fn check_vendor_groups(rules: &[Rule]) -> Result<()> {
    let mut fallbacks: std::collections::HashMap<&str, &str> = Default::default();
    for r in rules {
        if let Some(v) = &r.spec.vendor {
            if v.fallback {
                if let Some(prev) = fallbacks.insert(v.group.as_str(), r.id()) {
                    return Err(Error::rule(
                        r.source_file.clone(),
                        Some(r.id()),
                        "vendor.fallback",
                        format!("group `{}` already has fallback rule `{prev}`", v.group),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Built-in patterns are compiled on first use ([`Rule::regex`]): each
    /// must compile within the size limit, with one capture group.
    #[test]
    fn every_builtin_pattern_compiles_on_first_use() {
        let set = RuleSet::builtin().unwrap();
        for rule in &set.rules {
            assert!(rule.builtin);
            assert!(rule.regex.get().is_none(), "{} compiled at load", rule.id());
            let compiled = compile_matcher_regex_limited(&rule.spec.pattern, REGEX_SIZE_LIMIT)
                .unwrap_or_else(|e| panic!("{}: {e}", rule.id()));
            assert_eq!(compiled.captures_len(), 2, "{}", rule.id());
            assert_eq!(rule.regex().captures_len(), 2);
            assert!(rule.extras.get().is_none(), "{} extras at load", rule.id());
            compile_extras(&rule.spec, REGEX_SIZE_LIMIT)
                .unwrap_or_else(|(f, e)| panic!("{}: {f}: {e}", rule.id()));
        }
    }

    /// A config rule's pattern is compiled at load time, so a pattern over
    /// the size limit is an error naming the rule, not a failure mid-scan.
    #[test]
    fn config_patterns_are_compiled_at_load_time() {
        let spec = |pattern: &str| -> RuleSpec {
            let mut spec = RuleSet::builtin().unwrap().rules[0].spec.clone();
            spec.id = "my-rule".into();
            spec.pattern = pattern.into();
            spec
        };
        let rule = compile_rule(".keyscan.toml", spec(r"(mbk_[a-z0-9]{20})"), false).unwrap();
        assert!(rule.regex.get().is_some());
        let e = compile_rule(".keyscan.toml", spec(r"(mbk_\w{1000}){1000}"), false).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        let e = compile_rule(".keyscan.toml", spec(r"mbk_[a-z]+"), false).unwrap_err();
        assert!(e.to_string().contains("exactly one capture group"), "{e}");
        let e = compile_rule("rules/x.toml", spec(r"(mbk_[a-z]+"), true).unwrap_err();
        assert!(e.to_string().contains("pattern"), "{e}");
        let e = compile_rule("rules/x.toml", spec(r"(mbk)_([a-z]+)"), true).unwrap_err();
        assert!(e.to_string().contains("found 2"), "{e}");
        // Project-id patterns of a config rule are compiled at load time too.
        let mut with_project = spec(r"(mbk_[a-z0-9]{20})");
        with_project.project = Some(spec::ProjectSpec {
            patterns: vec![r"project=[a-z]+".into()],
        });
        let e = compile_rule(".keyscan.toml", with_project, false).unwrap_err();
        assert!(
            e.to_string().contains("project.patterns") && e.to_string().contains("capture group"),
            "{e}"
        );
    }

    #[test]
    fn builtin_rules_load_with_the_public_ids() {
        let set = RuleSet::builtin().unwrap();
        for id in [
            "miniback-api-key",
            "miniback-key-in-url",
            "urbackend-secret-key",
            "urbackend-publishable-key",
            "urbackend-legacy-key",
            "stripe-secret-key",
            "stripe-restricted-key",
            "stripe-publishable-key",
            "unrecognised-live-secret-key",
        ] {
            assert!(set.get(id).is_some(), "missing rule {id}");
        }
    }

    fn spec(id: &str, pattern: &str) -> RuleSpec {
        RuleSpec {
            id: id.into(),
            provider: "Acme".into(),
            name: "Acme key".into(),
            kind: RuleKind::Secret,
            description: "d".into(),
            keywords: vec!["acme_".into()],
            secret_prefix: None,
            pattern: pattern.into(),
            lookbehind: 0,
            known_examples: vec![],
            min_entropy: None,
            examples: vec![],
            negative_examples: vec![],
            severity: SeverityTable::default(),
            rotation: RotationSpec {
                url: "https://acme.test".into(),
                url_without_project: None,
                steps: vec![],
            },
            project: None,
            vendor: None,
            refines: None,
        }
    }

    #[test]
    fn bad_rules_name_file_rule_and_field() {
        let e = RuleSet::load(&[(".keyscan.toml".into(), vec![spec("acme", "(acme_[a-z")])])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(".keyscan.toml: rule `acme`: field `pattern`"),
            "{e}"
        );

        let e = RuleSet::load(&[(".keyscan.toml".into(), vec![spec("acme", "acme_[a-z]+")])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one capture group"), "{e}");

        let e = RuleSet::load(&[(
            ".keyscan.toml".into(),
            vec![spec("acme", "(acme_(?:[a-z]{1000}){1000})")],
        )])
        .unwrap_err()
        .to_string();
        assert!(e.contains("too large"), "{e}");

        let e = RuleSet::load(&[(
            ".keyscan.toml".into(),
            vec![spec("miniback-api-key", "(acme_[a-z]+)")],
        )])
        .unwrap_err()
        .to_string();
        assert!(e.contains("duplicate rule id"), "{e}");

        let e = RuleSet::load(&[(
            ".keyscan.toml".into(),
            vec![spec("Bad Id", "(acme_[a-z]+)")],
        )])
        .unwrap_err()
        .to_string();
        assert!(e.contains("field `id`"), "{e}");

        let mut s = spec("acme", "(acme_[a-z]+)");
        s.refines = Some("nope".into());
        let e = RuleSet::load(&[(".keyscan.toml".into(), vec![s])])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("field `refines`") && e.contains("no rule `nope`"),
            "{e}"
        );
        let mut s = spec("acme", "(acme_[a-z]+)");
        s.refines = Some("miniback-api-key".into());
        let e = RuleSet::load(&[(".keyscan.toml".into(), vec![s])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("another secret prefix"), "{e}");
    }
}
