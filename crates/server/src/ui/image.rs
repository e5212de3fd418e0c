//! An image's page: its status (the text `lineage status` prints, and the JSON of
//! `lineage status --output json`), its lifecycle records, its referrer tree with media
//! types and sizes, and the commands to run about it. [`ImageView`] is what the page shows;
//! [`render`] writes it (pure).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use lineage_lifecycle::verdict::words;
use lineage_lifecycle::{Record, Status};

use super::html::{Esc, href};
use super::layout::{self, Page};

/// What an image's page shows.
#[derive(Debug, Clone)]
pub struct ImageView {
    /// The reference the page is for, as asked.
    pub reference: String,
    /// Its repository, `REGISTRY/REPO`.
    pub repository: String,
    /// Its status.
    pub status: Status,
    /// When it was released (its `org.opencontainers.image.created`).
    pub released: Option<DateTime<Utc>>,
    /// Its lifecycle records, newest first.
    pub records: Vec<RecordView>,
    /// Its referrers, each with theirs.
    pub referrers: Vec<ReferrerNode>,
    /// Whether the tree was cut short (too deep or too many referrers).
    pub truncated: bool,
    /// Whether its registry is reached over plain HTTP (loopback), for the commands.
    pub plain_http: bool,
}

/// One lifecycle record of the image.
#[derive(Debug, Clone)]
pub struct RecordView {
    /// The record.
    pub record: Record,
    /// Whether it is the record in effect.
    pub effective: bool,
    /// Who signed it, once records are signed and checked (not yet: always `None`).
    pub signed_by: Option<String>,
}

/// A referrer in the tree.
#[derive(Debug, Clone)]
pub struct ReferrerNode {
    /// Its digest.
    pub digest: String,
    /// Its artifactType, when it has one.
    pub artifact_type: Option<String>,
    /// Its media type.
    pub media_type: String,
    /// Its manifest's size in bytes.
    pub size: u64,
    /// Its `org.opencontainers.image.created`, as written.
    pub created: Option<String>,
    /// Its own referrers (signatures of an SBOM…).
    pub children: Vec<ReferrerNode>,
}

impl ReferrerNode {
    fn count(nodes: &[ReferrerNode]) -> usize {
        nodes
            .iter()
            .map(|n| 1 + ReferrerNode::count(&n.children))
            .sum()
    }
}

/// A shell word: as is when it is plain, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl ImageView {
    /// The commands the page offers to copy: label and command line.
    pub fn commands(&self) -> Vec<(&'static str, String)> {
        let by_digest = format!("{}@{}", self.repository, self.status.digest);
        let oras_flags = if self.plain_http { " --plain-http" } else { "" };
        vec![
            (
                "Its status, as this page shows it",
                format!("lineage status {}", shell_word(&self.reference)),
            ),
            (
                "Files here that pin an image to move off, and the edits (add --write to make them)",
                "lineage update .".to_string(),
            ),
            (
                "Its referrers, with ORAS",
                format!("oras discover{oras_flags} {}", shell_word(&by_digest)),
            ),
        ]
    }
}

/// The image page.
pub fn render(view: &ImageView) -> String {
    let s = &view.status;
    let mut body = String::with_capacity(8192);
    body.push_str("<section aria-labelledby=\"h-status\"><h2 id=\"h-status\">Status</h2>\n<p class=\"verdict\">");
    layout::state_badge(&mut body, s.state);
    let summary = words::Facts::of(s).summary();
    if summary != s.state.as_str() {
        let _ = write!(body, " {}", Esc(&summary));
    }
    body.push_str("</p>\n");
    body.push_str("<dl class=\"facts\">");
    let mut fact = |name: &str, value: &str| {
        let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", Esc(name), Esc(value));
    };
    fact("Digest", s.digest.as_str());
    if let Some(v) = &s.version {
        fact("Lineage", v);
    }
    if let Some(r) = &s.revision {
        fact("Revision", r);
    }
    if let Some(t) = &view.released {
        fact("Released", &lineage_oci::time::format_rfc3339(t));
    }
    if let Some(t) = &s.end_of_life {
        fact("End-of-life", &lineage_oci::time::format_rfc3339(t));
    }
    if let Some(x) = s.successor.as_ref().and_then(words::successor_full) {
        fact("Successor", &x);
    }
    body.push_str("</dl>\n");
    if let Some(x) = &s.successor
        && let Some(to) = words::pull_name(x.reference.as_deref(), x.digest.as_ref(), None)
    {
        let to = if x.reference.is_none() {
            format!("{}@{to}", view.repository)
        } else {
            to
        };
        let _ = writeln!(
            body,
            "<p class=\"successor\"><span aria-hidden=\"true\">→</span> replaced by <a href=\"{}\">{}</a></p>",
            layout::image_link(&to),
            Esc(&to)
        );
    }
    if let Some(v) = &s.version {
        let _ = writeln!(
            body,
            "<p><a href=\"{}\">The timeline of lineage {}</a></p>",
            href(
                "/ui/lineage",
                &[("repo", &view.repository), ("version", v.as_str())]
            ),
            Esc(v)
        );
    }
    let text = lineage_lifecycle::status::table(std::iter::once(Ok(s)));
    let json = serde_json::to_string_pretty(&[s]).unwrap_or_default();
    let _ = writeln!(
        body,
        "<details class=\"out\" id=\"status-text\"><summary>As <code>lineage status</code> prints it</summary><pre>{}</pre></details>",
        Esc(&text)
    );
    let _ = writeln!(
        body,
        "<details class=\"out\" id=\"status-json\"><summary>As JSON, as <code>lineage status --output json</code> prints it</summary><p><a href=\"{}\">Download the JSON</a></p><pre>{}</pre></details>",
        href("/ui/status.json", &[("ref", &view.reference)]),
        Esc(&json)
    );
    body.push_str("</section>\n");

    records(&mut body, &view.records);

    let n = ReferrerNode::count(&view.referrers);
    let _ = write!(
        body,
        "<section aria-labelledby=\"h-referrers\"><h2 id=\"h-referrers\">Referrers</h2>\n<details id=\"referrers\" class=\"tree\"><summary>Referrer tree: {n} referrer{}</summary>\n",
        if n == 1 { "" } else { "s" }
    );
    let _ = write!(
        body,
        "<ul class=\"tree-root\"><li><span class=\"node\"><code>{}</code> the image</span>",
        Esc(s.digest.short())
    );
    tree(&mut body, &view.repository, &view.referrers);
    body.push_str("</li></ul>\n");
    if view.truncated {
        body.push_str("<p class=\"note\">The tree is cut short here: it is deeper or larger than a page shows.</p>\n");
    }
    body.push_str("</details></section>\n");

    body.push_str("<section aria-labelledby=\"h-commands\"><h2 id=\"h-commands\">Commands</h2>\n");
    for (i, (label, command)) in view.commands().iter().enumerate() {
        layout::command(&mut body, &format!("cmd-{i}"), label, command);
    }
    body.push_str("</section>\n");

    let mut crumbs = vec![(
        view.repository.clone(),
        Some(href("/ui/repo", &[("name", &view.repository)])),
    )];
    if let Some(v) = &s.version {
        crumbs.push((
            format!("lineage {v}"),
            Some(href(
                "/ui/lineage",
                &[("repo", &view.repository), ("version", v.as_str())],
            )),
        ));
    }
    crumbs.push((view.reference.clone(), None));
    layout::render(&Page {
        title: view.reference.clone(),
        crumbs,
        search: view.reference.clone(),
        body,
    })
}

fn records(out: &mut String, records: &[RecordView]) {
    out.push_str(
        "<section aria-labelledby=\"h-records\"><h2 id=\"h-records\">Lifecycle records</h2>\n",
    );
    if records.is_empty() {
        out.push_str("<p>No lifecycle record refers to this image.</p></section>\n");
        return;
    }
    out.push_str("<table class=\"records\"><caption>Newest first; the record in effect is marked.</caption>\n<thead><tr><th scope=\"col\">Written</th><th scope=\"col\">End-of-life</th><th scope=\"col\">Reason</th><th scope=\"col\">Successor</th><th scope=\"col\">Dialect</th><th scope=\"col\">Signed by</th><th scope=\"col\">Record</th></tr></thead>\n<tbody>\n");
    let dash = || "-".to_string();
    for r in records {
        let rec = &r.record;
        let when = |t: Option<DateTime<Utc>>| {
            t.map_or_else(dash, |t| lineage_oci::time::format_rfc3339(&t))
        };
        let _ = writeln!(
            out,
            "<tr{}><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            if r.effective {
                " class=\"effective\""
            } else {
                ""
            },
            Esc(&when(rec.created)),
            if r.effective {
                " <strong>(in effect)</strong>"
            } else {
                ""
            },
            Esc(&when(rec.end_of_life)),
            Esc(&rec.reason.as_ref().map_or_else(dash, ToString::to_string)),
            Esc(rec.successor.as_deref().unwrap_or("-")),
            Esc(rec.dialect.name()),
            Esc(r.signed_by.as_deref().unwrap_or("-")),
            Esc(rec.digest.short()),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn tree(out: &mut String, repository: &str, nodes: &[ReferrerNode]) {
    if nodes.is_empty() {
        return;
    }
    out.push_str("<ul>");
    for n in nodes {
        let _ = write!(
            out,
            "<li><span class=\"node\"><a href=\"{}\"><code>{}</code></a> <span class=\"type\">{}</span> <span class=\"mt\">{}</span> <span class=\"size\">{}</span>",
            layout::image_link(&format!("{repository}@{}", n.digest)),
            Esc(n.digest.get(..19).unwrap_or(&n.digest)),
            Esc(n.artifact_type.as_deref().unwrap_or("(no artifactType)")),
            Esc(&n.media_type),
            Esc(&layout::size(n.size)),
        );
        if let Some(c) = &n.created {
            let _ = write!(out, " <span class=\"created\">created {}</span>", Esc(c));
        }
        out.push_str("</span>");
        tree(out, repository, &n.children);
        out.push_str("</li>");
    }
    out.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_lifecycle::State;
    use lineage_test_support::status::scenario_status;

    pub(crate) fn scenario() -> ImageView {
        let status = scenario_status(
            "registry.example/flasksample:1.0-20230707",
            State::EndOfLife,
            Some("2023-07-10T08:00:00Z"),
        );
        ImageView {
            reference: status.reference.clone(),
            repository: "registry.example/flasksample".into(),
            released: None,
            records: Vec::new(),
            referrers: vec![ReferrerNode {
                digest: format!("sha256:{}", "a".repeat(64)),
                artifact_type: Some("application/spdx+json".into()),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                size: 1536,
                created: Some("2023-07-07T00:00:00Z".into()),
                children: vec![ReferrerNode {
                    digest: format!("sha256:{}", "b".repeat(64)),
                    artifact_type: Some("application/vnd.dev.cosign.artifact.sig.v1+json".into()),
                    media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                    size: 700,
                    created: None,
                    children: Vec::new(),
                }],
            }],
            truncated: false,
            plain_http: false,
            status,
        }
    }

    #[test]
    fn the_scenario_image_page() {
        let view = scenario();
        let html = render(&view);
        // The text exactly as `lineage status` prints it, escaped once.
        let text = lineage_lifecycle::status::table(std::iter::once(Ok(&view.status)));
        assert!(html.contains(&super::super::html::escape(&text)), "{html}");
        assert!(html.contains("Referrer tree: 2 referrers"));
        insta::assert_snapshot!("image", html);
    }

    #[test]
    fn commands_quote_what_a_shell_would_read() {
        let mut view = scenario();
        view.reference = "r.example/a:1;rm -rf /".into();
        view.plain_http = true;
        let commands = view.commands();
        assert_eq!(commands[0].1, "lineage status 'r.example/a:1;rm -rf /'");
        assert!(
            commands[2]
                .1
                .starts_with("oras discover --plain-http registry.example/flasksample@sha256:")
        );
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
