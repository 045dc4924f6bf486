//! Names in code are not keys.
//!
//! C, C++, Tcl and JavaScript code names functions, fields and packages after
//! a library prefix that happens to be a key prefix: `mbk_AddStringHashItem`,
//! `mbk_lastFeedbackSubmittedAt`, `ptr->mbk_matrix_elem_heap`,
//! `mbk_feedback_widget-0.3.1.tgz`. Two independent tests tell such a name from
//! a key:
//!
//! - **the shape of words** ([`word_shaped`]): the random part splits into
//!   CamelCase, snake_case and digit segments whose letters are words or code
//!   abbreviations from `rules/identifiers.toml` (a lowercase run may be several
//!   words glued together: `toolongprefix`). A random string of 16 or more
//!   characters practically never does: its segments are single letters or
//!   unpronounceable runs;
//! - **the syntax around the match** ([`code_position`]): followed by `(` (a
//!   call or a definition), preceded by `.`, `->` or `::` (a member), or by a
//!   declarator such as `#define`, `function`, `def`, `fn`, `static int` or a
//!   CamelCase type name (the name being declared). A key in code is a string
//!   literal or a value; it never sits in those places.

use crate::rules::IdentifierWords;

/// Whether the random part `body` is built from words (see the module docs).
///
/// Every letter segment must be a listed word or split entirely into listed
/// words, except that one unknown segment is tolerated when at least two
/// words of three or more letters cover two thirds of the letters
/// (`mbk_init_NewBKSIG`). Digits are allowed in short runs (`widget-0`,
/// `prefix0`) but never outnumber the letters.
pub fn word_shaped(body: &str, words: &IdentifierWords) -> bool {
    let (mut letters, mut known_letters, mut digits) = (0usize, 0usize, 0usize);
    let (mut unknown, mut long_known) = (0usize, 0usize);
    for piece in segments(body) {
        if piece.bytes().all(|b| b.is_ascii_digit()) {
            digits += piece.len();
            continue;
        }
        letters += piece.len();
        let lower = piece.to_ascii_lowercase();
        if words.is_word(&lower) || words.breaks_into_words(&lower) {
            known_letters += piece.len();
            if piece.len() >= 3 {
                long_known += 1;
            }
        } else {
            unknown += 1;
        }
    }
    if long_known == 0 || digits > 4.max(letters / 2) {
        return false;
    }
    unknown == 0 || (unknown == 1 && long_known >= 2 && known_letters * 3 >= letters * 2)
}

/// The CamelCase, snake_case, kebab-case and digit segments of `s`:
/// `lastFeedbackSubmittedAt` → last, Feedback, Submitted, At;
/// `CreateLUMatrix` → Create, LU, Matrix; `widget-0` → widget, 0.
pub fn segments(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for token in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        let b = token.as_bytes();
        let mut start = 0;
        for i in 1..b.len() {
            let (p, c) = (b[i - 1], b[i]);
            let digit_edge = p.is_ascii_digit() != c.is_ascii_digit();
            let camel = p.is_ascii_lowercase() && c.is_ascii_uppercase();
            // The last capital of a run starts the next word: LU|Matrix.
            let acronym_end = p.is_ascii_uppercase()
                && c.is_ascii_uppercase()
                && b.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if digit_edge || camel || acronym_end {
                out.push(&token[start..i]);
                start = i;
            }
        }
        if start < b.len() {
            out.push(&token[start..]);
        }
    }
    out
}

/// Why the match sits where code puts a name rather than a value, if it
/// does. `before` is the match's line up to the match, `after` what follows
/// it on the line.
pub fn code_position(before: &[u8], after: &[u8], words: &IdentifierWords) -> Option<&'static str> {
    let after = trim_start(after);
    if after.first() == Some(&b'(') {
        return Some("a name followed by `(`: a function call or definition");
    }
    let b = trim_end(before);
    if b.ends_with(b"->") || b.ends_with(b"::") {
        return Some("a member (`->`, `::`)");
    }
    if b.len() == before.len() && b.ends_with(b".") {
        // `obj.mbk_x`, `]`/`)` then `.`: a property, not a sentence's end.
        let prev = b.len().checked_sub(2).map(|i| b[i]);
        if prev.is_some_and(|p| p.is_ascii_alphanumeric() || matches!(p, b'_' | b')' | b']')) {
            return Some("a member (`.`)");
        }
    }
    // A declarator or a type, then spaces, `*` or `&`: the declared name.
    let gap = before.len()
        - trim_end_with(before, |c| {
            c.is_ascii_whitespace() || c == b'*' || c == b'&'
        })
        .len();
    if gap == 0 {
        return None;
    }
    let head = &before[..before.len() - gap];
    let word_start = head
        .iter()
        .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .map_or(0, |i| i + 1);
    let word = std::str::from_utf8(&head[word_start..]).ok()?;
    if word.is_empty() {
        return None;
    }
    if words.is_declarator(word) {
        return Some("the name a declaration declares");
    }
    let rest = trim_end(&head[..word_start]);
    let starts_statement =
        rest.is_empty() || matches!(rest.last(), Some(b'(' | b',' | b'{' | b';'));
    if word.ends_with("_t") || (starts_statement && is_camel_type(word)) {
        return Some("a name after a type");
    }
    None
}

/// `HeapAlloc`, `CacheList`: a capital, then lowercase, then another hump.
fn is_camel_type(w: &str) -> bool {
    let b = w.as_bytes();
    b.first().is_some_and(|c| c.is_ascii_uppercase())
        && b.get(1).is_some_and(|c| c.is_ascii_lowercase())
        && b[1..].iter().any(|c| c.is_ascii_uppercase())
        && b.iter().all(|c| c.is_ascii_alphanumeric())
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    &s[n..]
}

fn trim_end(s: &[u8]) -> &[u8] {
    trim_end_with(s, |c| matches!(c, b' ' | b'\t'))
}

fn trim_end_with(s: &[u8], strip: impl Fn(u8) -> bool) -> &[u8] {
    let n = s.iter().rev().take_while(|c| strip(**c)).count();
    &s[..s.len() - n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn words() -> &'static IdentifierWords {
        static SET: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
        &SET.get_or_init(|| RuleSet::builtin().unwrap()).identifiers
    }

    #[test]
    fn segments_split_camel_snake_kebab_and_digits() {
        assert_eq!(
            segments("lastFeedbackSubmittedAt"),
            ["last", "Feedback", "Submitted", "At"]
        );
        assert_eq!(segments("CreateLUMatrix"), ["Create", "LU", "Matrix"]);
        assert_eq!(segments("feedback_widget-0"), ["feedback", "widget", "0"]);
        assert_eq!(
            segments("toolongprefix0_payload"),
            ["toolongprefix", "0", "payload"]
        );
    }

    #[test]
    fn names_built_from_words_are_word_shaped() {
        for body in [
            "AddStringHashItem",
            "MatrixSolveUsingArray",
            "lastFeedbackSubmittedAt",
            "feedback_widget-0",
            "toolongprefix0_payload",
            "quickly_getlosigbyname",
            "set_transistor_instance_connector_orientation_info",
            "free_NewBKSIG_list",
            "CreateLUMatrix",
        ] {
            assert!(word_shaped(body, words()), "{body}");
        }
    }

    #[test]
    fn random_bodies_are_not_word_shaped() {
        for body in [
            "k3v9q0x7m2t5w8z1p4r6",
            "Qw8Xe2Rt6Yu0Ip4As9Df3Gh7",
            "qzkvbnxwrtplmhgfdsjcyv",
            "RRc8Y9ik09gWPe532HFVJJMQ",
            "0lMSiTYlxrALm0oX5kamC-cp3-BK7sQZ7mFMAQZUtBh",
        ] {
            assert!(!word_shaped(body, words()), "{body}");
        }
    }

    #[test]
    fn code_positions() {
        let w = words();
        let at = |before: &str, after: &str| code_position(before.as_bytes(), after.as_bytes(), w);
        assert!(at("  x = ", "(a, b);").is_some());
        assert!(at("  x = ", " (a, b);").is_some());
        assert!(at("&mm->", ");").is_some());
        assert!(at("Foo::", ";").is_some());
        assert!(at("obj.", " = 1;").is_some());
        assert!(at("#define ", " 4").is_some());
        assert!(at("static unsigned int ", "=0,").is_some());
        assert!(at("char *", ";").is_some());
        assert!(at("function ", " {").is_some());
        assert!(at("  HeapAlloc ", ";").is_some());
        assert!(at("static cache_list_t ", ";").is_some());
        // Values are not names.
        assert!(at("const key = \"", "\";").is_none());
        assert!(at("MINIBACK_API_KEY=", "").is_none());
        assert!(at("#define KEY ", "").is_none());
        assert!(at("The key is ", ".").is_none());
        assert!(at("see the docs. ", "").is_none());
        assert!(at("api_key ", "").is_none());
        assert!(at("x = Foo(A, HeapAlloc ", ")").is_some());
    }
}
