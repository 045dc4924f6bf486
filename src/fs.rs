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
    regular(link_refused_as_none(open_nonblocking(path, links))?)
}

/// An open that `O_NOFOLLOW` refused (the last part was a link) as `None`.
fn link_refused_as_none(opened: io::Result<File>) -> io::Result<Option<File>> {
    match opened {
        Ok(file) => Ok(Some(file)),
        Err(e) if is_link_refused(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The opened `file` with its length if `fstat` on the handle says it is a
/// regular file; `None` for a FIFO, socket or device (or nothing opened).
fn regular(file: Option<File>) -> io::Result<Option<(File, u64)>> {
    let Some(file) = file else {
        return Ok(None);
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
    link_refused_as_none(open_nonblocking(path, Links::Refuse))
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

/// What a folder entry is, as its directory entry says (a link is never
/// followed to find out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A folder.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

impl EntryKind {
    /// A folder.
    pub fn is_dir(self) -> bool {
        self == EntryKind::Dir
    }

    /// A regular file.
    pub fn is_file(self) -> bool {
        self == EntryKind::File
    }

    /// A symbolic link.
    pub fn is_symlink(self) -> bool {
        self == EntryKind::Symlink
    }
}

impl From<std::fs::FileType> for EntryKind {
    fn from(ft: std::fs::FileType) -> Self {
        if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else if ft.is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Other
        }
    }
}

/// What [`Folder::entries`] read.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every entry read, with what it is.
    pub entries: Vec<(std::ffi::OsString, EntryKind)>,
    /// Entries whose kind could not be learned (named), and the listing
    /// failing part way (`None`).
    pub errors: Vec<(Option<std::ffi::OsString>, io::Error)>,
}

/// An open folder of the scanned tree: listed through its descriptor, and
/// its files opened by name relative to it (`openat`).
///
/// Opening a file relative to the folder the walk listed, instead of by its
/// whole path, spares the kernel a lookup of every folder above it for each
/// file (the deeper the scan root, the more that costs: a tenth of a
/// real-tree scan run from an absolute path), and the file opened is the
/// one in the folder that was listed, even if a folder above it is swapped
/// for a link meanwhile.
pub struct Folder {
    #[cfg(unix)]
    fd: rustix::fd::OwnedFd,
    #[cfg(not(unix))]
    path: std::path::PathBuf,
}

impl Folder {
    /// Opens folder `path` for listing. With [`Links::Refuse`] (a folder
    /// found in the tree) a link in its last part is refused (`O_NOFOLLOW`,
    /// an error [`is_link_refused`] recognises); a scan root named on the
    /// command line is taken as given ([`Links::Follow`]).
    pub fn open(path: &Path, links: Links) -> io::Result<Folder> {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NONBLOCK;
            if links == Links::Refuse {
                flags |= OFlags::NOFOLLOW;
            }
            let fd = rustix::fs::open(path, flags, Mode::empty())?;
            Ok(Folder { fd })
        }
        #[cfg(not(unix))]
        {
            let _ = links;
            if !std::fs::metadata(path)?.is_dir() {
                return Err(io::Error::other("not a folder"));
            }
            Ok(Folder {
                path: path.to_path_buf(),
            })
        }
    }

    /// The folder's entries (without `.` and `..`), with what each is, and
    /// what could not be read: an entry whose kind could not be learned
    /// (named), or the listing itself failing part way (no name; the
    /// entries read before it are kept). One bad entry never hides the
    /// others.
    pub fn entries(&self) -> Listing {
        let mut out = Listing::default();
        #[cfg(target_os = "linux")]
        {
            let mut buf = Vec::with_capacity(16 * 1024);
            let mut dir = rustix::fs::RawDir::new(&self.fd, buf.spare_capacity_mut());
            while let Some(entry) = dir.next() {
                match entry {
                    Ok(entry) => self.keep(&mut out, entry.file_name(), entry.file_type()),
                    Err(e) => {
                        out.errors.push((None, e.into()));
                        break;
                    }
                }
            }
        }
        #[cfg(all(unix, not(target_os = "linux")))]
        {
            match rustix::fs::Dir::read_from(&self.fd) {
                Ok(dir) => {
                    for entry in dir {
                        match entry {
                            Ok(entry) => self.keep(&mut out, entry.file_name(), entry.file_type()),
                            Err(e) => {
                                out.errors.push((None, e.into()));
                                break;
                            }
                        }
                    }
                }
                Err(e) => out.errors.push((None, e.into())),
            }
        }
        #[cfg(not(unix))]
        {
            match std::fs::read_dir(&self.path) {
                Ok(dir) => {
                    for entry in dir {
                        match entry {
                            Ok(entry) => match entry.file_type() {
                                Ok(ft) => out.entries.push((entry.file_name(), ft.into())),
                                Err(e) => out.errors.push((Some(entry.file_name()), e)),
                            },
                            Err(e) => {
                                out.errors.push((None, e));
                                break;
                            }
                        }
                    }
                }
                Err(e) => out.errors.push((None, e)),
            }
        }
        out
    }

    /// Adds entry `name` (not `.` or `..`) with what it is to `out`, or
    /// the error that kept its kind from being learned.
    #[cfg(unix)]
    fn keep(&self, out: &mut Listing, name: &std::ffi::CStr, ft: rustix::fs::FileType) {
        let bytes = name.to_bytes();
        if bytes != b"." && bytes != b".." {
            match self.kind(name, ft) {
                Ok(kind) => out.entries.push((os_name(bytes), kind)),
                Err(e) => out.errors.push((Some(os_name(bytes)), e)),
            }
        }
    }

    /// What an entry is: its directory entry's type, or (a file system that
    /// does not record it) the entry itself, never what a link points to.
    #[cfg(unix)]
    fn kind(&self, name: &std::ffi::CStr, ft: rustix::fs::FileType) -> io::Result<EntryKind> {
        use rustix::fs::FileType;
        let ft = match ft {
            FileType::Unknown => {
                let st = rustix::fs::statat(&self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
                FileType::from_raw_mode(st.st_mode)
            }
            known => known,
        };
        Ok(match ft {
            FileType::Directory => EntryKind::Dir,
            FileType::RegularFile => EntryKind::File,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        })
    }

    /// Opens file `name` of this folder as [`open_nonblocking`] opens a path
    /// with [`Links::Refuse`]: non-blocking, no controlling terminal, not
    /// through a link (`path` is the file's whole path, used where there
    /// is no `openat`).
    fn open_file(&self, name: &std::ffi::OsStr, path: &Path) -> io::Result<File> {
        #[cfg(unix)]
        {
            let _ = path;
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY
                | OFlags::NONBLOCK
                | OFlags::NOCTTY
                | OFlags::NOFOLLOW
                | OFlags::CLOEXEC;
            Ok(File::from(rustix::fs::openat(
                &self.fd,
                name,
                flags,
                Mode::empty(),
            )?))
        }
        #[cfg(not(unix))]
        {
            let _ = name;
            open_nonblocking(path, Links::Refuse)
        }
    }
}

/// A name read from a directory entry, as an `OsString`.
#[cfg(unix)]
fn os_name(bytes: &[u8]) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes).to_os_string()
}

/// [`open_listed`] for file `name` of the open folder `folder` (`path`:
/// its whole path).
pub fn open_listed_in(
    folder: &Folder,
    name: &std::ffi::OsStr,
    path: &Path,
) -> io::Result<Option<File>> {
    link_refused_as_none(folder.open_file(name, path))
}

/// [`open_regular`] with [`Links::Refuse`] for file `name` of the open
/// folder `folder` (`path`: its whole path).
pub fn open_regular_in(
    folder: &Folder,
    name: &std::ffi::OsStr,
    path: &Path,
) -> io::Result<Option<(File, u64)>> {
    regular(open_listed_in(folder, name, path)?)
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
    use std::ffi::OsStr;

    /// Makes a FIFO at `path`, for the tests that a read never blocks on one.
    pub(crate) fn mkfifo(path: &Path) {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo is installed");
        assert!(made.success(), "mkfifo {}", path.display());
    }

    /// A folder lists every entry with its kind, never through a link, and
    /// opens its files by name the way `open_listed`/`open_regular` open a
    /// path: links refused, FIFOs never blocking, folders not files.
    #[cfg(unix)]
    #[test]
    fn folders_list_entries_and_open_their_files_without_following_links() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("tree");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("app.js"), "k").unwrap();
        std::fs::write(dir.join("é .env"), "x=1").unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "precious").unwrap();
        std::os::unix::fs::symlink(outside.join("secret"), dir.join("link.js")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("linked-dir")).unwrap();
        mkfifo(&dir.join("pipe.js"));
        let folder = Folder::open(&dir, Links::Refuse).unwrap();
        let listing = folder.entries();
        assert!(listing.errors.is_empty(), "{:?}", listing.errors);
        let mut entries = listing.entries;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let shown: Vec<(String, EntryKind)> = entries
            .iter()
            .map(|(n, k)| (n.to_string_lossy().into_owned(), *k))
            .collect();
        assert_eq!(
            shown,
            [
                ("app.js".to_string(), EntryKind::File),
                ("link.js".to_string(), EntryKind::Symlink),
                ("linked-dir".to_string(), EntryKind::Symlink),
                ("pipe.js".to_string(), EntryKind::Other),
                ("sub".to_string(), EntryKind::Dir),
                ("é .env".to_string(), EntryKind::File),
            ]
        );
        // A file system that leaves the type out of its entries: each
        // entry itself is asked (never what a link points to).
        for (name, kind) in &entries {
            let c = std::ffi::CString::new(name.as_encoded_bytes()).unwrap();
            let asked = folder.kind(&c, rustix::fs::FileType::Unknown).unwrap();
            assert_eq!(asked, *kind, "{name:?}");
        }
        // An entry gone before its kind could be asked is an error naming
        // it, beside the entries that could be read.
        let mut listing = Listing::default();
        folder.keep(&mut listing, c"gone.js", rustix::fs::FileType::Unknown);
        folder.keep(&mut listing, c"app.js", rustix::fs::FileType::Unknown);
        folder.keep(&mut listing, c"..", rustix::fs::FileType::Directory);
        assert_eq!(listing.entries, [("app.js".into(), EntryKind::File)]);
        assert!(matches!(&listing.errors[..], [(Some(n), _)] if n == "gone.js"));
        let open = |name: &str| open_regular_in(&folder, OsStr::new(name), &dir.join(name));
        let (mut f, len) = open("app.js").unwrap().unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert_eq!((text.as_str(), len), ("k", 1));
        assert!(open("é .env").unwrap().is_some());
        assert!(open("link.js").unwrap().is_none(), "a link is not followed");
        assert!(
            open_listed_in(&folder, OsStr::new("link.js"), &dir.join("link.js"))
                .unwrap()
                .is_none()
        );
        assert!(open("pipe.js").unwrap().is_none(), "a FIFO is not read");
        assert!(open("sub").unwrap().is_none(), "a folder is not a file");
        assert!(open("gone.js").is_err());
        // A folder found in the tree is never entered through a link; a
        // scan root named on the command line is taken as given.
        let e = Folder::open(&dir.join("linked-dir"), Links::Refuse)
            .err()
            .expect("a linked folder is refused");
        assert!(
            is_link_refused(&e) || e.raw_os_error() == Some(libc::ENOTDIR),
            "{e}"
        );
        let through = Folder::open(&dir.join("linked-dir"), Links::Follow).unwrap();
        assert_eq!(through.entries().entries.len(), 1);
        assert!(Folder::open(&dir.join("app.js"), Links::Follow).is_err());
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
