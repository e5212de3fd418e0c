//! The fleet page: a `kubectl get pods -A -o json` document (or any input `lineage audit`
//! reads: Kubernetes JSON or YAML, one image per line) pasted or uploaded, and the audit of
//! it: `lineage audit`'s rows, words and order (the integrations crate's
//! [`audit`](lineage_integrations::audit)), end-of-life rows highlighted, each image's
//! places, and the same table as markdown or JSON to download. [`FleetView`] is what the page
//! shows; [`render`] writes it (pure).

use std::fmt::Write as _;

use lineage_integrations::audit::{self, Row};
use lineage_lifecycle::State;

use super::html::Esc;
use super::layout::{self, Page};

/// What the fleet page shows.
#[derive(Debug, Clone, Default)]
pub struct FleetView {
    /// The input, as pasted or uploaded (shown again in the form).
    pub input: String,
    /// The audit, once there was an input.
    pub rows: Option<Vec<Row>>,
    /// Why the input could not be audited.
    pub error: Option<String>,
}

/// The fleet page.
pub fn render(view: &FleetView) -> String {
    let mut body = String::with_capacity(4096 + view.input.len());
    body.push_str("<p class=\"lede\">Paste or upload the output of <code>kubectl get pods -A -o json</code>, Kubernetes manifests, or one image per line: every distinct image is looked up once, worst first, as <code>lineage audit</code> does.</p>\n");
    let _ = write!(
        body,
        r#"<form class="fleet" action="/ui/fleet" method="post">
<p><label for="upload">Upload a file</label> <input id="upload" type="file" accept=".json,.yaml,.yml,.txt,application/json,text/plain" aria-describedby="upload-help"> <span id="upload-help" class="help">its text fills the box below</span></p>
<p><label for="input">Pods, manifests or images</label></p>
<textarea id="input" name="input" rows="12" spellcheck="false" required>{}</textarea>
<p class="buttons"><button type="submit" name="format" value="html">Audit</button>
<button type="submit" name="format" value="markdown">Download markdown</button>
<button type="submit" name="format" value="json">Download JSON</button></p>
</form>
"#,
        Esc(&view.input)
    );
    if let Some(e) = &view.error {
        let _ = writeln!(
            body,
            "<p class=\"error\" role=\"alert\"><strong>Cannot audit this input:</strong> {}</p>",
            Esc(e)
        );
    }
    if let Some(rows) = &view.rows {
        table(&mut body, rows);
    }
    layout::render(&Page {
        title: "Fleet".into(),
        crumbs: vec![("Fleet".into(), None)],
        search: String::new(),
        body,
    })
}

fn table(out: &mut String, rows: &[Row]) {
    let _ = writeln!(
        out,
        "<section aria-labelledby=\"h-audit\"><h2 id=\"h-audit\">Audit</h2>\n<p class=\"summary\" role=\"status\">{}</p>",
        Esc(&audit::summary(rows))
    );
    if rows.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    out.push_str("<div class=\"scroll\"><table class=\"audit\"><caption>One row per distinct image, end-of-life first.</caption>\n<thead><tr><th scope=\"col\">Image</th><th scope=\"col\">State</th><th scope=\"col\">End-of-life</th><th scope=\"col\">Successor</th><th scope=\"col\">Uses</th><th scope=\"col\">Where</th></tr></thead>\n<tbody>\n");
    for row in rows {
        let eol = row.state == State::EndOfLife;
        let _ = write!(out, "<tr class=\"st-{}\">", row.state.as_str());
        let image = audit::render::image(row);
        let _ = write!(
            out,
            "<th scope=\"row\"><a href=\"{}\"><code>{}</code></a></th><td>",
            layout::image_link(&row.reference),
            Esc(&image)
        );
        if eol {
            out.push_str("<strong>");
        }
        layout::state_badge(out, row.state);
        if eol {
            out.push_str("</strong>");
        }
        out.push_str("</td><td>");
        match &row.end_of_life {
            Some(t) => layout::time(out, t, &lineage_oci::time::format_rfc3339(t)),
            None => out.push('-'),
        }
        let successor = audit::render::successor(row);
        out.push_str("</td><td>");
        if successor == "-" {
            out.push('-');
        } else {
            let _ = write!(
                out,
                "<a href=\"{}\"><code>{}</code></a>",
                layout::image_link(&successor),
                Esc(&successor)
            );
        }
        let _ = write!(out, "</td><td class=\"num\">{}</td><td>", row.uses.len());
        out.push_str("<ul class=\"places\">");
        for place in &row.uses {
            let _ = write!(out, "<li>{}</li>", Esc(&place.to_string()));
        }
        out.push_str("</ul>");
        if let Some(e) = &row.error {
            let _ = write!(out, "<p class=\"error\">{}</p>", Esc(e));
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table></div></section>\n");
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use lineage_integrations::Looked;
    use lineage_test_support::status::scenario_status;

    pub(crate) fn scenario() -> FleetView {
        let input = r#"{"apiVersion": "v1", "kind": "List", "items": [
 {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "prod"},
  "spec": {"containers": [{"name": "app", "image": "registry.example/flasksample:1.0-20230707"}]}},
 {"kind": "Pod", "metadata": {"name": "web-2", "namespace": "prod"},
  "spec": {"containers": [{"name": "app", "image": "registry.example/flasksample:1.0"}]}}]}"#;
        let images = audit::images(input).unwrap();
        let looked: HashMap<String, Looked> = images
            .iter()
            .map(|i| {
                let state = if i.reference.ends_with("0707") {
                    State::EndOfLife
                } else {
                    State::Supported
                };
                let eol = (state == State::EndOfLife).then_some("2023-07-10T08:00:00Z");
                let mut s = scenario_status(&i.reference, state, eol);
                s.reference = i.reference.clone();
                (i.reference.clone(), Ok(s))
            })
            .collect();
        FleetView {
            input: input.to_string(),
            rows: Some(audit::rows(images, &looked)),
            error: None,
        }
    }

    #[test]
    fn the_scenario_fleet() {
        let html = render(&scenario());
        assert!(html.contains("<tr class=\"st-end-of-life\">"), "{html}");
        assert!(html.contains("2 distinct images in 2 uses: 1 end-of-life, 1 supported"));
        insta::assert_snapshot!("fleet", html);
    }

    #[test]
    fn a_hostile_input_stays_in_the_textarea() {
        let html = render(&FleetView {
            input: "</textarea><script>alert(1)</script>".into(),
            rows: None,
            error: Some("<b>bad</b>".into()),
        });
        assert!(
            !html.contains("<script>alert") && !html.contains("<b>bad"),
            "{html}"
        );
    }
}
