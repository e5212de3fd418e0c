//! Carrying out a gc plan: findings for the report, and with `apply` the deletes, each
//! level of a tree preceded by the re-check that makes it safe at that moment (the subject
//! is still gone), each index delete by the check that the index is unchanged.
//!
//! The trees share one bound on requests in flight ([`Permits`]), which serves the trees in
//! the plan's order: a tree that started first finishes first, and its referrers tag goes
//! before later trees' deletes. On registries that read every tag of the repository on each
//! manifest DELETE (distribution 2.8), each tag gone early makes every later DELETE cheaper.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{StreamExt as _, stream};
use lineage_oci::{Descriptor, Digest, TagOrDigest};
use lineage_store::{ReadStore as _, Store as _, StoreError};

use super::plan::{Facts, Plan, Step, Tree};
use super::{
    Action, Finding, FindingKind, GcError, GcEvent, GcOptions, Progress, RepositoryReport,
};
use crate::RegistryStore;
use crate::store::{manifest, referrers};

/// The first unexpected answer; once set, nothing more is deleted.
struct Stop {
    first: Mutex<Option<GcError>>,
}

impl Stop {
    fn is_set(&self) -> bool {
        self.first.lock().map(|s| s.is_some()).unwrap_or(true)
    }

    fn set(&self, store: &RegistryStore, digest: &Digest, operation: &str, source: StoreError) {
        if let Ok(mut s) = self.first.lock()
            && s.is_none()
        {
            *s = Some(GcError::Stopped {
                repository: store.name().to_string(),
                digest: digest.clone(),
                operation: operation.to_string(),
                source,
            });
        }
    }
}

const STOPPED: &str = "not attempted: gc stopped at an unexpected answer";

fn finding(kind: FindingKind, digest: &Digest, action: Action) -> Finding {
    Finding {
        kind,
        digest: digest.clone(),
        subject: None,
        tag: None,
        artifact_type: None,
        action,
        reason: None,
    }
}

fn referrer_finding(
    kind: FindingKind,
    node: &Descriptor,
    subject: &Digest,
    action: Action,
) -> Finding {
    Finding {
        subject: Some(subject.clone()),
        artifact_type: node.artifact_type.clone(),
        ..finding(kind, &node.digest, action)
    }
}

fn kept(mut f: Finding, reason: impl Into<String>) -> Finding {
    f.action = Action::Kept;
    f.reason = Some(reason.into());
    f
}

/// Report everything in `plan` and, with `options.apply`, remove it. Returns the error that
/// stopped the deletes, if one did.
pub(super) async fn apply(
    store: &RegistryStore,
    facts: &Facts,
    plan: &Plan,
    options: &GcOptions,
    progress: Progress<'_>,
    report: &mut RepositoryReport,
) -> Option<GcError> {
    let pending = if options.apply {
        Action::Removed
    } else {
        Action::WouldRemove
    };
    let out = &mut report.findings;
    if options.protect {
        for (node, subject) in &plan.unprotected {
            out.push(kept(
                referrer_finding(FindingKind::UnprotectedReferrer, node, subject, pending),
                "no tag names it: a registry GC that deletes untagged manifests would delete it",
            ));
        }
    }
    for (subject, unlisted) in &plan.not_redundant {
        let f = index_finding(facts, FindingKind::RedundantIndex, subject, pending);
        out.push(kept(
            f,
            format!("lists {unlisted} referrers the referrers API does not"),
        ));
    }
    let total = plan.trees.iter().map(|t| t.steps.len()).sum::<usize>()
        + plan.stale.iter().map(|s| s.entries.len()).sum::<usize>()
        + if options.migrate {
            plan.redundant.len()
        } else {
            0
        };
    if !options.apply {
        for tree in &plan.trees {
            out.extend(tree_findings(facts, tree, Action::WouldRemove));
        }
        for s in &plan.stale {
            for e in &s.entries {
                out.push(stale_finding(facts, e, &s.subject, Action::WouldRemove));
            }
        }
        for subject in &plan.redundant {
            let f = index_finding(
                facts,
                FindingKind::RedundantIndex,
                subject,
                Action::WouldRemove,
            );
            out.push(if options.migrate {
                f
            } else {
                kept(f, "pass --migrate to remove it")
            });
        }
        return None;
    }

    progress(&GcEvent::Removing { total });
    let stop = Stop {
        first: Mutex::new(None),
    };
    let n = options.concurrency.max(1);
    let newly_tagged = match new_tags(store, facts).await {
        Ok(t) => t,
        Err(e) => {
            stop.set(
                store,
                &Digest::sha256(b""),
                "listing the tags again before deleting",
                e,
            );
            BTreeSet::new()
        }
    };
    // One bound on requests in flight for every tree's steps together, the trees served in
    // the plan's order.
    let permits = Permits::new(n);
    let trees: Vec<Vec<Finding>> = stream::iter(plan.trees.iter().enumerate())
        .map(|(rank, tree)| {
            let turn = Turn {
                permits: &permits,
                rank,
            };
            remove_tree(store, facts, tree, &newly_tagged, &stop, turn, progress)
        })
        .buffer_unordered(n)
        .collect()
        .await;
    out.extend(trees.into_iter().flatten());
    let stale: Vec<Vec<Finding>> = stream::iter(&plan.stale)
        .map(|s| async { drop_stale(store, facts, &s.subject, &s.entries, &stop, progress).await })
        .buffer_unordered(n)
        .collect()
        .await;
    out.extend(stale.into_iter().flatten());
    for subject in &plan.redundant {
        let f = index_finding(facts, FindingKind::RedundantIndex, subject, Action::Removed);
        if !options.migrate {
            out.push(kept(f, "pass --migrate to remove it"));
            continue;
        }
        out.push(migrate(store, facts, subject, f, &stop).await);
        progress(&GcEvent::Removed);
    }
    stop.first.into_inner().ok().flatten()
}

/// Tags that appeared since the scan, resolved: a manifest they name is protected too.
async fn new_tags(store: &RegistryStore, facts: &Facts) -> Result<BTreeSet<Digest>, StoreError> {
    let mut out = BTreeSet::new();
    for t in store.tag_list().await? {
        if facts.tags.contains_key(&t)
            || lineage_oci::referrers::subject_of_fallback_tag(&t).is_some()
        {
            continue;
        }
        match store.resolve(&TagOrDigest::Tag(t)).await {
            Ok(d) => {
                out.insert(d.digest);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn index_finding(facts: &Facts, kind: FindingKind, subject: &Digest, action: Action) -> Finding {
    let index = facts.indexes.get(subject);
    Finding {
        subject: Some(subject.clone()),
        tag: index.map(|i| i.tag.clone()),
        ..finding(kind, index.map_or(subject, |i| &i.digest), action)
    }
}

fn stale_finding(facts: &Facts, entry: &Descriptor, subject: &Digest, action: Action) -> Finding {
    Finding {
        tag: facts.indexes.get(subject).map(|i| i.tag.clone()),
        ..referrer_finding(FindingKind::StaleEntry, entry, subject, action)
    }
}

/// The findings of a tree, every planned step with `action`.
fn tree_findings(facts: &Facts, tree: &Tree, action: Action) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = index_finding(facts, FindingKind::OrphanedIndex, &tree.subject, action);
    if let Some(why) = &tree.blocked {
        out.push(kept(root, why.clone()));
        for c in facts.children(&tree.subject) {
            out.push(kept(
                referrer_finding(FindingKind::OrphanedReferrer, &c, &tree.subject, action),
                why.clone(),
            ));
        }
    } else {
        out.push(root);
        for step in &tree.steps {
            match step {
                Step::Delete { node, subject } => out.push(referrer_finding(
                    FindingKind::OrphanedReferrer,
                    node,
                    subject,
                    action,
                )),
                // The referrers tag of a referrer that goes.
                Step::DropIndex { subject } if subject != &tree.subject => {
                    out.push(index_finding(
                        facts,
                        FindingKind::OrphanedIndex,
                        subject,
                        action,
                    ));
                }
                Step::DropIndex { .. } => {}
            }
        }
    }
    for (node, subject, why) in &tree.kept {
        out.push(kept(
            referrer_finding(FindingKind::OrphanedReferrer, node, subject, action),
            why.clone(),
        ));
    }
    out
}

/// The steps of `tree` in levels: every step of a level only after every step of the levels
/// before (a referrer's own referrers and its referrers tag first), the steps of one level
/// independent of each other.
fn levels(tree: &Tree) -> Vec<Vec<&Step>> {
    // The level after which a digest's dependants may run.
    let mut after: std::collections::BTreeMap<&Digest, usize> = std::collections::BTreeMap::new();
    let mut out: Vec<Vec<&Step>> = Vec::new();
    for step in &tree.steps {
        let (level, parent) = match step {
            Step::Delete { node, subject } => {
                (after.get(&node.digest).map_or(0, |l| l + 1), subject)
            }
            Step::DropIndex { subject } => (after.get(subject).map_or(0, |l| l + 1), subject),
        };
        if let Step::DropIndex { subject } = step {
            // The referrer itself goes after its own referrers tag.
            let e = after.entry(subject).or_insert(level);
            *e = (*e).max(level);
        }
        let e = after.entry(parent).or_insert(level);
        *e = (*e).max(level);
        if out.len() <= level {
            out.resize_with(level + 1, Vec::new);
        }
        out[level].push(step);
    }
    out
}

/// A bound on requests in flight that hands each freed permit to the waiting request of the
/// lowest rank (the earliest tree in the plan), first come first served within a rank.
struct Permits {
    state: Mutex<Waiting>,
}

struct Waiting {
    free: usize,
    /// By (rank, arrival).
    queue: BTreeMap<(usize, u64), tokio::sync::oneshot::Sender<Permit>>,
    arrivals: u64,
}

/// One request's right to be in flight; dropping it passes it on.
struct Permit(Arc<Permits>);

impl Drop for Permit {
    fn drop(&mut self) {
        Permits::release(&self.0);
    }
}

impl Permits {
    fn new(n: usize) -> Arc<Permits> {
        Arc::new(Permits {
            state: Mutex::new(Waiting {
                free: n.max(1),
                queue: BTreeMap::new(),
                arrivals: 0,
            }),
        })
    }

    /// A permit, once every waiting request of a lower rank has had one. `None` only if the
    /// permits were dropped meanwhile.
    async fn acquire(this: &Arc<Permits>, rank: usize) -> Option<Permit> {
        let granted = {
            let mut s = this.state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.free > 0 {
                s.free -= 1;
                return Some(Permit(Arc::clone(this)));
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            let arrival = s.arrivals;
            s.arrivals += 1;
            s.queue.insert((rank, arrival), tx);
            rx
        };
        // A waiter that gives up drops the permit it may have been sent: it is passed on.
        granted.await.ok()
    }

    fn release(this: &Arc<Permits>) {
        let next = {
            let mut s = this.state.lock().unwrap_or_else(PoisonError::into_inner);
            match s.queue.pop_first() {
                Some((_, tx)) => tx,
                None => {
                    s.free += 1;
                    return;
                }
            }
        };
        // Sent outside the lock: a waiter that is gone hands the permit back at once (its
        // drop releases it again).
        drop(next.send(Permit(Arc::clone(this))));
    }
}

/// Where a tree's requests stand in line for a permit.
#[derive(Clone, Copy)]
struct Turn<'a> {
    permits: &'a Arc<Permits>,
    rank: usize,
}

impl Turn<'_> {
    async fn acquire(self) -> Option<Permit> {
        Permits::acquire(self.permits, self.rank).await
    }
}

/// What one step came to.
enum Outcome {
    Done(Digest),
    Stays(String),
    Failed(Digest, &'static str, StoreError),
}

/// Remove one orphaned tree, leaves first, a level at a time, checking right before each
/// level that its subject is still gone.
async fn remove_tree(
    store: &RegistryStore,
    facts: &Facts,
    tree: &Tree,
    newly_tagged: &BTreeSet<Digest>,
    stop: &Stop,
    turn: Turn<'_>,
    progress: Progress<'_>,
) -> Vec<Finding> {
    let mut findings = tree_findings(facts, tree, Action::Removed);
    if tree.blocked.is_some() {
        return findings;
    }
    if let Some(d) = tree.steps.iter().find_map(|s| match s {
        Step::Delete { node, .. } if newly_tagged.contains(&node.digest) => Some(&node.digest),
        _ => None,
    }) {
        mark_rest(
            &mut findings,
            &BTreeSet::new(),
            &format!("a tag made during gc names {d}"),
        );
        return findings;
    }
    let mut done: BTreeSet<Digest> = BTreeSet::new();
    for level in levels(tree) {
        if stop.is_set() {
            mark_rest(&mut findings, &done, STOPPED);
            return findings;
        }
        // The subject may have come back (pushed again): then everything is live again.
        // Checked once per level, right before that level's deletes start: the steps of a
        // level are independent, and a level ends before the next check.
        match still_gone(store, &tree.subject, turn).await {
            Ok(true) => {}
            Ok(false) => {
                mark_rest(&mut findings, &done, "the subject exists again");
                return findings;
            }
            Err(e) => {
                stop.set(
                    store,
                    &tree.subject,
                    "checking that the subject is still gone",
                    e,
                );
                mark_rest(&mut findings, &done, STOPPED);
                return findings;
            }
        }
        let outcomes = futures_util::future::join_all(
            level
                .into_iter()
                .map(|step| run_step(store, facts, step, stop, turn)),
        )
        .await;
        let mut end: Option<String> = None;
        for outcome in outcomes {
            match outcome {
                Outcome::Done(d) => {
                    done.insert(d);
                    progress(&GcEvent::Removed);
                }
                // Whatever it still lists stays reachable through it; what is done is done.
                Outcome::Stays(why) => {
                    end.get_or_insert(why);
                }
                Outcome::Failed(d, operation, e) => {
                    stop.set(store, &d, operation, e);
                    end.get_or_insert_with(|| STOPPED.to_string());
                }
            }
        }
        if let Some(why) = end {
            mark_rest(&mut findings, &done, &why);
            return findings;
        }
    }
    findings
}

/// Whether `subject` is still gone (one HEAD, under a permit).
async fn still_gone(
    store: &RegistryStore,
    subject: &Digest,
    turn: Turn<'_>,
) -> Result<bool, StoreError> {
    let Some(_permit) = turn.acquire().await else {
        return Ok(false);
    };
    manifest::exists(store, subject).await.map(|e| !e)
}

/// One step of a level whose subject was just checked to be still gone: delete.
async fn run_step(
    store: &RegistryStore,
    facts: &Facts,
    step: &Step,
    stop: &Stop,
    turn: Turn<'_>,
) -> Outcome {
    let Some(_permit) = turn.acquire().await else {
        return Outcome::Stays(STOPPED.to_string());
    };
    if stop.is_set() {
        return Outcome::Stays(STOPPED.to_string());
    }
    match step {
        Step::Delete { node, .. } => match delete_manifest(store, &node.digest).await {
            Ok(()) => Outcome::Done(node.digest.clone()),
            Err(e) => Outcome::Failed(node.digest.clone(), "deleting an orphaned referrer", e),
        },
        Step::DropIndex { subject } => {
            let Some(index) = facts.indexes.get(subject) else {
                return Outcome::Stays("the referrers tag was not read".to_string());
            };
            match drop_index(store, facts, subject, &index.digest).await {
                Ok(None) => Outcome::Done(index.digest.clone()),
                Ok(Some(why)) => Outcome::Stays(why),
                Err(e) => Outcome::Failed(
                    index.digest.clone(),
                    "deleting an orphaned referrers tag",
                    e,
                ),
            }
        }
    }
}

/// Every finding still marked removed but not in `done` is kept, for `why`.
fn mark_rest(findings: &mut [Finding], done: &BTreeSet<Digest>, why: &str) {
    for f in findings
        .iter_mut()
        .filter(|f| f.action == Action::Removed && !done.contains(&f.digest))
    {
        f.action = Action::Kept;
        f.reason = Some(why.to_string());
    }
}

/// What the referrers tag of `subject` names now (a HEAD tells the digest; the content was
/// read and checked by the scan), `None` when there is no such tag.
async fn tag_now(store: &RegistryStore, subject: &Digest) -> Result<Option<Digest>, StoreError> {
    let tag = lineage_oci::referrers::fallback_tag(subject);
    match store.resolve(&TagOrDigest::Tag(tag)).await {
        Ok(d) => Ok(Some(d.digest)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Delete the referrers tag of `subject` if it still holds `expected` and no other tag names
/// that index: by digest, which removes the tag on registries that delete only by digest,
/// then the tag itself where the registry kept it. `Some(reason)` when it stays.
async fn drop_index(
    store: &RegistryStore,
    facts: &Facts,
    subject: &Digest,
    expected: &Digest,
) -> Result<Option<String>, StoreError> {
    let tag = lineage_oci::referrers::fallback_tag(subject);
    match tag_now(store, subject).await? {
        None => return Ok(None),
        Some(now) if &now != expected => {
            return Ok(Some(format!("the referrers tag `{tag}` changed during gc")));
        }
        Some(_) => {}
    }
    if let Some((other, _)) = facts.tags.iter().find(|(_, d)| *d == expected) {
        return Ok(Some(format!("the tag `{other}` names the index too")));
    }
    match manifest::delete_reference(store, &TagOrDigest::Digest(expected.clone())).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    for attempt in 0..2 {
        match tag_now(store, subject).await? {
            None => return Ok(None),
            Some(now) if &now != expected => {
                return Ok(Some(format!(
                    "the referrers tag `{tag}` was written again during gc"
                )));
            }
            // A registry that keeps the tags of a deleted manifest: remove the tag itself.
            Some(_) if attempt == 0 => match store.tag_delete(&tag).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            },
            Some(_) => {}
        }
    }
    // Both deletes were answered, and the tag is still there: the registry does not delete.
    Err(StoreError::Unsupported {
        store: store.name().to_string(),
        operation: format!("deleting the referrers tag `{tag}` (it stays after DELETE)"),
    })
}

/// DELETE a manifest by digest; an answer of 404 counts as done only when the manifest is
/// indeed gone (some registries answer 404 to every DELETE).
async fn delete_manifest(store: &RegistryStore, digest: &Digest) -> Result<(), StoreError> {
    match manifest::delete_reference(store, &TagOrDigest::Digest(digest.clone())).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => match manifest::exists(store, digest).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(e),
            Err(other) => Err(other),
        },
        Err(e) => Err(e),
    }
}

/// Drop the entries of a live index that name missing manifests, through the lossless
/// protocol; entries whose manifest came back meanwhile are listed again.
async fn drop_stale(
    store: &RegistryStore,
    facts: &Facts,
    subject: &Digest,
    entries: &[Descriptor],
    stop: &Stop,
    progress: Progress<'_>,
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = entries
        .iter()
        .map(|e| stale_finding(facts, e, subject, Action::Removed))
        .collect();
    if stop.is_set() {
        mark_rest(&mut findings, &BTreeSet::new(), STOPPED);
        return findings;
    }
    let mut missing = Vec::new();
    for e in entries {
        match manifest::exists(store, &e.digest).await {
            Ok(false) => missing.push(e.digest.clone()),
            Ok(true) => {}
            Err(err) => {
                stop.set(
                    store,
                    &e.digest,
                    "checking that a listed manifest is still gone",
                    err,
                );
                mark_rest(&mut findings, &BTreeSet::new(), STOPPED);
                return findings;
            }
        }
    }
    if let Err(e) = referrers::fallback_remove_all(store, subject, &missing).await {
        stop.set(
            store,
            subject,
            "dropping stale entries from a referrers tag",
            e,
        );
        mark_rest(&mut findings, &BTreeSet::new(), STOPPED);
        return findings;
    }
    let mut done: BTreeSet<Digest> = BTreeSet::new();
    for d in &missing {
        // Pushed again while the entry was being dropped: list it again (a HEAD tells
        // whether; the manifest is read only when it came back).
        let back = match manifest::exists(store, d).await {
            Ok(false) => {
                done.insert(d.clone());
                progress(&GcEvent::Removed);
                continue;
            }
            Ok(true) => manifest::fetch(store, &TagOrDigest::Digest(d.clone())).await,
            Err(e) => Err(e),
        };
        match back {
            // Gone again between the two requests.
            Err(e) if e.is_not_found() => {
                done.insert(d.clone());
                progress(&GcEvent::Removed);
            }
            Ok(raw) => {
                if let Err(e) = referrers::fallback_add(store, subject, &raw).await {
                    stop.set(store, d, "listing a manifest that came back", e);
                }
            }
            Err(e) => stop.set(store, d, "checking that a dropped entry is still gone", e),
        }
    }
    mark_rest(&mut findings, &done, "the manifest exists again");
    findings
}

/// Remove a referrers tag the API makes redundant, after checking again that the subject
/// exists and the API lists every entry.
async fn migrate(
    store: &RegistryStore,
    facts: &Facts,
    subject: &Digest,
    f: Finding,
    stop: &Stop,
) -> Finding {
    if stop.is_set() {
        return kept(f, STOPPED);
    }
    let Some(index) = facts.indexes.get(subject) else {
        return kept(f, "the referrers tag is gone");
    };
    let listing = match referrers::from_api(store, subject, None).await {
        Ok(Some(l)) => l,
        Ok(None) => return kept(f, "the registry no longer serves the referrers API"),
        Err(e) => {
            stop.set(store, subject, "listing referrers through the API", e);
            return kept(f, STOPPED);
        }
    };
    let unlisted = index
        .entries
        .iter()
        .filter(|e| facts.exists.get(&e.digest) != Some(&false))
        .filter(|e| !listing.iter().any(|l| l.digest == e.digest))
        .count();
    if unlisted > 0 {
        return kept(
            f,
            format!("lists {unlisted} referrers the referrers API does not"),
        );
    }
    match drop_index(store, facts, subject, &index.digest).await {
        Ok(None) => f,
        Ok(Some(why)) => kept(f, why),
        Err(e) => {
            stop.set(
                store,
                &index.digest,
                "deleting a redundant referrers tag",
                e,
            );
            kept(f, STOPPED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;

    #[tokio::test]
    async fn a_freed_permit_goes_to_the_earliest_tree_waiting() {
        let permits = Permits::new(1);
        let held = Permits::acquire(&permits, 9).await.expect("a free permit");
        let order = Mutex::new(Vec::new());
        let waiter = |rank: usize| {
            let (permits, order) = (&permits, &order);
            async move {
                let _permit = Permits::acquire(permits, rank).await.expect("a permit");
                order.lock().expect("not poisoned").push(rank);
            }
        };
        let release = async {
            // Every waiter is in line before the permit frees.
            tokio::task::yield_now().await;
            drop(held);
        };
        tokio::join!(waiter(3), waiter(1), waiter(2), waiter(1), release);
        assert_eq!(*order.lock().expect("not poisoned"), vec![1, 1, 2, 3]);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_passes_its_permit_on() {
        let permits = Permits::new(1);
        let held = Permits::acquire(&permits, 0).await.expect("a free permit");
        let mut gives_up = Box::pin(Permits::acquire(&permits, 1));
        assert!(
            (&mut gives_up).now_or_never().is_none(),
            "no permit is free"
        );
        // The permit is sent to the waiter, which is dropped before it takes it.
        drop(held);
        drop(gives_up);
        let again = Permits::acquire(&permits, 2).now_or_never();
        assert!(
            matches!(again, Some(Some(_))),
            "the permit came back instead of being lost"
        );
    }
}
