//! Step 3 of a history scan, for blobs with matches only: each path a blob
//! appeared at becomes one [`ScannedBlob`] with the commit that introduced
//! it there, and each key is dated by the oldest commit holding it and
//! looked up in HEAD's tree ([`KeyAges`], a fact the judge reads).

use super::super::git::{self, BlobJob, EntryKind};
use super::enumerate::{key, Enumeration, Key, MessageOf, NO_COMMIT};
use super::{ScanIssue, SourceStats};
use crate::blob::ScannedBlob;
use crate::dotenv;
use crate::facts::history::{FirstSeen, KeyAges};
use crate::finding::{message_path, CommitInfo, Origin};
use crate::paths::file_name;
use crate::scan::Matcher;
use foldhash::{HashMap, HashSet};
use git2::{ObjectType, Oid, Repository};

/// The commits reachable from a tip (the tip included), listed by one walk
/// the first time they are asked about.
///
/// Asking `libgit2`'s `graph_descendant_of` per commit walked the history
/// between the tip and that commit every time: with keys at a few hundred
/// places in a 20,000-commit history, that was a fifth of the scan's time.
struct Reach {
    tip: Oid,
    commits: std::cell::OnceCell<HashSet<Key>>,
}

impl Reach {
    fn new(tip: Oid) -> Reach {
        Reach {
            tip,
            commits: std::cell::OnceCell::new(),
        }
    }

    /// Whether `commit` is the tip or one of its ancestors. A commit that
    /// cannot be read ends the walk (a damaged history is reported as such
    /// by the scan): what lies only behind it counts as unreachable, as when
    /// `graph_descendant_of` failed on it.
    fn holds(&self, repo: &Repository, commit: Oid) -> bool {
        if commit == self.tip {
            return true;
        }
        self.commits
            .get_or_init(|| {
                let mut set = HashSet::default();
                if let Ok(mut walk) = repo.revwalk() {
                    if walk.push(self.tip).is_ok() {
                        set.extend(walk.map_while(Result::ok).map(key));
                    }
                }
                set
            })
            .contains(&key(commit))
    }
}

/// Attribution for the matched blobs: one [`ScannedBlob`] per path each
/// appeared at, and the keys' ages and presence in HEAD.
pub(super) fn attribute(
    repo: &Repository,
    en: &Enumeration,
    matched: Vec<git::BlobResult>,
    matcher: &Matcher,
    threads: usize,
    stats: &mut SourceStats,
) -> (Vec<ScannedBlob>, KeyAges) {
    let mut ages = KeyAges::default();
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    ages.head_time = head.as_ref().map(|c| c.time().seconds());
    if !matched.is_empty() {
        if let Some(head) = &head {
            head_presence(repo, head, en, &matched, matcher, threads, &mut ages, stats);
        }
    }
    let mut commit_cache: HashMap<u32, Option<(CommitInfo, i64)>> = HashMap::default();
    let mut info_of = |idx: u32| -> Option<(CommitInfo, i64)> {
        if idx == NO_COMMIT {
            return None;
        }
        commit_cache
            .entry(idx)
            .or_insert_with(|| {
                let c = repo.find_commit(en.commits[idx as usize]).ok()?;
                Some((git::commit_info(&c), c.time().seconds()))
            })
            .clone()
    };
    // Whether a commit is HEAD or one of its ancestors.
    let head_line = head.as_ref().map(|c| Reach::new(c.id()));
    let on_head_line = |idx: u32| -> bool {
        idx != NO_COMMIT
            && head_line
                .as_ref()
                .is_some_and(|h| h.holds(repo, en.commits[idx as usize]))
    };
    // GitHub Pages branches: what they hold is a public web site.
    let pages: Vec<(Reach, String)> = repo
        .references()
        .map(|refs| {
            refs.flatten()
                .filter_map(|r| {
                    let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
                    let short = name.rsplit('/').next().unwrap_or("");
                    let branch =
                        name.starts_with("refs/heads/") || name.starts_with("refs/remotes/");
                    (branch && short == "gh-pages")
                        .then(|| r.peel_to_commit().ok().map(|c| (Reach::new(c.id()), name)))
                        .flatten()
                })
                .collect()
        })
        .unwrap_or_default();
    let mut pages_cache: HashMap<u32, Option<String>> = HashMap::default();
    let mut published_by = |idx: u32| -> Option<String> {
        if idx == NO_COMMIT || pages.is_empty() {
            return None;
        }
        pages_cache
            .entry(idx)
            .or_insert_with(|| {
                let c = en.commits[idx as usize];
                pages
                    .iter()
                    .find(|(tip, _)| tip.holds(repo, c))
                    .map(|(_, name)| name.clone())
            })
            .clone()
    };
    let mut blobs = Vec::new();
    for r in &matched {
        let rec = &en.blobs[r.index];
        // Every key of the blob is still in HEAD (somewhere).
        let all_live = r.scan.matches.iter().all(|m| ages.in_head(&m.secret));
        for a in rec.appearances() {
            let path = en.paths.get(a.path);
            let info = info_of(a.commit);
            if let Some((info, time)) = &info {
                note_first_seen(&mut ages, &r.scan, info, *time);
            }
            // Keys that HEAD holds at other paths were moved (renamed,
            // moved with an edit) away from this one on HEAD's own line of
            // history: they are reported where they live, attributed to
            // their introduction. (On other branches — gh-pages, say —
            // every path stays.)
            let here = r
                .scan
                .matches
                .iter()
                .any(|m| ages.at_head.contains(&(path.clone(), m.secret.clone())));
            if all_live && !here && on_head_line(a.commit) {
                continue;
            }
            if !on_head_line(a.commit) {
                if let Some(branch) = published_by(a.commit) {
                    ages.published.insert(path.clone(), branch);
                }
            }
            let is_env = dotenv::is_dotenv_name(file_name(&path));
            blobs.push(ScannedBlob {
                path,
                origin: Origin::Commit,
                // Committed content is in every clone, whatever .gitignore says.
                ignored: false,
                scan: r.scan.clone(),
                dotenv: if is_env { r.dotenv.clone() } else { None },
                // `in_head` is per key, not per blob, and the commit shown is
                // the key's introduction: the judge settles both per finding
                // from the facts (`KeyAges`).
                commit: info.map(|(c, _)| c),
            });
        }
    }
    // Pushed or not: introducing commits that HEAD's upstream lacks.
    if let Some((up_name, up)) = upstream(repo) {
        let firsts: HashSet<String> = ages
            .first_seen
            .values()
            .map(|f| f.commit.id.clone())
            .collect();
        let pushed = Reach::new(up);
        for id in firsts {
            if let Ok(c) = Oid::from_str(&id) {
                if !pushed.holds(repo, c) {
                    ages.unpushed.insert(id);
                }
            }
        }
        ages.upstream = Some(up_name);
    }
    // Commit and tag messages: never in HEAD's tree, but in every clone.
    for m in &en.messages {
        let (origin, name, info) = match &m.of {
            MessageOf::Commit(idx) => (
                Origin::CommitMessage,
                en.commits[*idx as usize].to_string(),
                info_of(*idx),
            ),
            MessageOf::Tag(id, name) => (
                Origin::TagMessage,
                name.clone(),
                repo.find_tag(*id).ok().map(|t| tag_info(&t)),
            ),
        };
        if let Some((info, time)) = &info {
            note_first_seen(&mut ages, &m.scan, info, *time);
        }
        blobs.push(ScannedBlob {
            path: message_path(&origin, &name),
            origin,
            ignored: false,
            scan: m.scan.clone(),
            dotenv: None,
            commit: info.map(|(c, _)| c),
        });
    }
    blobs.sort_by(|a, b| a.path.cmp(&b.path));
    (blobs, ages)
}

/// HEAD's upstream branch (`@{upstream}`) and its commit, if any.
fn upstream(repo: &Repository) -> Option<(String, Oid)> {
    let head = repo.head().ok()?;
    if !head.is_branch() {
        return None;
    }
    let name = head.shorthand()?.to_string();
    let branch = repo.find_branch(&name, git2::BranchType::Local).ok()?;
    let up = branch.upstream().ok()?;
    let up_name = up.name().ok().flatten()?.to_string();
    let id = up.get().peel_to_commit().ok()?.id();
    Some((up_name, id))
}

/// Records `info` as the first sighting of each key of `scan` if it is
/// older than what is known.
fn note_first_seen(ages: &mut KeyAges, scan: &crate::scan::BlobScan, info: &CommitInfo, time: i64) {
    for m in &scan.matches {
        let older = ages.first_seen.get(&m.secret).is_none_or(|f| time < f.time);
        if older {
            ages.first_seen.insert(
                m.secret.clone(),
                FirstSeen {
                    time,
                    commit: info.clone(),
                },
            );
        }
    }
}

/// Attribution for an annotated tag's message: the tag object, its tagger
/// and the tagger's date.
fn tag_info(tag: &git2::Tag<'_>) -> (CommitInfo, i64) {
    let (author, date, time) = match tag.tagger() {
        Some(t) => (
            format!(
                "{} <{}>",
                String::from_utf8_lossy(t.name_bytes()),
                String::from_utf8_lossy(t.email_bytes())
            ),
            git::rfc3339(t.when()),
            t.when().seconds(),
        ),
        None => (String::new(), String::new(), 0),
    };
    (
        CommitInfo {
            id: tag.id().to_string(),
            author,
            date,
            in_head: false,
        },
        time,
    )
}

/// Fills `ages.in_head` / `ages.at_head`: which matched keys are in HEAD's
/// tree, and at which paths. Blobs of HEAD that the scan already read are
/// looked up by id; with `--since`/`--range`, HEAD blobs outside the range
/// are scanned here, only because a finding needs the answer.
#[allow(clippy::too_many_arguments)]
fn head_presence(
    repo: &Repository,
    head: &git2::Commit<'_>,
    en: &Enumeration,
    matched: &[git::BlobResult],
    matcher: &Matcher,
    threads: usize,
    ages: &mut KeyAges,
    stats: &mut SourceStats,
) {
    let tree = match head.tree() {
        Ok(t) => t,
        Err(e) => {
            stats.errors.push(ScanIssue {
                path: "HEAD".into(),
                message: format!("tree of {}: {}", head.id(), e.message()),
            });
            return;
        }
    };
    let mut head_files: Vec<(String, Oid)> = Vec::new();
    let walked = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob)
            && EntryKind::from_mode(entry.filemode() as u32) == EntryKind::File
        {
            head_files.push((
                format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes())),
                entry.id(),
            ));
        }
        git2::TreeWalkResult::Ok
    });
    if let Err(e) = walked {
        stats.errors.push(ScanIssue {
            path: "HEAD".into(),
            message: format!("reading the tree of {}: {}", head.id(), e.message()),
        });
    }
    let secrets_of: HashMap<Oid, Vec<&str>> = matched
        .iter()
        .map(|r| {
            let id = en.blobs[r.index].id;
            (
                id,
                r.scan.matches.iter().map(|m| m.secret.as_str()).collect(),
            )
        })
        .collect();
    let wanted: HashSet<&str> = secrets_of.values().flatten().copied().collect();
    let mut unscanned: Vec<&(String, Oid)> = Vec::new();
    for file in &head_files {
        match secrets_of.get(&file.1) {
            Some(secrets) => {
                for s in secrets {
                    ages.in_head.insert(s.to_string());
                    ages.at_head.insert((file.0.clone(), s.to_string()));
                }
            }
            None if !en.blob_index.contains_key(&key(file.1)) => unscanned.push(file),
            None => {}
        }
    }
    if unscanned.is_empty() || wanted.iter().all(|s| ages.in_head.contains(*s)) {
        return;
    }
    let job = |i: usize| BlobJob {
        id: unscanned[i].1,
        path: &unscanned[i].0,
        dotenv: false,
    };
    // Errors here concern blobs outside the scanned range; the in-range scan
    // already reported what it could not read.
    if let Ok(totals) = git::scan_blobs(repo, unscanned.len(), threads, matcher, &job, &|_| {}) {
        for r in totals.matched {
            for m in &r.scan.matches {
                if wanted.contains(m.secret.as_str()) {
                    ages.in_head.insert(m.secret.clone());
                    ages.at_head
                        .insert((unscanned[r.index].0.clone(), m.secret.clone()));
                }
            }
        }
    }
}
