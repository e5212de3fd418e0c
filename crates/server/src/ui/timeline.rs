//! A lineage as a timeline: its revisions oldest first, each with its release time, its
//! state (colour, pattern, symbol and name), its end-of-life mark and an arrow to its
//! successor, each linked to its image page. [`TimelineView`] is what the page shows;
//! [`render`] writes it (pure).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use lineage_lifecycle::verdict::words;
use lineage_lifecycle::{Revision, State};

use super::html::{Esc, href};
use super::layout::{self, Page};

/// One lineage's revisions, as the timeline shows them.
#[derive(Debug, Clone)]
pub struct TimelineView {
    /// The repository, `REGISTRY/REPO`.
    pub repository: String,
    /// The lineage's version (its rolling tag).
    pub version: String,
    /// The revisions, oldest first.
    pub revisions: Vec<RevisionView>,
}

/// A mark on a revision besides its state: whether its record is signed, whether its
/// end-of-life is inherited from its base. Filled once those facts exist (a trust policy,
/// base detection); the timeline shows each as a labelled tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// A short class name for the style (`signed`, `unsigned`, `inherited`).
    pub kind: String,
    /// The text shown, e.g. `signed by CN=release`, `inherits end-of-life from …`.
    pub label: String,
}

/// The successor a revision's arrow points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessorLink {
    /// What the arrow says: `revision R`, else the successor's reference or digest.
    pub label: String,
    /// The reference its image page is opened with.
    pub reference: String,
}

/// One revision on the timeline.
#[derive(Debug, Clone)]
pub struct RevisionView {
    /// The revision, `R`.
    pub revision: String,
    /// Its reference, `REGISTRY/REPO:V-R`.
    pub reference: String,
    /// Its state (`unknown` when it could not be looked up).
    pub state: State,
    /// When it was released (its `org.opencontainers.image.created`).
    pub released: Option<DateTime<Utc>>,
    /// Its effective end-of-life.
    pub end_of_life: Option<DateTime<Utc>>,
    /// Its end-of-support, once records carry one (not read yet: always `None`).
    pub end_of_support: Option<DateTime<Utc>>,
    /// The verdict in words ([`words::Facts::summary`]), or why it could not be looked up.
    pub summary: String,
    /// The image to move to.
    pub successor: Option<SuccessorLink>,
    /// Signed, unsigned, inherited end-of-life (none yet).
    pub markers: Vec<Marker>,
}

impl RevisionView {
    /// The view of a looked-up revision of `repository`.
    pub fn of(repository: &str, r: &Revision) -> RevisionView {
        let reference = format!("{repository}:{}", r.tag);
        match &r.status {
            Ok(s) => RevisionView {
                revision: r.revision.clone(),
                reference,
                state: s.state,
                released: r.created,
                end_of_life: s.end_of_life,
                end_of_support: s.end_of_support,
                summary: words::Facts::of(s).summary(),
                successor: s.successor.as_ref().and_then(|x| {
                    let to = words::successor_name(x)?;
                    let reference = match (&x.reference, &x.digest) {
                        (Some(r), _) => r.clone(),
                        (None, Some(d)) => format!("{repository}@{d}"),
                        (None, None) => return None,
                    };
                    Some(SuccessorLink {
                        label: x
                            .revision
                            .as_ref()
                            .map_or(to, |rev| format!("revision {rev}")),
                        reference,
                    })
                }),
                markers: Vec::new(),
            },
            Err(e) => RevisionView {
                revision: r.revision.clone(),
                reference,
                state: State::Unknown,
                released: r.created,
                end_of_life: None,
                end_of_support: None,
                summary: words::Facts {
                    state: State::Unknown,
                    end_of_life: None,
                    reason: None,
                    version: None,
                    error: Some(&e.message()),
                    end_of_support: None,
                    base: None,
                }
                .summary(),
                successor: None,
                markers: Vec::new(),
            },
        }
    }
}

/// The timeline page.
pub fn render(view: &TimelineView) -> String {
    let mut body = String::with_capacity(400 * view.revisions.len() + 1024);
    let counts: Vec<String> = State::ALL
        .iter()
        .filter_map(|s| {
            let n = view.revisions.iter().filter(|r| r.state == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let _ = writeln!(
        body,
        "<p class=\"lede\">{} revisions of lineage <code>{}</code> in <code>{}</code>, oldest first{}{}.</p>",
        view.revisions.len(),
        Esc(&view.version),
        Esc(&view.repository),
        if counts.is_empty() { "" } else { ": " },
        Esc(&counts.join(", "))
    );
    body.push_str("<ol class=\"timeline\">\n");
    for r in &view.revisions {
        revision(&mut body, r);
    }
    body.push_str("</ol>\n");
    layout::render(&Page {
        title: format!("Lineage {}", view.version),
        crumbs: vec![
            (
                view.repository.clone(),
                Some(href("/ui/repo", &[("name", &view.repository)])),
            ),
            (format!("lineage {}", view.version), None),
        ],
        search: String::new(),
        body,
    })
}

fn revision(out: &mut String, r: &RevisionView) {
    let _ = write!(
        out,
        "<li class=\"rev st-{}\" id=\"rev-{}\"><div class=\"rev-head\">",
        r.state.as_str(),
        Esc(&r.revision)
    );
    layout::state_badge(out, r.state);
    let _ = write!(
        out,
        " <a class=\"rev-link\" href=\"{}\">revision {}</a>",
        layout::image_link(&r.reference),
        Esc(&r.revision)
    );
    if let Some(t) = &r.released {
        out.push_str(" <span class=\"released\">released ");
        layout::time(out, t, &words::date(t));
        out.push_str("</span>");
    }
    out.push_str("</div>\n");
    // The verdict in words, unless it only repeats the badge (`supported`).
    if r.summary != r.state.as_str() {
        let _ = writeln!(out, "<p class=\"summary\">{}</p>", Esc(&r.summary));
    }
    let marks = r.end_of_life.is_some() || r.end_of_support.is_some() || !r.markers.is_empty();
    if marks {
        out.push_str("<ul class=\"marks\">");
        if let Some(t) = &r.end_of_support {
            out.push_str("<li class=\"mark eos\">end-of-support ");
            layout::time(out, t, &words::date(t));
            out.push_str("</li>");
        }
        if let Some(t) = &r.end_of_life {
            out.push_str("<li class=\"mark eol\">end-of-life ");
            layout::time(out, t, &words::date(t));
            out.push_str("</li>");
        }
        for m in &r.markers {
            let _ = write!(
                out,
                "<li class=\"mark marker-{}\">{}</li>",
                Esc(&m.kind),
                Esc(&m.label)
            );
        }
        out.push_str("</ul>\n");
    }
    if let Some(s) = &r.successor {
        let _ = writeln!(
            out,
            "<p class=\"successor\"><span aria-hidden=\"true\">→</span> replaced by <a href=\"{}\">{}</a></p>",
            layout::image_link(&s.reference),
            Esc(&s.label)
        );
    }
    out.push_str("</li>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_test_support::status::{at, scenario_status};

    fn revision(tag: &str, state: State, eol: Option<&str>) -> Revision {
        let mut status = scenario_status(&format!("registry.example/app:{tag}"), state, eol);
        if state == State::Supported {
            status.successor = None;
        }
        Revision {
            tag: tag.to_string(),
            revision: tag.trim_start_matches("1.0-").to_string(),
            status: Ok(status),
            created: Some(at("2023-07-07T08:00:00Z")),
        }
    }

    pub(crate) fn scenario() -> TimelineView {
        let revisions = [
            revision(
                "1.0-20230707",
                State::EndOfLife,
                Some("2023-07-10T08:00:00Z"),
            ),
            revision("1.0-20230710", State::Supported, None),
        ];
        TimelineView {
            repository: "registry.example/app".into(),
            version: "1.0".into(),
            revisions: revisions
                .iter()
                .map(|r| RevisionView::of("registry.example/app", r))
                .collect(),
        }
    }

    #[test]
    fn the_scenario_timeline() {
        let html = render(&scenario());
        assert!(
            html.contains("end-of-life since 2023-07-10T08:00:00Z"),
            "{html}"
        );
        insta::assert_snapshot!("timeline", html);
    }

    #[test]
    fn hostile_revisions_are_escaped() {
        let mut view = scenario();
        view.revisions[0].revision = "<img src=x onerror=alert(1)>".into();
        view.revisions[0].markers.push(Marker {
            kind: "\"x".into(),
            label: "<script>".into(),
        });
        let html = render(&view);
        assert!(
            !html.contains("<img") && !html.contains("<script>"),
            "{html}"
        );
    }
}
