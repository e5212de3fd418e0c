//! The policy routes (docs/policy.md) against running servers: `lineage serve` (registry and
//! policy routes on one address) and `lineage webhook` (policy routes only, reading
//! `lineage serve`, distribution 2.8, or a registry that is down), fed real AdmissionReview and
//! ProviderRequest documents (`crates/server/tests/fixtures/admission/`) holding the scenario of
//! the lifecycle tests: `1.0-20230707` is end-of-life since 2023-07-10T08:00:00Z, replaced by
//! `1.0-20230710`, which `1.0` points to.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::support::Scratch;
use crate::support::registry::{registry_from_env, unique_repo};
use crate::support::scenario::scenario;
use crate::support::serve::Serve;
use crate::support::tls::make_certs;
use serde_json::{Value, json};

/// The fixtures of every workload kind the webhook checks.
const WORKLOADS: [&str; 9] = [
    "pod-create",
    "deployment-create",
    "deployment-update-dry-run",
    "statefulset-create",
    "daemonset-create",
    "replicaset-create",
    "job-create",
    "cronjob-create",
    "pod-ephemeralcontainers",
];

const EOL_SINCE: &str = "2023-07-10T08:00:00Z";

// --- HTTP -------------------------------------------------------------------------------

/// A blocking HTTP client for one server.
pub(crate) struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
}

impl Http {
    pub(crate) fn new(host: &str) -> Http {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            // The test's patience, not a timing assertion: a hung server fails the test
            // instead of hanging it.
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        Http {
            rt,
            client,
            base: format!("http://{host}"),
        }
    }

    /// A client for an HTTPS server that trusts only the CA in `ca` (PEM).
    fn https(host: &str, ca: &Path) -> Http {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([ca])
            // A new connection (and TLS handshake) for every request.
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        Http {
            rt,
            client,
            base: format!("https://{host}"),
        }
    }

    /// Like [`Http::get`], but a failure to connect (a refused certificate) is `None`.
    fn try_get(&self, path: &str) -> Option<u16> {
        let url = format!("{}{path}", self.base);
        self.rt
            .block_on(async { self.client.get(&url).send().await })
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// Send `request`; its status code and body as text.
    fn send(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        let (code, body) = self.send_all(vec![request]).remove(0);
        (code, String::from_utf8_lossy(&body).into_owned())
    }

    /// A `method` request for `path`, to finish and give to [`Http::send_all`].
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Send `requests`, eight at a time; the status code and body of each, in order.
    pub(crate) fn send_all(&self, requests: Vec<reqwest::RequestBuilder>) -> Vec<(u16, Vec<u8>)> {
        use futures_util::StreamExt as _;
        let client = &self.client;
        let sent = requests.into_iter().map(|r| async move {
            let request = r.build().unwrap();
            let what = format!("{} {}", request.method(), request.url());
            let response = client
                .execute(request)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let code = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
            (code, body.to_vec())
        });
        self.rt.block_on(
            futures_util::stream::iter(sent)
                .buffered(8)
                .collect::<Vec<_>>(),
        )
    }

    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.base);
        self.send(self.client.get(&url))
    }

    fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> (u16, String) {
        let url = format!("{}{path}", self.base);
        let request = self
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.into());
        self.send(request)
    }

    /// PUT `body` of `content_type` at `path`; the status code.
    pub(crate) fn put(&self, path: &str, content_type: &str, body: Vec<u8>) -> u16 {
        let url = format!("{}{path}", self.base);
        let request = self
            .client
            .put(&url)
            .header("content-type", content_type)
            .body(body);
        self.send(request).0
    }

    /// POST `body` as JSON; the answer must be 200 and JSON.
    pub(crate) fn post_json(&self, path: &str, body: &Value) -> Value {
        let (code, text) = self.post(path, serde_json::to_vec(body).unwrap());
        assert_eq!(code, 200, "POST {path} {body}\n--- answer\n{text}");
        parse(&text, path)
    }
}

fn parse(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} answered non-JSON ({e}): {text}"))
}

/// `lineage webhook --addr 127.0.0.1:0 FLAGS…`.
pub(crate) fn webhook(flags: &[&str]) -> Serve {
    let mut args = vec!["--addr", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    Serve::start_command("webhook", &args)
}

// --- AdmissionReview documents ----------------------------------------------------------

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/fixtures/admission")
}

/// The fixture `name` (`pod-create`, …) as JSON.
pub(crate) fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&text, &path.display().to_string())
}

/// Replace every image in `value`: each `image` string (containers, init containers,
/// ephemeral containers) and each `image.reference` (image volumes). Returns how many.
fn replace_images(value: &mut Value, image: &str) -> usize {
    let mut n = 0;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(s) if key == "image" => {
                        *s = image.to_string();
                        n += 1;
                    }
                    Value::Object(source) if key == "image" => {
                        if let Some(Value::String(s)) = source.get_mut("reference") {
                            *s = image.to_string();
                            n += 1;
                        }
                    }
                    _ => n += replace_images(v, image),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                n += replace_images(v, image);
            }
        }
        _ => {}
    }
    n
}

/// `review` with every image of its object replaced by `image` (of its old object when it has
/// no object: a DELETE). On UPDATE, the old object keeps its images, so `image` is one the
/// update brings in.
pub(crate) fn with_images(mut review: Value, image: &str) -> Value {
    let request = &mut review["request"];
    let n = if request["object"].is_null() {
        replace_images(&mut request["oldObject"], image)
    } else {
        replace_images(&mut request["object"], image)
    };
    assert!(n > 0, "no image to replace in {review}");
    review
}

/// A uid no other request of this run carries.
fn fresh_uid() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:08x}-7e57-4d00-8000-{:012x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// POST `review` (with a fresh uid) to the admission route; checks the envelope and that the
/// uid is echoed, and returns `response`.
#[track_caller]
pub(crate) fn admit(http: &Http, mut review: Value) -> Value {
    let uid = fresh_uid();
    review["request"]["uid"] = json!(uid);
    let answer = http.post_json("/admission/v1/validate", &review);
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1", "{answer}");
    assert_eq!(answer["kind"], "AdmissionReview", "{answer}");
    assert_eq!(
        answer["response"]["uid"],
        uid.as_str(),
        "uid echoed: {answer}"
    );
    answer["response"].clone()
}

pub(crate) fn warnings(response: &Value) -> Vec<String> {
    match &response["warnings"] {
        Value::Null => vec![],
        w => w
            .as_array()
            .unwrap_or_else(|| panic!("warnings is not an array: {response}"))
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect(),
    }
}

/// Denied with 403, each line of the message naming `image` as end-of-life since
/// 2023-07-10, replaced by `successor`.
#[track_caller]
fn assert_denied_eol(response: &Value, image: &str, successor: &str, what: &str) {
    assert_eq!(response["allowed"], false, "{what}: {response}");
    assert_eq!(response["status"]["code"], 403, "{what}: {response}");
    let message = response["status"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: a denial without a message: {response}"));
    assert!(!message.is_empty(), "{what}: {response}");
    for line in message.lines() {
        assert!(
            line.contains(&format!("\"{image}\""))
                && line.contains("end-of-life")
                && line.contains("2023-07-10")
                && line.contains(successor),
            "{what}: the denial should name {image}, its end-of-life and {successor}: {message}"
        );
    }
}

/// Denied with 403, each line of the message naming `image` as not checked.
#[track_caller]
fn assert_denied_unchecked(response: &Value, image: &str, what: &str) {
    assert_eq!(response["allowed"], false, "{what}: {response}");
    assert_eq!(response["status"]["code"], 403, "{what}: {response}");
    let message = response["status"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: {response}");
    for line in message.lines() {
        assert!(line.contains(image), "{what}: {message}");
    }
}

/// Allowed with neither a status nor any warning.
#[track_caller]
fn assert_allowed_silently(response: &Value, what: &str) {
    assert_eq!(response["allowed"], true, "{what}: {response}");
    assert!(response["status"].is_null(), "{what}: {response}");
    assert_eq!(
        warnings(response),
        Vec::<String>::new(),
        "{what}: {response}"
    );
}

/// Allowed without a status, with at least one warning, every one naming each of `needles`.
#[track_caller]
fn assert_allowed_warning(response: &Value, needles: &[&str], what: &str) {
    assert_eq!(response["allowed"], true, "{what}: {response}");
    assert!(response["status"].is_null(), "{what}: {response}");
    let warnings = warnings(response);
    assert!(!warnings.is_empty(), "{what}: no warning: {response}");
    for w in &warnings {
        for needle in needles {
            assert!(
                w.contains(needle),
                "{what}: warning without `{needle}`: {w}"
            );
        }
    }
}

/// The sum of the samples of metric `name` in Prometheus text; `None` when it has none.
fn metric(text: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let rest = if let Some(labels) = rest.strip_prefix('{') {
            match labels.rfind('}') {
                Some(end) => &labels[end + 1..],
                None => continue,
            }
        } else if rest.starts_with(' ') {
            rest
        } else {
            continue; // another metric with this one's name as a prefix
        };
        let value: f64 = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("metric sample without a value: {line}"));
        *sum.get_or_insert(0.0) += value;
    }
    sum
}

/// `lineage serve`'s access log, read in windows delimited by marker requests, so that a
/// window holds exactly the requests made between two calls (the log is read by a thread, and
/// a request's line is written before its response).
pub(crate) struct AccessLog<'a> {
    server: &'a Serve,
    markers: u32,
    mark: usize,
}

impl<'a> AccessLog<'a> {
    pub(crate) fn new(server: &'a Serve) -> AccessLog<'a> {
        let mut log = AccessLog {
            server,
            markers: 0,
            mark: 0,
        };
        log.mark = log.sync();
        log
    }

    /// Send a marker request and wait for its line; returns its index in the log.
    fn sync(&mut self) -> usize {
        self.markers += 1;
        self.server
            .mark(&format!("lineage-test-marker-{}", self.markers))
    }

    /// The registry API (`/v2/`) requests since the last call.
    pub(crate) fn registry_requests(&mut self) -> Vec<String> {
        let end = self.sync();
        let window: Vec<String> = self.server.requests()[self.mark + 1..end]
            .iter()
            .filter(|l| l.contains("path=/v2/"))
            .cloned()
            .collect();
        self.mark = end;
        window
    }
}

// --- The tests --------------------------------------------------------------------------

/// `lineage serve` with the policy routes: for every workload kind, the end-of-life revision
/// (by tag and by digest) is denied with its end-of-life and successor, the current one is
/// allowed silently, dry runs are answered alike, and objects that run nothing are allowed.
#[test]
fn lineage_serve_admission_for_every_workload_kind() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let http = Http::new(&server.host);

    for name in WORKLOADS {
        let r = admit(&http, with_images(fixture(name), &sc.eol));
        assert_denied_eol(&r, &sc.eol, &sc.successor, name);
        let r = admit(&http, with_images(fixture(name), &sc.current));
        assert_allowed_silently(&r, name);
    }

    // By digest.
    for name in ["pod-create", "cronjob-create"] {
        let r = admit(&http, with_images(fixture(name), &sc.eol_by_digest));
        assert_denied_eol(&r, &sc.eol_by_digest, &sc.successor, name);
    }

    // A dry run is answered as the real request.
    let dry = with_images(fixture("deployment-update-dry-run"), &sc.eol);
    assert_eq!(dry["request"]["dryRun"], true);
    let mut wet = dry.clone();
    wet["request"]["dryRun"] = json!(false);
    let (mut a, mut b) = (admit(&http, dry), admit(&http, wet));
    a["uid"] = Value::Null;
    b["uid"] = Value::Null;
    assert_eq!(a, b, "dry run and real request answered differently");

    // On UPDATE, an end-of-life image the old object already ran is only warned about.
    let mut kept = with_images(fixture("deployment-update-dry-run"), &sc.eol);
    assert!(replace_images(&mut kept["request"]["oldObject"], &sc.eol) > 0);
    assert_allowed_warning(
        &admit(&http, kept),
        &[&sc.eol, "end-of-life", &sc.successor],
        "an update keeping an end-of-life image",
    );

    // The ephemeralcontainers subresource is judged by its ephemeral containers only.
    let mut debug = with_images(fixture("pod-ephemeralcontainers"), &sc.eol);
    let n = replace_images(
        &mut debug["request"]["object"]["spec"]["ephemeralContainers"],
        &sc.current,
    );
    assert_eq!(n, 1);
    assert_allowed_silently(&admit(&http, debug), "pod-ephemeralcontainers");
    let mut debug = with_images(fixture("pod-ephemeralcontainers"), &sc.current);
    replace_images(
        &mut debug["request"]["object"]["spec"]["ephemeralContainers"],
        &sc.eol,
    );
    let r = admit(&http, debug);
    assert_denied_eol(&r, &sc.eol, &sc.successor, "pod-ephemeralcontainers");
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("ephemeral container"),
        "{r}"
    );

    // Objects that run nothing: allowed whatever their fields say.
    for name in ["configmap-create", "pod-delete"] {
        let r = admit(&http, with_images(fixture(name), &sc.eol));
        assert_allowed_silently(&r, name);
    }
}

/// `lineage webhook` reading distribution 2.8: enforce denies the end-of-life revision but not
/// in an exempt namespace, warn mode allows with a warning naming the successor, audit mode
/// allows silently, a grace period turns the denial into a warning, and an exempt image
/// pattern exempts exactly what it matches.
/// A denial names the image to move to: the newest revision, not the successor the record
/// names (retired since). The lookup route keeps the recorded successor (DESIGN §4).
#[test]
fn a_denial_names_the_newest_revision_not_a_retired_successor() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let repo = server.reference("chain", "");
    let digests = crate::support::scenario::release_chain(&s, &repo);
    let http = Http::new(&server.host);
    let first = format!("{repo}:1.0-20230701");
    let r = admit(&http, with_images(fixture("pod-create"), &first));
    assert_denied_eol(
        &r,
        &first,
        &format!("{repo}:1.0-20230720"),
        "two revisions behind",
    );
    let message = r["status"]["message"].as_str().unwrap();
    assert!(!message.contains("1.0-20230710"), "{message}");

    let looked = http.post_json("/lifecycle/v1/lookup", &json!({"images": [first]}));
    let successor = &looked["results"][0]["successor"];
    assert_eq!(
        successor["reference"],
        format!("{repo}:1.0-20230710"),
        "{looked:#}"
    );
    assert_eq!(successor["digest"], digests[1].as_str(), "{looked:#}");
}

#[test]
fn lineage_webhook_modes_and_exemptions_against_distribution() {
    let Some(reg) = registry_from_env(
        "lineage_webhook_modes_and_exemptions_against_distribution",
        "LINEAGE_TEST_REGISTRY",
        false,
    ) else {
        return;
    };
    let s = Scratch::new();
    let sc = scenario(&s, &reg.reference(&unique_repo("policy-flasksample"), ""));
    let enforce = webhook(&["--exempt-namespace", "team-legacy"]);
    let warn = webhook(&["--admission-mode", "warn"]);
    let audit = webhook(&["--admission-mode", "audit"]);
    let pattern = format!("{}/*:1.0-20230707", reg.host);
    let exempt_image = webhook(&["--exempt-image", &pattern]);
    let (enforce, warn, audit, exempt_image) = (
        Http::new(&enforce.host),
        Http::new(&warn.host),
        Http::new(&audit.host),
        Http::new(&exempt_image.host),
    );

    let grace = webhook(&["--grace-period", "36500d"]);
    let grace = Http::new(&grace.host);

    for name in WORKLOADS {
        let eol = || with_images(fixture(name), &sc.eol);
        assert_allowed_warning(
            &admit(&grace, eol()),
            &[&sc.eol, "end-of-life", "denied from", &sc.successor],
            &format!("{name}, within the grace period"),
        );
        assert_denied_eol(&admit(&enforce, eol()), &sc.eol, &sc.successor, name);
        assert_allowed_silently(
            &admit(&enforce, with_images(fixture(name), &sc.current)),
            name,
        );

        let mut legacy = eol();
        legacy["request"]["namespace"] = json!("team-legacy");
        assert_allowed_silently(&admit(&enforce, legacy), &format!("{name} in team-legacy"));

        assert_allowed_warning(
            &admit(&warn, eol()),
            &[&sc.eol, "end-of-life", &sc.successor],
            &format!("{name}, warn mode"),
        );
        assert_allowed_silently(&admit(&audit, eol()), &format!("{name}, audit mode"));

        assert_allowed_silently(
            &admit(&exempt_image, eol()),
            &format!("{name}, exempt image {pattern}"),
        );
        assert_denied_eol(
            &admit(&exempt_image, with_images(fixture(name), &sc.eol_by_digest)),
            &sc.eol_by_digest,
            &sc.successor,
            &format!("{name} by digest, not matched by {pattern}"),
        );
    }
}

/// A registry nothing listens on: the webhook fails open (allowed, warning naming the image)
/// by default and closed with `--fail-closed`; warn mode never denies; the lookup and
/// Gatekeeper routes report an unknown state with the error. A malformed pod spec follows
/// the same setting.
#[test]
fn an_unreachable_registry_fails_open_or_closed() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let image = format!("127.0.0.1:{port}/app:1.0");
    let open = webhook(&[]);
    let closed = webhook(&["--fail-closed"]);
    let warn_closed = webhook(&["--fail-closed", "--admission-mode", "warn"]);
    let (open, closed, warn_closed) = (
        Http::new(&open.host),
        Http::new(&closed.host),
        Http::new(&warn_closed.host),
    );

    for name in WORKLOADS {
        let review = || with_images(fixture(name), &image);
        assert_allowed_warning(&admit(&open, review()), &[&image], name);
        assert_denied_unchecked(&admit(&closed, review()), &image, name);
        assert_allowed_warning(&admit(&warn_closed, review()), &[&image], name);
    }

    for http in [&open, &closed] {
        let lookup = http.post_json("/lifecycle/v1/lookup", &json!({"images": [image]}));
        let results = lookup["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{lookup}");
        assert_eq!(results[0]["reference"], image.as_str(), "{lookup}");
        assert_eq!(results[0]["state"], "unknown", "{lookup}");
        assert!(
            results[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{lookup}"
        );

        // Could not be checked: a value with the error, not a per-key error Gatekeeper caches.
        let answer = http.post_json(
            "/gatekeeper/v1/lookup",
            &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
                "request": {"keys": [image]}}),
        );
        let item = &answer["response"]["items"][0];
        assert_eq!(item["key"], image.as_str(), "{answer}");
        assert!(item["error"].is_null(), "{answer}");
        assert_eq!(item["value"]["state"], "unknown", "{answer}");
        assert!(
            item["value"]["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }

    // An AdmissionReview whose pod spec is not one.
    let mut malformed = with_images(fixture("pod-create"), &image);
    malformed["request"]["object"]["spec"]["containers"] = json!("not a list");
    let r = admit(&open, malformed.clone());
    assert_eq!(r["allowed"], true, "{r}");
    assert!(!warnings(&r).is_empty(), "{r}");
    assert!(warnings(&r).iter().any(|w| w.contains("pod spec")), "{r}");
    let r = admit(&closed, malformed);
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("pod spec")),
        "{r}"
    );
}

/// The Gatekeeper provider on `lineage serve`: one item per key in order, with the status as
/// value, an error for an image that does not exist, and a system error for a request of the
/// wrong kind.
#[test]
fn gatekeeper_provider_on_lineage_serve() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let http = Http::new(&server.host);
    let missing = server.reference("flasksample", ":does-not-exist");

    let answer = http.post_json(
        "/gatekeeper/v1/lookup",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
            "request": {"keys": [sc.eol, sc.current, missing]}}),
    );
    assert_eq!(
        answer["apiVersion"], "externaldata.gatekeeper.sh/v1beta1",
        "{answer}"
    );
    assert_eq!(answer["kind"], "ProviderResponse", "{answer}");
    assert!(
        answer["response"]["systemError"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{answer}"
    );
    let items = answer["response"]["items"].as_array().unwrap();
    let keys: Vec<&str> = items.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, [&sc.eol, &sc.current, &missing], "{answer}");

    assert!(items[0]["error"].is_null(), "{answer}");
    assert_eq!(items[0]["value"]["state"], "end-of-life", "{answer}");
    assert_eq!(items[0]["value"]["endOfLife"], EOL_SINCE, "{answer}");
    assert_eq!(
        items[0]["value"]["successor"]["reference"],
        sc.successor.as_str(),
        "{answer}"
    );
    assert!(items[1]["error"].is_null(), "{answer}");
    assert_eq!(items[1]["value"]["state"], "supported", "{answer}");
    assert!(
        items[2]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{answer}"
    );
    assert!(items[2]["value"].is_null(), "{answer}");

    let (_, text) = http.post(
        "/gatekeeper/v1/lookup",
        serde_json::to_vec(&json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1",
            "kind": "ProviderResponse", "request": {"keys": [sc.eol]}}))
        .unwrap(),
    );
    let answer = parse(&text, "gatekeeper, wrong kind");
    assert!(
        answer["response"]["systemError"]
            .as_str()
            .is_some_and(|e| e.contains("ProviderResponse")),
        "{answer}"
    );
    assert_eq!(
        answer["response"]["items"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0,
        "{answer}"
    );
}

/// The lookup API on `lineage serve`: one status per image in order, `at` moves the time the
/// states are for, bad requests are refused with 400 naming the problem; and the server is
/// healthy, ready and has metrics.
#[test]
fn lookup_api_on_lineage_serve() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let http = Http::new(&server.host);
    let missing = server.reference("flasksample", ":does-not-exist");

    let answer = http.post_json(
        "/lifecycle/v1/lookup",
        &json!({"images": [sc.eol, sc.current, missing, "Not/A/Valid:Reference!", sc.eol_by_digest]}),
    );
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{answer}");
    let eol = &results[0];
    assert_eq!(eol["state"], "end-of-life", "{answer}");
    assert_eq!(eol["endOfLife"], EOL_SINCE, "{answer}");
    assert_eq!(eol["reason"], "superseded", "{answer}");
    assert_eq!(eol["version"], "1.0", "{answer}");
    assert_eq!(eol["revision"], "20230707", "{answer}");
    assert!(
        eol["successor"]["reference"]
            .as_str()
            .is_some_and(|r| r.ends_with(":1.0-20230710")),
        "{answer}"
    );
    assert_eq!(results[1]["state"], "supported", "{answer}");
    assert!(results[1]["error"].is_null(), "{answer}");
    for (i, reference) in [(2, missing.as_str()), (3, "Not/A/Valid:Reference!")] {
        assert_eq!(results[i]["reference"], reference, "{answer}");
        assert_eq!(results[i]["state"], "unknown", "{answer}");
        assert!(
            results[i]["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{answer}"
        );
    }
    assert_eq!(results[4]["state"], "end-of-life", "{answer}");
    assert_eq!(results[4]["digest"], eol["digest"], "{answer}");

    // The day before the end-of-life: scheduled (end-of-life in the future).
    let answer = http.post_json(
        "/lifecycle/v1/lookup",
        &json!({"images": [sc.eol, sc.current], "at": "2023-07-09T00:00:00Z"}),
    );
    assert_eq!(answer["results"][0]["state"], "scheduled", "{answer}");
    assert_eq!(answer["results"][0]["endOfLife"], EOL_SINCE, "{answer}");
    assert_eq!(answer["results"][1]["state"], "supported", "{answer}");

    // Bad requests.
    let (code, text) = http.post("/lifecycle/v1/lookup", "{not json");
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("images"), "{text}");
    let (code, text) = http.post("/lifecycle/v1/lookup", r#"{"images": "nginx"}"#);
    assert_eq!(code, 400, "{text}");
    let many: Vec<String> = (0..1001).map(|i| format!("{}:{i}", sc.current)).collect();
    let (code, text) = http.post(
        "/lifecycle/v1/lookup",
        serde_json::to_vec(&json!({ "images": many })).unwrap(),
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("1001"), "{text}");
    let (code, text) = http.post(
        "/lifecycle/v1/lookup",
        serde_json::to_vec(&json!({"images": [sc.eol], "at": "yesterday"})).unwrap(),
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("`at`"), "{text}");
    let (code, text) = http.post("/admission/v1/validate", "{not json");
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("AdmissionReview"), "{text}");
    // Issue 21: v1beta1 is answered in v1beta1; another version is refused by name.
    let mut v1beta1 = with_images(fixture("pod-create"), &sc.eol);
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (code, text) = http.post(
        "/admission/v1/validate",
        serde_json::to_vec(&v1beta1).unwrap(),
    );
    assert_eq!(code, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1beta1", "{answer}");
    assert_eq!(answer["kind"], "AdmissionReview", "{answer}");
    let mut v2 = v1beta1.clone();
    v2["apiVersion"] = json!("admission.k8s.io/v2");
    let (code, text) = http.post("/admission/v1/validate", serde_json::to_vec(&v2).unwrap());
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("admission.k8s.io/v2"), "{text}");
    let (code, text) = http.post(
        "/admission/v1/validate",
        serde_json::to_vec(&v1beta1["request"]).unwrap(),
    );
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("bare AdmissionRequest"), "{text}");

    for path in ["/healthz", "/readyz"] {
        let (code, text) = http.get(path);
        assert_eq!(code, 200, "GET {path}: {text}");
    }
    let (code, text) = http.get("/metrics");
    assert_eq!(code, 200, "{text}");
    assert!(
        metric(&text, "lineage_lookups_total").is_some_and(|n| n > 0.0),
        "{text}"
    );
    // Issue 15: the registry's garbage collections are counted there too (none ran).
    assert_eq!(
        metric(&text, "lineage_registry_gc_runs_total"),
        Some(0.0),
        "{text}"
    );
    // The registry routes are still there.
    let (code, text) = http.get("/v2/");
    assert_eq!(code, 200, "{text}");
}

/// `lineage webhook` reading `lineage serve`: healthy, ready, and its metrics count lookups,
/// cache hits, registry requests and admission decisions.
#[test]
fn lineage_webhook_health_and_metrics() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let hook = webhook(&[]);
    let http = Http::new(&hook.host);

    for path in ["/healthz", "/readyz"] {
        let (code, text) = http.get(path);
        assert_eq!(code, 200, "GET {path}: {text}");
    }
    let (code, before) = http.get("/metrics");
    assert_eq!(code, 200, "{before}");
    let count = |text: &str, name: &str| metric(text, name).unwrap_or(0.0);

    for _ in 0..2 {
        let answer = http.post_json(
            "/lifecycle/v1/lookup",
            &json!({"images": [sc.eol, sc.current]}),
        );
        assert_eq!(answer["results"][0]["state"], "end-of-life", "{answer}");
        assert_eq!(answer["results"][1]["state"], "supported", "{answer}");
    }
    let r = admit(&http, with_images(fixture("deployment-create"), &sc.eol));
    assert_denied_eol(&r, &sc.eol, &sc.successor, "deployment-create");

    let (code, after) = http.get("/metrics");
    assert_eq!(code, 200, "{after}");
    for name in [
        "lineage_lookups_total",
        "lineage_lookup_cache_hits_total",
        "lineage_registry_requests_total",
        "lineage_admission_decisions_total",
    ] {
        assert!(
            count(&after, name) > count(&before, name),
            "{name} did not grow\n--- before\n{before}\n--- after\n{after}"
        );
    }
    // The webhook serves no registry, and collects none.
    assert_eq!(
        metric(&after, "lineage_registry_gc_runs_total"),
        None,
        "{after}"
    );
    let (code, _) = http.get("/v2/");
    assert_eq!(code, 404);
}

/// Seen from the registry's access log: a cold lookup of a tag costs at most three registry
/// requests and an immediate second one none, for `lineage webhook` reading `lineage serve`
/// and for `lineage serve`'s own policy routes; `--tag-ttl 0` resolves tags every time.
#[test]
fn a_cold_lookup_costs_at_most_three_registry_requests_and_a_warm_one_none() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let hook = webhook(&[]);
    let mut log = AccessLog::new(&server);

    let lookup = |http: &Http, image: &str, state: &str| {
        let answer = http.post_json("/lifecycle/v1/lookup", &json!({ "images": [image] }));
        assert_eq!(answer["results"][0]["state"], state, "{answer}");
    };

    let http = Http::new(&hook.host);
    lookup(&http, &sc.eol, "end-of-life");
    let cold = log.registry_requests();
    assert!(
        (1..=3).contains(&cold.len()),
        "a cold lookup sent {} registry requests: {cold:#?}",
        cold.len()
    );
    lookup(&http, &sc.eol, "end-of-life");
    let warm = log.registry_requests();
    assert!(warm.is_empty(), "a warm lookup sent requests: {warm:#?}");
    // The admission route shares the cache; a denial also looks the successor up once (is it
    // end-of-life too?), then nothing more.
    let r = admit(&http, with_images(fixture("replicaset-create"), &sc.eol));
    assert_denied_eol(&r, &sc.eol, &sc.successor, "replicaset-create");
    let successor = log.registry_requests();
    assert!(
        (1..=3).contains(&successor.len()) && successor.iter().all(|l| !l.contains(&sc.eol_digest)),
        "the successor's lookup sent {} registry requests: {successor:#?}",
        successor.len()
    );
    let r = admit(&http, with_images(fixture("replicaset-create"), &sc.eol));
    assert_denied_eol(&r, &sc.eol, &sc.successor, "replicaset-create");
    let warm = log.registry_requests();
    assert!(warm.is_empty(), "a warm admission sent requests: {warm:#?}");

    // With `--tag-ttl 0`, tags are resolved on every lookup; the referrers stay cached.
    let fresh_tags = webhook(&["--tag-ttl", "0"]);
    let http = Http::new(&fresh_tags.host);
    lookup(&http, &sc.eol, "end-of-life");
    let cold = log.registry_requests();
    assert!(
        (1..=3).contains(&cold.len()),
        "a cold lookup sent {} registry requests: {cold:#?}",
        cold.len()
    );
    lookup(&http, &sc.eol, "end-of-life");
    let again = log.registry_requests();
    assert!(
        !again.is_empty()
            && again
                .iter()
                .all(|l| l.contains("/manifests/") && !l.contains("/referrers/")),
        "with --tag-ttl 0, a second lookup resolves the tags again, and only them: {again:#?}"
    );

    // `lineage serve`'s own policy routes; the log also holds the policy requests themselves.
    let own = Http::new(&server.host);
    lookup(&own, &sc.current, "supported");
    let cold = log.registry_requests();
    assert!(
        cold.len() <= 3,
        "a cold lookup sent {} registry requests: {cold:#?}",
        cold.len()
    );
    lookup(&own, &sc.current, "supported");
    let warm = log.registry_requests();
    assert!(warm.is_empty(), "a warm lookup sent requests: {warm:#?}");
}

/// `lineage webhook --tls-cert --tls-key`: HTTPS with the given certificate, and a renewed
/// certificate (cert-manager rewrites the files in place) is served without a restart.
#[test]
fn webhook_serves_tls_and_reloads_a_renewed_certificate() {
    if !crate::support::require_tools(
        "webhook_serves_tls_and_reloads_a_renewed_certificate",
        &["openssl"],
    ) {
        return;
    }
    let s = Scratch::new();
    let first = make_certs(&s.join("first"), "first");
    let second = make_certs(&s.join("second"), "second");
    let live = s.join("live");
    std::fs::create_dir_all(&live).unwrap();
    let (cert, key) = (live.join("tls.crt"), live.join("tls.key"));
    std::fs::copy(&first.cert, &cert).unwrap();
    std::fs::copy(&first.key, &key).unwrap();
    let server = webhook(&[
        "--tls-cert",
        &cert.display().to_string(),
        "--tls-key",
        &key.display().to_string(),
    ]);
    let trusts_first = Http::https(&server.host, &first.ca);
    let trusts_second = Http::https(&server.host, &second.ca);
    assert_eq!(trusts_first.try_get("/healthz"), Some(200));
    assert_eq!(
        trusts_second.try_get("/healthz"),
        None,
        "a client trusting only the second CA must refuse the first certificate"
    );
    // Renew in place, key first (as a secret volume update swaps both).
    std::fs::copy(&second.key, &key).unwrap();
    std::fs::copy(&second.cert, &cert).unwrap();
    // The server checks the files every few seconds; wait for the new certificate, with
    // the test's patience as the only bound.
    let deadline = Instant::now() + Duration::from_secs(120);
    while trusts_second.try_get("/healthz") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        // A pause between polls, not a synchronisation: the condition above decides.
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        trusts_first.try_get("/healthz"),
        None,
        "the old certificate must no longer be served"
    );
}

/// `lineage webhook --docker-config FILE` reads registry credentials from a mounted
/// `kubernetes.io/dockerconfigjson` secret: against distribution with basic auth, a lookup
/// without them is refused for want of credentials, and with them gets the registry's
/// answer (the image does not exist).
#[test]
fn webhook_reads_credentials_from_a_dockerconfigjson_secret() {
    let Some(reg) = registry_from_env(
        "webhook_reads_credentials_from_a_dockerconfigjson_secret",
        "LINEAGE_TEST_REGISTRY_AUTH",
        true,
    ) else {
        return;
    };
    let s = Scratch::new();
    let secret = s.join(".dockerconfigjson");
    let token = crate::support::registry::pipe_through(
        "base64",
        &["-w0"],
        format!("{}:{}", reg.user(), reg.pass()).as_bytes(),
    );
    let token = String::from_utf8(token).unwrap();
    std::fs::write(
        &secret,
        json!({"auths": {(reg.host.clone()): {"auth": token.trim()}}}).to_string(),
    )
    .unwrap();
    let missing = format!("{}/{}:1.0", reg.host, unique_repo("webhook-creds"));
    let body = json!({ "images": [missing] });

    let without = webhook(&[
        "--docker-config",
        &s.join("absent.json").display().to_string(),
    ]);
    let answer = Http::new(&without.host).post_json("/lifecycle/v1/lookup", &body);
    let error = answer["results"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("credentials"), "{answer}");

    let with = webhook(&["--docker-config", &secret.display().to_string()]);
    let answer = Http::new(&with.host).post_json("/lifecycle/v1/lookup", &body);
    let error = answer["results"][0]["error"].as_str().unwrap_or_default();
    assert_eq!(answer["results"][0]["state"], "unknown", "{answer}");
    assert!(
        !error.contains("credentials")
            && (error.contains("NAME_UNKNOWN") || error.contains("MANIFEST_UNKNOWN")),
        "with the secret's credentials the registry itself answers: {answer}"
    );
}

/// The Gatekeeper ConstraintTemplate's Rego (`deploy/gatekeeper/constrainttemplate.yaml`)
/// evaluated by the real OPA (`LINEAGE_TEST_OPA`, built by `scripts/test.sh`), with
/// `external_data` answered as Gatekeeper answers it from the live `/gatekeeper/v1/lookup`
/// reply of `lineage serve`: the end-of-life image is denied naming its successor, the
/// supported one allowed, and an image that cannot be looked up denied only with
/// `failClosed`. The template is Rego v0, as Gatekeeper's default engine reads it.
#[test]
fn the_gatekeeper_template_evaluated_by_opa() {
    let Some(opa) = std::env::var_os("LINEAGE_TEST_OPA")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
    else {
        let note = "the_gatekeeper_template_evaluated_by_opa: LINEAGE_TEST_OPA is not set \
                    (scripts/test.sh builds opa)";
        assert!(
            !crate::support::in_ci(),
            "{note}; CI is set, so this is a failure rather than a skip"
        );
        eprintln!("SKIPPED {note}");
        return;
    };
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let missing = server.reference("flasksample", ":does-not-exist");
    let http = Http::new(&server.host);

    // The template's Rego, and OPA's capabilities plus Gatekeeper's `external_data`.
    let template: serde_yaml::Value = serde_yaml::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../deploy/gatekeeper/constrainttemplate.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    let rego = template["spec"]["targets"][0]["rego"].as_str().unwrap();
    std::fs::write(s.join("template.rego"), rego).unwrap();
    let mut caps: Value = serde_json::from_slice(&crate::support::run(
        std::process::Command::new(&opa).args(["capabilities", "--current"]),
    ))
    .unwrap();
    caps["builtins"].as_array_mut().unwrap().push(json!({
        "name": "external_data",
        "decl": {"type": "function", "args": [{"type": "any"}], "result": {"type": "any"}}
    }));
    std::fs::write(s.join("caps.json"), caps.to_string()).unwrap();
    std::fs::write(
        s.join("gatekeeper.rego"),
        "package gatekeeper\n\nexternal_data(req) := data.provider_answer\n",
    )
    .unwrap();

    // Violations for a Deployment running `images`, with the template's `parameters`.
    let violations = |images: &[&str], parameters: Value| -> Vec<String> {
        let answer = http.post_json(
            "/gatekeeper/v1/lookup",
            &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
                "request": {"keys": images}}),
        );
        // What Gatekeeper's external_data returns from a ProviderResponse.
        let (mut responses, mut errors) = (Vec::new(), Vec::new());
        for item in answer["response"]["items"].as_array().unwrap() {
            match item["error"].as_str().filter(|e| !e.is_empty()) {
                Some(e) => errors.push(json!([item["key"], e])),
                None => responses.push(json!([item["key"], item["value"]])),
            }
        }
        let data = json!({"provider_answer": {
            "responses": responses, "errors": errors, "status_code": 200,
            "system_error": answer["response"]["systemError"].as_str().unwrap_or_default()}});
        std::fs::write(s.join("data.json"), data.to_string()).unwrap();
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, img)| json!({"name": format!("c{i}"), "image": img}))
            .collect();
        let input = json!({"review": {"object": {"kind": "Deployment",
            "spec": {"template": {"spec": {"containers": containers}}}}},
            "parameters": parameters});
        std::fs::write(s.join("input.json"), input.to_string()).unwrap();
        let out: Value = serde_json::from_slice(&crate::support::run(
            std::process::Command::new(&opa).current_dir(s.path()).args([
                "eval",
                "--v0-compatible",
                "--capabilities",
                "caps.json",
                "-d",
                "template.rego",
                "-d",
                "gatekeeper.rego",
                "-d",
                "data.json",
                "-i",
                "input.json",
                "--format",
                "json",
                "data.lineageeolimages.violation with external_data as data.gatekeeper.external_data",
            ]),
        ))
        .unwrap();
        let mut msgs: Vec<String> = out["result"][0]["expressions"][0]["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no violation set in {out}"))
            .iter()
            .map(|v| v["msg"].as_str().unwrap().to_string())
            .collect();
        msgs.sort();
        msgs
    };

    let denied = violations(&[&sc.eol, &sc.current], json!({}));
    assert_eq!(
        denied,
        [format!(
            "image {} is end-of-life since {EOL_SINCE}; move to {}",
            sc.eol, sc.successor
        )],
    );
    assert!(violations(&[&sc.current], json!({})).is_empty());
    // A lookup that fails: allowed (fail open) unless failClosed.
    assert!(violations(&[&missing], json!({})).is_empty());
    let closed = violations(&[&missing, &sc.current], json!({"failClosed": true}));
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert!(
        closed[0].starts_with(&format!("lineage could not look up image {missing}:")),
        "{closed:?}"
    );
    // A grace period still running admits the end-of-life image.
    assert!(violations(&[&sc.eol], json!({"gracePeriod": "876000h"})).is_empty());
}

/// The Kyverno ClusterPolicy (`deploy/kyverno/clusterpolicy.yaml`) evaluated with the
/// reference JMESPath implementation (Python's `jmespath`, `LINEAGE_TEST_JMESPATH_PYTHON`;
/// Kyverno's CLI cannot be built with `go install`) against live `/lifecycle/v1/lookup`
/// answers of `lineage serve`: its foreach list finds every container of a Pod, the
/// end-of-life image is denied with a message naming its end-of-life and successor, the
/// supported one is not, and a failed call falls back to the `default` (fail open).
#[test]
fn the_kyverno_policy_evaluated_with_jmespath() {
    let Some(python) = std::env::var_os("LINEAGE_TEST_JMESPATH_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
    else {
        let note = "the_kyverno_policy_evaluated_with_jmespath: LINEAGE_TEST_JMESPATH_PYTHON \
                    is not set (scripts/test.sh installs jmespath)";
        assert!(
            !crate::support::in_ci(),
            "{note}; CI is set, so this is a failure rather than a skip"
        );
        eprintln!("SKIPPED {note}");
        return;
    };
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let unreachable = "127.0.0.1:1/app:1.0".to_string();
    let http = Http::new(&server.host);

    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kyverno/clusterpolicy.yaml"),
    )
    .unwrap();
    let policies: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(policies.len(), 2);
    let rule = |i: usize| -> Value {
        serde_json::to_value(&policies[i]["spec"]["rules"][0]["validate"]).unwrap()
    };
    // The answers Kyverno's apiCall gets: lineage's reply, or none (the call failed).
    let mut answers = serde_json::Map::new();
    for image in [&sc.eol, &sc.current] {
        answers.insert(
            image.clone(),
            http.post_json("/lifecycle/v1/lookup", &json!({"images": [image]})),
        );
    }
    answers.insert(unreachable.clone(), Value::Null);
    let evaluate = |rule: Value, spec: Value| -> Vec<Value> {
        let input = json!({"rule": rule, "request": {"object": {"kind": "Pod", "spec": spec}},
            "answers": answers});
        let mut child = std::process::Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kyverno_eval.py"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            &mut child.stdin.take().unwrap(),
            input.to_string().as_bytes(),
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let pod = json!({"initContainers": [{"name": "init", "image": sc.current}],
        "containers": [{"name": "web", "image": sc.eol}, {"name": "side", "image": unreachable}]});
    let results = evaluate(rule(0), pod);
    let images: Vec<&str> = results
        .iter()
        .map(|r| r["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, [&sc.current, &sc.eol, &unreachable], "{results:?}");
    let denied: Vec<&Value> = results.iter().filter(|r| r["denied"] == true).collect();
    assert_eq!(denied.len(), 1, "{results:?}");
    assert_eq!(denied[0]["image"], sc.eol.as_str());
    assert_eq!(
        denied[0]["message"],
        format!(
            "image {} is end-of-life since {EOL_SINCE}; successor: {}",
            sc.eol, sc.successor
        )
        .as_str()
    );

    // The ephemeral-container policy reads only ephemeralContainers.
    let debug = json!({"containers": [{"name": "web", "image": sc.current}],
        "ephemeralContainers": [{"name": "debugger", "image": sc.eol}]});
    let results = evaluate(rule(1), debug);
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["image"], sc.eol.as_str());
    assert_eq!(results[0]["denied"], true, "{results:?}");
}

/// A registry that accepts connections and then goes silent (toxiproxy's `timeout` toxic
/// between the webhook and `lineage serve`): admission still answers, within the lookup's
/// deadline, with the configured decision: allowed with a warning by default, denied with
/// `--fail-closed`. The Gatekeeper route reports the item's error.
#[test]
fn a_silent_registry_gets_the_fail_open_or_closed_answer() {
    let test = "a_silent_registry_gets_the_fail_open_or_closed_answer";
    let Some(toxi) = crate::support::toxiproxy::Toxiproxy::start(test) else {
        return;
    };
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    scenario(&s, &server.reference("flasksample", ""));
    let via = toxi.proxy("silent", &server.host);
    let image = format!("{via}/flasksample:1.0-20230707");
    let open = webhook(&[]);
    let closed = webhook(&["--fail-closed"]);
    let (open, closed) = (Http::new(&open.host), Http::new(&closed.host));

    // Reachable first: the end-of-life image is denied by both.
    for http in [&open, &closed] {
        let r = admit(http, with_images(fixture("pod-create"), &image));
        assert_eq!(r["allowed"], false, "{r}");
    }

    // Silent: the connection is accepted and nothing comes back.
    toxi.add("silent", "timeout", "downstream", json!({"timeout": 0}));
    let silent = format!("{via}/flasksample:1.0-20230710");
    let r = admit(&open, with_images(fixture("pod-create"), &silent));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(warnings(&r).iter().any(|w| w.contains(&silent)), "{r}");
    let r = admit(&closed, with_images(fixture("pod-create"), &silent));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&silent)),
        "{r}"
    );
    let answer = open.post_json(
        "/gatekeeper/v1/lookup",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
            "request": {"keys": [silent]}}),
    );
    let item = &answer["response"]["items"][0];
    let error = item["error"]
        .as_str()
        .or_else(|| item["value"]["error"].as_str());
    assert!(error.is_some_and(|e| !e.is_empty()), "{answer}");
    toxi.remove("silent", "timeout");
}

// --- Trust and exposure (DESIGN §8.6) ---------------------------------------------------

/// A TCP listener the test owns: a lookup pointed at it must never connect.
struct Trap {
    listener: TcpListener,
    host: String,
}

impl Trap {
    fn new() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = listener.local_addr().unwrap().to_string();
        Trap { listener, host }
    }

    /// Nobody connected so far. Called after the server answered: a connection it made for
    /// that answer completed its handshake before the answer, so it would be waiting here.
    #[track_caller]
    fn assert_untouched(&self, what: &str) {
        match self.listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, peer)) => panic!("{what}: the server connected to {} from {peer}", self.host),
            Err(e) => panic!("{what}: accept failed: {e}"),
        }
    }
}

fn serve_refusal(registry: &str) -> String {
    format!(
        "registry {registry} is not allowed; lineage serve answers for its own repositories (--lookup-registry adds others)"
    )
}

/// `lineage serve` answers for its own repositories only: under its address and under
/// `localhost:PORT`, read from its store without a request to itself; an image of any other
/// registry gets a per-item refusal on every route (a warning at admission, failing open),
/// and the server never connects to it.
#[test]
fn lineage_serve_answers_only_for_its_own_repositories() {
    let s = Scratch::new();
    let server = Serve::start(&s.join("root"), &[]);
    let sc = scenario(&s, &server.reference("flasksample", ""));
    let http = Http::new(&server.host);
    let trap = Trap::new();
    let foreign = format!("{}/flasksample:1.0", trap.host);
    let port = server.host.rsplit(':').next().unwrap();
    let by_localhost = sc.eol.replace(&server.host, &format!("localhost:{port}"));

    let before = server.mark("before-lookups");
    let answer = http.post_json(
        "/lifecycle/v1/lookup",
        &json!({"images": [sc.eol, foreign, by_localhost]}),
    );
    let after = server.mark("after-lookups");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["state"], "end-of-life", "{answer}");
    assert_eq!(
        results[1],
        json!({"reference": foreign, "error": serve_refusal(&trap.host), "state": "unknown"}),
        "{answer}"
    );
    assert_eq!(results[2]["state"], "end-of-life", "{answer}");
    assert_eq!(results[2]["digest"], results[0]["digest"], "{answer}");
    let requests = server.requests();
    let own: Vec<&String> = requests[before + 1..after]
        .iter()
        .filter(|l| l.contains("/v2/flasksample"))
        .collect();
    assert!(own.is_empty(), "lookups went over HTTP to itself: {own:#?}");

    let answer = http.post_json(
        "/gatekeeper/v1/lookup",
        &json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
            "request": {"keys": [foreign, sc.current]}}),
    );
    let items = answer["response"]["items"].as_array().unwrap();
    assert_eq!(items[0]["error"], serve_refusal(&trap.host), "{answer}");
    assert!(items[0]["value"].is_null(), "{answer}");
    assert_eq!(items[1]["value"]["state"], "supported", "{answer}");

    let r = admit(&http, with_images(fixture("pod-create"), &foreign));
    assert_allowed_warning(
        &r,
        &[&serve_refusal(&trap.host)],
        "a foreign image at admission",
    );

    trap.assert_untouched("lineage serve");
}

/// `lineage serve --lookup-registry` reads the registries it names over the network, and
/// still refuses the others; `lineage webhook --lookup-registry` likewise.
#[test]
fn lookup_registry_names_the_registries_read_over_the_network() {
    let s = Scratch::new();
    let origin = Serve::start(&s.join("origin"), &[]);
    let sc = scenario(&s, &origin.reference("flasksample", ""));
    let trap = Trap::new();
    let foreign = format!("{}/flasksample:1.0", trap.host);

    let front = Serve::start(&s.join("front"), &["--lookup-registry", &origin.host]);
    let hook = webhook(&["--lookup-registry", &origin.host]);
    for (server, refusal) in [
        (&front, serve_refusal(&trap.host)),
        (
            &hook,
            format!(
                "registry {} is not allowed; lineage webhook answers for the registries named with --lookup-registry",
                trap.host
            ),
        ),
    ] {
        let answer = Http::new(&server.host).post_json(
            "/lifecycle/v1/lookup",
            &json!({"images": [sc.eol, foreign]}),
        );
        assert_eq!(answer["results"][0]["state"], "end-of-life", "{answer}");
        assert_eq!(answer["results"][1]["error"], refusal.as_str(), "{answer}");
    }
    trap.assert_untouched("--lookup-registry");

    let r = crate::support::lineage(s.path())
        .args(["webhook", "--lookup-registry", "https://registry.example"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2), "{r:?}");
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("HOST[:PORT]"),
        "{r:?}"
    );
}

/// With `--htpasswd`, the lookup, Gatekeeper, metrics and admission routes of `lineage serve`
/// (and its untagged listing) want the registry's credentials, the health routes do not, and `--admission-without-auth`
/// opens the admission route alone.
#[test]
fn lineage_serve_policy_routes_want_its_credentials() {
    if !crate::support::require_tools(
        "lineage_serve_policy_routes_want_its_credentials",
        &["htpasswd"],
    ) {
        return;
    }
    let s = Scratch::new();
    let htpasswd = s.join("htpasswd");
    crate::support::tool(
        "htpasswd",
        ["-Bbc", htpasswd.to_str().unwrap(), "alice", "s3cret"],
    );
    let htpasswd = htpasswd.to_str().unwrap();
    let closed = Serve::start(&s.join("closed"), &["--htpasswd", htpasswd]);
    let open_admission = Serve::start(
        &s.join("open"),
        &["--htpasswd", htpasswd, "--admission-without-auth"],
    );
    let lookup = |server: &Serve, user: Option<(&str, &str)>| {
        let http = Http::new(&server.host);
        let url = format!("{}/lifecycle/v1/lookup", http.base);
        let body = json!({"images": [server.reference("app", ":missing")]});
        let mut request = http
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap());
        if let Some((u, p)) = user {
            request = request.basic_auth(u, Some(p));
        }
        http.send(request)
    };
    for server in [&closed, &open_admission] {
        let (code, text) = lookup(server, None);
        assert_eq!(code, 401, "{text}");
        let (code, text) = lookup(server, Some(("alice", "nope")));
        assert_eq!(code, 401, "{text}");
        let (code, text) = lookup(server, Some(("alice", "s3cret")));
        assert_eq!(code, 200, "{text}");
        let answer = parse(&text, "lookup with credentials");
        assert_eq!(answer["results"][0]["state"], "unknown", "{answer}");
        let http = Http::new(&server.host);
        let (code, text) = http.post(
            "/gatekeeper/v1/lookup",
            serde_json::to_vec(&json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1",
                "kind": "ProviderRequest", "request": {"keys": ["a"]}}))
            .unwrap(),
        );
        assert_eq!(code, 401, "{text}");
        assert_eq!(http.get("/metrics").0, 401);
        // The registry's own listing of untagged manifests is a read like a pull.
        assert_eq!(http.get("/v2/app/_lineage/untagged").0, 401);
        for path in ["/healthz", "/readyz"] {
            assert_eq!(http.get(path).0, 200, "{path}");
        }
    }
    let review = serde_json::to_vec(&with_images(
        fixture("pod-create"),
        &closed.reference("app", ":1"),
    ))
    .unwrap();
    let (code, text) = Http::new(&closed.host).post("/admission/v1/validate", review);
    assert_eq!(code, 401, "{text}");
    // Answered (200, the uid echoed) without credentials.
    admit(
        &Http::new(&open_admission.host),
        with_images(
            fixture("pod-create"),
            &open_admission.reference("app", ":1"),
        ),
    );
}
