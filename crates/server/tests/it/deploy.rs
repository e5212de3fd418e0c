//! The Kubernetes, Gatekeeper and Kyverno files under `deploy/` (docs/policy.md): every YAML
//! document parses and names itself, the install has every object it needs, and the routes,
//! JSON field names and starting settings those files use are the ones lineage serves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// Names in the status JSON (DESIGN §4) that the Gatekeeper Rego and the Kyverno JMESPath
/// read. They must match the JSON the routes return: each of `results[]` from
/// `/lifecycle/v1/lookup`, and each item's `value` from `/gatekeeper/v1/lookup`.
/// `status_json_has_what_the_policies_read` checks them against `lineage_lifecycle::Status`.
const STATE: &str = "state";
/// See [`STATE`].
const END_OF_LIFE: &str = "endOfLife";
/// See [`STATE`]; a path: `successor` is an object or `null`.
const SUCCESSOR_REFERENCE: &str = "successor.reference";
/// The fields the policies read, as `.`-separated paths.
const POLICY_FIELDS: [&str; 3] = [STATE, END_OF_LIFE, SUCCESSOR_REFERENCE];
/// The value of [`STATE`] the policies act on.
const END_OF_LIFE_STATE: &str = "end-of-life";
/// `/lifecycle/v1/lookup`: the request's array of references and the response's array of
/// statuses, one per reference in order.
const LOOKUP_IMAGES: &str = "images";
/// See [`LOOKUP_IMAGES`].
const LOOKUP_RESULTS: &str = "results";

/// The routes the files point at.
const LOOKUP_PATH: &str = "/lifecycle/v1/lookup";
const ADMISSION_PATH: &str = "/admission/v1/validate";
const GATEKEEPER_PATH: &str = "/gatekeeper/v1/lookup";

/// Where lineage runs, and the names Gatekeeper and Kyverno dial it by.
const NAMESPACE: &str = "lineage-system";
const SERVICE: &str = "lineage";
const SERVICE_HOST: &str = "lineage.lineage-system";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// One YAML document of a file under `deploy/`.
struct Doc {
    /// The file, relative to `deploy/`.
    file: PathBuf,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }

    fn at(&self, pointer: &str) -> &Value {
        self.value
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{}: {} has no {pointer}", self.file.display(), self.kind()))
    }

    fn str_at(&self, pointer: &str) -> &str {
        self.at(pointer).as_str().unwrap_or_else(|| {
            panic!(
                "{}: {} {pointer} is not a string",
                self.file.display(),
                self.kind()
            )
        })
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Every non-empty YAML document under `deploy/`, files in path order.
fn documents() -> Vec<Doc> {
    let root = deploy_dir();
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(!files.is_empty(), "no YAML under {}", root.display());
    let mut docs = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read YAML file");
        let file = path
            .strip_prefix(&root)
            .expect("under deploy/")
            .to_path_buf();
        for (i, de) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(de)
                .unwrap_or_else(|e| panic!("{}: document {}: {e}", file.display(), i + 1));
            if !value.is_null() {
                docs.push(Doc {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    docs
}

fn of_kind<'a>(docs: &'a [Doc], kind: &str) -> Vec<&'a Doc> {
    docs.iter().filter(|d| d.kind() == kind).collect()
}

fn one<'a>(docs: &'a [Doc], kind: &str) -> &'a Doc {
    let found = of_kind(docs, kind);
    assert_eq!(found.len(), 1, "expected exactly one {kind} under deploy/");
    found[0]
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every string anywhere in `v`.
fn all_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| all_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| all_strings(x, out)),
        _ => {}
    }
}

/// Every object anywhere in `v` that has the key `key`.
fn objects_with<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| objects_with(x, key, out)),
        Value::Object(o) => {
            if o.contains_key(key) {
                out.push(v);
            }
            o.values().for_each(|x| objects_with(x, key, out));
        }
        _ => {}
    }
}

/// The value of `--flag=value` or `--flag value` in `args`.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().enumerate().find_map(|(i, a)| {
        if a == name {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(String::from)
        }
    })
}

fn https_url(doc: &Doc, raw: &str) -> url::Url {
    let u = url::Url::parse(raw)
        .unwrap_or_else(|e| panic!("{}: bad url {raw}: {e}", doc.file.display()));
    assert_eq!(u.scheme(), "https", "{}: {raw}", doc.file.display());
    assert_eq!(
        u.host_str(),
        Some(SERVICE_HOST),
        "{}: {raw}",
        doc.file.display()
    );
    assert_eq!(
        u.port_or_known_default(),
        Some(443),
        "{}: {raw}",
        doc.file.display()
    );
    u
}

#[test]
fn every_document_is_a_named_object() {
    let docs = documents();
    for d in &docs {
        let where_ = d.file.display();
        for field in ["apiVersion", "kind"] {
            assert!(
                d.value[field].as_str().is_some_and(|s| !s.is_empty()),
                "{where_}: a document without {field}"
            );
        }
        if matches!(d.kind(), "Kustomization" | "Component") {
            // Kustomize files have no name; what they list must exist.
            let dir = deploy_dir().join(&d.file);
            let dir = dir.parent().expect("file has a directory");
            for key in ["resources", "components"] {
                for r in strings(&d.value[key]) {
                    assert!(dir.join(&r).exists(), "{where_}: {key} lists missing {r}");
                }
            }
        } else {
            assert!(
                !d.name().is_empty(),
                "{where_}: {} without metadata.name",
                d.kind()
            );
        }
    }
}

#[test]
fn the_install_has_every_object() {
    let docs = documents();
    let have: BTreeSet<(&str, &str)> = docs
        .iter()
        .map(|d| (d.value["apiVersion"].as_str().unwrap_or_default(), d.kind()))
        .collect();
    for want in [
        ("v1", "Namespace"),
        ("v1", "ServiceAccount"),
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("policy/v1", "PodDisruptionBudget"),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
        ),
        ("cert-manager.io/v1", "Issuer"),
        ("cert-manager.io/v1", "Certificate"),
        ("externaldata.gatekeeper.sh/v1beta1", "Provider"),
        ("templates.gatekeeper.sh/v1", "ConstraintTemplate"),
        ("constraints.gatekeeper.sh/v1beta1", "LineageEolImages"),
        ("kyverno.io/v1", "ClusterPolicy"),
    ] {
        assert!(have.contains(&want), "no {want:?} under deploy/");
    }

    // `kubectl apply -k deploy/kubernetes` installs every file beside its kustomization.
    let kustomization = docs
        .iter()
        .find(|d| d.file == Path::new("kubernetes/kustomization.yaml"))
        .expect("deploy/kubernetes/kustomization.yaml");
    let listed: BTreeSet<String> = strings(&kustomization.value["resources"])
        .into_iter()
        .collect();
    let beside: BTreeSet<String> = docs
        .iter()
        .filter(|d| d.file.parent() == Some(Path::new("kubernetes")))
        .filter(|d| d.kind() != "Kustomization")
        .filter_map(|d| d.file.file_name()?.to_str().map(String::from))
        .collect();
    assert_eq!(listed, beside, "kustomization.yaml resources");

    // Everything namespaced is in lineage-system.
    for d in docs.iter().filter(|d| {
        d.file.starts_with("kubernetes")
            && !matches!(
                d.kind(),
                "Namespace" | "ValidatingWebhookConfiguration" | "Kustomization" | "Component"
            )
    }) {
        assert_eq!(
            d.value["metadata"]["namespace"].as_str(),
            Some(NAMESPACE),
            "{}: {} {}",
            d.file.display(),
            d.kind(),
            d.name()
        );
    }
}

#[test]
fn deployment_serves_https_with_the_mounted_secrets() {
    let docs = documents();
    let dep = one(&docs, "Deployment");
    assert_eq!(dep.at("/spec/replicas"), 2);
    let pod = dep.at("/spec/template/spec");
    let c = &pod["containers"][0];
    let args = strings(&c["args"]);
    assert_eq!(
        args.first().map(String::as_str),
        Some("webhook"),
        "{args:?}"
    );
    assert_eq!(flag(&args, "--addr").as_deref(), Some("0.0.0.0:8443"));
    assert_eq!(flag(&args, "--admission-mode").as_deref(), Some("audit"));
    assert!(
        !args.iter().any(|a| a == "--fail-closed"),
        "starts fail open"
    );

    // The TLS and credential files are inside the mounted secrets.
    let mount_of = |secret: &str| -> String {
        let volume = pod["volumes"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["secret"]["secretName"] == secret))
            .unwrap_or_else(|| panic!("no volume for secret {secret}"));
        let mount = c["volumeMounts"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["name"] == volume["name"]))
            .unwrap_or_else(|| panic!("secret {secret} is not mounted"));
        assert_eq!(mount["readOnly"], true, "secret {secret} mounted writable");
        mount["mountPath"].as_str().expect("mountPath").to_string()
    };
    let tls = mount_of("lineage-tls");
    for (f, file) in [("--tls-cert", "tls.crt"), ("--tls-key", "tls.key")] {
        assert_eq!(flag(&args, f), Some(format!("{tls}/{file}")), "{f}");
    }
    let creds = mount_of("lineage-registry-credentials");
    assert_eq!(
        flag(&args, "--docker-config"),
        Some(format!("{creds}/.dockerconfigjson"))
    );

    let port = c["ports"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["containerPort"] == 8443))
        .expect("containerPort 8443");
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(get["scheme"], "HTTPS", "{probe}");
        assert!(
            get["port"] == 8443 || get["port"] == port["name"],
            "{probe} port"
        );
    }
    assert!(c["resources"]["requests"].is_object() && c["resources"]["limits"].is_object());
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);

    // The Service and the PDB select these pods; 443 reaches 8443.
    let labels = dep.at("/spec/template/metadata/labels");
    let svc = one(&docs, "Service");
    assert_eq!(svc.name(), SERVICE);
    for (k, v) in svc.at("/spec/selector").as_object().expect("selector") {
        assert_eq!(&labels[k], v, "Service selector {k}");
    }
    let sp = &svc.at("/spec/ports")[0];
    assert_eq!(sp["port"], 443);
    assert!(sp["targetPort"] == 8443 || sp["targetPort"] == port["name"]);
    let pdb = one(&docs, "PodDisruptionBudget");
    for (k, v) in pdb
        .at("/spec/selector/matchLabels")
        .as_object()
        .expect("matchLabels")
    {
        assert_eq!(&labels[k], v, "PodDisruptionBudget selector {k}");
    }
}

#[test]
fn webhook_configuration_starts_safe_and_covers_every_pod_source() {
    let docs = documents();
    let vwc = one(&docs, "ValidatingWebhookConfiguration");
    let hooks = vwc.at("/webhooks").as_array().expect("webhooks");
    assert_eq!(hooks.len(), 1);
    let w = &hooks[0];
    assert_eq!(w["failurePolicy"], "Ignore");
    assert_eq!(w["sideEffects"], "None");
    assert_eq!(w["timeoutSeconds"], 5);
    assert!(strings(&w["admissionReviewVersions"]).contains(&"v1".to_string()));
    let service = &w["clientConfig"]["service"];
    assert_eq!(service["namespace"], NAMESPACE);
    assert_eq!(service["name"], SERVICE);
    assert_eq!(service["path"], ADMISSION_PATH);
    assert_eq!(service["port"], 443);
    assert!(
        w["clientConfig"].get("caBundle").is_some(),
        "caBundle placeholder"
    );

    // (group, resource) → operations.
    let mut covered = BTreeSet::new();
    for rule in w["rules"].as_array().expect("rules") {
        let ops = strings(&rule["operations"]);
        assert!(strings(&rule["apiVersions"]).contains(&"v1".to_string()));
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for op in &ops {
                    covered.insert((group.clone(), resource.clone(), op.clone()));
                }
            }
        }
    }
    let mut want = vec![("", "pods/ephemeralcontainers", "UPDATE")];
    for (group, resource) in [
        ("", "pods"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    ] {
        want.push((group, resource, "CREATE"));
        want.push((group, resource, "UPDATE"));
    }
    for (g, r, op) in want {
        assert!(
            covered.contains(&(g.to_string(), r.to_string(), op.to_string())),
            "webhook rules miss {op} {g}/{r}"
        );
    }

    let excluded: BTreeSet<String> = w["namespaceSelector"]["matchExpressions"]
        .as_array()
        .expect("namespaceSelector.matchExpressions")
        .iter()
        .filter(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
        .flat_map(|e| strings(&e["values"]))
        .collect();
    for ns in [NAMESPACE, "kube-system"] {
        assert!(
            excluded.contains(ns),
            "namespaceSelector does not exclude {ns}"
        );
    }

    // The cert-manager component injects the CA from the Certificate the pods serve.
    let cert = of_kind(&docs, "Certificate")
        .into_iter()
        .find(|c| c.value["spec"]["secretName"] == "lineage-tls")
        .expect("a Certificate for lineage-tls");
    let dns = strings(cert.at("/spec/dnsNames"));
    for name in [SERVICE_HOST, "lineage.lineage-system.svc"] {
        assert!(dns.iter().any(|d| d == name), "Certificate lacks {name}");
    }
    let inject = format!("{NAMESPACE}/{}", cert.name());
    let component = one(&docs, "Component");
    let patches: Vec<&str> = {
        let mut out = Vec::new();
        all_strings(&component.value["patches"], &mut out);
        out
    };
    assert!(
        patches
            .iter()
            .any(|p| p.contains("cert-manager.io/inject-ca-from") && p.contains(&inject)),
        "cert-manager component must annotate inject-ca-from: {inject}"
    );
}

#[test]
fn gatekeeper_provider_template_and_constraint_agree() {
    let docs = documents();
    let provider = one(&docs, "Provider");
    let u = https_url(provider, provider.str_at("/spec/url"));
    assert_eq!(u.path(), GATEKEEPER_PATH);
    assert!(provider.at("/spec/timeout").as_u64().is_some_and(|t| t > 0));
    assert!(provider.at("/spec").get("caBundle").is_some());

    let template = one(&docs, "ConstraintTemplate");
    let kind = template.str_at("/spec/crd/spec/names/kind");
    assert_eq!(template.name(), kind.to_lowercase(), "template name");
    let rego = template.str_at("/spec/targets/0/rego");
    assert_eq!(
        template.str_at("/spec/targets/0/target"),
        "admission.k8s.gatekeeper.sh"
    );
    let call = format!(
        r#"external_data({{"provider": "{}", "keys": "#,
        provider.name()
    );
    assert!(rego.contains(&call), "Rego must call {call}…");
    for field in POLICY_FIELDS {
        let read = format!("value.{field}");
        assert!(rego.contains(&read), "Rego does not read {read}");
    }
    assert!(rego.contains(&format!("\"{END_OF_LIFE_STATE}\"")));
    for handled in ["response.errors", "response.system_error", "violation["] {
        assert!(rego.contains(handled), "Rego does not use {handled}");
    }

    let constraint = one(&docs, kind);
    assert_eq!(constraint.str_at("/spec/enforcementAction"), "dryrun");
    let kinds: BTreeSet<String> = constraint
        .at("/spec/match/kinds")
        .as_array()
        .expect("match.kinds")
        .iter()
        .flat_map(|k| strings(&k["kinds"]))
        .collect();
    for k in [
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
    ] {
        assert!(kinds.contains(k), "constraint does not match {k}");
    }
}

#[test]
fn kyverno_policies_call_the_lookup_and_start_in_audit() {
    let docs = documents();
    let policies = of_kind(&docs, "ClusterPolicy");
    assert!(!policies.is_empty());
    let mut ephemeral = false;
    for policy in policies {
        let where_ = format!("{} {}", policy.file.display(), policy.name());
        assert_eq!(
            policy.at("/spec/webhookConfiguration/failurePolicy"),
            "Ignore",
            "{where_}"
        );
        let mut validates = Vec::new();
        objects_with(&policy.value, "validate", &mut validates);
        assert!(!validates.is_empty(), "{where_}: no validate rule");
        for rule in validates {
            assert_eq!(rule["validate"]["failureAction"], "Audit", "{where_}");
        }
        let mut kinds = Vec::new();
        all_strings(&policy.value["spec"]["rules"], &mut kinds);
        ephemeral |= kinds.contains(&"Pod/ephemeralcontainers");

        let mut entries = Vec::new();
        objects_with(&policy.value, "apiCall", &mut entries);
        assert!(!entries.is_empty(), "{where_}: no apiCall");
        let mut texts = Vec::new();
        all_strings(&policy.value, &mut texts);
        for entry in entries {
            let call = &entry["apiCall"];
            assert_eq!(call["method"], "POST", "{where_}");
            let u = https_url(
                policy,
                call["service"]["url"].as_str().expect("service.url"),
            );
            assert_eq!(u.path(), LOOKUP_PATH, "{where_}");
            assert!(
                call["service"]["caBundle"].is_string(),
                "{where_}: caBundle"
            );
            let data = call["data"].as_array().expect("apiCall.data");
            assert!(
                data.iter()
                    .any(|d| d["key"] == LOOKUP_IMAGES && d["value"].is_array()),
                "{where_}: the body must be {{\"{LOOKUP_IMAGES}\": [...]}}"
            );
            // A failed call reads as unknown (fail open), in the route's own shape.
            assert_eq!(
                call["default"][LOOKUP_RESULTS][0][STATE], "unknown",
                "{where_}"
            );

            let ctx = entry["name"].as_str().expect("context name");
            for field in POLICY_FIELDS {
                let path = format!("{ctx}.{LOOKUP_RESULTS}[0].{field}");
                assert!(
                    texts.iter().any(|t| t.contains("{{") && t.contains(&path)),
                    "{where_}: no JMESPath reads {path}"
                );
            }
            let state = format!("{ctx}.{LOOKUP_RESULTS}[0].{STATE}");
            let mut conditions = Vec::new();
            objects_with(&policy.value, "operator", &mut conditions);
            assert!(
                conditions
                    .iter()
                    .any(|c| c["key"].as_str().is_some_and(|k| k.contains(&state))
                        && c["operator"] == "Equals"
                        && c["value"] == END_OF_LIFE_STATE),
                "{where_}: no deny on {state} == {END_OF_LIFE_STATE}"
            );
        }
    }
    assert!(
        ephemeral,
        "no Kyverno policy matches Pod/ephemeralcontainers"
    );
}

/// The field names above are the ones lineage's status JSON has (DESIGN §4).
#[test]
fn status_json_has_what_the_policies_read() {
    use std::collections::BTreeMap;

    use lineage_lifecycle::{Namespace, Reason, RecordSpec, StatusInput, WriteOptions, decide};
    use lineage_oci::{Descriptor, Digest, media_type, time::parse_lenient};

    let image = Descriptor::new(media_type::OCI_MANIFEST, Digest::sha256(b"image"), 100);
    let spec = RecordSpec {
        created: parse_lenient("2023-07-10T08:00:00Z").unwrap(),
        end_of_life: Some(parse_lenient("2023-07-10T08:00:00Z").unwrap()),
        reason: Some(Reason::Superseded),
        successor: Some("registry.example/app:1.0-20230710".into()),
        superseded_by: None,
        version: Some("1.0".into()),
        revision: Some("20230707".into()),
        end_of_support: None,
        scope: None,
    };
    let record = spec
        .manifests(&image, &WriteOptions::default())
        .unwrap()
        .profile;
    let status = decide(StatusInput {
        reference: "registry.example/app:1.0-20230707".into(),
        digest: image.digest.clone(),
        image_annotations: BTreeMap::new(),
        referrers: vec![record.referrer_descriptor()],
        namespaces: vec![Namespace::default()],
        rolling_tag: None,
        at: parse_lenient("2024-01-01").unwrap(),
    });
    let json = serde_json::to_value(&status).unwrap();
    for field in POLICY_FIELDS {
        let pointer = format!("/{}", field.replace('.', "/"));
        assert!(
            json.pointer(&pointer).is_some_and(Value::is_string),
            "status JSON has no string at {pointer}: {json}"
        );
    }
    assert_eq!(json[STATE], END_OF_LIFE_STATE);
    assert_eq!(
        json["successor"]["reference"],
        "registry.example/app:1.0-20230710"
    );
}
