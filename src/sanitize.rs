//! Neutralising hostile text before it reaches a terminal.
//!
//! keyscan prints paths and snippets of files it did not write. A file name or
//! a line can carry ANSI escape sequences (recolouring or hiding output,
//! retitling the terminal), a `\r` that overwrites what came before, a
//! backspace, or Unicode bidirectional overrides that make text read
//! differently from what it is ("Trojan Source"). [`for_terminal`] replaces
//! every such character with a visible escape like `\x1b` or `<U+202E>`.

use std::borrow::Cow;

/// Whether a character must not reach a terminal raw.
fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
        )
}

/// `s` with control characters and bidi overrides made visible.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_hostile(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(for_terminal("plain\ttext"), "plain\ttext");
        assert_eq!(for_terminal("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(for_terminal("x\ry\u{8}"), "x\\x0dy\\x08");
        assert_eq!(for_terminal("evil\u{202E}txt"), "evil<U+202E>txt");
        assert_eq!(for_terminal("line\nbreak"), "line\\x0abreak");
        assert_eq!(for_terminal("c1\u{9b}x"), "c1<U+009B>x");
    }
}
