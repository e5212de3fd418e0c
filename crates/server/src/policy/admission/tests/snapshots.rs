//! Snapshots of the admission answers people read: the denial message and the warnings of
//! a Pod whose images are in every state, in each mode, and of failures.

use std::fmt::Write as _;

use super::*;

/// The Pod fixture with nginx scheduled, the models volume superseded, the migrate init
/// container supported and the web container as `web` says.
fn every_state(
    web: Result<Status, LookupFailure>,
) -> impl Fn(&str) -> Option<Result<Status, LookupFailure>> {
    move |key: &str| match key {
        FLASK => Some(web.clone()),
        "docker.io/library/nginx:1.25" => Some(Ok(status(
            key,
            State::Scheduled,
            Some("2025-04-30T00:00:00Z"),
        ))),
        "registry.example/models:2024" => Some(Ok(status(key, State::Superseded, None))),
        _ => None,
    }
}

fn answer(json: &Value) -> String {
    let r = &json["response"];
    let mut out = format!("allowed: {}\n", r["allowed"]);
    if let Some(m) = r["status"]["message"].as_str() {
        let _ = writeln!(out, "message ({}):", r["status"]["code"]);
        for line in m.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    for w in r["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "warning: {}", w.as_str().unwrap_or_default());
    }
    out
}

#[test]
fn answers_in_each_mode() {
    let r = review("pod-create");
    let mut out = String::new();
    let cases: [(&str, Result<Status, LookupFailure>); 4] = [
        (
            "web end-of-life",
            Ok(status(FLASK, State::EndOfLife, Some(EOL))),
        ),
        (
            "web end-of-life two days ago, 7 days' grace",
            Ok(status(
                FLASK,
                State::EndOfLife,
                Some("2024-02-28T09:00:00Z"),
            )),
        ),
        ("web supported", Ok(status(FLASK, State::Supported, None))),
        ("web not looked up", Err(timed_out(FLASK))),
    ];
    for (name, web) in cases {
        for mode in [Mode::Enforce, Mode::Warn, Mode::Audit] {
            for fail_open in [true, false] {
                let settings = AdmissionSettings {
                    mode,
                    fail_open,
                    grace_period: if name.contains("grace") {
                        Duration::from_secs(7 * 24 * 3600)
                    } else {
                        Duration::ZERO
                    },
                    ..enforce()
                };
                let (json, _) = run(&r, &settings, every_state(web.clone()));
                let open = if fail_open {
                    "fail open"
                } else {
                    "fail closed"
                };
                let _ = write!(out, "## {name}: {mode}, {open}\n{}\n", answer(&json));
            }
        }
    }
    insta::assert_snapshot!("admission-answers", out);
}

#[test]
fn unreadable_objects() {
    let bad = edited("pod-create", |v| {
        v["request"]["object"]["spec"]["containers"] = json!("nginx")
    });
    let error = images(&bad).unwrap_err().to_string();
    let mut out = String::new();
    for mode in [Mode::Enforce, Mode::Warn, Mode::Audit] {
        for fail_open in [true, false] {
            let settings = AdmissionSettings {
                mode,
                fail_open,
                ..enforce()
            };
            let json = serde_json::to_value(unreadable(&bad, &error, &settings)).unwrap();
            let open = if fail_open {
                "fail open"
            } else {
                "fail closed"
            };
            let _ = write!(out, "## {mode}, {open}\n{}\n", answer(&json));
        }
    }
    insta::assert_snapshot!("admission-unreadable", out);
}
