//! The web dashboard (`/ui`, issue 20): in headless Chromium, driven by
//! `scripts/ui-browser.mjs` (playwright-core with Debian's chromium; scripts/test.sh installs
//! both, and axe-core), over `lineage serve` holding the flasksample scenario; and over HTTP
//! with curl: `lineage webhook`'s dashboard, and `lineage serve --htpasswd`'s auth.
//!
//! Why a Node script rather than a Rust WebDriver client: playwright-core drives the system
//! Chromium over its own protocol with no driver binary to match to the browser's version
//! (Debian ships no chromedriver in the chromium package), and axe-core, the accessibility
//! check the issue asks for, is a browser script that Playwright injects in one call.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::scenario::scenario;
use crate::support::serve::Serve;
use crate::support::{Scratch, in_ci, lineage_ok, require_tools, tool};

/// The node_modules with playwright-core and axe-core, or a skip (a failure under CI).
fn node_modules(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("LINEAGE_TEST_NODE_MODULES").map(PathBuf::from);
    match dir {
        Some(d) if d.join("playwright-core").is_dir() && d.join("axe-core").is_dir() => Some(d),
        _ => {
            let note = format!(
                "{test}: LINEAGE_TEST_NODE_MODULES does not name a node_modules with playwright-core and axe-core (scripts/test.sh installs them)"
            );
            assert!(
                !in_ci(),
                "{note}; CI is set, so this is a failure rather than a skip"
            );
            eprintln!("SKIPPED {note}");
            None
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ui-browser.mjs")
}

/// A `kubectl get pods -A -o json` document running `images`, one pod each.
fn pods(images: &[&str]) -> String {
    let items: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("web-{i}"), "namespace": "prod"},
                "spec": {"containers": [{"name": "app", "image": image}]},
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "apiVersion": "v1", "kind": "List", "items": items,
    }))
    .unwrap()
}

/// The flasksample scenario in `lineage serve`, walked in Chromium: the timeline shows
/// revision 1 end-of-life since 2023-07-10 with a link to revision 2; the link leads to
/// revision 2's page, whose referrer tree opens with the keyboard and lists its SBOM; an
/// uploaded pods document gives the audit with its end-of-life row, and a markdown download;
/// no console error, no serious or critical axe-core violation, light or dark.
#[test]
fn the_dashboard_in_chromium() {
    let test = "the_dashboard_in_chromium";
    if !require_tools(test, &["node", "chromium", "curl"]) {
        return;
    }
    let Some(modules) = node_modules(test) else {
        return;
    };
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = server.reference("flasksample", "");
    let sc = scenario(&s, &repo);
    let sbom = s.join("sbom.spdx.json");
    std::fs::write(
        &sbom,
        r#"{"spdxVersion": "SPDX-2.3", "name": "flasksample"}"#,
    )
    .unwrap();
    lineage_ok(
        s.path(),
        &[
            "attach",
            &sc.successor,
            "--artifact-type",
            "application/spdx+json",
            &format!("{}:application/spdx+json", sbom.display()),
        ],
    );
    let pods_file = s.join("pods.json");
    std::fs::write(&pods_file, pods(&[&sc.eol, &sc.current, &sc.current])).unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    eprintln!("{test}: screenshots in {}", shots.display());

    let out = crate::support::run(
        Command::new("node")
            .arg(script())
            .arg("check")
            .arg(format!("http://{}", server.host))
            .arg(&repo)
            .arg(&pods_file)
            .arg(&shots)
            .env("LINEAGE_TEST_NODE_MODULES", &modules),
    );
    let r: Value = serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));

    let eol = r["timeline"]["eolText"].as_str().unwrap();
    assert!(
        eol.contains("end-of-life") && eol.contains("2023-07-10"),
        "revision 1 on the timeline: {eol}"
    );
    assert_eq!(r["timeline"]["successorText"], "revision 20230710", "{r:#}");
    assert!(
        r["image"]["title"]
            .as_str()
            .unwrap()
            .ends_with(":1.0-20230710"),
        "the successor link leads to revision 2: {r:#}"
    );
    let status_text = r["image"]["statusText"].as_str().unwrap();
    assert!(
        status_text.starts_with("REFERENCE") && status_text.contains("supported"),
        "{status_text}"
    );
    assert_eq!(r["image"]["treeOpen"], true, "{r:#}");
    let types: Vec<&str> = r["image"]["treeTypes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(types.contains(&"application/spdx+json"), "{types:?}");
    assert!(
        r["image"]["treeMediaTypes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m
                .as_str()
                .unwrap()
                .starts_with("application/vnd.oci.image.manifest")),
        "{r:#}"
    );
    let commands = r["image"]["commands"].as_array().unwrap();
    assert_eq!(
        commands[0].as_str().unwrap(),
        format!("lineage status {}", sc.successor)
    );

    let rows = r["fleet"]["eolRows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{r:#}");
    let row = rows[0].as_str().unwrap();
    assert!(
        row.contains(&sc.eol) && row.contains("end-of-life") && row.contains("prod/Pod/web-0"),
        "the end-of-life row: {row}"
    );
    assert_eq!(r["fleet"]["rows"], 2, "two distinct images: {r:#}");
    assert_eq!(r["fleet"]["markdownName"], "lineage-audit.md");
    assert!(
        r["fleet"]["markdown"]
            .as_str()
            .unwrap()
            .starts_with("| Image | State |"),
        "{r:#}"
    );

    assert_eq!(r["consoleErrors"], Value::Array(vec![]), "{r:#}");
    assert_eq!(r["violations"], Value::Array(vec![]), "{r:#}");
    for shot in r["screenshots"].as_array().unwrap() {
        let path = Path::new(shot.as_str().unwrap());
        assert!(
            std::fs::metadata(path).unwrap().len() > 1000,
            "{}",
            path.display()
        );
    }
}

/// `curl` the URL; the status code and the body.
fn get(url: &str, extra: &[&str]) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url);
    let out = String::from_utf8(crate::support::run(&mut cmd)).unwrap();
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

/// `lineage webhook` serves the dashboard for the registries it may look up: the image page
/// of the end-of-life revision in `lineage serve`, its status JSON as `lineage status`
/// prints it, and a refusal for a registry outside `--lookup-registry`.
#[test]
fn the_webhook_serves_the_dashboard_within_its_scope() {
    if !require_tools(
        "the_webhook_serves_the_dashboard_within_its_scope",
        &["curl"],
    ) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let webhook = Serve::start_command(
        "webhook",
        &[
            "--addr",
            "127.0.0.1:0",
            "--lookup-registry",
            &server.host,
            "--plain-http-host",
            &server.host,
        ],
    );
    let base = format!("http://{}", webhook.host);
    let q = |r: &str| {
        r.replace('/', "%2F")
            .replace(':', "%3A")
            .replace('@', "%40")
    };

    let (code, html) = get(&format!("{base}/ui/image?ref={}", q(&sc.eol)), &[]);
    assert_eq!(code, 200, "{html}");
    assert!(
        html.contains("end-of-life since 2023-07-10T08:00:00Z"),
        "{html}"
    );
    assert!(
        html.contains("Referrer tree: 1 referrer"),
        "the record: {html}"
    );

    let (code, json) = get(&format!("{base}/ui/status.json?ref={}", q(&sc.eol)), &[]);
    assert_eq!(code, 200, "{json}");
    let ui: Value = serde_json::from_str(&json).unwrap();
    let cli: Value = serde_json::from_str(
        &lineage_ok(s.path(), &["status", &sc.eol, "--output", "json"]).stdout_text(),
    )
    .unwrap();
    assert_eq!(ui, cli, "the same status as `lineage status --output json`");

    let (code, html) = get(
        &format!(
            "{base}/ui/lineage?repo={}&version=1.0",
            q(&server.reference("flasksample", ""))
        ),
        &[],
    );
    assert_eq!(code, 200, "{html}");
    assert_eq!(html.matches("<li class=\"rev ").count(), 2, "{html}");

    let (code, html) = get(
        &format!("{base}/ui/image?ref=elsewhere.example%2Fapp%3A1"),
        &[],
    );
    assert_eq!(code, 403, "{html}");
    assert!(
        html.contains("registry elsewhere.example is not allowed"),
        "{html}"
    );
}

/// With `--htpasswd`, `lineage serve`'s dashboard wants the registry's credentials.
#[test]
fn serve_with_htpasswd_guards_the_dashboard() {
    if !require_tools(
        "serve_with_htpasswd_guards_the_dashboard",
        &["curl", "htpasswd"],
    ) {
        return;
    }
    let s = Scratch::new();
    let htpasswd = s.join("htpasswd");
    tool(
        "htpasswd",
        ["-Bbc", htpasswd.to_str().unwrap(), "alice", "s3cret"],
    );
    let server = Serve::start(&s.join("root"), &["--htpasswd", htpasswd.to_str().unwrap()]);
    let base = format!("http://{}", server.host);
    for path in ["/ui", "/ui/fleet", "/ui/assets/style.css"] {
        let (code, _) = get(&format!("{base}{path}"), &[]);
        assert_eq!(code, 401, "{path} without credentials");
        let (code, body) = get(&format!("{base}{path}"), &["-u", "alice:s3cret"]);
        assert_eq!(code, 200, "{path}: {body}");
    }
}

/// Search on `lineage serve`: a digest alone finds its image in the server's repositories, a
/// reference without its registry opens the image page, part of a name lists the
/// repository, and a repository name opens the repository page.
#[test]
fn search_by_digest_reference_and_name() {
    if !require_tools("search_by_digest_reference_and_name", &["curl"]) {
        return;
    }
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = server.reference("flasksample", "");
    let sc = scenario(&s, &repo);
    let base = format!("http://{}/ui/search?q=", server.host);

    let (code, html) = get(&format!("{base}{}", sc.eol_digest.replace(':', "%3A")), &[]);
    assert_eq!(code, 200, "{html}");
    let link = format!(
        "/ui/image?ref={}",
        sc.eol_by_digest
            .replace(':', "%3A")
            .replace('/', "%2F")
            .replace('@', "%40")
    );
    assert!(html.contains(&link), "{link} in {html}");

    let (code, _) = get(&format!("{base}flasksample%3A1.0-20230707"), &[]);
    assert_eq!(code, 303, "a reference opens its image page");
    let (code, headers) = get(&format!("{base}flasksample%3A1.0-20230707"), &["-I"]);
    assert_eq!(code, 303);
    assert!(
        headers.contains(&format!(
            "location: /ui/image?ref={}",
            sc.eol.replace(':', "%3A").replace('/', "%2F")
        )),
        "{headers}"
    );

    let (code, html) = get(&format!("{base}flask"), &[]);
    assert_eq!(code, 200, "{html}");
    assert!(html.contains(&format!(">{repo}</a>")), "{html}");

    let (code, html) = get(&format!("{base}nothing-here"), &[]);
    assert_eq!(code, 200);
    assert!(
        html.contains("Nothing here matches nothing-here."),
        "{html}"
    );
}
