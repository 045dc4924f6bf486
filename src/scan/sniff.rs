//! Facts read from a file's head: the `"use client"` directive.

/// Bytes of a file's head examined for a `"use client"` directive.
pub(crate) const USE_CLIENT_REACH: usize = 4096;

/// Whether JavaScript/TypeScript source starts with a `"use client"` directive
/// (after a BOM, whitespace and comments), which makes it client code in
/// React Server Components frameworks.
pub fn starts_with_use_client(bytes: &[u8]) -> bool {
    let mut s = &bytes[..bytes.len().min(USE_CLIENT_REACH)];
    if s.starts_with(b"\xEF\xBB\xBF") {
        s = &s[3..];
    }
    loop {
        let trimmed = s.trim_ascii_start();
        if let Some(rest) = trimmed.strip_prefix(b"//") {
            match memchr::memchr(b'\n', rest) {
                Some(i) => s = &rest[i + 1..],
                None => return false,
            }
        } else if let Some(rest) = trimmed.strip_prefix(b"/*") {
            match memchr::memmem::find(rest, b"*/") {
                Some(i) => s = &rest[i + 2..],
                None => return false,
            }
        } else {
            return trimmed.starts_with(b"\"use client\"") || trimmed.starts_with(b"'use client'");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_client_directive_after_comments() {
        assert!(starts_with_use_client(
            b"// header\n/* x */\n'use client';\n"
        ));
        assert!(starts_with_use_client(b"\"use client\"\nexport default 1"));
        assert!(!starts_with_use_client(b"import x from 'y';\n'use client'"));
        assert!(!starts_with_use_client(b"/* never closed 'use client'"));
    }
}
