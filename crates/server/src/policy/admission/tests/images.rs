//! Reading reviews: the images each kind runs, lookup keys, the wire answer.

use super::*;

#[test]
fn pod_images_with_paths() {
    use ImageRole::*;
    assert_eq!(
        found("pod-create"),
        [
            row("spec.containers[0].image", FLASK, "web", Container),
            row("spec.containers[1].image", "nginx:1.25", "proxy", Container),
            row(
                "spec.initContainers[0].image",
                "registry.example/migrate@sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
                "migrate",
                InitContainer
            ),
            row(
                "spec.volumes[1].image.reference",
                "registry.example/models:2024",
                "models",
                ImageVolume
            ),
        ]
    );
}

#[test]
fn workload_images_with_paths() {
    use ImageRole::*;
    let t = "spec.template.spec";
    assert_eq!(
        found("deployment-create"),
        [
            row(&format!("{t}.containers[0].image"), FLASK, "web", Container),
            row(
                &format!("{t}.initContainers[0].image"),
                "busybox",
                "wait-db",
                InitContainer
            ),
        ]
    );
    assert_eq!(
        found("statefulset-create"),
        [
            row(
                &format!("{t}.containers[0].image"),
                "postgres:16",
                "postgres",
                Container
            ),
            row(
                &format!("{t}.containers[1].image"),
                "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
                "exporter",
                Container
            ),
        ]
    );
    assert_eq!(
        found("daemonset-create"),
        [
            row(
                &format!("{t}.containers[0].image"),
                "registry.example/agent:3.1",
                "agent",
                Container
            ),
            row(
                &format!("{t}.initContainers[0].image"),
                "registry.example/agent-setup:3.1",
                "setup",
                InitContainer
            ),
        ]
    );
    assert_eq!(
        found("replicaset-create"),
        [row(
            &format!("{t}.containers[0].image"),
            FLASK,
            "web",
            Container
        )]
    );
    assert_eq!(
        found("job-create"),
        [row(
            &format!("{t}.containers[0].image"),
            "registry.example/migrate:1.0",
            "migrate",
            Container
        )]
    );
    let c = "spec.jobTemplate.spec.template.spec";
    assert_eq!(
        found("cronjob-create"),
        [
            row(
                &format!("{c}.containers[0].image"),
                "registry.example/report:2.1",
                "report",
                Container
            ),
            row(
                &format!("{c}.initContainers[0].image"),
                "curlimages/curl:8.6.0",
                "fetch",
                InitContainer
            ),
        ]
    );
    assert_eq!(
        found("deployment-update-dry-run"),
        found("deployment-create"),
        "UPDATE reads the new object"
    );
}

#[test]
fn replication_controllers_and_pod_templates() {
    let rc = edited("replicaset-create", |v| {
        v["request"]["kind"] =
            json!({"group": "", "version": "v1", "kind": "ReplicationController"});
    });
    assert_eq!(
        images(&rc).unwrap()[0].path,
        "spec.template.spec.containers[0].image"
    );
    let pt = edited("replicaset-create", |v| {
        v["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "PodTemplate"});
        let template = v["request"]["object"]["spec"]["template"].take();
        v["request"]["object"] = json!({"kind": "PodTemplate", "template": template});
    });
    assert_eq!(
        images(&pt).unwrap()[0].path,
        "template.spec.containers[0].image"
    );
}

#[test]
fn ephemeral_containers_subresource_checks_only_ephemeral_containers() {
    assert_eq!(
        found("pod-ephemeralcontainers"),
        [row(
            "spec.ephemeralContainers[0].image",
            "busybox:1.28",
            "debugger-8xkqz",
            ImageRole::EphemeralContainer
        )]
    );
    // The running container is end-of-life, yet debugging the Pod is allowed.
    let r = review("pod-ephemeralcontainers");
    let (json, outcome) = run(&r, &enforce(), flask_eol);
    assert_eq!(json["response"]["allowed"], true);
    assert_eq!(outcome.images.len(), 1);
}

#[test]
fn delete_other_kinds_and_other_subresources_run_no_images() {
    for name in ["pod-delete", "configmap-create"] {
        let r = review(name);
        assert!(images(&r).unwrap().is_empty(), "{name}");
        let (json, outcome) = run(&r, &enforce(), |_| None);
        assert_eq!(
            json,
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                   "response": {"uid": r.request.uid, "allowed": true}})
        );
        assert!(outcome.allowed && outcome.images.is_empty());
    }
    let status = edited("pod-create", |v| {
        v["request"]["subResource"] = json!("status")
    });
    assert!(images(&status).unwrap().is_empty());
    let connect = edited("pod-create", |v| {
        v["request"]["operation"] = json!("CONNECT")
    });
    assert!(images(&connect).unwrap().is_empty());
    // A Deployment in another group is not a Deployment.
    let other = edited("deployment-create", |v| {
        v["request"]["kind"]["group"] = json!("example.com")
    });
    assert!(images(&other).unwrap().is_empty());
}

#[test]
fn refuses_what_is_not_an_admission_review_v1() {
    let e = AdmissionReview::parse(b"{").unwrap_err();
    assert!(matches!(e, AdmissionError::Json(_)));
    let mut v: Value = serde_json::from_str(fixture("pod-create")).unwrap();
    v["apiVersion"] = json!("admission.k8s.io/v2");
    let e = AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unsupported AdmissionReview apiVersion `admission.k8s.io/v2`"),
        "{e}"
    );
    v["apiVersion"] = json!(API_VERSION);
    v["kind"] = json!("Pod");
    let e = AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsupported kind `Pod` (expected `AdmissionReview`)"
    );
    v["kind"] = json!(KIND);
    v.as_object_mut().unwrap().remove("request");
    assert!(matches!(
        AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()),
        Err(AdmissionError::NoRequest)
    ));

    let bad = edited("pod-create", |v| {
        v["request"]["object"]["spec"]["containers"] = json!("nginx")
    });
    assert_eq!(
        images(&bad).unwrap_err().to_string(),
        "the Pod object's `spec` is not a pod spec"
    );
}

/// The object is read only along the pod spec's path: shapes off that path are skipped, a
/// path that stops early runs no images, and a repeated key counts once, the last one (as a
/// JSON object is read everywhere else).
#[test]
fn the_object_is_read_along_the_pod_spec_path_only() {
    let image_of = |body: &str| {
        let r = AdmissionReview::parse(body.as_bytes()).unwrap();
        images(&r).map(|uses| uses.into_iter().map(|u| u.image).collect::<Vec<_>>())
    };
    let deployment = |object: &str| {
        format!(
            r#"{{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {{
                "uid": "u", "operation": "CREATE", "kind": {{"group": "apps", "version": "v1", "kind": "Deployment"}},
                "object": {object}}}}}"#
        )
    };
    let spec = r#"{"template": {"spec": {"containers": [{"name": "a", "image": "nginx:1"}]}}}"#;
    let cases = [
        (format!(r#"{{"spec": {spec}}}"#), Some(vec!["nginx:1"])),
        // Anything off the path, whatever its shape, is skipped.
        (
            format!(r#"{{"metadata": [1, {{"x": null}}], "status": "odd", "spec": {spec}}}"#),
            Some(vec!["nginx:1"]),
        ),
        // Escaped keys are keys.
        (format!(r#"{{"spec": {spec}}}"#), Some(vec!["nginx:1"])),
        // The last of a repeated key.
        (
            format!(r#"{{"spec": {{"template": 5}}, "spec": {spec}}}"#),
            Some(vec!["nginx:1"]),
        ),
        (
            format!(r#"{{"spec": {spec}, "spec": {{"template": 5}}}}"#),
            Some(vec![]),
        ),
        // A path that stops early, or passes through something not an object: no images.
        (r#"{"spec": {"template": "x"}}"#.to_string(), Some(vec![])),
        (r#"{"spec": [1, 2]}"#.to_string(), Some(vec![])),
        (r#"{"kind": "Deployment"}"#.to_string(), Some(vec![])),
        ("[]".to_string(), Some(vec![])),
        ("7".to_string(), Some(vec![])),
        ("null".to_string(), Some(vec![])),
        // The pod spec itself must be one.
        (r#"{"spec": {"template": {"spec": 5}}}"#.to_string(), None),
        (
            r#"{"spec": {"template": {"spec": {"containers": [{"image": 5}]}}}}"#.to_string(),
            None,
        ),
    ];
    for (object, want) in cases {
        let got = image_of(&deployment(&object));
        match want {
            Some(want) => assert_eq!(got.unwrap(), want, "{object}"),
            None => assert_eq!(
                got.unwrap_err().to_string(),
                "the Deployment object's `spec.template.spec` is not a pod spec",
                "{object}"
            ),
        }
    }
}

#[test]
fn lookup_keys_are_normalised_deduplicated_and_shown_as_written() {
    let r = review("pod-create");
    let uses = images(&r).unwrap();
    assert_eq!(uses[1].image, "nginx:1.25");
    assert_eq!(
        uses[1].lookup_key().unwrap(),
        "docker.io/library/nginx:1.25"
    );
    let keys = lookup_keys(&r, &uses, &enforce());
    assert_eq!(
        keys,
        [
            "docker.io/library/nginx:1.25",
            "registry.example/flasksample:1.0-20230707",
            "registry.example/migrate@sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
            "registry.example/models:2024",
        ]
    );
    let d = review("deployment-create");
    let uses = images(&d).unwrap();
    assert_eq!(
        uses[1].lookup_key().unwrap(),
        "docker.io/library/busybox:latest"
    );

    // Two spellings of one image: one lookup.
    let twice = edited("pod-create", |v| {
        v["request"]["object"]["spec"]["containers"][0]["image"] =
            json!("docker.io/library/nginx:1.25")
    });
    let uses = images(&twice).unwrap();
    assert_eq!(lookup_keys(&twice, &uses, &enforce()).len(), 3);
}

/// Issue 21: a v1beta1 review (clusters with `admissionReviewVersions: ["v1beta1", …]`) is
/// read, and answered in v1beta1 with the same shape as a v1 answer.
#[test]
fn v1beta1_is_answered_in_v1beta1() {
    let beta = review("pod-create-v1beta1");
    assert_eq!(beta.api_version, "admission.k8s.io/v1beta1");
    assert_eq!(found("pod-create-v1beta1"), found("pod-create"));
    let (b, _) = run(&beta, &enforce(), |_| None);
    let (v1, _) = run(&review("pod-create"), &enforce(), |_| None);
    assert_eq!(b["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(b["kind"], "AdmissionReview");
    assert_eq!(b["response"]["uid"], "3f1c2b7e-0a4d-4e59-8f0b-7c2d9e1a5b60");
    let mut same = b.clone();
    same["apiVersion"] = v1["apiVersion"].clone();
    same["response"]["uid"] = v1["response"]["uid"].clone();
    assert_eq!(same, v1, "the same shape as v1");
}

/// Issue 21: a body that is the AdmissionRequest alone gets a message saying what was
/// expected, not a serde position.
#[test]
fn a_bare_admission_request_is_told_what_was_expected() {
    let e = AdmissionReview::parse(fixture("pod-create-bare-request").as_bytes()).unwrap_err();
    assert!(matches!(e, AdmissionError::BareRequest), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("bare AdmissionRequest"), "{text}");
    assert!(
        text.contains(
            r#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"#
        ),
        "{text}"
    );
    assert!(!text.contains("line 1"), "{text}");
}

#[test]
fn uid_is_echoed_as_given() {
    for uid in ["705ab4f5-6393-11e8-b7cc-42010a800002", "not-a-uuid", ""] {
        let r = edited("deployment-create", |v| v["request"]["uid"] = json!(uid));
        let (json, outcome) = run(&r, &enforce(), |_| None);
        assert_eq!(json["response"]["uid"], uid);
        assert_eq!(json["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(json["kind"], "AdmissionReview");
        assert_eq!(outcome.uid, uid);
    }
}

#[test]
fn long_warnings_are_cut() {
    let long = "x".repeat(300);
    let cut = cap(format!("é{long}"));
    assert_eq!(cut.chars().count(), WARNING_MAX_CHARS);
    assert!(cut.starts_with('é') && cut.ends_with('…'));
    let short = "container \"web\": app:1 is superseded".to_string();
    assert_eq!(cap(short.clone()), short);
    let exact = "y".repeat(WARNING_MAX_CHARS);
    assert_eq!(cap(exact.clone()), exact);
}
