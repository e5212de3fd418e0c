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

fn walk<'a>(
    store: &'a dyn ReadStore,
    r: &'a StoreRef,
    subject: &'a Digest,
    artifact_type: Option<&'a str>,
    depth: Option<usize>,
    seen: &'a mut HashSet<Digest>,
) -> BoxFuture<'a, anyhow::Result<Vec<Node>>> {
    Box::pin(async move {
        if depth == Some(0) {
            return Ok(Vec::new());
        }
        let found = store
            .referrers(subject, artifact_type)
            .await
            .with_context(|| {
                format!("cannot list the referrers of {subject} in {}", store.name())
            })?;
        let mut out = Vec::new();
        for desc in found {
            if !seen.insert(desc.digest.clone()) {
                continue;
            }
            let below = walk(
                store,
                r,
                &desc.digest,
                artifact_type,
                depth.map(|d| d - 1),
                seen,
            )
            .await?;
            out.push(Node {
                reference: reference_of(r, &desc.digest),
                desc,
                referrers: below,
            });
        }
        Ok(out)
    })
}

/// Discover and print the referrer graph of `r`.
pub async fn run(
    opener: &Opener,
    r: &StoreRef,
    artifact_type: Option<&str>,
    depth: Option<usize>,
    output: DiscoverOutput,
) -> anyhow::Result<()> {
    let store = opener.read(r).await?;
    let root = resolve_target(store.as_ref(), r)
        .await
        .with_context(|| format!("cannot discover the referrers of `{r}`"))?;
    let mut seen = HashSet::from([root.digest.clone()]);
    let referrers = walk(
        store.as_ref(),
        r,
        &root.digest,
        artifact_type,
        depth,
        &mut seen,
    )
    .await?;
    let node = Node {
        reference: reference_of(r, &root.digest),
        desc: root,
        referrers,
    };
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
