//! Opening files that a hostile repository controls.
//!
//! keyscan runs on strangers' pull requests, so any path in the scanned tree
//! may be a FIFO (opening it blocks forever), a device, or a file swapped
//! between listing and opening. Every read of repository content goes
//! through [`open_regular`]; small files (manifests, dotenv files) through
//! [`read_small`], which also bounds how much is read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Opens `path` for reading if it is (still) a regular file; `None` if it is
/// a FIFO, socket or device.
///
/// The walk already skips special files by their directory entry, but a file
/// can be swapped for a FIFO between listing and opening, and opening a FIFO
/// with no writer blocks forever. So the file is opened non-blocking (which
/// changes nothing for a regular file) and checked with `fstat` on the open
/// handle, which is what is actually read.
pub fn open_regular(path: &Path) -> std::io::Result<Option<File>> {
    Ok(open_regular_len(path)?.map(|(file, _)| file))
}

/// [`open_regular`], with the file's length from the same `fstat` (the walk
/// opens every file of the tree: one system call per file saved).
pub fn open_regular_len(path: &Path) -> std::io::Result<Option<(File, u64)>> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    Ok(Some((file, meta.len())))
}

/// The first `limit` bytes of a regular file; `Ok(None)` if `path` is not a
/// regular file.
pub fn read_small(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let Some(file) = open_regular(path)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}
