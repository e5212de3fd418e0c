//! The report as a SARIF 2.1.0 log (research/consumers.md §2.4): the scanner's
//! vulnerabilities as one run (converted by lineage, said so in `run.conversion`), and a run
//! of lineage's own with one result for the image's lifecycle, the successor in its
//! `properties` and "move to X" in its message, which GitHub code scanning shows.
//!
//! Both runs point at the image as Trivy's own SARIF does: `artifactLocation.uri` is the
//! image's repository path under `uriBaseId` `ROOTPATH`, line 1, and a logical location
//! carries the full reference.

use std::collections::HashMap;

use lineage_lifecycle::State;
use lineage_lifecycle::verdict::words;
use serde_json::{Map, Value, json};

use super::scanner::{Finding, Scanner, Severity, parse_reference};
use super::{Lifecycle, Report};

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";

/// The `$schema` written: the OASIS schema of SARIF 2.1.0 (errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// lineage's version, as its SARIF driver reports it.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// lineage's rules: one per state. `(state, id, name, level)`; the description is
/// [`words::state_description`].
const RULES: [(State, &str, &str, &str); 7] = [
    (
        State::EndOfLife,
        "lineage/end-of-life",
        "ImageEndOfLife",
        "error",
    ),
    (
        State::Scheduled,
        "lineage/scheduled",
        "ImageEndOfLifeScheduled",
        "warning",
    ),
    (
        State::Superseded,
        "lineage/superseded",
        "ImageSuperseded",
        "warning",
    ),
    (
        State::Supported,
        "lineage/supported",
        "ImageSupported",
        "none",
    ),
    (
        State::Unknown,
        "lineage/unknown",
        "ImageLifecycleUnknown",
        "note",
    ),
    (
        State::EndOfSupport,
        "lineage/end-of-support",
        "ImageEndOfSupport",
        "warning",
    ),
    (
        State::BaseEndOfLife,
        "lineage/base-end-of-life",
        "ImageBaseEndOfLife",
        "warning",
    ),
];

/// The SARIF 2.1.0 log of `report` enriched with `lifecycle`: the scanner's run, then
/// lineage's.
pub fn sarif(report: &Report, lifecycle: &Lifecycle) -> Value {
    let name = image_name(report, lifecycle);
    // The same location for every result of both runs.
    let at = location(&name, report.image().reference_is_path);
    json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [scanner_run(report, &at), lineage_run(lifecycle, &name, &at)],
    })
}

fn image_name(report: &Report, lifecycle: &Lifecycle) -> String {
    report
        .image()
        .reference
        .clone()
        .or_else(|| lifecycle.looked_up.clone())
        .unwrap_or_else(|| "image".to_string())
}

fn driver(name: &str, version: Option<&str>, uri: Option<&str>) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if let Some(v) = version {
        d.insert("version".into(), json!(v));
    }
    if let Some(u) = uri {
        d.insert("informationUri".into(), json!(u));
    }
    d
}

/// Where the image is, as Trivy's SARIF says it: the repository path as a relative URI
/// (an image reference with a registry port is not a valid URI reference), the full name as
/// a logical location. A report named by a path (an archive, a directory, a lockfile) is
/// located at that path, relative: no repository is invented for it.
fn location(name: &str, is_path: bool) -> Value {
    let uri = match parse_reference(name).filter(|_| !is_path) {
        _ if is_path => relative_uri(name),
        Some(r) => r.repository().to_string(),
        None if !name.contains(':') && !name.is_empty() => name.to_string(),
        None => "image".to_string(),
    };
    json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri, "uriBaseId": "ROOTPATH"},
            "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
        },
        "logicalLocations": [{"name": name, "fullyQualifiedName": name}],
    })
}

/// `path` as a relative URI reference under `ROOTPATH`: without a leading `./` or `/`, with
/// `/` separators; `.` for the root itself.
fn relative_uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    // A scanner scheme (`dir:`, `docker-archive:`) or a drive letter (`C:`) is not part of
    // the path relative to the root.
    let p = p.split_once(':').map_or(p.as_str(), |(_, rest)| rest);
    let p = p.trim_start_matches("./").trim_start_matches('/');
    match p {
        "" | "." => ".".to_string(),
        p => p.to_string(),
    }
}

/// The index of the `unknown` rule in [`RULES`].
const UNKNOWN_RULE: usize = 4;

fn lineage_run(l: &Lifecycle, name: &str, at: &Value) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(state, id, rule, level)| {
            let text = words::state_description(*state);
            json!({
                "id": id,
                "name": rule,
                "shortDescription": {"text": text},
                "help": {"text": text, "markdown": text},
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["lifecycle", "container-image"]},
            })
        })
        .collect();
    let (index, (_, id, _, level)) = RULES
        .iter()
        .enumerate()
        .find(|(_, r)| r.0 == l.state)
        .unwrap_or((UNKNOWN_RULE, &RULES[UNKNOWN_RULE]));

    let mut result = Map::new();
    result.insert("ruleId".into(), json!(id));
    result.insert("ruleIndex".into(), json!(index));
    if l.state == State::Supported {
        // SARIF §3.27.9: a result of another kind than `fail` has level `none`.
        result.insert("kind".into(), json!("pass"));
    }
    result.insert("level".into(), json!(level));
    result.insert("message".into(), json!({"text": message(l, name)}));
    result.insert("locations".into(), json!([at]));
    if let Some(key) = l
        .digest
        .as_ref()
        .map(|d| d.to_string())
        .or_else(|| l.looked_up.clone())
    {
        result.insert(
            "partialFingerprints".into(),
            json!({"imageLifecycle/v1": key}),
        );
    }
    result.insert(
        "properties".into(),
        serde_json::to_value(l).unwrap_or_else(|_| json!({})),
    );

    let mut invocation = json!({"executionSuccessful": true});
    if let Some(e) = &l.error {
        invocation["toolExecutionNotifications"] =
            json!([{"level": "warning", "message": {"text": e}}]);
    }
    let mut d = driver("lineage", Some(VERSION), None);
    d.insert("rules".into(), Value::Array(rules));
    json!({
        "tool": {"driver": d},
        "invocations": [invocation],
        "results": [result],
    })
}

/// The result's message: the image, its state and why, and the move to make (the words of
/// [`lineage_lifecycle::verdict::words`]).
fn message(l: &Lifecycle, name: &str) -> String {
    let mut text = l.facts().sentence(name, l.digest.as_ref());
    match (l.move_to(), &l.successor) {
        (Some(to), s) => {
            text.push(' ');
            text.push_str(&words::move_sentence(
                &to,
                s.as_ref().and_then(|s| s.digest.as_ref()),
            ));
        }
        (None, None)
            if matches!(
                l.state,
                State::EndOfLife | State::Scheduled | State::EndOfSupport
            ) =>
        {
            text.push(' ');
            text.push_str(words::NO_SUCCESSOR);
        }
        _ => {}
    }
    text
}

/// GitHub code scanning's `security-severity` for a severity without a score, as Trivy's
/// SARIF writes it.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Negligible | Severity::Unknown => "0.0",
    }
}

/// The SARIF level of a severity, as Trivy's SARIF maps it.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Negligible | Severity::Unknown => "note",
    }
}

fn scanner_run(report: &Report, at: &Value) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut results = Vec::new();
    for f in report.findings() {
        let index = *index_of.entry(&f.id).or_insert_with(|| {
            rules.push(rule(f));
            rules.len() - 1
        });
        results.push(json!({
            "ruleId": f.id,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": {"text": finding_text(f)},
            "locations": [at],
        }));
    }
    let uri = match report.scanner() {
        Scanner::Trivy => "https://github.com/aquasecurity/trivy",
        Scanner::Grype => "https://github.com/anchore/grype",
    };
    let mut d = driver(
        &report.scanner().to_string(),
        report.tool_version(),
        Some(uri),
    );
    d.insert("rules".into(), Value::Array(rules));
    json!({
        "tool": {"driver": d},
        "conversion": {"tool": {"driver": driver("lineage", Some(VERSION), None)}},
        "results": results,
    })
}

fn rule(f: &Finding) -> Value {
    let title = f.title.clone().unwrap_or_else(|| f.id.clone());
    let mut r = json!({
        "id": f.id,
        "shortDescription": {"text": title},
        "help": {
            "text": format!("Vulnerability {}\nSeverity: {}", f.id, f.severity.as_str()),
            "markdown": format!("**Vulnerability {}**\n\nSeverity: {}", f.id, f.severity.as_str()),
        },
        "defaultConfiguration": {"level": level(f.severity)},
        "properties": {
            "tags": ["vulnerability", "security", f.severity.as_str().to_uppercase()],
            "security-severity": security_severity(f.severity),
        },
    });
    if let Some(u) = &f.url {
        r["helpUri"] = json!(u);
    }
    r
}

fn finding_text(f: &Finding) -> String {
    let none = "-".to_string();
    let mut t = format!(
        "Package: {}\nInstalled Version: {}\nVulnerability: {}\nSeverity: {}\nFixed Version: {}",
        f.package.as_ref().unwrap_or(&none),
        f.installed_version.as_ref().unwrap_or(&none),
        f.id,
        f.severity.as_str().to_uppercase(),
        f.fixed_version.as_ref().unwrap_or(&none),
    );
    if let Some(u) = &f.url {
        t.push_str(&format!("\nLink: {u}"));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::eol_report as report;
    use chrono::{DateTime, Utc};
    use lineage_lifecycle::{Reason, Source};
    use lineage_oci::Digest;

    fn at() -> DateTime<Utc> {
        lineage_oci::time::parse_lenient("2024-01-01T00:00:00Z").unwrap()
    }

    fn end_of_life() -> Lifecycle {
        let r = report();
        let mut l = Lifecycle::decide(r.image(), &Default::default(), at());
        l.state = State::EndOfLife;
        l.error = None;
        l.digest = Some(Digest::sha256(b"old"));
        l.end_of_life = Some(at());
        l.reason = Some(Reason::Superseded);
        l.source = Source::Referrer;
        l.successor = Some(crate::report::SuccessorRef {
            reference: Some("127.0.0.1:5000/flasksample:1.0-20230710".into()),
            digest: Some(Digest::sha256(b"new")),
        });
        l
    }

    #[test]
    fn lineage_run_names_the_successor() {
        let log = sarif(&report(), &end_of_life());
        assert_eq!(log["version"], "2.1.0");
        let runs = log["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        let ours = &runs[1];
        assert_eq!(ours["tool"]["driver"]["name"], "lineage");
        let result = &ours["results"][0];
        assert_eq!(result["ruleId"], "lineage/end-of-life");
        assert_eq!(result["level"], "error");
        assert_eq!(
            ours["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "lineage/end-of-life"
        );
        assert_eq!(
            result["properties"]["successor"]["reference"],
            "127.0.0.1:5000/flasksample:1.0-20230710"
        );
        assert_eq!(
            result["message"]["text"],
            format!(
                "127.0.0.1:5000/flasksample:1.0-20230707 ({}) is end-of-life since 2024-01-01T00:00:00Z (reason: superseded). Move to 127.0.0.1:5000/flasksample:1.0-20230710 ({}).",
                Digest::sha256(b"old"),
                Digest::sha256(b"new")
            )
        );
        let loc = &result["locations"][0];
        assert_eq!(
            loc["physicalLocation"]["artifactLocation"]["uri"],
            "flasksample"
        );
        assert_eq!(
            loc["logicalLocations"][0]["fullyQualifiedName"],
            "127.0.0.1:5000/flasksample:1.0-20230707"
        );
    }

    #[test]
    fn scanner_run_is_a_conversion_with_one_rule_per_vulnerability() {
        let log = sarif(&report(), &end_of_life());
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "Trivy");
        assert_eq!(run["tool"]["driver"]["version"], "0.58.1");
        assert_eq!(run["conversion"]["tool"]["driver"]["name"], "lineage");
        assert_eq!(run["results"][0]["ruleId"], "CVE-2023-4911");
        assert_eq!(run["results"][0]["level"], "error");
        assert_eq!(
            run["tool"]["driver"]["rules"][0]["properties"]["security-severity"],
            "8.0"
        );
    }

    #[test]
    fn levels_follow_the_state_and_nothing_is_null() {
        let r = report();
        for (state, level, rule) in [
            (State::Scheduled, "warning", "lineage/scheduled"),
            (State::Superseded, "warning", "lineage/superseded"),
            (State::Supported, "none", "lineage/supported"),
            (State::Unknown, "note", "lineage/unknown"),
        ] {
            let mut l = end_of_life();
            l.state = state;
            let log = sarif(&r, &l);
            let result = &log["runs"][1]["results"][0];
            assert_eq!(result["level"], level);
            assert_eq!(result["ruleId"], rule);
            assert_eq!(result["kind"] == "pass", state == State::Supported);
        }
        // An unknown image with an error: the error is in the message and a notification;
        // no SARIF field is null (the schema types them as strings or objects).
        let l = Lifecycle::decide(
            r.image(),
            &[(
                r.image().candidates[0].reference.clone(),
                Err(crate::tests::timed_out("127.0.0.1:5000/flasksample")),
            )]
            .into(),
            at(),
        );
        let log = sarif(&r, &l);
        let ours = &log["runs"][1];
        assert!(
            ours["results"][0]["message"]["text"]
                .as_str()
                .unwrap()
                .ends_with(": no answer from the registry within 2 s.")
        );
        assert_eq!(
            ours["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
            "cannot look up `127.0.0.1:5000/flasksample`: no answer from the registry within 2 s"
        );
        fn no_null_outside_properties(v: &Value, path: &str) {
            match v {
                Value::Null => panic!("null at {path}"),
                Value::Array(a) => a.iter().for_each(|x| no_null_outside_properties(x, path)),
                Value::Object(o) => o
                    .iter()
                    .filter(|(k, _)| *k != "properties")
                    .for_each(|(k, x)| no_null_outside_properties(x, &format!("{path}.{k}"))),
                _ => {}
            }
        }
        no_null_outside_properties(&log, "$");
    }

    /// Issue 21: a report named by a path (a lockfile, an archive) is located at that path;
    /// no `library/…` repository is invented for it.
    #[test]
    fn a_path_is_located_as_itself() {
        for (fixture, uri) in [
            (
                &include_bytes!("../../../cli/tests/fixtures/report/trivy-fs-lockfile.json")[..],
                "package-lock.json",
            ),
            (
                &include_bytes!("../../../cli/tests/fixtures/report/grype-directory.json")[..],
                "services/api",
            ),
            (
                &include_bytes!("../../../cli/tests/fixtures/report/trivy-input-archive.json")[..],
                "app.tar",
            ),
        ] {
            let r = Report::parse(fixture.to_vec(), None).unwrap();
            let l = Lifecycle::decide(r.image(), &Default::default(), chrono::Utc::now());
            let log = sarif(&r, &l);
            for run in [0, 1] {
                let at = &log["runs"][run]["results"][0]["locations"][0];
                if at.is_null() {
                    continue;
                }
                assert_eq!(
                    at["physicalLocation"]["artifactLocation"]["uri"], uri,
                    "{log:#}"
                );
            }
            assert!(!log.to_string().contains("library/"), "{log:#}");
        }
    }
}
