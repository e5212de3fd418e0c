//! The dashboard's smaller pages: the repositories, one repository's lineages and tags,
//! search results, and an error. Each is a view model and a pure render function.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::html::{Esc, href};
use super::layout::{self, Page};

/// The first page: the repositories (`lineage serve`'s own), or how to find one.
#[derive(Debug, Clone, Default)]
pub struct HomeView {
    /// The repositories, `REGISTRY/REPO`; `None` when the server has none of its own
    /// (`lineage webhook`).
    pub repositories: Option<Vec<String>>,
}

/// The first page.
pub fn home(view: &HomeView) -> String {
    let mut body = String::new();
    match &view.repositories {
        Some(repos) if repos.is_empty() => body.push_str(
            "<p>This registry has no repository yet. Push one with <code>lineage push</code> or <code>lineage release</code>.</p>\n",
        ),
        Some(repos) => {
            let _ = writeln!(
                body,
                "<p class=\"lede\">{} repositor{} in this registry.</p>\n<ul class=\"list\">",
                repos.len(),
                if repos.len() == 1 { "y" } else { "ies" }
            );
            for r in repos {
                let _ = writeln!(
                    body,
                    "<li><a href=\"{}\">{}</a></li>",
                    href("/ui/repo", &[("name", r)]),
                    Esc(r)
                );
            }
            body.push_str("</ul>\n");
        }
        None => body.push_str(
            "<p class=\"lede\">Search for a repository (<code>registry.example/team/app</code>), an image (<code>registry.example/team/app:1.0</code>) or an image by digest (<code>registry.example/team/app@sha256:…</code>), or audit a fleet on the <a href=\"/ui/fleet\">fleet page</a>.</p>\n",
        ),
    }
    layout::render(&Page {
        title: "Repositories".into(),
        crumbs: Vec::new(),
        search: String::new(),
        body,
    })
}

/// One repository: its lineages and its other tags.
#[derive(Debug, Clone, Default)]
pub struct RepositoryView {
    /// `REGISTRY/REPO`.
    pub repository: String,
    /// Each version with its revision tags.
    pub lineages: BTreeMap<String, Vec<String>>,
    /// The tags that are neither a version nor a revision.
    pub other_tags: Vec<String>,
}

/// A repository's page.
pub fn repository(view: &RepositoryView) -> String {
    let mut body = String::new();
    body.push_str("<section aria-labelledby=\"h-lineages\"><h2 id=\"h-lineages\">Lineages</h2>\n");
    if view.lineages.is_empty() {
        body.push_str(
            "<p>No lineage: no tag <code>V</code> with revisions tagged <code>V-R</code>.</p>\n",
        );
    } else {
        body.push_str("<ul class=\"list\">\n");
        for (version, revisions) in &view.lineages {
            let _ = writeln!(
                body,
                "<li><a href=\"{}\">lineage {}</a> <span class=\"count\">{} revision{}, newest {}</span></li>",
                href(
                    "/ui/lineage",
                    &[("repo", &view.repository), ("version", version)]
                ),
                Esc(version),
                revisions.len(),
                if revisions.len() == 1 { "" } else { "s" },
                Esc(revisions.iter().max().map_or("-", String::as_str))
            );
        }
        body.push_str("</ul>\n");
    }
    body.push_str("</section>\n");
    if !view.other_tags.is_empty() {
        body.push_str("<section aria-labelledby=\"h-tags\"><h2 id=\"h-tags\">Other tags</h2>\n<ul class=\"list\">\n");
        for t in &view.other_tags {
            let _ = writeln!(
                body,
                "<li><a href=\"{}\">{}</a></li>",
                layout::image_link(&format!("{}:{t}", view.repository)),
                Esc(t)
            );
        }
        body.push_str("</ul></section>\n");
    }
    layout::render(&Page {
        title: view.repository.clone(),
        crumbs: vec![(view.repository.clone(), None)],
        search: view.repository.clone(),
        body,
    })
}

/// What a search found.
#[derive(Debug, Clone, Default)]
pub struct SearchView {
    /// The query.
    pub query: String,
    /// Repositories whose name matches: `REGISTRY/REPO`.
    pub repositories: Vec<String>,
    /// Images found: references to open.
    pub images: Vec<String>,
    /// Why the query found nothing, or could not be run.
    pub note: Option<String>,
}

/// The search results page.
pub fn search(view: &SearchView) -> String {
    let mut body = String::new();
    if let Some(n) = &view.note {
        let _ = writeln!(body, "<p role=\"status\">{}</p>", Esc(n));
    }
    if !view.images.is_empty() {
        body.push_str("<section aria-labelledby=\"h-images\"><h2 id=\"h-images\">Images</h2>\n<ul class=\"list\">\n");
        for i in &view.images {
            let _ = writeln!(
                body,
                "<li><a href=\"{}\"><code>{}</code></a></li>",
                layout::image_link(i),
                Esc(i)
            );
        }
        body.push_str("</ul></section>\n");
    }
    if !view.repositories.is_empty() {
        body.push_str("<section aria-labelledby=\"h-repos\"><h2 id=\"h-repos\">Repositories</h2>\n<ul class=\"list\">\n");
        for r in &view.repositories {
            let _ = writeln!(
                body,
                "<li><a href=\"{}\">{}</a></li>",
                href("/ui/repo", &[("name", r)]),
                Esc(r)
            );
        }
        body.push_str("</ul></section>\n");
    }
    layout::render(&Page {
        title: format!("Search: {}", view.query),
        crumbs: vec![("Search".into(), None)],
        search: view.query.clone(),
        body,
    })
}

/// An error page: what could not be shown, and why.
pub fn error(title: &str, message: &str, search: &str) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p class=\"error\" role=\"alert\">{}</p>",
        Esc(message)
    );
    body.push_str("<p><a href=\"/ui\">Back to the repositories</a></p>\n");
    layout::render(&Page {
        title: title.to_string(),
        crumbs: Vec::new(),
        search: search.to_string(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_page() {
        let view = RepositoryView {
            repository: "registry.example/flasksample".into(),
            lineages: BTreeMap::from([(
                "1.0".to_string(),
                vec!["1.0-20230707".to_string(), "1.0-20230710".to_string()],
            )]),
            other_tags: vec!["latest".into()],
        };
        insta::assert_snapshot!("repository", repository(&view));
    }

    #[test]
    fn hostile_names_are_escaped_everywhere() {
        let evil = "r.example/<script>x</script>";
        let pages = [
            home(&HomeView {
                repositories: Some(vec![evil.into()]),
            }),
            repository(&RepositoryView {
                repository: evil.into(),
                lineages: BTreeMap::from([(evil.to_string(), vec![evil.to_string()])]),
                other_tags: vec![evil.into()],
            }),
            search(&SearchView {
                query: evil.into(),
                repositories: vec![evil.into()],
                images: vec![evil.into()],
                note: Some(evil.into()),
            }),
            error(evil, evil, evil),
        ];
        for p in pages {
            assert!(!p.contains("<script>"), "{p}");
        }
    }
}
