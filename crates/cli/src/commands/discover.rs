//! `lineage discover REF`: the referrer graph of an image, as a tree, a table, or JSON in the
//! shape of `oras discover --format json` (v1.3): the subject at the root, each node with
//! `reference`, `mediaType`, `digest`, `size`, `artifactType`, `annotations` and `referrers`.

use std::collections::HashSet;
use std::io::Write;

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use lineage_oci::{Descriptor, Digest, StoreRef, TagOrDigest};
use lineage_store::ReadStore;
use serde_json::{Map, Value, json};

use crate::args::DiscoverOutput;
use crate::commands::resolve_target;
use crate::open::Opener;
use crate::output;

/// A manifest and the referrers found below it.
struct Node {
    desc: Descriptor,
    reference: String,
    referrers: Vec<Node>,
}

fn reference_of(r: &StoreRef, digest: &Digest) -> String {
    r.with_target(Some(TagOrDigest::Digest(digest.clone())))
        .to_string()
}

/// The most referrers `discover` collects unless `--max-nodes` says otherwise: far more than
/// a real image has (a signature, an SBOM and attestations per platform), and few enough that
/// a registry answering every referrers request with the same long list cannot exhaust memory.
pub const DEFAULT_MAX_NODES: usize = 10_000;

/// What a walk of the referrer graph is asked for, and the digests it has met.
struct Walk<'a> {
    store: &'a dyn ReadStore,
    r: &'a StoreRef,
    artifact_type: Option<&'a str>,
    max_nodes: usize,
    /// The subject and every referrer met so far: each is listed once, where it is first met.
    seen: HashSet<Digest>,
}

impl Walk<'_> {
    /// The referrers of `subject`, `depth` levels down. Every new referrer at one level is
    /// recorded before any is followed, so a digest listed again further down is skipped and
    /// the walk never goes deeper than the number of distinct referrers.
    fn below<'w>(
        &'w mut self,
        subject: &'w Digest,
        depth: Option<usize>,
    ) -> BoxFuture<'w, anyhow::Result<Vec<Node>>> {
        Box::pin(async move {
            if depth == Some(0) {
                return Ok(Vec::new());
            }
            let found = self
                .store
                .referrers(subject, self.artifact_type)
                .await
                .with_context(|| {
                    format!(
                        "cannot list the referrers of {subject} in {}",
                        self.store.name()
                    )
                })?;
            let mut fresh = Vec::new();
            for desc in found {
                if self.seen.contains(&desc.digest) {
                    continue;
                }
                // `seen` holds the subject of the whole walk too.
                if self.seen.len() > self.max_nodes {
                    anyhow::bail!(
                        "`{}` has more than {} referrers (counting referrers of referrers); stopped there. Narrow the walk with `--depth` or `--artifact-type`, or raise `--max-nodes`",
                        self.r,
                        self.max_nodes
                    );
                }
                self.seen.insert(desc.digest.clone());
                fresh.push(desc);
            }
            let mut out = Vec::with_capacity(fresh.len());
            for desc in fresh {
                let referrers = self.below(&desc.digest, depth.map(|d| d - 1)).await?;
                out.push(Node {
                    reference: reference_of(self.r, &desc.digest),
                    desc,
                    referrers,
                });
            }
            Ok(out)
        })
    }
}

/// The referrer graph below `root`: at most `depth` levels (all when `None`) and at most
/// `max_nodes` referrers, each listed once.
async fn graph(
    store: &dyn ReadStore,
    r: &StoreRef,
    root: Descriptor,
    artifact_type: Option<&str>,
    depth: Option<usize>,
    max_nodes: usize,
) -> anyhow::Result<Node> {
    let mut walk = Walk {
        store,
        r,
        artifact_type,
        max_nodes,
        seen: HashSet::from([root.digest.clone()]),
    };
    let referrers = walk.below(&root.digest, depth).await?;
    Ok(Node {
        reference: reference_of(r, &root.digest),
        desc: root,
        referrers,
    })
}

/// Discover and print the referrer graph of `r`, at most `depth` levels and `max_nodes`
/// referrers of it.
pub async fn run(
    opener: &Opener,
    r: &StoreRef,
    artifact_type: Option<&str>,
    depth: Option<usize>,
    max_nodes: usize,
    output: DiscoverOutput,
) -> anyhow::Result<()> {
    let store = opener.read(r).await?;
    let root = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot discover the referrers of `{r}`"))?;
    let node = graph(store.as_ref(), r, root, artifact_type, depth, max_nodes).await?;
    let mut out = Vec::new();
    match output {
        DiscoverOutput::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(&to_json(&node))?)?
        }
        DiscoverOutput::Tree => {
            writeln!(out, "{}", node.reference)?;
            write_tree(&mut out, &node.referrers, "")?;
        }
        DiscoverOutput::Table => write_table(&mut out, &node)?,
    }
    output::stdout_bytes(&out)?;
    Ok(())
}

fn to_json(node: &Node) -> Value {
    let d = &node.desc;
    let mut m = Map::new();
    m.insert("reference".into(), json!(node.reference));
    m.insert("mediaType".into(), json!(d.media_type));
    m.insert("digest".into(), json!(d.digest));
    m.insert("size".into(), json!(d.size));
    if let Some(a) = &d.annotations {
        m.insert("annotations".into(), json!(a));
    }
    if let Some(t) = &d.artifact_type {
        m.insert("artifactType".into(), json!(t));
    }
    m.insert(
        "referrers".into(),
        Value::Array(node.referrers.iter().map(to_json).collect()),
    );
    Value::Object(m)
}

/// Children grouped by artifact type, in order of first appearance, as `oras discover` draws.
fn write_tree(out: &mut impl Write, nodes: &[Node], prefix: &str) -> std::io::Result<()> {
    let mut groups: Vec<(&str, Vec<&Node>)> = Vec::new();
    for n in nodes {
        let t = n.desc.artifact_type.as_deref().unwrap_or("<unknown type>");
        match groups.iter_mut().find(|(g, _)| *g == t) {
            Some((_, v)) => v.push(n),
            None => groups.push((t, vec![n])),
        }
    }
    for (gi, (t, members)) in groups.iter().enumerate() {
        let last_group = gi + 1 == groups.len();
        writeln!(
            out,
            "{prefix}{}{t}",
            if last_group {
                "└── "
            } else {
                "├── "
            }
        )?;
        let group_prefix = format!("{prefix}{}", if last_group { "    " } else { "│   " });
        for (mi, n) in members.iter().enumerate() {
            let last = mi + 1 == members.len();
            writeln!(
                out,
                "{group_prefix}{}{}",
                if last { "└── " } else { "├── " },
                n.desc.digest
            )?;
            let child_prefix = format!("{group_prefix}{}", if last { "    " } else { "│   " });
            write_tree(out, &n.referrers, &child_prefix)?;
        }
    }
    Ok(())
}

fn write_table(out: &mut impl Write, root: &Node) -> std::io::Result<()> {
    fn rows<'a>(n: &'a Node, depth: usize, acc: &mut Vec<(usize, &'a Node, &'a Digest)>) {
        for c in &n.referrers {
            acc.push((depth, c, &n.desc.digest));
            rows(c, depth + 1, acc);
        }
    }
    let mut acc = Vec::new();
    rows(root, 1, &mut acc);
    let type_width = acc
        .iter()
        .map(|(_, n, _)| n.desc.artifact_type.as_deref().unwrap_or("-").len())
        .max()
        .unwrap_or(0)
        .max("ARTIFACT TYPE".len());
    writeln!(
        out,
        "{:<5}  {:<71}  {:<type_width$}  {:>10}  SUBJECT",
        "DEPTH", "DIGEST", "ARTIFACT TYPE", "SIZE"
    )?;
    for (depth, n, subject) in acc {
        writeln!(
            out,
            "{:<5}  {:<71}  {:<type_width$}  {:>10}  {}",
            depth,
            n.desc.digest,
            n.desc.artifact_type.as_deref().unwrap_or("-"),
            n.desc.size,
            subject.short()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use lineage_oci::{RawManifest, media_type};
    use lineage_store::{BlobStream, Result, StoreError};

    use super::*;

    /// A hostile registry: every referrers answer lists the same `width` digests.
    struct SameReferrers {
        width: usize,
        asked: AtomicUsize,
    }

    impl SameReferrers {
        fn unsupported<T>(&self, operation: &str) -> Result<T> {
            Err(StoreError::Unsupported {
                store: self.name().to_string(),
                operation: operation.to_string(),
            })
        }
    }

    #[async_trait]
    impl ReadStore for SameReferrers {
        fn name(&self) -> &str {
            "hostile"
        }
        async fn resolve(&self, _: &TagOrDigest) -> Result<Descriptor> {
            self.unsupported("resolve")
        }
        async fn manifest_get(&self, _: &Digest) -> Result<RawManifest> {
            self.unsupported("manifest_get")
        }
        async fn manifest_exists(&self, _: &Digest) -> Result<bool> {
            self.unsupported("manifest_exists")
        }
        async fn blob_get(&self, _: &Descriptor) -> Result<BlobStream> {
            self.unsupported("blob_get")
        }
        async fn blob_exists(&self, _: &Digest) -> Result<bool> {
            self.unsupported("blob_exists")
        }
        async fn tag_list(&self) -> Result<Vec<String>> {
            self.unsupported("tag_list")
        }
        async fn referrers(&self, _: &Digest, _: Option<&str>) -> Result<Vec<Descriptor>> {
            self.asked.fetch_add(1, Ordering::Relaxed);
            Ok((0..self.width)
                .map(|i| {
                    Descriptor::new(
                        media_type::OCI_MANIFEST,
                        Digest::sha256(i.to_string().as_bytes()),
                        2,
                    )
                })
                .collect())
        }
    }

    fn root() -> Descriptor {
        Descriptor::new(media_type::OCI_MANIFEST, Digest::sha256(b"root"), 2)
    }

    fn count(nodes: &[Node]) -> usize {
        nodes.iter().map(|n| 1 + count(&n.referrers)).sum()
    }

    fn reference() -> StoreRef {
        crate::open::parse("registry.example/app:1").unwrap()
    }

    #[tokio::test]
    async fn a_digest_listed_again_is_walked_once() {
        let store = SameReferrers {
            width: 300,
            asked: AtomicUsize::new(0),
        };
        let r = reference();
        let node = graph(&store, &r, root(), None, None, DEFAULT_MAX_NODES)
            .await
            .unwrap();
        // Every digest once, all at the first level, each asked about once.
        assert_eq!(count(&node.referrers), 300);
        assert_eq!(node.referrers.len(), 300);
        assert_eq!(store.asked.load(Ordering::Relaxed), 301);
    }

    #[tokio::test]
    async fn the_walk_stops_at_max_nodes_with_a_clear_error() {
        let store = SameReferrers {
            width: 300,
            asked: AtomicUsize::new(0),
        };
        let r = reference();
        let e = graph(&store, &r, root(), None, None, 299)
            .await
            .err()
            .unwrap();
        let message = e.to_string();
        assert!(message.contains("more than 299 referrers"), "{message}");
        assert!(message.contains("--max-nodes"), "{message}");
        assert!(message.contains("registry.example/app:1"), "{message}");
        // Exactly the limit is allowed.
        let node = graph(&store, &r, root(), None, None, 300).await.unwrap();
        assert_eq!(count(&node.referrers), 300);
    }
}
