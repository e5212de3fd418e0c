//! The frame every dashboard page shares (head, navigation with the search box, breadcrumb,
//! main landmark) and the small pieces pages repeat: a state badge, a time, a size. Pure:
//! a page's parts in, HTML out.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use lineage_lifecycle::State;

use super::html::{Esc, escape, href};

/// A page before it is framed.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The `<title>` and `<h1>`.
    pub title: String,
    /// The breadcrumb after "Repositories": each a label and, but for the last, a link.
    pub crumbs: Vec<(String, Option<String>)>,
    /// What the search box shows.
    pub search: String,
    /// The page's body, HTML, after its heading.
    pub body: String,
}

/// `page` framed: a whole HTML document.
pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(page.body.len() + 2048);
    let _ = write!(
        out,
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title} · lineage</title>
<link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/style.css">
<script src="/ui/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<nav aria-label="Main">
<a class="brand" href="/ui">lineage</a>
<a href="/ui">Repositories</a>
<a href="/ui/fleet">Fleet</a>
</nav>
<form class="search" role="search" action="/ui/search" method="get">
<label for="q">Search</label>
<input id="q" name="q" type="search" value="{search}" placeholder="reference or digest" autocomplete="off" spellcheck="false">
<button type="submit">Search</button>
</form>
</header>
<main id="main" tabindex="-1">
"##,
        title = Esc(&page.title),
        search = Esc(&page.search),
    );
    if !page.crumbs.is_empty() {
        out.push_str(
            "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol>\n<li><a href=\"/ui\">Repositories</a></li>\n",
        );
        for (label, link) in &page.crumbs {
            let _ = match link {
                Some(l) => writeln!(out, "<li><a href=\"{l}\">{}</a></li>", Esc(label)),
                None => writeln!(out, "<li aria-current=\"page\">{}</li>", Esc(label)),
            };
        }
        out.push_str("</ol></nav>\n");
    }
    let _ = writeln!(out, "<h1>{}</h1>", Esc(&page.title));
    out.push_str(&page.body);
    out.push_str(
        "</main>\n<footer class=\"foot\"><p>lineage: the lifecycle of container images, from the registry.</p></footer>\n</body>\n</html>\n",
    );
    out
}

/// The mark beside a state's name, so that the state reads without colour.
pub fn state_symbol(state: State) -> &'static str {
    match state {
        State::EndOfLife => "✕",
        State::Scheduled => "◷",
        State::EndOfSupport => "!",
        State::BaseEndOfLife => "△",
        State::Superseded => "↻",
        State::Supported => "✓",
        State::Unknown => "?",
    }
}

/// A state badge: symbol and name, coloured and patterned by its class.
pub fn state_badge(out: &mut String, state: State) {
    let _ = write!(
        out,
        "<span class=\"state st-{s}\"><span aria-hidden=\"true\">{}</span> {s}</span>",
        state_symbol(state),
        s = state.as_str()
    );
}

/// A `<time>` with the instant in RFC 3339 and, shown, `text`.
pub fn time(out: &mut String, t: &DateTime<Utc>, text: &str) {
    let _ = write!(
        out,
        "<time datetime=\"{}\">{}</time>",
        escape(&lineage_oci::time::format_rfc3339(t)),
        Esc(text)
    );
}

/// A size in bytes, for people: `512 B`, `1.5 KiB`, `3.2 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The link to the image page of `reference`.
pub fn image_link(reference: &str) -> String {
    href("/ui/image", &[("ref", reference)])
}

/// A command people copy: the text, and a button that copies it (the script's).
pub fn command(out: &mut String, id: &str, label: &str, text: &str) {
    let _ = writeln!(
        out,
        "<div class=\"cmd\"><p id=\"{id}-label\">{}</p><pre><code id=\"{id}\">{}</code></pre><button type=\"button\" class=\"copy\" data-copy=\"{id}\" aria-describedby=\"{id}-label\">Copy</button></div>",
        Esc(label),
        Esc(text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_escapes_title_search_and_crumbs() {
        let html = render(&Page {
            title: "<b>x</b>".into(),
            crumbs: vec![("a\"b".into(), Some(href("/ui/repo", &[("name", "r/a")])))],
            search: "\"><script>".into(),
            body: "<p>body</p>".into(),
        });
        assert!(html.contains("<title>&lt;b&gt;x&lt;/b&gt; · lineage</title>"));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(html.contains("<a href=\"/ui/repo?name=r%2Fa\">a&quot;b</a>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<p>body</p>"));
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024 + 200 * 1024), "3.2 MiB");
    }
}
