//! `lineage retire --filter REPO_REGEX [--tags TAG_REGEX] [--untagged] [--dry-run]
//! [--concurrency N] TARGET…` (issue 18): retire every tagged image of the repositories a
//! registry's catalog (or a list of repositories, when the catalog is closed) holds whose name
//! matches, the way `acr annotate --filter` does for Microsoft's records.
//!
//! With `--untagged`, also the images no tag names (a digest-pinned build whose tag moved
//! on). The distribution API lists tags only, so they are found where the registry can say:
//! `lineage serve` lists them (its `/v2/<name>/_lineage/untagged` extension); elsewhere the
//! subjects the referrers tags (`sha256-<hex>`) name are the ones that can be found, and the
//! summary says which repositories were searched that way. Artifacts, referrers, and
//! platform manifests of an index (retired with it) are never retired on their own.
//!
//! Each image gets the record a single `lineage retire` would write (the same flags, one
//! record spec for the whole run), through the engine's idempotent write: an image whose
//! newest record already says the same is left alone, so a rerun writes only what is left.
//! Without `--at`, an image already end-of-life with the same reason, scope and
//! end-of-support counts as done too (its end-of-life was "now" on an earlier run).
//! With `--sign`, each record written is signed as a single `retire --sign` signs it (its
//! Microsoft companion too), and so is the unsigned record of an image already retired.
//! Referrers-tag-schema tags (`sha256-…`) and tagged referrers (a manifest with a `subject`)
//! are never retired. Progress goes to stderr, one line per repository; the summary to
//! stdout (text, or JSON with `--output json`); failures are reported per image and make
//! the exit status 1 after the summary.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use lineage_lifecycle::{Engine, Namespace, RecordSpec, Records, Written};
use lineage_oci::quantity::plural;
use lineage_oci::{Descriptor, Digest, RawManifest, TagOrDigest};
use lineage_registry_client::RegistryStore;
use lineage_store::{ReadStore, Store};
use lineage_trust::Signer;
use serde::Serialize;

use crate::args::{Output, RetireArgs};
use crate::commands::lifecycle::{engine, retire_spec, usage};
use crate::open::Opener;
use crate::output::Printer;

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Records were written.
    Retired,
    /// A dry run: records would be written.
    WouldRetire,
    /// The newest record already says so; nothing written.
    AlreadyRetired,
    /// It could not be read or written.
    Failed,
}

/// One image of the run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// `host/repo:tag`.
    pub reference: String,
    /// Its digest, when it could be resolved.
    pub digest: Option<String>,
    /// What happened.
    pub action: Action,
    /// Records written (or, in a dry run, to write): one per manifest, platform manifests
    /// of an index included.
    pub records: usize,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `--untagged`: how an image no tag names was found (absent for tagged images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<Discovery>,
    /// With `--sign`: signatures pushed for its records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<usize>,
}

impl Item {
    /// An image (or repository) that could not be worked on.
    fn failed(reference: String, error: String) -> Item {
        Item {
            reference,
            digest: None,
            action: Action::Failed,
            records: 0,
            error: Some(error),
            untagged: None,
            signatures: None,
        }
    }
}

/// How the images no tag names were found in a repository (`--untagged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discovery {
    /// The registry listed them (`lineage serve`'s `/_lineage/untagged`).
    Listing,
    /// The registry lists tags only: the subjects its referrers tags (`sha256-<hex>`) name
    /// that no tag names. An untagged image without referrers cannot be found there.
    ReferrersTags,
}

/// One repository of the run.
struct Repository {
    items: Vec<Item>,
    untagged: Option<Discovery>,
}

/// With `--untagged`: how the search for images no tag names went.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UntaggedSearch {
    /// Images found that no tag names.
    pub found: usize,
    /// Repositories whose registry listed its untagged manifests.
    pub listed: usize,
    /// Repositories searched only through their referrers tags (the registry lists tags
    /// only), where an untagged image without referrers is not found.
    pub referrers_tags_only: Vec<String>,
}

/// With `--sign`: what the run signed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signing {
    /// The signing certificate's subject.
    pub identity: String,
    /// Signatures pushed (one per record signed).
    pub signatures_written: usize,
}

/// The run, as `--output json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Nothing was written.
    pub dry_run: bool,
    /// Repositories whose name matched.
    pub repositories: usize,
    /// Images (tags) selected.
    pub images: usize,
    /// Records written.
    pub records_written: usize,
    /// Records a dry run would write.
    pub records_to_write: usize,
    /// Images already retired as asked.
    pub already_retired: usize,
    /// Images that failed.
    pub failed: usize,
    /// With `--untagged`: how images no tag names were searched for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<UntaggedSearch>,
    /// With `--sign`: who signed, and how many signatures were pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<Signing>,
    /// Every image, sorted by reference.
    pub items: Vec<Item>,
}

impl Summary {
    fn of(dry_run: bool, repositories: usize, mut items: Vec<Item>) -> Summary {
        items.sort_by(|a, b| a.reference.cmp(&b.reference));
        let count = |a: Action| items.iter().filter(|i| i.action == a).count();
        let records = |a: Action| {
            items
                .iter()
                .filter(|i| i.action == a)
                .map(|i| i.records)
                .sum()
        };
        Summary {
            dry_run,
            repositories,
            images: items.len(),
            records_written: records(Action::Retired),
            records_to_write: records(Action::WouldRetire),
            already_retired: count(Action::AlreadyRetired),
            failed: count(Action::Failed),
            untagged: None,
            signed: None,
            items,
        }
    }

    /// The summary of a run with `--untagged`: `searched` is each repository's name and how
    /// its untagged images were found.
    fn with_untagged(mut self, searched: Vec<(String, Discovery)>) -> Summary {
        let mut only_tags: Vec<String> = searched
            .iter()
            .filter(|(_, d)| *d == Discovery::ReferrersTags)
            .map(|(name, _)| name.clone())
            .collect();
        only_tags.sort();
        self.untagged = Some(UntaggedSearch {
            found: self.items.iter().filter(|i| i.untagged.is_some()).count(),
            listed: searched.len() - only_tags.len(),
            referrers_tags_only: only_tags,
        });
        self
    }

    /// The summary of a run with `--sign` as `identity`.
    fn with_signing(mut self, identity: &str) -> Summary {
        self.signed = Some(Signing {
            identity: identity.to_string(),
            signatures_written: self.items.iter().filter_map(|i| i.signatures).sum(),
        });
        self
    }

    /// The summary for people: one line, then one line per failure.
    pub fn text(&self) -> String {
        let images = plural(self.images as u64, "image");
        let repos = plural(self.repositories as u64, "repository");
        let mut out = if self.dry_run {
            format!(
                "Dry run: {images} in {repos}: {} to write, {} already retired; nothing was written\n",
                plural(self.records_to_write as u64, "record"),
                self.already_retired,
            )
        } else {
            format!(
                "Retired {images} in {repos}: {} written, {} already retired, {} failed\n",
                plural(self.records_written as u64, "record"),
                self.already_retired,
                self.failed,
            )
        };
        if let Some(u) = &self.untagged {
            out.push_str(&format!(
                "Untagged: {} found",
                plural(u.found as u64, "image")
            ));
            if !u.referrers_tags_only.is_empty() {
                out.push_str(&format!(
                    "; searched through referrers tags only in {} (the registry lists tags only; an untagged image without referrers is not found there): {}",
                    plural(u.referrers_tags_only.len() as u64, "repository"),
                    u.referrers_tags_only.join(", ")
                ));
            }
            out.push('\n');
        }
        if let Some(signed) = &self.signed {
            out.push_str(&format!(
                "Signed: {} as {}\n",
                plural(signed.signatures_written as u64, "record"),
                signed.identity
            ));
        }
        for i in self.items.iter().filter(|i| i.action == Action::Failed) {
            out.push_str(&format!(
                "  failed: {}: {}\n",
                i.reference,
                i.error.as_deref().unwrap_or("-")
            ));
        }
        out
    }
}

/// A regular expression that must match the whole text.
fn anchored(flag: &str, pattern: &str) -> anyhow::Result<regex::Regex> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        usage(anyhow::anyhow!(
            "`{flag} {pattern}` is not a regular expression: {e}"
        ))
    })
}

/// Whether `tag` is a referrers-tag-schema tag (`sha256-<hex>`, with any suffix such as
/// cosign's `.sig`): never an image to retire.
fn is_referrers_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .is_some_and(|rest| rest.len() >= 64 && rest[..64].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The subject a referrers-tag-schema tag names (`sha256-<hex>` → `sha256:<hex>`).
fn referrers_tag_subject(tag: &str) -> Option<Digest> {
    if !is_referrers_tag(tag) {
        return None;
    }
    let hex = tag.get("sha256-".len()..)?.get(..64)?;
    format!("sha256:{hex}").parse().ok()
}

/// The digest of `manifest` and of every manifest it lists (an index's platform
/// manifests), first its own.
fn covered(manifest: &RawManifest) -> Vec<Digest> {
    let mut digests = vec![manifest.digest().clone()];
    if let Ok(v) = manifest.view() {
        digests.extend(v.manifests.iter().map(|d| d.digest.clone()));
    }
    digests
}

/// Run the bulk retire of `a` (which has `--filter`).
pub async fn run(
    opener: &Opener,
    namespace: &Namespace,
    printer: Printer,
    a: RetireArgs,
    signer: Option<&Signer>,
) -> anyhow::Result<()> {
    let repo_re = anchored("--filter", a.filter.as_deref().unwrap_or(".*"))?;
    let tag_re = a
        .tags
        .as_deref()
        .map(|t| anchored("--tags", t))
        .transpose()?;
    let (client, mut repositories) =
        super::targets::resolve(opener, &a.targets, "retire --filter REPO_REGEX").await?;
    repositories.retain(|(_, repo)| repo_re.is_match(repo));
    repositories.dedup();
    let now = lineage_oci::time::now();
    let spec = retire_spec(&a, now);
    let engine = engine(namespace, a.dialect);
    let total = repositories.len();
    let done = AtomicUsize::new(0);
    let job = Job {
        engine: &engine,
        spec: &spec,
        tag_re: tag_re.as_ref(),
        dry_run: a.dry_run,
        untagged: a.untagged,
        at_given: a.at.is_some(),
        now,
        namespace,
        signer: signer.filter(|_| !a.dry_run),
    };
    let runs: Vec<(String, Repository)> = futures_util::stream::iter(repositories.iter())
        .map(|(registry, repository)| {
            let store = RegistryStore::for_repository(client.clone(), registry, repository);
            let job = &job;
            let done = &done;
            async move {
                let name = format!("{registry}/{repository}");
                let run = job.repository(&store, &name).await;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                note!(
                    printer,
                    "{}",
                    progress_line(n, total, &name, &run.items, job.dry_run)
                );
                (name, run)
            }
        })
        .buffer_unordered(a.concurrency)
        .collect()
        .await;
    let searched: Vec<(String, Discovery)> = runs
        .iter()
        .filter_map(|(name, run)| run.untagged.map(|d| (name.clone(), d)))
        .collect();
    let items = runs.into_iter().flat_map(|(_, run)| run.items).collect();
    let mut summary = Summary::of(a.dry_run, total, items);
    if a.untagged {
        summary = summary.with_untagged(searched);
    }
    if let Some(signer) = job.signer {
        summary = summary.with_signing(signer.subject());
    }
    match a.output {
        Output::Json => crate::output::json(&summary)?,
        Output::Text => out!("{}", summary.text())?,
    }
    if summary.failed > 0 {
        anyhow::bail!(
            "{} of {} could not be retired (listed above)",
            summary.failed,
            plural(summary.images as u64, "image")
        );
    }
    Ok(())
}

/// The progress line of one repository: `[3/50] host/repo: 3 images, 3 records written`.
pub fn progress_line(n: usize, total: usize, name: &str, items: &[Item], dry_run: bool) -> String {
    let records: usize = items
        .iter()
        .filter(|i| matches!(i.action, Action::Retired | Action::WouldRetire))
        .map(|i| i.records)
        .sum();
    let failed = items.iter().filter(|i| i.action == Action::Failed).count();
    let failed = if failed > 0 {
        format!(", {failed} failed")
    } else {
        String::new()
    };
    format!(
        "[{n}/{total}] {name}: {}, {} {}{failed}",
        plural(items.len() as u64, "image"),
        plural(records as u64, "record"),
        if dry_run { "to write" } else { "written" },
    )
}

/// What every repository of the run shares.
struct Job<'a> {
    engine: &'a Engine,
    spec: &'a RecordSpec,
    tag_re: Option<&'a regex::Regex>,
    dry_run: bool,
    untagged: bool,
    at_given: bool,
    now: DateTime<Utc>,
    namespace: &'a Namespace,
    /// `--sign` (never in a dry run).
    signer: Option<&'a Signer>,
}

impl Job<'_> {
    /// Retire the selected tags of one repository, one after the other, then (with
    /// `--untagged`) what no tag names.
    async fn repository(&self, store: &RegistryStore, name: &str) -> Repository {
        let tags = match store.tag_list().await {
            Ok(t) => t,
            Err(e) => {
                return Repository {
                    items: vec![Item::failed(
                        name.to_string(),
                        format!("cannot list the tags: {}", lineage_store::one_line(&e)),
                    )],
                    untagged: None,
                };
            }
        };
        let mut items = Vec::new();
        // What tags name, and the manifests their indexes list: never "untagged".
        let mut tagged: HashSet<Digest> = HashSet::new();
        for tag in tags.iter().filter(|t| !is_referrers_tag(t)) {
            let reference = format!("{name}:{tag}");
            let selected = self.tag_re.is_none_or(|re| re.is_match(tag));
            if !selected && !self.untagged {
                continue;
            }
            let manifest = match store.manifest_fetch(&TagOrDigest::Tag(tag.clone())).await {
                Ok(m) => m,
                Err(e) => {
                    items.push(Item::failed(
                        reference,
                        format!("cannot read `{tag}`: {}", lineage_store::one_line(&e)),
                    ));
                    continue;
                }
            };
            tagged.extend(covered(&manifest));
            if selected && let Some(item) = self.image(store, &manifest, reference, None).await {
                items.push(item);
            }
        }
        let untagged = if self.untagged {
            Some(self.untagged(store, name, &tags, &tagged, &mut items).await)
        } else {
            None
        };
        Repository { items, untagged }
    }

    /// With `--untagged`: retire the images no tag names, found through the registry's
    /// listing of them where it has one, otherwise through the subjects its referrers tags
    /// name. Returns how they were found.
    async fn untagged(
        &self,
        store: &RegistryStore,
        name: &str,
        tags: &[String],
        tagged: &HashSet<Digest>,
        items: &mut Vec<Item>,
    ) -> Discovery {
        let (discovery, candidates): (Discovery, BTreeSet<Digest>) = match store.untagged().await {
            // Artifacts (records, signatures, attestations) are never images to retire.
            Ok(Some(listed)) => (
                Discovery::Listing,
                listed
                    .into_iter()
                    .filter(|d| d.artifact_type.is_none())
                    .map(|d| d.digest)
                    .collect(),
            ),
            Ok(None) => (
                Discovery::ReferrersTags,
                tags.iter()
                    .filter_map(|t| referrers_tag_subject(t))
                    .collect(),
            ),
            Err(e) => {
                items.push(Item::failed(
                    name.to_string(),
                    format!(
                        "cannot list the untagged manifests: {}",
                        lineage_store::one_line(&e)
                    ),
                ));
                return Discovery::Listing;
            }
        };
        let mut manifests = Vec::new();
        for digest in candidates.into_iter().filter(|d| !tagged.contains(d)) {
            match store.manifest_get(&digest).await {
                Ok(m) => manifests.push(m),
                // A referrers tag whose subject is gone: `lineage gc`'s work, not an image.
                Err(e) if e.kind() == lineage_store::ErrorKind::NotFound => {}
                Err(e) => items.push(Item::failed(
                    format!("{name}@{digest}"),
                    format!("cannot read it: {}", lineage_store::one_line(&e)),
                )),
            }
        }
        // A platform manifest is retired with the index that lists it.
        let listed: HashSet<Digest> = manifests
            .iter()
            .flat_map(|m| covered(m).into_iter().skip(1))
            .collect();
        for m in manifests.iter().filter(|m| !listed.contains(m.digest())) {
            let reference = format!("{name}@{}", m.digest());
            if let Some(item) = self.image(store, m, reference, Some(discovery)).await {
                items.push(item);
            }
        }
        discovery
    }

    /// Retire the image `manifest` (read as `reference`); `None` for a referrer, which is
    /// not an image to retire.
    async fn image(
        &self,
        store: &RegistryStore,
        manifest: &RawManifest,
        reference: String,
        untagged: Option<Discovery>,
    ) -> Option<Item> {
        if manifest.view().is_ok_and(|v| v.subject.is_some()) {
            return None;
        }
        let desc = manifest.descriptor();
        let (action, records, signatures, error) = match self.retire(store, &desc).await {
            Ok((action, records, signatures)) => (action, records, signatures, None),
            Err(e) => (
                Action::Failed,
                0,
                None,
                Some(lineage_store::one_line(e.as_ref())),
            ),
        };
        Some(Item {
            reference,
            digest: Some(desc.digest.to_string()),
            action,
            records,
            error,
            untagged,
            signatures,
        })
    }

    /// Write (or, in a dry run, plan) the records of the image `desc`, and with `--sign`
    /// sign them: what was done, how many records, and (with `--sign`) how many signatures.
    async fn retire(
        &self,
        store: &RegistryStore,
        desc: &Descriptor,
    ) -> anyhow::Result<(Action, usize, Option<usize>)> {
        if !self.at_given
            && let Some(record) = self.already_retired(store, &desc.digest).await?
        {
            let signatures = self.sign(store, &[Written::Unchanged(record)]).await?;
            return Ok((Action::AlreadyRetired, 0, signatures));
        }
        let (written, signatures) = if self.dry_run {
            let plan = self.engine.record_plan(store, desc, self.spec).await?;
            (plan, None)
        } else {
            let w = self.engine.write_record(store, desc, self.spec).await?;
            store.flush().await?;
            let signatures = self.sign(store, &w).await?;
            (w, signatures)
        };
        let pushed = written
            .iter()
            .filter(|w| matches!(w, Written::Pushed(_)))
            .count();
        let action = match (pushed, self.dry_run) {
            (0, _) => Action::AlreadyRetired,
            (_, true) => Action::WouldRetire,
            (_, false) => Action::Retired,
        };
        Ok((action, pushed, signatures))
    }

    /// With `--sign`: sign what `written` reports as a single `retire --sign` does; the
    /// number of signatures pushed.
    async fn sign(
        &self,
        store: &RegistryStore,
        written: &[Written],
    ) -> anyhow::Result<Option<usize>> {
        let Some(signer) = self.signer else {
            return Ok(None);
        };
        let signed = super::sign::sign_written(store, signer, written).await?;
        store.flush().await?;
        Ok(Some(signed.len()))
    }

    /// Without `--at`: the image's newest record when it already declares it end-of-life
    /// by now, with the reason, scope and end-of-support this run would write.
    async fn already_retired(
        &self,
        store: &RegistryStore,
        digest: &lineage_oci::Digest,
    ) -> anyhow::Result<Option<Digest>> {
        let listing = store.referrers(digest, None).await?;
        let records = Records::read(&listing, std::slice::from_ref(self.namespace));
        Ok(records
            .effective()
            .filter(|r| {
                r.end_of_life.is_some_and(|eol| eol <= self.now)
                    && r.reason == self.spec.reason
                    && r.end_of_support == self.spec.end_of_support
                    && r.scope.as_deref() == self.spec.scope.as_deref().map(str::trim)
            })
            .map(|r| r.digest.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(reference: &str, action: Action, records: usize) -> Item {
        Item {
            reference: reference.into(),
            digest: Some("sha256:abc".into()),
            action,
            records,
            error: (action == Action::Failed).then(|| "manifest unknown".to_string()),
            untagged: None,
            signatures: None,
        }
    }

    #[test]
    fn referrers_tags_are_never_images() {
        let hex = "a".repeat(64);
        assert!(is_referrers_tag(&format!("sha256-{hex}")));
        assert!(is_referrers_tag(&format!("sha256-{hex}.sig")));
        assert!(!is_referrers_tag("sha256-short"));
        assert!(!is_referrers_tag("1.0"));
    }

    #[test]
    fn filters_match_the_whole_name() {
        let re = anchored("--filter", "team/app-.*").unwrap();
        assert!(re.is_match("team/app-1"));
        assert!(!re.is_match("other/team/app-1"));
        assert!(anchored("--filter", "(").is_err());
    }

    /// The progress lines and the summary, as people read them.
    #[test]
    fn progress_and_summary_text() {
        let items = vec![
            item("reg/a:2", Action::Retired, 1),
            item("reg/a:1", Action::Retired, 3),
            item("reg/a:3", Action::AlreadyRetired, 0),
        ];
        let mut text = progress_line(1, 2, "reg/a", &items, false);
        text.push('\n');
        text.push_str(&progress_line(
            2,
            2,
            "reg/b",
            &[item("reg/b:x", Action::Failed, 0)],
            false,
        ));
        text.push('\n');
        let mut all = items.clone();
        all.push(item("reg/b:x", Action::Failed, 0));
        text.push_str(&Summary::of(false, 2, all).text());
        let dry = vec![item("reg/a:1", Action::WouldRetire, 3)];
        text.push_str(&progress_line(1, 1, "reg/a", &dry, true));
        text.push('\n');
        text.push_str(&Summary::of(true, 1, dry).text());
        let mut found = item("reg/b@sha256:abc", Action::Retired, 1);
        found.untagged = Some(Discovery::ReferrersTags);
        let with_untagged = Summary::of(false, 2, vec![item("reg/a:1", Action::Retired, 1), found])
            .with_untagged(vec![
                ("reg/a".into(), Discovery::Listing),
                ("reg/b".into(), Discovery::ReferrersTags),
            ]);
        text.push_str(&with_untagged.text());
        let mut signed = item("reg/a:1", Action::Retired, 2);
        signed.signatures = Some(2);
        let mut again = item("reg/a:2", Action::AlreadyRetired, 0);
        again.signatures = Some(1);
        let with_signing = Summary::of(false, 1, vec![signed, again])
            .with_signing("C=US, O=Example, CN=release-pipeline");
        text.push_str(&with_signing.text());
        insta::assert_snapshot!("bulk-retire-text", text);
    }
}
