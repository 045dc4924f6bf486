//! Helpers shared by the unit tests (compiled for tests only).

/// A small deterministic generator (xorshift) for randomised tests: the
/// same seed gives the same trees, so a failure can be replayed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// One of `from` (not empty).
    pub(crate) fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    /// A random-looking Miniback key.
    pub(crate) fn key(&mut self) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let body: String = (0..32)
            .map(|_| ALNUM[self.below(ALNUM.len())] as char)
            .collect();
        format!("mbk_{body}")
    }
}

/// Runs `git ARGS` in `dir`; panics, naming the arguments, when it fails.
pub(crate) fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
