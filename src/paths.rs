//! Paths as keyscan shows them: `/`-separated, relative to the scan root.
//!
//! Every finding, summary entry and fact is keyed by a *display path*: a
//! relative, `/`-separated string that is the same on every platform and for
//! every source (a file on disk, an index entry, a blob in history). This
//! module is the one place that turns filesystem paths into display paths
//! and takes display paths apart.

use std::path::{Path, PathBuf};

/// The folder part of a `/`-separated path (`""` at the top).
pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// The last component of a `/`-separated path.
pub fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map(|(_, f)| f).unwrap_or(path)
}

/// `prefix/rel`, or whichever of the two is not empty.
pub fn join_display(prefix: &str, rel: &str) -> String {
    match (prefix.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{rel}"),
    }
}

/// Each root with the prefix its display paths get: empty for a single
/// directory root (paths are relative to it), else the root as given.
pub fn root_displays(roots: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let single_dir = roots.len() == 1 && roots[0].is_dir();
    roots
        .iter()
        .map(|r| {
            let display = if single_dir {
                String::new()
            } else {
                slash_path(r)
            };
            (r.clone(), display)
        })
        .collect()
}

/// A path with `/` separators and no leading `./`.
pub fn slash_path(p: &Path) -> String {
    // The walk asks this for every file: a path that is already what the
    // components would give (UTF-8, `/`-separated, no `.` parts, no
    // doubled or trailing `/`) is copied as it is.
    if std::path::MAIN_SEPARATOR == '/' {
        if let Some(s) = p.to_str() {
            let plain = s != "."
                && !s.starts_with("./")
                && !s.ends_with('/')
                && !s.ends_with("/.")
                && !s.contains("//")
                && !s.contains("/./");
            if plain {
                return s.to_string();
            }
        }
    }
    slash_path_by_components(p)
}

/// [`slash_path`] component by component.
fn slash_path_by_components(p: &Path) -> String {
    let s: Vec<String> = p
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let joined = s.join("/");
    if p.has_root() {
        // The root component is "/" itself, so the join starts with "//".
        joined.replacen("//", "/", 1)
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_paths_copied_as_they_are_equal_the_component_join() {
        for p in [
            "",
            ".",
            "..",
            "/",
            "a",
            "a/b.js",
            "/abs/x",
            "./a",
            "a/./b",
            "a/.",
            "a/",
            "a//b",
            "//a",
            "a/../b",
            ".env",
            "a/.env.local",
            "./",
            "a/b/",
        ] {
            let p = Path::new(p);
            assert_eq!(slash_path(p), slash_path_by_components(p), "{p:?}");
        }
    }
}
