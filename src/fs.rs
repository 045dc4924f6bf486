//! Opening files that a hostile repository controls, and writing files
//! safely.
//!
//! keyscan runs on strangers' pull requests, so any path in the scanned tree
//! may be a FIFO (opening it blocks forever), a device, a symlink to a file
//! outside the tree, or a file swapped between listing and opening. Every
//! read of repository content goes through [`open_regular`]; small files
//! (manifests, dotenv files) through [`read_small`], which also bounds how
//! much is read. Files keyscan is handed or finds for itself (a config, a
//! baseline) are read with [`read_limited`]: regular files only, non-blocking,
//! with a size limit, and — for files found inside the scanned tree — never
//! through a symlink. Files keyscan writes go through [`write_replace`]: a
//! temporary file in the same folder, renamed over the target, so a killed
//! run never leaves a truncated file and a symlink at the target is replaced,
//! never written through.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// Opens `path` for reading if it is (still) a regular file; `None` if it is
/// a FIFO, socket, device or symbolic link.
///
/// The walk already skips special files and links by their directory entry,
/// but a file can be swapped for a FIFO or a link between listing and
/// opening: opening a FIFO with no writer blocks forever, and a link may
/// lead out of the tree. So the file is opened non-blocking (which changes
/// nothing for a regular file) and without following a link in its last
/// part (`O_NOFOLLOW`), and checked with `fstat` on the open handle, which is
/// what is actually read. The file's length comes from the same `fstat` (the
/// walk opens every file of the tree: one system call per file saved).
///
/// `links`: [`Links::Follow`] for a file named on the command line, which is
/// taken as given; [`Links::Refuse`] for everything found in the tree.
pub fn open_regular(path: &Path, links: Links) -> std::io::Result<Option<(File, u64)>> {
    let file = match open_nonblocking(path, links) {
        Ok(file) => file,
        Err(e) if is_link_refused(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    Ok(Some((file, meta.len())))
}

/// Opens a file that the walk listed as a regular file inside the tree,
/// without the `fstat` of [`open_regular`]: the walk opens every file of the
/// tree, and this saves one system call per file where nothing needs the
/// length.
///
/// The directory entry said "regular file"; what can change between listing
/// and opening is still harmless. The open is non-blocking and refuses a link
/// in the last part (`O_NOFOLLOW`), so a file swapped for a FIFO reads as
/// empty (or fails with "would block") instead of hanging, one swapped for a
/// link is `None`, one swapped for a folder fails to read. A device node
/// cannot come from a checkout (git stores none), and whoever can make one in
/// the tree while keyscan runs already controls the machine.
pub fn open_listed(path: &Path) -> io::Result<Option<File>> {
    match open_nonblocking(path, Links::Refuse) {
        Ok(file) => Ok(Some(file)),
        Err(e) if is_link_refused(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens `path` for reading, non-blocking (a FIFO never hangs the open or
/// a read) and without a controlling terminal; with [`Links::Refuse`], not
/// through a symbolic link in its last part (`O_NOFOLLOW`, an error
/// [`is_link_refused`] recognises). Every read of a file keyscan did not
/// write goes through here.
fn open_nonblocking(path: &Path, links: Links) -> io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = match links {
            Links::Follow => 0,
            Links::Refuse => libc::O_NOFOLLOW,
        };
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | nofollow);
    }
    opts.open(path)
}

/// Whether an open failed because the last part of the path is a symbolic
/// link that `O_NOFOLLOW` refused (`ELOOP`).
fn is_link_refused(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// The first `limit` bytes of a regular file inside the scanned tree;
/// `Ok(None)` if `path` is not a regular file — a symlink included, which is
/// never followed (it may point out of the tree, at `/proc/self/environ` or
/// another repository's secrets).
pub fn read_small(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let Some((file, _)) = open_regular(path, Links::Refuse)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Whether [`read_limited`] may open `path` through a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// The path was handed to keyscan (a command-line flag): taken as given.
    Follow,
    /// keyscan found the path inside the scanned tree: a symlink there may
    /// point anywhere, so it is refused.
    Refuse,
}

/// The whole content of the regular file `path`, at most `limit` bytes.
///
/// Opened non-blocking, so a FIFO never hangs the read; a FIFO, socket,
/// device (`/dev/zero`), a file over `limit` bytes, and with
/// [`Links::Refuse`] a symlink, are errors that say which.
pub fn read_limited(path: &Path, limit: u64, links: Links) -> io::Result<Vec<u8>> {
    if links == Links::Refuse && std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(io::Error::other(
            "is a symbolic link; keyscan does not follow links inside the scanned tree",
        ));
    }
    let file = open_nonblocking(path, links)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(
            "not a regular file (a FIFO, socket or device); refusing to read it",
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "larger than the {} limit",
            indicatif::HumanBytes(limit)
        )));
    }
    Ok(bytes)
}

/// Replaces `path` with `bytes`: written to a new temporary file in the same
/// folder, flushed, then renamed over `path`. A reader (or a killed run)
/// sees the old file or the new one, never half of either; a symlink at
/// `path` is replaced by a regular file, never written through. An existing
/// regular file keeps its permissions; a new file gets `0644`.
pub fn write_replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("not a file name"))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".keyscan-tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_file() => m.permissions().mode() & 0o7777,
            _ => 0o644,
        };
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Makes a FIFO at `path`, for the tests that a read never blocks on one.
    pub(crate) fn mkfifo(path: &Path) {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo is installed");
        assert!(made.success(), "mkfifo {}", path.display());
    }

    #[test]
    fn read_limited_takes_regular_files_within_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(&f, "0123456789").unwrap();
        assert_eq!(read_limited(&f, 10, Links::Refuse).unwrap(), b"0123456789");
        let e = read_limited(&f, 9, Links::Follow).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.toml");
            std::os::unix::fs::symlink(&f, &link).unwrap();
            assert!(read_limited(&link, 10, Links::Follow).is_ok());
            let e = read_limited(&link, 10, Links::Refuse)
                .unwrap_err()
                .to_string();
            assert!(e.contains("symbolic link"), "{e}");
            let zero = dir.path().join("zero");
            std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
            let e = read_limited(&zero, 10, Links::Follow)
                .unwrap_err()
                .to_string();
            assert!(e.contains("not a regular file"), "{e}");
        }
    }

    /// A file swapped for a link or a FIFO after the walk listed it is not
    /// read: `None`, never the link's target, never a hang.
    #[cfg(unix)]
    #[test]
    fn open_regular_refuses_links_fifos_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("app.js");
        std::fs::write(&f, "x").unwrap();
        let (_, len) = open_regular(&f, Links::Refuse).unwrap().unwrap();
        assert_eq!(len, 1);
        let outside = dir.path().join("outside-secret");
        std::fs::write(&outside, "precious").unwrap();
        let link = dir.path().join("link.js");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(
            open_regular(&link, Links::Refuse).unwrap().is_none(),
            "a link is not followed"
        );
        // Named on the command line, a link is taken as given.
        let (_, len) = open_regular(&link, Links::Follow).unwrap().unwrap();
        assert_eq!(len, 8);
        let dev = dir.path().join("zero.js");
        std::os::unix::fs::symlink("/dev/zero", &dev).unwrap();
        assert!(open_regular(&dev, Links::Refuse).unwrap().is_none());
        assert!(open_regular(&dev, Links::Follow).unwrap().is_none());
        assert!(open_regular(Path::new("/dev/zero"), Links::Follow)
            .unwrap()
            .is_none());
        let fifo = dir.path().join("pipe.js");
        mkfifo(&fifo);
        assert!(open_regular(&fifo, Links::Follow).unwrap().is_none());
        // A link in a folder on the way is the walk's business (it never
        // descends through one); only the last part is refused here.
        assert!(open_regular(&dir.path().join("missing"), Links::Refuse).is_err());
    }

    #[test]
    fn write_replace_replaces_a_symlink_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "precious").unwrap();
        let target = dir.path().join("out.jsonl");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, &target).unwrap();
        write_replace(&target, b"new\n").unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
        assert!(std::fs::symlink_metadata(&target).unwrap().is_file());
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
