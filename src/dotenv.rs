//! A dotenv parser that keeps byte spans.
//!
//! keyscan needs to know *which variable* a key sits in (a `NEXT_PUBLIC_…`
//! variable is inlined into public JavaScript by the bundler), so
//! [`parse`] returns every assignment with the byte span of its value in the
//! original bytes. It follows what dotenv loaders (Node's `dotenv`, Vite,
//! Next.js, python-dotenv) accept:
//!
//! - `KEY=value`, `export KEY=value`, `KEY: value`, spaces around `=`;
//! - `#` comments on their own line, and after an unquoted value when preceded
//!   by whitespace;
//! - single-, double- and backtick-quoted values, which may span lines;
//! - CRLF line endings and a UTF-8 BOM.
//!
//! It never fails: a line that is not an assignment is skipped. `${VAR}`
//! references are returned verbatim as values (the matcher never takes them
//! for keys).

use std::ops::Range;

/// One `NAME=value` assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The variable name.
    pub name: String,
    /// The value, unquoted (escapes in double quotes are kept as written).
    pub value: String,
    /// Byte span of the value in the input (inside the quotes, if quoted).
    pub value_span: Range<usize>,
    /// 1-based line of the name.
    pub line: usize,
    /// Written as `export NAME=…`.
    pub exported: bool,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'
}

/// Parses dotenv bytes. Never panics, whatever the input.
pub fn parse(input: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut i = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut line = 1usize;
    let n = input.len();
    while i < n {
        // Start of a line: skip horizontal whitespace.
        while i < n && (input[i] == b' ' || input[i] == b'\t') {
            i += 1;
        }
        if i >= n {
            break;
        }
        if input[i] == b'\n' || input[i] == b'\r' || input[i] == b'#' {
            i = skip_line(input, i, &mut line);
            continue;
        }
        let line_of_name = line;
        let mut exported = false;
        if input[i..].starts_with(b"export")
            && input.get(i + 6).is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            exported = true;
            i += 6;
            while i < n && (input[i] == b' ' || input[i] == b'\t') {
                i += 1;
            }
        }
        let name_start = i;
        while i < n && is_name_byte(input[i]) {
            i += 1;
        }
        let name_end = i;
        while i < n && (input[i] == b' ' || input[i] == b'\t') {
            i += 1;
        }
        if name_end == name_start || i >= n || (input[i] != b'=' && input[i] != b':') {
            i = skip_line(input, i, &mut line);
            continue;
        }
        i += 1;
        while i < n && (input[i] == b' ' || input[i] == b'\t') {
            i += 1;
        }
        let name = String::from_utf8_lossy(&input[name_start..name_end]).into_owned();
        let (span, next) = match input.get(i) {
            Some(&q @ (b'"' | b'\'' | b'`')) => {
                let start = i + 1;
                let mut j = start;
                while j < n && input[j] != q {
                    if q == b'"' && input[j] == b'\\' && j + 1 < n {
                        if input[j + 1] == b'\n' {
                            line += 1;
                        }
                        j += 2;
                        continue;
                    }
                    if input[j] == b'\n' {
                        line += 1;
                    }
                    j += 1;
                }
                if j >= n {
                    // Unterminated quote: loaders treat the rest of the line as
                    // the value; do the same and resume after it.
                    let end = line_end(input, start);
                    line = line_of_name;
                    (start..end, end)
                } else {
                    (start..j, j + 1)
                }
            }
            _ => {
                let end = line_end(input, i);
                let mut value_end = end;
                // ` #` starts a comment in an unquoted value.
                let mut k = i;
                while k < end {
                    if input[k] == b'#' && k > i && (input[k - 1] == b' ' || input[k - 1] == b'\t')
                    {
                        value_end = k;
                        break;
                    }
                    k += 1;
                }
                while value_end > i
                    && (input[value_end - 1] == b' ' || input[value_end - 1] == b'\t')
                {
                    value_end -= 1;
                }
                (i..value_end, end)
            }
        };
        out.push(Entry {
            name,
            value: String::from_utf8_lossy(&input[span.clone()]).into_owned(),
            value_span: span,
            line: line_of_name,
            exported,
        });
        i = skip_line(input, next.min(n), &mut line);
    }
    out
}

/// Offset of the end of the line starting at or containing `i` (before `\r\n`/`\n`).
fn line_end(input: &[u8], i: usize) -> usize {
    match memchr::memchr2(b'\n', b'\r', &input[i.min(input.len())..]) {
        Some(k) => i + k,
        None => input.len(),
    }
}

/// Skips to the start of the next line, counting it.
fn skip_line(input: &[u8], i: usize, line: &mut usize) -> usize {
    let mut j = i;
    while j < input.len() {
        match input[j] {
            b'\n' => {
                *line += 1;
                return j + 1;
            }
            b'\r' => {
                *line += 1;
                return if input.get(j + 1) == Some(&b'\n') {
                    j + 2
                } else {
                    j + 1
                };
            }
            _ => j += 1,
        }
    }
    j
}

/// [`parse`] after decoding UTF-16 (Windows tools write dotenv files so);
/// offsets are then into the decoded UTF-8 text, as the matcher's are.
pub fn parse_any(input: &[u8]) -> Vec<Entry> {
    match crate::scan::decode_utf16(input) {
        Some(text) => parse(text.as_bytes()),
        None => parse(input),
    }
}

/// The entry whose value contains byte offset `offset`.
pub fn entry_at(entries: &[Entry], offset: usize) -> Option<&Entry> {
    entries
        .iter()
        .find(|e| e.value_span.start <= offset && offset < e.value_span.end)
}

/// Prefixes that bundlers inline into public JavaScript.
pub const EXPOSED_PREFIXES: &[&str] = &[
    "NEXT_PUBLIC_",
    "VITE_",
    "REACT_APP_",
    "EXPO_PUBLIC_",
    "PUBLIC_",
    "GATSBY_",
    "NUXT_PUBLIC_",
    "VUE_APP_",
];

/// The bundler-exposed prefix a variable name carries, if any.
pub fn exposed_prefix(name: &str) -> Option<&'static str> {
    EXPOSED_PREFIXES
        .iter()
        .copied()
        .find(|p| name.starts_with(p))
}

/// Whether a file name is a dotenv file (`.env`, `.env.local`, `.env.example`…).
pub fn is_dotenv_name(file_name: &str) -> bool {
    file_name == ".env" || file_name.starts_with(".env.")
}

/// Whether a dotenv file name is a template meant to be committed.
pub fn is_template_name(file_name: &str) -> bool {
    const TEMPLATE_SUFFIXES: &[&str] = &[
        ".example",
        ".sample",
        ".template",
        ".dist",
        ".defaults",
        ".tmpl",
        ".tpl",
    ];
    is_dotenv_name(file_name) && TEMPLATE_SUFFIXES.iter().any(|s| file_name.ends_with(s))
}

/// Whether a `/`-separated path names a file that holds keys by convention
/// without being a dotenv file: `secrets.json` anywhere and `config/keys.js`
/// (both named by the `.gitignore` of the platforms' starter projects).
pub fn is_secret_file_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "secrets.json" || path == "config/keys.js" || path.ends_with("/config/keys.js")
}

/// Whether a `/`-separated path names a secret-bearing file: a dotenv file
/// that is not a template, or a [`is_secret_file_path`] file.
pub fn is_sensitive_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    (is_dotenv_name(name) && !is_template_name(name)) || is_secret_file_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String, usize)> {
        parse(text.as_bytes())
            .into_iter()
            .map(|e| (e.name, e.value, e.line))
            .collect()
    }

    #[test]
    fn plain_export_quotes_and_comments() {
        let text =
            "# c\nA=1\nexport B = two # note\r\nC='x # y'\nD=\"q\\\"r\"\n\nE: colon\nnot a line\n";
        assert_eq!(
            names(text),
            vec![
                ("A".into(), "1".into(), 2),
                ("B".into(), "two".into(), 3),
                ("C".into(), "x # y".into(), 4),
                ("D".into(), "q\\\"r".into(), 5),
                ("E".into(), "colon".into(), 7),
            ]
        );
    }

    #[test]
    fn multiline_values_and_spans() {
        let text = "KEY=\"line1\nline2\"\nNEXT=v\n";
        let entries = parse(text.as_bytes());
        assert_eq!(entries[0].value, "line1\nline2");
        assert_eq!(&text[entries[0].value_span.clone()], "line1\nline2");
        assert_eq!(entries[1].name, "NEXT");
        assert_eq!(entries[1].line, 3);
        assert_eq!(entry_at(&entries, 12).unwrap().name, "KEY");
    }

    #[test]
    fn crlf_multiline_and_references() {
        let text = "export A=\"x\r\ny\"\r\nB=${A}\r\nC='${HOME}' # c\r\n";
        let e = parse(text.as_bytes());
        assert_eq!(e.len(), 3);
        assert!(e[0].exported);
        assert_eq!(e[0].value, "x\r\ny");
        assert_eq!(
            (e[1].name.as_str(), e[1].value.as_str(), e[1].line),
            ("B", "${A}", 3)
        );
        assert_eq!((e[2].value.as_str(), e[2].line), ("${HOME}", 4));
    }

    #[test]
    fn unterminated_quote_does_not_swallow_the_file() {
        let entries = parse(b"A=\"open\nB=2\n");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].name, "B");
    }

    #[test]
    fn exposed_prefixes_and_names() {
        assert_eq!(
            exposed_prefix("NEXT_PUBLIC_MINIBACK_KEY"),
            Some("NEXT_PUBLIC_")
        );
        assert_eq!(exposed_prefix("MINIBACK_KEY"), None);
        assert!(is_dotenv_name(".env.production.local"));
        assert!(!is_dotenv_name("env.js"));
        assert!(is_template_name(".env.example"));
        assert!(!is_template_name(".env.local"));
        assert!(is_secret_file_path("secrets.json"));
        assert!(is_secret_file_path("apps/api/config/keys.js"));
        assert!(!is_secret_file_path("keys.js"));
        assert!(!is_secret_file_path("myconfig/keys.js"));
        assert!(is_sensitive_path("apps/web/.env.local"));
        assert!(!is_sensitive_path("apps/web/.env.example"));
    }
}
