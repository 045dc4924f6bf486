//! Neutralising hostile text before it reaches a terminal.
//!
//! keyscan prints paths and snippets of files it did not write, and in CI it
//! prints them into logs that many people read. A file name or a line can
//! carry ANSI escape sequences (recolouring or hiding output, retitling the
//! terminal, forging a CI log command on a fresh line), a `\r` that overwrites
//! what came before, a backspace, Unicode bidirectional overrides that make
//! text read differently from what it is ("Trojan Source"), or invisible
//! format characters (zero-width spaces, the "tag" characters used to smuggle
//! hidden text). [`for_terminal`] replaces every such character with a visible
//! escape like `\x1b` or `<U+202E>`; [`for_terminal_lines`] does the same but
//! keeps line breaks, for multi-line messages keyscan itself writes.
//! [`no_log_commands`] keeps a printed line from being read as a CI runner
//! command (`::error::…`, `##vso[…]`).

use std::borrow::Cow;

/// Whether a character must not reach a terminal raw: every control
/// character but tab (C0, DEL, C1), the line and paragraph separators, and
/// every Unicode "format" (Cf) character — bidi embeddings, overrides and
/// isolates, zero-width characters, the BOM, interlinear annotations and tags.
fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// `s` with control characters, bidi overrides and invisible format
/// characters made visible.
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

/// Like [`for_terminal`], but `\n` stays a line break (and a `\r` directly
/// before it is dropped): for multi-line text such as a regex syntax error
/// with its caret diagram. Each line is escaped on its own, so nothing on one
/// line can reach back and overwrite another.
pub fn for_terminal_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_hostile(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s
        .split('\n')
        .map(|l| for_terminal(l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    Cow::Owned(lines.join("\n"))
}

/// `text` (several lines) with every line that would start, after leading
/// whitespace, with `::` or `##` made inert by escaping that first character.
///
/// CI runners read a job's output for commands: GitHub Actions takes a line
/// that starts (after spaces) with `::error file=…::` as an annotation, and
/// Azure Pipelines one with `##vso[…]`. A file named `::error::…`, or a rule
/// name in a scanned repository's config, must not be able to issue one by
/// being printed at the start of a line.
pub fn no_log_commands(text: &str) -> Cow<'_, str> {
    let is_command = |line: &str| {
        let t = line.trim_start();
        t.starts_with("::") || t.starts_with("##")
    };
    if !text.split('\n').any(is_command) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            if !is_command(line) {
                return line.to_string();
            }
            let indent = line.len() - line.trim_start().len();
            let (head, rest) = line.split_at(indent);
            let first = rest.as_bytes()[0];
            format!("{head}\\x{first:02x}{}", &rest[1..])
        })
        .collect();
    Cow::Owned(lines.join("\n"))
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

    #[test]
    fn escapes_invisible_format_characters() {
        assert_eq!(for_terminal("a\u{200B}b"), "a<U+200B>b");
        assert_eq!(for_terminal("iso\u{2067}late"), "iso<U+2067>late");
        assert_eq!(for_terminal("tag\u{E0041}"), "tag<U+E0041>");
        assert_eq!(for_terminal("soft\u{AD}hy"), "soft<U+00AD>hy");
        assert_eq!(for_terminal("del\x7f"), "del\\x7f");
        // Ordinary non-ASCII text is left alone.
        assert_eq!(for_terminal("café ключ 鍵 🔑"), "café ключ 鍵 🔑");
    }

    #[test]
    fn lines_cannot_issue_ci_log_commands() {
        assert_eq!(
            no_log_commands("ok\n  ::error file=a::x\n##vso[task]y\nfine :: here"),
            "ok\n  \\x3a:error file=a::x\n\\x23#vso[task]y\nfine :: here"
        );
        assert!(matches!(no_log_commands("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn multi_line_messages_keep_their_breaks_only() {
        assert_eq!(for_terminal_lines("one\ntwo"), "one\ntwo");
        assert_eq!(
            for_terminal_lines("bad \x1b[2Jkey\r\n  ^\rX"),
            "bad \\x1b[2Jkey\n  ^\\x0dX"
        );
    }
}
