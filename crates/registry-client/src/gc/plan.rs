//! The decisions of a gc run, from facts already read (no I/O): which referrers tags are
//! orphaned and what goes with them, which entries are stale, which tags the referrers API
//! makes redundant, which live referrers no tag protects.
//!
//! The rule that nothing reachable is deleted lives here: a referrer is deleted only when
//! every index that names it is itself going, no tag names it, and (with `created_before`)
//! it is old enough. A tree with one referrer too young to go stays whole, so nothing in it
//! loses the index that makes it reachable.

use std::collections::{BTreeMap, BTreeSet};

use lineage_oci::{Descriptor, Digest, time};

use super::GcOptions;

/// A referrers tag as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFacts {
    /// The tag.
    pub tag: String,
    /// The digest of the index it names.
    pub digest: Digest,
    /// Its entries.
    pub entries: Vec<Descriptor>,
}

/// What a scan read about a repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Whether the registry serves the referrers API here.
    pub api: bool,
    /// Tags other than referrers tags, and what they name.
    pub tags: BTreeMap<String, Digest>,
    /// Referrers tags, by subject.
    pub indexes: BTreeMap<Digest, IndexFacts>,
    /// Whether manifests exist: every subject of a referrers tag, every entry of a live one.
    pub exists: BTreeMap<Digest, bool>,
    /// Referrers API listings, by subject (registries with the API only).
    pub api_listings: BTreeMap<Digest, Vec<Descriptor>>,
    /// Children of tagged image indexes (they can carry records of their own).
    pub index_children: BTreeSet<Digest>,
}

impl Facts {
    /// Every manifest a tag names.
    pub fn tagged(&self) -> BTreeSet<Digest> {
        self.tags.values().cloned().collect()
    }

    /// Subjects that exist and may have referrers: those of referrers tags, and with the
    /// referrers API every tagged manifest and its children.
    pub fn subjects(&self) -> Vec<Digest> {
        let mut out: BTreeSet<Digest> = self
            .indexes
            .keys()
            .filter(|s| self.exists.get(*s) == Some(&true))
            .cloned()
            .collect();
        if self.api {
            out.extend(self.tags.values().cloned());
            out.extend(self.index_children.iter().cloned());
        }
        out.into_iter().collect()
    }

    /// The referrers of live subjects as the scan read them, for the record compaction to
    /// start from instead of reading them again: with the referrers tag schema, the entries
    /// of each live subject's referrers tag, which is what `Store::referrers` answers. Left
    /// out: subjects whose tag `plan` changes or removes (read again after it), and
    /// everything with the referrers API (the scan reads only some of those listings).
    pub fn listings(&self, plan: &Plan) -> BTreeMap<Digest, Vec<Descriptor>> {
        if self.api {
            return BTreeMap::new();
        }
        let touched: BTreeSet<&Digest> = plan
            .trees
            .iter()
            .flat_map(|t| {
                std::iter::once(&t.subject).chain(t.steps.iter().filter_map(|s| match s {
                    Step::DropIndex { subject } => Some(subject),
                    Step::Delete { .. } => None,
                }))
            })
            .chain(plan.stale.iter().map(|s| &s.subject))
            .collect();
        self.indexes
            .iter()
            .filter(|(s, _)| self.exists.get(*s) == Some(&true) && !touched.contains(s))
            .map(|(s, i)| (s.clone(), i.entries.clone()))
            .collect()
    }

    /// Whether `subject` is known to be gone.
    pub fn gone(&self, subject: &Digest) -> bool {
        self.exists.get(subject) == Some(&false)
    }

    /// The referrers of `d` known from its referrers tag and the API, by digest.
    pub fn children(&self, d: &Digest) -> Vec<Descriptor> {
        let mut out: Vec<Descriptor> = Vec::new();
        let from_tag = self.indexes.get(d).map(|i| i.entries.iter());
        let from_api = self.api_listings.get(d).map(|l| l.iter());
        for c in from_tag
            .into_iter()
            .flatten()
            .chain(from_api.into_iter().flatten())
        {
            if !out.iter().any(|o| o.digest == c.digest) {
                out.push(c.clone());
            }
        }
        out
    }
}

/// One step of removing an orphaned tree, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Delete a referrer of `subject`.
    Delete {
        /// The referrer.
        node: Box<Descriptor>,
        /// What it refers to.
        subject: Digest,
    },
    /// Delete the referrers tag of `subject` (its index, by digest).
    DropIndex {
        /// The subject.
        subject: Digest,
    },
}

/// An orphaned referrers tag and what goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The subject that is gone.
    pub subject: Digest,
    /// Leaves first; the orphaned tag's own [`Step::DropIndex`] last.
    pub steps: Vec<Step>,
    /// Referrers that stay, each with its subject and why.
    pub kept: Vec<(Descriptor, Digest, String)>,
    /// Why nothing of this tree is removed, when so.
    pub blocked: Option<String>,
}

/// A live index with entries naming manifests that no longer exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The subject.
    pub subject: Digest,
    /// The entries to drop.
    pub entries: Vec<Descriptor>,
}

/// Everything decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Orphaned referrers tags.
    pub trees: Vec<Tree>,
    /// Stale entries of live indexes.
    pub stale: Vec<Stale>,
    /// Subjects whose referrers tag the API makes redundant.
    pub redundant: Vec<Digest>,
    /// Subjects whose referrers tag lists what the API does not, with how many.
    pub not_redundant: Vec<(Digest, usize)>,
    /// Live referrers no tag names, with their subjects.
    pub unprotected: Vec<(Descriptor, Digest)>,
}

/// Whether `d` may go under `created_before`: its `org.opencontainers.image.created` is
/// earlier. Without a limit everything may.
pub fn old_enough(d: &Descriptor, created_before: Option<&chrono::DateTime<chrono::Utc>>) -> bool {
    let Some(limit) = created_before else {
        return true;
    };
    d.annotation("org.opencontainers.image.created")
        .and_then(|c| time::parse_lenient(c).ok())
        .is_some_and(|c| &c < limit)
}

/// Decide everything from `facts`.
pub fn plan(facts: &Facts, options: &GcOptions) -> Plan {
    let tagged = facts.tagged();
    let roots: Vec<&Digest> = facts.indexes.keys().filter(|s| facts.gone(s)).collect();

    // The doomed set grows until stable: a referrer of a doomed referrer is doomed too once
    // its own index is no longer counted among the live ones.
    let mut doomed: BTreeSet<Digest> = BTreeSet::new();
    loop {
        let live_listed: BTreeSet<&Digest> = facts
            .indexes
            .iter()
            .filter(|(s, _)| !facts.gone(s) && !doomed.contains(*s))
            .flat_map(|(_, i)| i.entries.iter().map(|e| &e.digest))
            .collect();
        let mut next = BTreeSet::new();
        let mut queue: Vec<Digest> = roots.iter().map(|r| (*r).clone()).collect();
        let mut seen: BTreeSet<Digest> = queue.iter().cloned().collect();
        while let Some(d) = queue.pop() {
            for c in facts.children(&d) {
                if tagged.contains(&c.digest) || live_listed.contains(&c.digest) {
                    continue;
                }
                next.insert(c.digest.clone());
                if seen.insert(c.digest.clone()) {
                    queue.push(c.digest.clone());
                }
            }
        }
        if next == doomed {
            break;
        }
        doomed = next;
    }

    let live_listed: BTreeSet<&Digest> = facts
        .indexes
        .iter()
        .filter(|(s, _)| !facts.gone(s) && !doomed.contains(*s))
        .flat_map(|(_, i)| i.entries.iter().map(|e| &e.digest))
        .collect();
    let mut placed: BTreeSet<Digest> = BTreeSet::new();
    let mut trees = Vec::new();
    for root in roots {
        let mut tree = Tree {
            subject: root.clone(),
            steps: Vec::new(),
            kept: Vec::new(),
            blocked: None,
        };
        visit(
            facts,
            &doomed,
            &tagged,
            &live_listed,
            root,
            &mut placed,
            &mut tree,
            options,
        );
        tree.steps.push(Step::DropIndex {
            subject: root.clone(),
        });
        if tree.blocked.is_some() {
            tree.steps.clear();
        }
        trees.push(tree);
    }
    // Smallest trees first. A tree's referrers tag goes when the tree is done, and some
    // registries (distribution 2.8) read every tag of the repository on each manifest DELETE:
    // small trees first take tags away soonest, so the deletes after them cost less.
    trees.sort_by_key(|t| t.steps.len());

    let mut stale = Vec::new();
    let mut redundant = Vec::new();
    let mut not_redundant = Vec::new();
    let mut unprotected: Vec<(Descriptor, Digest)> = Vec::new();
    for (subject, index) in &facts.indexes {
        if facts.gone(subject) || doomed.contains(subject) {
            continue;
        }
        let missing: Vec<Descriptor> = index
            .entries
            .iter()
            .filter(|e| facts.exists.get(&e.digest) == Some(&false))
            .cloned()
            .collect();
        if !missing.is_empty() {
            stale.push(Stale {
                subject: subject.clone(),
                entries: missing,
            });
        }
        let present = index
            .entries
            .iter()
            .filter(|e| facts.exists.get(&e.digest) != Some(&false));
        if facts.api {
            if let Some(listing) = facts.api_listings.get(subject) {
                let unlisted = present
                    .filter(|e| !listing.iter().any(|l| l.digest == e.digest))
                    .count();
                if unlisted == 0 {
                    redundant.push(subject.clone());
                } else {
                    not_redundant.push((subject.clone(), unlisted));
                }
            }
        } else {
            for e in present {
                if !tagged.contains(&e.digest)
                    && !unprotected.iter().any(|(u, _)| u.digest == e.digest)
                {
                    unprotected.push((e.clone(), subject.clone()));
                }
            }
        }
    }
    Plan {
        trees,
        stale,
        redundant,
        not_redundant,
        unprotected,
    }
}

/// Add the steps for the referrers of `d` (a doomed referrer or an orphaned subject) to
/// `tree`, leaves first.
#[allow(clippy::too_many_arguments)]
fn visit(
    facts: &Facts,
    doomed: &BTreeSet<Digest>,
    tagged: &BTreeSet<Digest>,
    live_listed: &BTreeSet<&Digest>,
    d: &Digest,
    placed: &mut BTreeSet<Digest>,
    tree: &mut Tree,
    options: &GcOptions,
) {
    for c in facts.children(d) {
        if !doomed.contains(&c.digest) {
            let why = if tagged.contains(&c.digest) {
                "a tag names it"
            } else if live_listed.contains(&c.digest) {
                "a live referrers index lists it"
            } else {
                continue;
            };
            tree.kept.push((c.clone(), d.clone(), why.to_string()));
            continue;
        }
        if !placed.insert(c.digest.clone()) {
            continue;
        }
        if !old_enough(&c, options.created_before.as_ref()) {
            tree.blocked = Some(format!(
                "the referrer {} is not older than --older-than (by its org.opencontainers.image.created)",
                c.digest
            ));
        }
        visit(
            facts,
            doomed,
            tagged,
            live_listed,
            &c.digest,
            placed,
            tree,
            options,
        );
        if facts.indexes.contains_key(&c.digest) {
            tree.steps.push(Step::DropIndex {
                subject: c.digest.clone(),
            });
        }
        tree.steps.push(Step::Delete {
            node: Box::new(c),
            subject: d.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_oci::media_type;

    fn desc(seed: &str) -> Descriptor {
        let mut d = Descriptor::new(
            media_type::OCI_MANIFEST,
            Digest::sha256(seed.as_bytes()),
            10,
        );
        d.artifact_type = Some("application/x.test".into());
        d
    }

    fn index(facts: &mut Facts, subject: &Digest, entries: &[&Descriptor]) {
        facts.indexes.insert(
            subject.clone(),
            IndexFacts {
                tag: lineage_oci::referrers::fallback_tag(subject),
                digest: Digest::sha256(subject.as_str().as_bytes()),
                entries: entries.iter().map(|e| (*e).clone()).collect(),
            },
        );
    }

    fn steps(tree: &Tree) -> Vec<String> {
        tree.steps
            .iter()
            .map(|s| match s {
                Step::Delete { node, .. } => format!("delete {}", &node.digest.encoded()[..6]),
                Step::DropIndex { subject } => format!("drop {}", &subject.encoded()[..6]),
            })
            .collect()
    }

    fn short(seed: &str) -> String {
        Digest::sha256(seed.as_bytes()).encoded()[..6].to_string()
    }

    #[test]
    fn an_orphaned_tree_goes_leaves_first_and_keeps_what_else_reaches() {
        let gone = Digest::sha256(b"gone");
        let live = Digest::sha256(b"live");
        let (sbom, sig, shared, tagged) =
            (desc("sbom"), desc("sig"), desc("shared"), desc("tagged"));
        let mut f = Facts::default();
        index(&mut f, &gone, &[&sbom, &shared, &tagged]);
        // The signature of the SBOM, through the SBOM's own referrers tag.
        index(&mut f, &sbom.digest, &[&sig]);
        index(&mut f, &live, &[&shared]);
        f.tags.insert("v1".into(), live.clone());
        f.tags.insert("keep".into(), tagged.digest.clone());
        f.exists.insert(gone.clone(), false);
        f.exists.insert(live.clone(), true);
        f.exists.insert(sbom.digest.clone(), true);
        f.exists.insert(sig.digest.clone(), true);
        f.exists.insert(shared.digest.clone(), true);
        let p = plan(&f, &GcOptions::default());
        assert_eq!(p.trees.len(), 1);
        let t = &p.trees[0];
        assert_eq!(
            steps(t),
            vec![
                format!("delete {}", short("sig")),
                format!("drop {}", short("sbom")),
                format!("delete {}", short("sbom")),
                format!("drop {}", &gone.encoded()[..6]),
            ]
        );
        let kept: Vec<&str> = t.kept.iter().map(|(_, _, why)| why.as_str()).collect();
        assert_eq!(
            kept,
            vec!["a live referrers index lists it", "a tag names it"]
        );
        assert!(t.blocked.is_none());
        // The SBOM's tag is part of the tree, not a live index with unprotected entries.
        assert_eq!(p.unprotected.len(), 1);
        assert_eq!(p.unprotected[0].0.digest, shared.digest);
        assert_eq!(
            f.subjects(),
            vec![live.clone()]
                .into_iter()
                .chain(std::iter::once(sbom.digest.clone()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_young_referrer_keeps_its_whole_tree() {
        let gone = Digest::sha256(b"gone");
        let mut old = desc("old");
        old.set_annotation("org.opencontainers.image.created", "2020-01-01T00:00:00Z");
        let mut young = desc("young");
        young.set_annotation("org.opencontainers.image.created", "2030-01-01T00:00:00Z");
        let mut f = Facts::default();
        index(&mut f, &gone, &[&old, &young]);
        f.exists.insert(gone.clone(), false);
        let limit = time::parse_lenient("2025-01-01").ok();
        let options = GcOptions {
            created_before: limit,
            ..GcOptions::default()
        };
        let p = plan(&f, &options);
        assert!(p.trees[0].steps.is_empty());
        assert!(
            p.trees[0]
                .blocked
                .as_deref()
                .unwrap_or_default()
                .contains(young.digest.as_str())
        );
        // Without the limit both go.
        let p = plan(&f, &GcOptions::default());
        assert_eq!(p.trees[0].steps.len(), 3);
        assert!(old_enough(&old, limit.as_ref()));
        assert!(!old_enough(&desc("undated"), limit.as_ref()));
    }

    #[test]
    fn smaller_trees_go_first() {
        let (big, small) = (Digest::sha256(b"big"), Digest::sha256(b"small"));
        let (a, b, c) = (desc("a"), desc("b"), desc("c"));
        let mut f = Facts::default();
        index(&mut f, &big, &[&a, &b]);
        index(&mut f, &small, &[&c]);
        f.exists.insert(big.clone(), false);
        f.exists.insert(small.clone(), false);
        let p = plan(&f, &GcOptions::default());
        let order: Vec<(&Digest, usize)> = p
            .trees
            .iter()
            .map(|t| (&t.subject, t.steps.len()))
            .collect();
        assert_eq!(order, vec![(&small, 2), (&big, 3)]);
    }

    #[test]
    fn listings_are_reused_only_where_gc_leaves_the_tag_alone() {
        let (live, stale, gone) = (
            Digest::sha256(b"live"),
            Digest::sha256(b"stale"),
            Digest::sha256(b"gone"),
        );
        let (a, b, missing, sbom, sig) = (
            desc("a"),
            desc("b"),
            desc("missing"),
            desc("sbom"),
            desc("sig"),
        );
        let mut f = Facts::default();
        index(&mut f, &live, &[&a]);
        index(&mut f, &stale, &[&b, &missing]);
        index(&mut f, &gone, &[&sbom]);
        // The orphaned SBOM's own referrers tag goes with it.
        index(&mut f, &sbom.digest, &[&sig]);
        for (d, e) in [
            (&live, true),
            (&stale, true),
            (&gone, false),
            (&a.digest, true),
            (&b.digest, true),
            (&missing.digest, false),
            (&sbom.digest, true),
        ] {
            f.exists.insert(d.clone(), e);
        }
        let p = plan(&f, &GcOptions::default());
        let listings = f.listings(&p);
        assert_eq!(
            listings.keys().collect::<Vec<_>>(),
            vec![&live],
            "neither the index with a stale entry nor the orphaned tree's tags"
        );
        assert_eq!(listings[&live], vec![a.clone()]);
        f.api = true;
        assert!(f.listings(&p).is_empty(), "with the API nothing is reused");
    }

    #[test]
    fn stale_entries_and_redundant_indexes() {
        let s = Digest::sha256(b"s");
        let (a, b) = (desc("a"), desc("b"));
        let mut f = Facts::default();
        index(&mut f, &s, &[&a, &b]);
        f.exists.insert(s.clone(), true);
        f.exists.insert(a.digest.clone(), true);
        f.exists.insert(b.digest.clone(), false);
        let p = plan(&f, &GcOptions::default());
        assert_eq!(
            p.stale,
            vec![Stale {
                subject: s.clone(),
                entries: vec![b.clone()]
            }]
        );
        assert!(p.trees.is_empty());
        // With the API: redundant once the API lists every entry that exists.
        f.api = true;
        f.api_listings.insert(s.clone(), vec![]);
        assert_eq!(
            plan(&f, &GcOptions::default()).not_redundant,
            vec![(s.clone(), 1)]
        );
        f.api_listings.insert(s.clone(), vec![a.clone()]);
        let p = plan(&f, &GcOptions::default());
        assert_eq!(p.redundant, vec![s.clone()]);
        assert!(
            p.unprotected.is_empty(),
            "the API protects nothing from a tag-only GC, and is not asked"
        );
    }
}
