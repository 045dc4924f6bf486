//! Placeholders are not leaks.
//!
//! Documentation, templates and `.env.example` files are full of values with a
//! key's prefix: `mbk_your_key`, `sk_live_xxxxxxxx`, the docs' own example
//! `mbk_1a2b3c4d5e6f7g8h9i0j`. [`placeholder_reason`] rejects them with general,
//! data-driven checks on the *random part* (the secret without its prefix):
//! known documentation examples, stopwords, identifier-like bodies (names
//! built from words, [`super::identifier`]), low entropy and hand-typed runs.
//! Every check is chosen so that a generated key of the same shape passes it
//! with overwhelming probability; the tests prove both sides.
//!
//! There is no character-class test: Miniback documents its keys as "a random
//! string", and about 0.2% of random 20-character lowercase bodies have no
//! digit. Randomness is judged by entropy and by whether the body reads as
//! words, not by which classes of characters it happens to use.

use super::identifier::word_shaped;
use crate::rules::{Rule, RuleSet};

/// Why a candidate is a placeholder, or `None` when it looks like a real key.
pub fn placeholder_reason(rule: &Rule, secret: &str, rules: &RuleSet) -> Option<&'static str> {
    let spec = &rules.placeholders;
    if rule.spec.known_examples.iter().any(|e| e == secret) {
        return Some("a known documentation example");
    }
    let (_, body) = rule.split_secret(secret);
    if body.is_empty() {
        return Some("empty");
    }
    if has_stopword(body, &spec.stopwords) {
        return Some("contains a placeholder word");
    }
    if looks_like_identifier(body) || word_shaped(body, &rules.identifiers) {
        return Some("an identifier, not a random string");
    }
    let default = if body.chars().count() >= spec.long_body {
        spec.min_entropy_long
    } else {
        spec.min_entropy
    };
    let min_entropy = rule.spec.min_entropy.unwrap_or(default);
    if shannon_entropy(body) < min_entropy {
        return Some("too little entropy");
    }
    if longest_sequence_run(body) >= spec.max_sequence_run {
        return Some("a hand-typed sequence");
    }
    None
}

/// Stopwords of seven or more characters (`example`, `redacted`) and
/// non-alphanumeric ones (`...`, `<`) match anywhere, case-insensitively but
/// in one case as people type them (`example`, `EXAMPLE`, `Example`). Five-
/// and six-letter ones (`token`, `dummy`, `secret`) must stand as a word:
/// delimited on both sides by the body's ends, a non-letter or a change of
/// case (`my_token_1`, `exampleToken`) — a random lowercase key holds
/// `token` somewhere about once in 50,000 draws, as a delimited word about
/// once in 10 million. Shorter ones only count as a whole segment between
/// `_`/`-` separators (`your_key`); `mbk_yourkeyhere` is caught by the
/// word-shape test instead.
fn has_stopword(body: &str, stopwords: &[String]) -> bool {
    for word in stopwords {
        let w = word.to_ascii_lowercase();
        if w.is_empty() {
            continue;
        }
        let n = w.chars().count();
        let forms = [w.clone(), w.to_ascii_uppercase(), capitalised(&w)];
        if n >= 7 || !w.bytes().all(|b| b.is_ascii_alphanumeric()) {
            if forms.iter().any(|f| body.contains(f.as_str())) {
                return true;
            }
        } else if n >= 5 {
            if forms.iter().any(|f| delimited(body, f)) {
                return true;
            }
        } else if body
            .split(['_', '-'])
            .any(|seg| seg.eq_ignore_ascii_case(&w))
        {
            return true;
        }
    }
    false
}

fn capitalised(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Whether `word` occurs in `body` as a word of its own: each side is an end
/// of `body`, a non-letter, or a change of case.
fn delimited(body: &str, word: &str) -> bool {
    let b = body.as_bytes();
    let w = word.as_bytes();
    let (first, last) = (w[0], w[w.len() - 1]);
    memchr::memmem::find_iter(b, w).any(|i| {
        let j = i + w.len();
        let left = i == 0
            || !b[i - 1].is_ascii_alphabetic()
            || (b[i - 1].is_ascii_lowercase() && first.is_ascii_uppercase());
        let right = j == b.len()
            || !b[j].is_ascii_alphabetic()
            || (b[j].is_ascii_uppercase() && last.is_ascii_lowercase());
        left && right
    })
}

/// A body with `_`/`-` separators whose segments are all plain words (letters
/// of one case, no digits) is an identifier such as `client_id_for_prod`.
fn looks_like_identifier(body: &str) -> bool {
    if !body.contains(['_', '-']) {
        return false;
    }
    body.split(['_', '-']).filter(|s| !s.is_empty()).all(|seg| {
        seg.bytes().all(|b| b.is_ascii_lowercase()) || seg.bytes().all(|b| b.is_ascii_uppercase())
    })
}

/// Shannon entropy in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Longest run of consecutive ascending or descending bytes (`abcdef`, `9876`).
fn longest_sequence_run(s: &str) -> usize {
    let b = s.as_bytes();
    let (mut best, mut up, mut down) = (1usize.min(b.len()), 1usize, 1usize);
    for w in b.windows(2) {
        up = if w[1] == w[0].wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if w[1] == w[0].wrapping_sub(1) {
            down + 1
        } else {
            1
        };
        best = best.max(up).max(down);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn reason(rule: &str, secret: &str) -> Option<&'static str> {
        static SET: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
        let set = SET.get_or_init(|| RuleSet::builtin().unwrap());
        placeholder_reason(set.get(rule).unwrap(), secret, set)
    }

    #[test]
    fn issue_placeholders_are_rejected() {
        for s in [
            "mbk_your_key",
            "mbk_YOUR_KEY_HERE",
            "mbk_1a2b3c4d5e6f7g8h9i0j",
            "mbk_aaaaaaaaaaaaaaaaaaaa",
            "mbk_abcdefghijklmnopqrst",
            "mbk_client_id_for_production",
            "mbk_12345678901234567890",
            "mbk_exampleKey1234567890",
        ] {
            assert!(
                reason("miniback-api-key", s).is_some(),
                "{s} should be a placeholder"
            );
        }
        for s in [
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "sk_live_YOUR_SECRET_KEY_GOES_HERE_PLEASE_CHANGE",
        ] {
            assert!(reason("urbackend-secret-key", s).is_some(), "{s}");
        }
    }

    /// Deterministic pseudo-random keys (xorshift) of the real shapes.
    fn random_keys(prefix: &str, alphabet: &[u8], len: usize, count: usize) -> Vec<String> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..count)
            .map(|_| {
                let body: String = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize] as char
                    })
                    .collect();
                format!("{prefix}{body}")
            })
            .collect()
    }

    #[test]
    fn random_keys_of_the_real_shapes_pass() {
        let lower_digits = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let b64url = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rejected = 0;
        for k in random_keys("mbk_", lower_digits, 24, 2000) {
            rejected += reason("miniback-api-key", &k).is_some() as usize;
        }
        assert!(
            rejected <= 2,
            "{rejected} of 2000 random Miniback keys rejected"
        );
        for k in random_keys("sk_live_", b64url, 43, 2000) {
            assert_eq!(reason("urbackend-secret-key", &k), None, "{k}");
        }
        for k in random_keys("sk_live_", alnum, 99, 500) {
            assert_eq!(reason("stripe-secret-key", &k), None, "{k}");
        }
    }

    #[test]
    fn medium_stopwords_count_only_as_words() {
        let sw: Vec<String> = ["token", "secret"].iter().map(|s| s.to_string()).collect();
        assert!(has_stopword("my_token_1", &sw));
        assert!(has_stopword("myTokenValue", &sw));
        assert!(has_stopword("SECRET9x", &sw));
        assert!(has_stopword("token", &sw));
        // Inside a random run it is chance, not a word.
        assert!(!has_stopword("nlfpbvosdskdkutokenvwbjx", &sw));
        assert!(!has_stopword("q8tokenzz", &sw));
    }

    #[test]
    fn entropy_and_runs() {
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-9);
        assert_eq!(longest_sequence_run("xabcdefy"), 6);
        assert_eq!(longest_sequence_run("987x"), 3);
    }
}
