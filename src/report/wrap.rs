//! Text lines wrapped to a width (the terminal's, chosen by the binary).
//!
//! Each line is wrapped on its own, at spaces, by [`textwrap`] (which measures
//! display width, so wide characters count double and colour escapes count
//! nothing). Words are never broken: a path, URL, fingerprint or redacted
//! key longer than the width stays whole on a line of its own, so it can
//! still be copied or clicked. Continuation lines keep the line's indent and
//! align under the text of a list marker — `1. `, `- `, or the `│ ` of a
//! snippet — and a line that starts at the margin continues two spaces in,
//! so a wrapped line never reads as a new one.

use textwrap::{Options, WordSeparator};

/// Narrower than this, wrapping helps nobody: the width is raised to it.
pub const MIN_WIDTH: usize = 40;

/// `text` with every line longer than `width` columns wrapped.
pub fn wrap_text(text: &str, width: usize) -> String {
    let width = width.max(MIN_WIDTH);
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        wrap_line(line, width, &mut out);
    }
    out
}

fn wrap_line(line: &str, width: usize, out: &mut String) {
    if textwrap::core::display_width(line) <= width {
        out.push_str(line);
        return;
    }
    let body = line.trim_start_matches(' ');
    let indent = &line[..line.len() - body.len()];
    let continuation = format!(
        "{indent}{}",
        match marker(body) {
            Some(m) if m.starts_with('│') => m.to_string(),
            Some(m) => " ".repeat(textwrap::core::display_width(m)),
            None if indent.is_empty() => "  ".to_string(),
            None => String::new(),
        }
    );
    let opts = Options::new(width)
        .initial_indent(indent)
        .subsequent_indent(&continuation)
        .word_separator(WordSeparator::AsciiSpace)
        .break_words(false);
    let lines = textwrap::wrap(body, opts);
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(l.trim_end());
    }
}

/// The list marker a line's text starts with: `1. `, `- `, `│ `.
fn marker(body: &str) -> Option<&str> {
    if body.starts_with("│ ") {
        return Some(&body[.."│ ".len()]);
    }
    if body.starts_with("- ") {
        return Some(&body[..2]);
    }
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && body[digits..].starts_with(". ")).then(|| &body[..digits + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(text: &str) -> usize {
        text.lines()
            .map(textwrap::core::display_width)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn short_lines_are_untouched() {
        let text = "CRITICAL x\n  at a.js:1:2  (client)\n\n    1. Open it.";
        assert_eq!(wrap_text(text, 80), text);
    }

    #[test]
    fn long_lines_wrap_with_their_indent() {
        let long = format!("  {}", "word ".repeat(30).trim_end());
        let out = wrap_text(&long, 40);
        assert!(widest(&out) <= 40, "{out}");
        assert!(out.lines().count() > 3, "{out}");
        assert!(out.lines().all(|l| l.starts_with("  word")), "{out}");
        // Nothing lost, nothing added but line breaks and indents.
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            long.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn markers_align_continuations() {
        let step = format!("    2. {}", "rotate the key ".repeat(8).trim_end());
        let out = wrap_text(&step, 50);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("    2. rotate"));
        assert!(lines.len() > 2, "{out}");
        let aligned = |l: &&str| l.starts_with("       ") && !l.starts_with("        ");
        assert!(lines[1..].iter().all(aligned), "{out}");

        let snippet = format!("  │ {}", "const a = b; ".repeat(8).trim_end());
        let out = wrap_text(&snippet, 45);
        assert!(out.lines().all(|l| l.starts_with("  │ const")), "{out}");

        let top = format!("note: {}", "more words here ".repeat(6).trim_end());
        let out = wrap_text(&top, 40);
        assert!(out.lines().count() > 1, "{out}");
        let two_in = |l: &str| l.starts_with("  ") && !l.starts_with("   ");
        assert!(out.lines().skip(1).all(two_in), "{out}");
    }

    #[test]
    fn long_words_stay_whole_and_width_has_a_floor() {
        let url = format!("https://example.com/{}", "a".repeat(80));
        let line = format!("  rotate: {url} then more words");
        let out = wrap_text(&line, 10);
        assert!(out.lines().any(|l| l.trim() == url), "{out}");
        assert!(out
            .lines()
            .all(|l| l.len() <= MIN_WIDTH || l.contains(&url)));
    }

    #[test]
    fn colour_escapes_take_no_width() {
        let red = "\x1b[31mword\x1b[0m ";
        let line = red.repeat(9); // 44 visible columns, once trimmed
        assert_eq!(wrap_text(line.trim_end(), 43).lines().count(), 2);
        assert_eq!(wrap_text(line.trim_end(), 44).lines().count(), 1);
    }
}
