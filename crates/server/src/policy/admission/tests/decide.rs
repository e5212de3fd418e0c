//! Deciding: each state in each mode, exemptions, the grace period, failures, UPDATE.

use super::*;

#[test]
fn enforce_denies_end_of_life_naming_image_date_and_successor() {
    let r = review("pod-create");
    let (json, outcome) = run(&r, &enforce(), flask_eol);
    assert_eq!(
        json,
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {
                "uid": "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1",
                "allowed": false,
                "status": {"status": "Failure", "code": 403, "reason": "Forbidden", "message": denial()}
            }
        })
    );
    assert!(!outcome.allowed);
    assert_eq!(outcome.uid, "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1");
    assert_eq!(outcome.namespace.as_deref(), Some("shop"));
    assert_eq!(outcome.kind, "Pod");
    let verdicts: Vec<Verdict> = outcome.images.iter().map(|d| d.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::Deny, Verdict::Pass, Verdict::Pass, Verdict::Pass]
    );
    assert_eq!(outcome.images[0].state, Some(State::EndOfLife));
    assert_eq!(outcome.images[0].lookup_key.as_deref(), Some(FLASK));
}

#[test]
fn enforce_warns_on_scheduled_and_superseded_and_names_every_denied_image() {
    let r = review("pod-create");
    let (json, outcome) = run(&r, &enforce(), |key| match key {
        "docker.io/library/nginx:1.25" => Some(Ok(status(
            key,
            State::Scheduled,
            Some("2025-04-30T00:00:00Z"),
        ))),
        "registry.example/models:2024" => Some(Ok(status(key, State::Superseded, None))),
        _ => flask_eol(key),
    });
    assert_eq!(json["response"]["allowed"], false);
    assert_eq!(
        json["response"]["warnings"],
        json!([
            format!(
                "container \"proxy\": nginx:1.25 reaches end-of-life 2025-04-30 in 424 days; use {SUCCESSOR}"
            ),
            format!(
                "image volume \"models\": registry.example/models:2024 is superseded; use {SUCCESSOR}"
            ),
        ])
    );
    for w in json["response"]["warnings"].as_array().unwrap() {
        assert!(w.as_str().unwrap().chars().count() < 120, "{w}");
    }
    assert!(outcome.images.iter().all(|d| d.verdict != Verdict::Exempt));

    // Two denied images: one line each.
    let deployment = review("deployment-create");
    let (json, _) = run(&deployment, &enforce(), |key| {
        Some(Ok(status(key, State::EndOfLife, Some(EOL))))
    });
    let message = json["response"]["status"]["message"].as_str().unwrap();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with(&format!("image \"{FLASK}\" (container \"web\")")));
    assert!(lines[1].starts_with(
        "image \"busybox\" (init container \"wait-db\") is end-of-life since 2023-07-10T08:00:00Z"
    ));
}

#[test]
fn denial_without_reason_or_successor_reference() {
    let r = review("job-create");
    let key = "registry.example/migrate:1.0";
    let mut s = status(key, State::EndOfLife, Some(EOL));
    s.reason = None;
    s.successor = Some(Successor {
        reference: None,
        digest: Some(Digest::sha256(b"successor")),
        revision: None,
    });
    let (json, _) = run(&r, &enforce(), |_| Some(Ok(s.clone())));
    assert_eq!(
        json["response"]["status"]["message"],
        format!(
            "image \"{key}\" (container \"migrate\") is end-of-life since {EOL}; use {}",
            Digest::sha256(b"successor")
        )
    );
    s.successor = None;
    let (json, _) = run(&r, &enforce(), |_| Some(Ok(s.clone())));
    assert_eq!(
        json["response"]["status"]["message"],
        format!("image \"{key}\" (container \"migrate\") is end-of-life since {EOL}")
    );
}

#[test]
fn warn_mode_admits_with_a_warning_per_image() {
    let settings = AdmissionSettings {
        mode: Mode::Warn,
        ..enforce()
    };
    let r = review("pod-create");
    let (json, outcome) = run(&r, &settings, |key| match key {
        "docker.io/library/nginx:1.25" => Some(Ok(status(
            key,
            State::Scheduled,
            Some("2025-04-30T00:00:00Z"),
        ))),
        _ => flask_eol(key),
    });
    assert_eq!(
        json["response"],
        json!({
            "uid": "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1",
            "allowed": true,
            "warnings": [
                format!("container \"web\": {FLASK} is end-of-life since 2023-07-10; use {SUCCESSOR}"),
                format!("container \"proxy\": nginx:1.25 reaches end-of-life 2025-04-30 in 424 days; use {SUCCESSOR}"),
            ]
        })
    );
    assert!(outcome.allowed);
    assert_eq!(outcome.mode, Mode::Warn);
    assert_eq!(
        outcome.images[0].verdict,
        Verdict::Deny,
        "what enforce would do"
    );
}

#[test]
fn audit_mode_admits_silently_and_reports_in_the_outcome() {
    let settings = AdmissionSettings {
        mode: Mode::Audit,
        fail_open: false,
        ..enforce()
    };
    let r = review("pod-create");
    let (json, outcome) = run(&r, &settings, |key| match key {
        "registry.example/models:2024" => Some(Err(timed_out(key))),
        _ => flask_eol(key),
    });
    assert_eq!(
        json["response"],
        json!({"uid": "0df28fbd-5f5f-4c3a-9c1e-6d1ad1f2a1a1", "allowed": true})
    );
    assert!(outcome.allowed);
    assert_eq!(outcome.images[0].verdict, Verdict::Deny);
    assert_eq!(
        outcome.images[0].message.as_deref(),
        Some(denial().as_str())
    );
    assert_eq!(outcome.images[3].verdict, Verdict::Deny);
    // The outcome serialises for structured logs.
    let log = serde_json::to_value(&outcome).unwrap();
    assert_eq!(log["images"][0]["path"], "spec.containers[0].image");
    assert_eq!(log["images"][0]["verdict"], "deny");
    assert_eq!(log["images"][0]["state"], "end-of-life");
    assert_eq!(log["mode"], "audit");
    assert_eq!(log["operation"], "CREATE");
}

#[test]
fn exempt_namespaces_are_admitted_without_lookup() {
    let system = edited("pod-create", |v| {
        v["request"]["namespace"] = json!("kube-system")
    });
    let settings = enforce();
    assert!(is_exempt_namespace(&system, &settings));
    assert!(!is_exempt_namespace(&review("pod-create"), &settings));
    let uses = images(&system).unwrap();
    assert!(lookup_keys(&system, &uses, &settings).is_empty());
    let (response, outcome) = decide(&system, &uses, &HashMap::new(), &settings, now());
    assert!(response.response.allowed && response.response.warnings.is_empty());
    assert!(outcome.exempt_namespace);
    assert!(outcome.images.iter().all(|d| d.verdict == Verdict::Exempt));

    let settings = AdmissionSettings {
        exempt_namespaces: vec!["team-*".into()],
        ..enforce()
    };
    let team = edited("pod-create", |v| {
        v["request"]["namespace"] = json!("team-a")
    });
    assert!(is_exempt_namespace(&team, &settings));
    assert!(!is_exempt_namespace(&system, &settings));
    // Cluster-scoped: never exempt.
    let cluster = edited("pod-create", |v| {
        v["request"].as_object_mut().unwrap().remove("namespace");
    });
    let everything = AdmissionSettings {
        exempt_namespaces: vec!["*".into()],
        ..enforce()
    };
    assert!(!is_exempt_namespace(&cluster, &everything));
}

#[test]
fn exempt_images_match_as_written_or_normalised() {
    let r = review("pod-create");
    let uses = images(&r).unwrap();
    let settings = AdmissionSettings {
        exempt_images: vec![
            "registry.example/flask*".into(),
            "docker.io/library/*".into(),
        ],
        ..enforce()
    };
    let needed: Vec<bool> = uses.iter().map(|u| needs_lookup(u, &settings)).collect();
    assert_eq!(needed, [false, false, true, true]);
    assert_eq!(
        lookup_keys(&r, &uses, &settings),
        [
            "registry.example/migrate@sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
            "registry.example/models:2024"
        ]
    );
    // The end-of-life image is exempt: admitted even with its status at hand.
    let (json, outcome) = run(&r, &settings, flask_eol);
    assert_eq!(json["response"]["allowed"], true);
    assert_eq!(outcome.images[0].verdict, Verdict::Exempt);
    assert_eq!(outcome.images[0].lookup_key, None);

    let as_written = AdmissionSettings {
        exempt_images: vec!["nginx:*".into()],
        ..enforce()
    };
    assert!(!needs_lookup(&uses[1], &as_written));
    assert!(needs_lookup(&uses[0], &as_written));
}

#[test]
fn grace_period_turns_a_fresh_end_of_life_into_a_warning() {
    let settings = AdmissionSettings {
        grace_period: Duration::from_secs(7 * 24 * 3600),
        ..enforce()
    };
    let r = review("replicaset-create");
    let eol_at =
        |eol: &'static str| move |key: &str| Some(Ok(status(key, State::EndOfLife, Some(eol))));
    // Two days ago: warned, with the day it will be denied.
    let (json, outcome) = run(&r, &settings, eol_at("2024-02-28T09:00:00Z"));
    assert_eq!(json["response"]["allowed"], true);
    assert_eq!(
        json["response"]["warnings"],
        json!([format!(
            "container \"web\": {FLASK} is end-of-life since 2024-02-28 (denied from 2024-03-06); use {SUCCESSOR}"
        )])
    );
    assert_eq!(outcome.images[0].verdict, Verdict::Warn);
    // Exactly the grace period ago: denied.
    let (json, _) = run(&r, &settings, eol_at("2024-02-23T09:00:00Z"));
    assert_eq!(json["response"]["allowed"], false);
    // Without grace: denied at once.
    let (json, _) = run(&r, &enforce(), eol_at("2024-03-01T09:00:00Z"));
    assert_eq!(json["response"]["allowed"], false);
    // An absurd grace period never denies, and does not overflow.
    let forever = AdmissionSettings {
        grace_period: Duration::MAX,
        ..enforce()
    };
    let (json, _) = run(&r, &forever, eol_at("2024-02-28T09:00:00Z"));
    assert_eq!(json["response"]["allowed"], true);
}

/// Issue 18: a namespace's own grace period, first matching pattern first; other
/// namespaces keep the webhook's.
#[test]
fn grace_periods_per_namespace() {
    let settings = AdmissionSettings {
        grace_period: Duration::ZERO,
        namespace_grace_periods: vec![
            ("team-a".into(), Duration::from_secs(7 * 24 * 3600)),
            ("team-*".into(), Duration::from_secs(3600)),
        ],
        ..enforce()
    };
    let eol = |key: &str| {
        Some(Ok(status(
            key,
            State::EndOfLife,
            Some("2024-02-28T09:00:00Z"),
        )))
    };
    let in_ns = |ns: &str| {
        let ns = ns.to_string();
        edited("pod-create", move |v| v["request"]["namespace"] = json!(ns))
    };
    let (json, _) = run(&in_ns("team-a"), &settings, eol);
    assert_eq!(json["response"]["allowed"], true, "{json}");
    let (json, _) = run(&in_ns("team-b"), &settings, eol);
    assert_eq!(
        json["response"]["allowed"], false,
        "an hour's grace is over"
    );
    let (json, _) = run(&in_ns("default"), &settings, eol);
    assert_eq!(json["response"]["allowed"], false);
    assert_eq!(
        settings.policy_for(None).grace_period,
        Duration::ZERO,
        "cluster-scoped objects get the webhook's grace period"
    );
}

/// Issue 18: an image past end-of-support is admitted with a warning naming both dates and
/// the days left; a scheduled one says how many days are left.
#[test]
fn end_of_support_is_warned_and_scheduled_says_the_days_left() {
    use lineage_test_support::status::StatusBuilder;
    let r = review("pod-create");
    let (json, outcome) = run(&r, &enforce(), |key| {
        Some(Ok(StatusBuilder::new(key, State::EndOfSupport)
            .end_of_support("2024-02-01T00:00:00Z")
            .end_of_life(
                "2024-03-11T09:00:00Z",
                lineage_lifecycle::Reason::Superseded,
            )
            .build()))
    });
    assert_eq!(json["response"]["allowed"], true, "{json}");
    assert_eq!(outcome.images[0].state, Some(State::EndOfSupport));
    assert_eq!(outcome.images[0].verdict, Verdict::Warn);
    let warning = json["response"]["warnings"][0].as_str().unwrap();
    assert!(
        warning
            .contains("is past end-of-support since 2024-02-01; end-of-life 2024-03-11 in 10 days"),
        "{warning}"
    );
    let (json, outcome) = run(&r, &enforce(), |key| {
        Some(Ok(status(
            key,
            State::Scheduled,
            Some("2024-03-04T09:00:00Z"),
        )))
    });
    assert_eq!(outcome.images[0].state, Some(State::Scheduled));
    let warning = json["response"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("reaches end-of-life 2024-03-04 in 3 days"),
        "{warning}"
    );
}

#[test]
fn a_cached_scheduled_status_past_its_end_of_life_is_end_of_life() {
    let r = review("replicaset-create");
    let (json, outcome) = run(&r, &enforce(), |key| {
        Some(Ok(status(
            key,
            State::Scheduled,
            Some("2024-03-01T08:59:59Z"),
        )))
    });
    assert_eq!(json["response"]["allowed"], false);
    assert_eq!(outcome.images[0].state, Some(State::EndOfLife));
    // And the other way round: a status computed with a later `at`.
    let (json, outcome) = run(&r, &enforce(), |key| {
        Some(Ok(status(
            key,
            State::EndOfLife,
            Some("2024-03-02T00:00:00Z"),
        )))
    });
    assert_eq!(json["response"]["allowed"], true);
    assert_eq!(outcome.images[0].state, Some(State::Scheduled));
}

#[test]
fn lookup_failures_fail_open_or_closed() {
    let r = edited("job-create", |v| {
        let spec = &mut v["request"]["object"]["spec"]["template"]["spec"];
        spec["containers"].as_array_mut().unwrap().extend([
            json!({"name": "bad", "image": "Registry.Example/App:1"}),
            json!({"name": "unlooked", "image": "registry.example/other:1"}),
        ]);
    });
    let uses = images(&r).unwrap();
    assert_eq!(
        lookup_keys(&r, &uses, &enforce()),
        ["registry.example/migrate:1.0", "registry.example/other:1"],
        "an unparsable image is not looked up"
    );
    let mut results = HashMap::new();
    results.insert(
        "registry.example/migrate:1.0".to_string(),
        Err(timed_out("registry.example/migrate:1.0")),
    );
    // "registry.example/other:1" has no result at all.

    let (open, outcome) = decide(&r, &uses, &results, &enforce(), now());
    assert!(open.response.allowed);
    assert_eq!(
        open.response.warnings,
        [
            "container \"migrate\": registry.example/migrate:1.0 not checked: cannot look up `registry.example/migrate:1.0`: no answer from the registry within 2 s",
            "container \"bad\": Registry.Example/App:1 not checked: invalid reference `Registry.Example/App:1`: repository name `App` must be lowercase",
            "container \"unlooked\": registry.example/other:1 not checked: no lookup result",
        ]
    );
    assert!(outcome.images.iter().all(|d| d.verdict == Verdict::Warn));

    let closed = AdmissionSettings {
        fail_open: false,
        ..enforce()
    };
    let (response, outcome) = decide(&r, &uses, &results, &closed, now());
    assert!(!response.response.allowed);
    assert!(response.response.warnings.is_empty());
    let status = response.response.status.unwrap();
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "image \"registry.example/migrate:1.0\" (container \"migrate\") could not be checked: cannot look up `registry.example/migrate:1.0`: no answer from the registry within 2 s\n\
         image \"Registry.Example/App:1\" (container \"bad\") could not be checked: invalid reference `Registry.Example/App:1`: repository name `App` must be lowercase\n\
         image \"registry.example/other:1\" (container \"unlooked\") could not be checked: no lookup result"
    );
    assert!(outcome.images.iter().all(|d| d.verdict == Verdict::Deny));
}

#[test]
fn dry_run_is_answered_exactly_alike() {
    let dry = review("deployment-update-dry-run");
    assert_eq!(dry.request.dry_run, Some(true));
    let wet = edited("deployment-update-dry-run", |v| {
        v["request"]["dryRun"] = json!(false)
    });
    for settings in [
        enforce(),
        AdmissionSettings {
            mode: Mode::Warn,
            ..enforce()
        },
    ] {
        let (a, outcome) = run(&dry, &settings, flask_eol);
        let (b, _) = run(&wet, &settings, flask_eol);
        assert_eq!(a, b);
        assert!(outcome.dry_run);
        assert_eq!(a["response"]["uid"], "c4a3bd1e-2f0a-4a55-a7c2-33b0d1e8f901");
    }
}

#[test]
fn an_update_is_denied_only_for_images_it_brings_in() {
    // The old object already ran the end-of-life image: scaling it is allowed, with a
    // warning.
    let kept = review("deployment-update-dry-run");
    let (json, outcome) = run(&kept, &enforce(), flask_eol);
    assert_eq!(json["response"]["allowed"], true, "{json}");
    assert!(
        json["response"]["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains(FLASK))
    );
    assert_eq!(outcome.images[0].verdict, Verdict::Warn);
    // The update brings the end-of-life image in: denied.
    let brought = edited("deployment-update-dry-run", |v| {
        v["request"]["oldObject"]["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("registry.example/flasksample:0.9");
    });
    let (json, _) = run(&brought, &enforce(), flask_eol);
    assert_eq!(json["response"]["allowed"], false, "{json}");
    // A CREATE never counts an old object.
    let created = edited("deployment-update-dry-run", |v| {
        v["request"]["operation"] = json!("CREATE");
    });
    let (json, _) = run(&created, &enforce(), flask_eol);
    assert_eq!(json["response"]["allowed"], false, "{json}");
}

#[test]
fn modes_parse_and_print() {
    for m in [Mode::Enforce, Mode::Warn, Mode::Audit] {
        assert_eq!(m.to_string().parse::<Mode>().unwrap(), m);
    }
    assert_eq!(
        "Enforce".parse::<Mode>().unwrap_err().to_string(),
        "unknown admission mode `Enforce` (expected enforce, warn or audit)"
    );
    let d = AdmissionSettings::default();
    assert_eq!(d.mode, Mode::Enforce);
    assert_eq!(d.grace_period, Duration::ZERO);
    assert_eq!(d.exempt_namespaces, ["kube-system"]);
    assert!(d.exempt_images.is_empty());
    assert!(d.fail_open);
}
