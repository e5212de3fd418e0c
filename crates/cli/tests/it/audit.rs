//! `lineage audit` (issue 8): a fleet view over `lineage serve`.
//!
//! The fleet: the lifecycle scenario's two revisions of `flasksample:1.0` (the first
//! end-of-life since 2023-07-10T08:00:00Z, succeeded by `1.0-20230710`), a scheduled and a
//! superseded revision with their current ones, thirteen services (released, so supported,
//! or merely copied, so unknown) and one image that does not exist: 20 distinct images. A
//! generated `kubectl get pods -A -o json` document runs them in 200 pods, spelt several
//! ways (tag, digest, tag and digest, with and without `:latest`), with the `imageID`s a
//! kubelet reports, including pods still running the end-of-life revision under the moved
//! `1.0` tag, and pending pods of the missing image.
//!
//! The static inputs (a plain list, YAML manifests, bad files) are in
//! `tests/fixtures/audit/`, with `{{HOST}}` for the test registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::serve::Serve;
use crate::support::{Run, Scratch, lineage, lineage_ok, lineage_run};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("audit")
        .join(name)
}

/// The expected row of one distinct image.
#[derive(Debug, Clone)]
struct Expected {
    state: &'static str,
    /// The successor's reference ends with this.
    successor: Option<String>,
    end_of_life: Option<&'static str>,
}

/// The registry with the fleet's images. `server` is declared first so it stops before the
/// scratch directory is removed.
struct Fleet {
    server: Serve,
    s: Scratch,
    /// `flasksample:1.0-20230707` (end-of-life) and `:1.0-20230710`.
    old: String,
    new: String,
    /// `billing:2.0-20240101` (scheduled) and `:2.0-20240201`.
    b1: String,
    b2: String,
    /// `search:3.0-a` (superseded) and `:3.0-b`.
    s1: String,
    s2: String,
    /// `team/svc-NN`: even ones released (supported), odd ones copied (unknown).
    svc: Vec<String>,
}

impl Fleet {
    fn host(&self) -> &str {
        &self.server.host
    }

    fn resolve(&self, reference: &str) -> String {
        lineage_ok(self.s.path(), &["resolve", reference]).stdout_text()
    }

    fn start() -> Fleet {
        let s = Scratch::new();
        let server = Serve::start(&s.join("root"), &[]);
        let builds = s.join("builds");
        let tags: Vec<String> = (0..17).map(|i| format!("img{i:02}")).collect();
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        crate::support::scenario::build_images(&builds, &tag_refs);
        let src = |t: &str| format!("oci:{}:{t}", builds.display());
        let h = server.host.clone();
        let run = |args: &[&str]| {
            lineage_ok(s.path(), args);
        };
        let flask = crate::support::scenario::scenario(&s, &format!("{h}/flasksample"));
        let billing = format!("{h}/billing");
        run(&[
            "release",
            &src("img00"),
            &billing,
            "--version",
            "2.0",
            "--created",
            "2024-01-01T00:00:00Z",
        ]);
        run(&[
            "release",
            &src("img01"),
            &billing,
            "--version",
            "2.0",
            "--created",
            "2024-02-01T00:00:00Z",
            "--eol-at",
            "2099-01-01T00:00:00Z",
        ]);
        for (img, revision, created) in [
            ("img02", "a", "2024-01-01T00:00:00Z"),
            ("img03", "b", "2024-03-01T00:00:00Z"),
        ] {
            run(&[
                "push",
                &src(img),
                &format!("{h}/search:3.0-{revision}"),
                "--version",
                "3.0",
                "--revision",
                revision,
                "--created",
                created,
                "--tag",
                "3.0",
            ]);
        }
        for i in 0..13usize {
            let img = src(&format!("img{:02}", 4 + i));
            let repo = format!("{h}/team/svc-{i:02}");
            if i.is_multiple_of(2) {
                run(&[
                    "release",
                    &img,
                    &repo,
                    "--version",
                    "1.0",
                    "--created",
                    "2024-05-01T00:00:00Z",
                ]);
            } else {
                run(&["copy", &img, &format!("{repo}:latest")]);
            }
        }
        let mut fleet = Fleet {
            server,
            s,
            old: flask.eol_digest,
            new: flask.successor_digest,
            b1: String::new(),
            b2: String::new(),
            s1: String::new(),
            s2: String::new(),
            svc: Vec::new(),
        };
        fleet.b1 = fleet.resolve(&format!("{h}/billing:2.0-20240101"));
        fleet.b2 = fleet.resolve(&format!("{h}/billing:2.0"));
        fleet.s1 = fleet.resolve(&format!("{h}/search:3.0-a"));
        fleet.s2 = fleet.resolve(&format!("{h}/search:3.0"));
        fleet.svc = (0..13usize)
            .map(|i| {
                let tag = if i.is_multiple_of(2) { "1.0" } else { "latest" };
                fleet.resolve(&format!("{h}/team/svc-{i:02}:{tag}"))
            })
            .collect();
        fleet
    }

    /// What each distinct image's row must say, by digest (`ghost` for the missing image).
    fn expected(&self) -> BTreeMap<String, Expected> {
        let h = self.host();
        let mut e = BTreeMap::new();
        let mut put = |d: &str, state, successor: Option<String>, end_of_life| {
            e.insert(
                d.to_string(),
                Expected {
                    state,
                    successor,
                    end_of_life,
                },
            );
        };
        put(
            &self.old,
            "end-of-life",
            Some(format!("{h}/flasksample:1.0-20230710")),
            Some("2023-07-10T08:00:00Z"),
        );
        put(&self.new, "supported", None, None);
        put(
            &self.b1,
            "scheduled",
            Some(format!("{h}/billing:2.0-20240201")),
            Some("2099-01-01T00:00:00Z"),
        );
        put(&self.b2, "supported", None, None);
        put(&self.s1, "superseded", Some(String::new()), None);
        put(&self.s2, "supported", None, None);
        for (i, d) in self.svc.iter().enumerate() {
            put(
                d,
                if i.is_multiple_of(2) {
                    "supported"
                } else {
                    "unknown"
                },
                None,
                None,
            );
        }
        put("ghost", "unknown", None, None);
        e
    }

    /// Send a request that marks a point in the access log, and wait until the server has
    /// logged it: every request the audit made before it is then in the log too.
    fn mark(&self, n: u32) -> usize {
        self.server.mark(&format!("audit-test-marker-{n}"))
    }

    /// The `{{HOST}}` fixture `name`, made concrete in the scratch directory.
    fn fixture(&self, name: &str) -> PathBuf {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let path = self.s.join(name);
        std::fs::write(&path, text.replace("{{HOST}}", self.host())).unwrap();
        path
    }
}

// --- The generated `kubectl get pods -A -o json` ----------------------------------------

/// One way a container names its image: as written, the `imageID` the kubelet reports
/// (`None`: not started), and which distinct image that is (its digest, or `ghost`).
#[derive(Clone)]
struct Spelling {
    image: String,
    image_id: Option<String>,
    key: String,
}

/// A workload whose pods the generator writes: replica `r` uses spelling `r % len` of each
/// container's list.
struct Workload {
    namespace: &'static str,
    name: &'static str,
    replicas: usize,
    init: Vec<(&'static str, Vec<Spelling>)>,
    containers: Vec<(&'static str, Vec<Spelling>)>,
}

/// A deterministic generator of names and ids (xorshift64).
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn chars(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    fn hex(&mut self, n: usize) -> String {
        let mut s = String::new();
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }

    fn uid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

/// The pods of `workloads` as `kubectl get pods -A -o json` prints them.
fn pod_list(workloads: &[Workload]) -> Value {
    let mut ids = Ids(0x5eed_1234_abcd_0042);
    let mut items = Vec::new();
    for (w, workload) in workloads.iter().enumerate() {
        let hash = ids.chars(10);
        let owner_uid = ids.uid();
        for r in 0..workload.replicas {
            let name = format!("{}-{hash}-{}", workload.name, ids.chars(5));
            let node = format!("node-{}", (w + r) % 7 + 1);
            let started = format!("2024-06-{:02}T{:02}:{:02}:00Z", 1 + r % 28, w % 24, r % 60);
            let spelled = |list: &[(&str, Vec<Spelling>)]| -> Vec<(String, Spelling)> {
                list.iter()
                    .map(|(n, v)| (n.to_string(), v[r % v.len()].clone()))
                    .collect()
            };
            let containers = spelled(&workload.containers);
            let init = spelled(&workload.init);
            let pending = containers.iter().any(|(_, s)| s.image_id.is_none());
            let spec_of = |(n, s): &(String, Spelling)| {
                json!({
                    "name": n, "image": s.image, "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"
                })
            };
            let mut status_of = |(n, s): &(String, Spelling), init: bool| {
                let state = match (&s.image_id, init) {
                    (None, _) => json!({"waiting": {"reason": "ImagePullBackOff",
                        "message": format!("Back-off pulling image \"{}\"", s.image)}}),
                    (Some(_), true) => json!({"terminated": {"exitCode": 0, "reason": "Completed",
                        "startedAt": started, "finishedAt": started,
                        "containerID": format!("containerd://{}", ids.hex(64))}}),
                    (Some(_), false) => json!({"running": {"startedAt": started}}),
                };
                let mut st = json!({
                    "name": n, "image": s.image,
                    "imageID": s.image_id.clone().unwrap_or_default(),
                    "ready": s.image_id.is_some() && !init,
                    "restartCount": 0, "started": s.image_id.is_some() && !init,
                    "state": state, "lastState": {}
                });
                if s.image_id.is_some() {
                    st["containerID"] = json!(format!("containerd://{}", ids.hex(64)));
                }
                st
            };
            let mut spec = json!({
                "containers": containers.iter().map(spec_of).collect::<Vec<_>>(),
                "dnsPolicy": "ClusterFirst", "enableServiceLinks": true,
                "nodeName": node, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
                "restartPolicy": "Always", "schedulerName": "default-scheduler",
                "securityContext": {}, "serviceAccount": "default",
                "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                     "operator": "Exists", "tolerationSeconds": 300}
                ]
            });
            let mut status = json!({
                "phase": if pending { "Pending" } else { "Running" },
                "hostIP": format!("10.0.0.{}", (w + r) % 7 + 10),
                "podIP": format!("10.244.{}.{}", w, r + 2),
                "qosClass": "Burstable",
                "startTime": started,
                "conditions": [
                    {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": started},
                    {"type": "Ready", "status": if pending { "False" } else { "True" }, "lastProbeTime": null, "lastTransitionTime": started},
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": started}
                ],
                "containerStatuses": containers.iter().map(|c| status_of(c, false)).collect::<Vec<_>>()
            });
            if !init.is_empty() {
                spec["initContainers"] = json!(init.iter().map(spec_of).collect::<Vec<_>>());
                status["initContainerStatuses"] =
                    json!(init.iter().map(|c| status_of(c, true)).collect::<Vec<_>>());
            }
            items.push(json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "creationTimestamp": started,
                    "generateName": format!("{}-{hash}-", workload.name),
                    "labels": {"app.kubernetes.io/name": workload.name, "pod-template-hash": hash},
                    "name": name,
                    "namespace": workload.namespace,
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true,
                        "kind": "ReplicaSet", "name": format!("{}-{hash}", workload.name),
                        "uid": owner_uid
                    }],
                    "resourceVersion": format!("{}", 100_000 + items.len() * 7),
                    "uid": ids.uid()
                },
                "spec": spec,
                "status": status
            }));
        }
    }
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

impl Fleet {
    /// 200 pods in 11 workloads and 6 namespaces, using the 20 distinct images.
    fn workloads(&self) -> Vec<Workload> {
        let h = self.host();
        // Tag spellings run the digest the kubelet reports; digest spellings run themselves.
        let tag = |image: String, digest: &str, pullable: bool| Spelling {
            image_id: Some(if pullable {
                let repo = image.rsplit_once(':').map_or(image.as_str(), |(r, _)| r);
                format!("docker-pullable://{repo}@{digest}")
            } else {
                let repo = image.split_once('@').map_or(image.as_str(), |(r, _)| r);
                let repo = if repo.rfind(':') > repo.rfind('/') {
                    repo.rsplit_once(':').map_or(repo, |(r, _)| r)
                } else {
                    repo
                };
                format!("{repo}@{digest}")
            }),
            image,
            key: digest.to_string(),
        };
        let svc = |i: usize| {
            let d = &self.svc[i];
            if i.is_multiple_of(2) {
                vec![tag(format!("{h}/team/svc-{i:02}:1.0"), d, false)]
            } else {
                // Untagged and `:latest`: one image, spelt two ways.
                vec![
                    tag(format!("{h}/team/svc-{i:02}"), d, false),
                    tag(format!("{h}/team/svc-{i:02}:latest"), d, false),
                ]
            }
        };
        let flask_tag = |t: &str, d: &str| tag(format!("{h}/flasksample:{t}"), d, true);
        vec![
            Workload {
                namespace: "shop",
                name: "flasksample",
                replicas: 40,
                init: vec![],
                containers: vec![
                    (
                        "web",
                        vec![
                            flask_tag("1.0", &self.new),
                            flask_tag("1.0", &self.new),
                            // Started before `1.0` moved: still the end-of-life revision.
                            flask_tag("1.0", &self.old),
                            flask_tag("1.0-20230710", &self.new),
                        ],
                    ),
                    ("metrics", svc(1)),
                ],
            },
            Workload {
                namespace: "shop",
                name: "legacy-checkout",
                replicas: 12,
                init: vec![],
                containers: vec![(
                    "web",
                    vec![
                        flask_tag("1.0-20230707", &self.old),
                        tag(format!("{h}/flasksample@{}", self.old), &self.old, false),
                    ],
                )],
            },
            Workload {
                namespace: "billing",
                name: "invoices",
                replicas: 10,
                init: vec![("migrate", svc(3))],
                containers: vec![(
                    "api",
                    vec![tag(format!("{h}/billing:2.0-20240101"), &self.b1, false)],
                )],
            },
            Workload {
                namespace: "billing",
                name: "payments",
                replicas: 16,
                init: vec![],
                containers: vec![
                    (
                        "api",
                        vec![
                            tag(format!("{h}/billing:2.0"), &self.b2, true),
                            tag(format!("{h}/billing:2.0@{}", self.b2), &self.b2, false),
                        ],
                    ),
                    ("proxy", svc(5)),
                ],
            },
            Workload {
                namespace: "search",
                name: "indexer",
                replicas: 14,
                init: vec![],
                containers: vec![(
                    "indexer",
                    vec![tag(format!("{h}/search:3.0-a"), &self.s1, false)],
                )],
            },
            Workload {
                namespace: "search",
                name: "query",
                replicas: 18,
                init: vec![],
                containers: vec![
                    (
                        "query",
                        vec![tag(format!("{h}/search@{}", self.s2), &self.s2, false)],
                    ),
                    ("cache", svc(0)),
                ],
            },
            Workload {
                namespace: "platform",
                name: "gateway",
                replicas: 10,
                init: vec![],
                containers: vec![("gateway", svc(2)), ("auth", svc(4))],
            },
            Workload {
                namespace: "platform",
                name: "services",
                replicas: 40,
                init: vec![],
                containers: vec![(
                    "app",
                    [2, 4, 6, 7, 8].iter().flat_map(|&i| svc(i)).collect(),
                )],
            },
            Workload {
                namespace: "monitoring",
                name: "node-exporter",
                replicas: 20,
                init: vec![],
                containers: vec![("exporter", svc(9)), ("kube-rbac-proxy", svc(10))],
            },
            Workload {
                namespace: "batch",
                name: "reports",
                replicas: 12,
                init: vec![("fetch", svc(12))],
                containers: vec![("report", svc(11))],
            },
            Workload {
                namespace: "batch",
                name: "nightly",
                replicas: 8,
                init: vec![],
                containers: vec![(
                    "job",
                    vec![Spelling {
                        image: format!("{h}/team/ghost:1.0"),
                        image_id: None,
                        key: "ghost".into(),
                    }],
                )],
            },
        ]
    }
}

/// The number of container images in a pod list, counted from its JSON.
fn containers_in(list: &Value) -> usize {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pod| {
            ["containers", "initContainers", "ephemeralContainers"]
                .iter()
                .filter_map(|k| pod["spec"][k].as_array())
                .map(|a| a.iter().filter(|c| c["image"].is_string()).count())
                .sum::<usize>()
        })
        .sum()
}

/// The uses of each distinct image the workloads make, by key.
fn uses_by_key(workloads: &[Workload]) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for w in workloads {
        for r in 0..w.replicas {
            for (_, v) in w.init.iter().chain(&w.containers) {
                *n.entry(v[r % v.len()].key.clone()).or_insert(0) += 1;
            }
        }
    }
    n
}

fn rows_of(r: &Run) -> Vec<Value> {
    serde_json::from_slice::<Value>(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&r.stdout)))
        .as_array()
        .unwrap()
        .clone()
}

fn key_of(row: &Value) -> String {
    row["digest"].as_str().unwrap_or("ghost").to_string()
}

fn rank(state: &str) -> u8 {
    match state {
        "end-of-life" => 0,
        "scheduled" => 1,
        "superseded" => 2,
        "unknown" => 3,
        "supported" => 4,
        other => panic!("unexpected state {other}"),
    }
}

/// Rows in the order the audit promises: worst state first, then by image.
fn assert_sorted(rows: &[Value]) {
    let order: Vec<(u8, String)> = rows
        .iter()
        .map(|r| {
            (
                rank(r["state"].as_str().unwrap()),
                r["image"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "rows are not worst first, then by image");
}

// --- The tests ------------------------------------------------------------------------

/// The acceptance test of issue 8 part 3: 200 pods, 20 distinct images, at most three
/// registry requests per distinct image; then every output, `--fail-on`, `--at` and stdin.
#[test]
fn a_fleet_of_200_pods_and_20_images() {
    let fleet = Fleet::start();
    let h = fleet.host().to_string();
    let workloads = fleet.workloads();
    let list = pod_list(&workloads);
    assert_eq!(list["items"].as_array().unwrap().len(), 200);
    let containers = containers_in(&list);
    let pods = fleet.s.join("pods.json");
    std::fs::write(&pods, serde_json::to_vec_pretty(&list).unwrap()).unwrap();
    let pods = pods.to_str().unwrap().to_string();
    let cwd = fleet.s.path();

    let before = fleet.mark(1);
    let r = lineage_ok(cwd, &["audit", &pods, "--output", "json"]);
    let after = fleet.mark(2);
    let sent: Vec<String> = fleet.server.requests()[before + 1..after]
        .iter()
        .filter(|l| l.contains("path=/v2/"))
        .cloned()
        .collect();
    eprintln!(
        "audit of {containers} containers in 200 pods: {} registry requests for 20 images",
        sent.len()
    );
    assert!(
        sent.len() <= 3 * 20,
        "the audit sent {} registry requests for 20 distinct images:\n{}",
        sent.len(),
        sent.join("\n")
    );

    // One row per distinct image, with its state, end-of-life, successor and every use.
    let rows = rows_of(&r);
    let expected = fleet.expected();
    let uses = uses_by_key(&workloads);
    assert_eq!(rows.len(), 20, "{rows:#?}");
    assert_eq!(expected.len(), 20);
    assert_sorted(&rows);
    let mut total = 0;
    for row in &rows {
        let key = key_of(row);
        let e = expected
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected row {row:#}"));
        assert_eq!(row["state"], e.state, "{row:#}");
        assert_eq!(
            row["endOfLife"].as_str(),
            e.end_of_life,
            "end-of-life of {row:#}"
        );
        match &e.successor {
            Some(s) => assert!(
                row["successor"]["reference"]
                    .as_str()
                    .is_some_and(|r| r.ends_with(s.as_str())),
                "successor of {row:#}"
            ),
            None => assert!(row["successor"].is_null(), "successor of {row:#}"),
        }
        let n = row["uses"].as_array().unwrap().len();
        assert_eq!(n, uses[&key], "uses of {row:#}");
        total += n;
        assert_eq!(
            row.get("error").is_some(),
            key == "ghost",
            "only the missing image has an error: {row:#}"
        );
    }
    assert_eq!(total, containers, "the uses add up to the containers");

    // The end-of-life row comes first, shown as its most used spelling: pods still running
    // the old revision under the moved `1.0` tag, found by their imageID.
    let eol = &rows[0];
    assert_eq!(eol["state"], "end-of-life");
    assert_eq!(eol["image"], format!("{h}/flasksample:1.0"));
    assert_eq!(
        eol["reference"],
        format!("{h}/flasksample:1.0@{}", fleet.old)
    );
    assert_eq!(eol["successor"]["digest"], fleet.new.as_str());
    let first_use = &eol["uses"][0];
    assert_eq!(first_use["namespace"], "shop");
    assert_eq!(first_use["kind"], "Pod");
    assert_eq!(first_use["container"], "web");
    assert!(
        first_use["name"]
            .as_str()
            .unwrap()
            .starts_with("flasksample-")
    );
    // The same tag, running the current revision, is another row.
    let current = rows.iter().find(|r| key_of(r) == fleet.new).unwrap();
    assert_eq!(current["image"], format!("{h}/flasksample:1.0"));
    // Untagged and `:latest` are one image.
    let svc1 = rows.iter().find(|r| key_of(r) == fleet.svc[1]).unwrap();
    assert_eq!(svc1["uses"].as_array().unwrap().len(), 40);
    // The superseded revision names the current one as its successor.
    let superseded = rows.iter().find(|r| key_of(r) == fleet.s1).unwrap();
    assert_eq!(superseded["successor"]["digest"], fleet.s2.as_str());
    let ghost = rows.iter().find(|r| key_of(r) == "ghost").unwrap();
    assert_eq!(ghost["reference"], format!("{h}/team/ghost:1.0"));
    assert!(
        r.stderr
            .contains(&format!("warning: cannot look up `{h}/team/ghost:1.0`")),
        "{}",
        r.stderr
    );

    // --fail-on: 3 when an image is in the state or past it; the rows are printed anyway.
    let failed = lineage_run(
        cwd,
        &[
            "audit",
            &pods,
            "--output",
            "json",
            "--fail-on",
            "end-of-life",
        ],
    );
    assert_eq!(failed.code, Some(3), "{}", failed.stderr);
    assert_eq!(rows_of(&failed).len(), 20);
    assert_eq!(
        lineage_run(cwd, &["audit", &pods, "--fail-on", "scheduled"]).code,
        Some(3)
    );
    // Before 2023-07-10T08:00:00Z the old revision was only scheduled.
    let earlier = lineage_run(
        cwd,
        &[
            "audit",
            &pods,
            "--output",
            "json",
            "--at",
            "2023-07-09T00:00:00Z",
            "--fail-on",
            "end-of-life",
        ],
    );
    assert_eq!(earlier.code, Some(0), "{}", earlier.stderr);
    let earlier = rows_of(&earlier);
    let old = earlier.iter().find(|r| key_of(r) == fleet.old).unwrap();
    assert_eq!(old["state"], "scheduled");

    // Standard input, implied and as `-`.
    let text = std::fs::read(&pods).unwrap();
    for args in [
        &["audit", "--output", "json"][..],
        &["audit", "-", "-o", "json"],
    ] {
        let out = lineage(cwd)
            .args(args)
            .write_stdin(text.clone())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(from_stdin.as_array().unwrap(), &rows);
    }

    // The table and the markdown table have one line per row.
    let table = lineage_ok(cwd, &["audit", &pods]).stdout_text();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 21, "{table}");
    assert!(
        lines[0].starts_with("IMAGE") && lines[0].ends_with("WHERE"),
        "{table}"
    );
    assert!(
        lines[1].starts_with(&format!("{h}/flasksample:1.0 (sha256:"))
            && lines[1].contains(" end-of-life ")
            && lines[1].contains("2023-07-10T08:00:00Z")
            && lines[1].contains(&format!("{h}/flasksample:1.0-20230710"))
            && lines[1].contains("shop/Pod/flasksample-"),
        "{table}"
    );
    assert!(lines[1].contains(" more"), "{table}");
    let markdown = lineage_ok(cwd, &["audit", &pods, "--output", "markdown"]).stdout_text();
    let table_rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(table_rows.len(), 21, "{markdown}");
    assert!(
        table_rows[1].contains("| end-of-life | 2023-07-10T08:00:00Z |"),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!("- `{h}/team/ghost:1.0`: ")),
        "{markdown}"
    );
}

/// A plain list and YAML manifests, against the same registry.
#[test]
fn lists_and_manifests() {
    let fleet = Fleet::start();
    let h = fleet.host().to_string();
    let cwd = fleet.s.path();

    let list = fleet.fixture("images.txt");
    let rows = rows_of(&lineage_ok(
        cwd,
        &["audit", list.to_str().unwrap(), "--output", "json"],
    ));
    let summary: Vec<(String, String, Vec<u64>)> = rows
        .iter()
        .map(|r| {
            (
                r["image"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
                r["uses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["line"].as_u64().unwrap())
                    .collect(),
            )
        })
        .collect();
    let row = |image: &str, state: &str, lines: &[u64]| {
        (format!("{h}/{image}"), state.to_string(), lines.to_vec())
    };
    assert_eq!(
        summary,
        vec![
            row("flasksample:1.0-20230707", "end-of-life", &[2]),
            row("search:3.0-a", "superseded", &[5]),
            // Untagged and `:latest` are one image, shown as first written.
            row("team/svc-01", "unknown", &[6, 7]),
            row("flasksample:1.0", "supported", &[3]),
        ]
    );
    assert_eq!(
        rows[0]["reference"],
        format!("{h}/flasksample:1.0-20230707")
    );
    assert_eq!(rows[0]["digest"], fleet.old.as_str());
    assert_eq!(rows[2]["reference"], format!("{h}/team/svc-01:latest"));
    assert_eq!(
        rows[2]["uses"][0],
        json!({"namespace": null, "kind": null, "name": null, "container": null, "line": 6})
    );
    let table = lineage_ok(cwd, &["audit", list.to_str().unwrap()]).stdout_text();
    assert!(table.contains("line 6, line 7"), "{table}");

    let manifests = fleet.fixture("manifests.yaml");
    let manifests = manifests.to_str().unwrap();
    let rows = rows_of(&lineage_ok(cwd, &["audit", manifests, "-o", "json"]));
    let summary: Vec<(String, String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            (
                r["image"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
                r["uses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| {
                        ["namespace", "kind", "name", "container"]
                            .iter()
                            .map(|k| u[k].as_str().unwrap_or("-"))
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .collect(),
            )
        })
        .collect();
    let row = |image: &str, state: &str, uses: &[&str]| {
        (
            format!("{h}/{image}"),
            state.to_string(),
            uses.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        summary,
        vec![
            row(
                "flasksample:1.0-20230707",
                "end-of-life",
                &["shop/Deployment/flasksample/web"]
            ),
            row(
                "billing:2.0-20240101",
                "scheduled",
                &["billing/CronJob/invoices/invoices"]
            ),
            row(
                "team/svc-01",
                "unknown",
                &[
                    "shop/Deployment/flasksample/migrate",
                    "shop/StatefulSet/cart/metrics"
                ]
            ),
            row(
                "flasksample:1.0",
                "supported",
                &["shop/StatefulSet/cart/cart"]
            ),
            row("team/svc-00:1.0", "supported", &["-/Pod/debug/shell"]),
        ]
    );
    assert_eq!(
        rows[1]["successor"]["reference"],
        format!("{h}/billing:2.0-20240201")
    );
    assert_eq!(
        lineage_run(cwd, &["audit", manifests, "--fail-on", "scheduled"]).code,
        Some(3)
    );
    assert_eq!(
        lineage_run(cwd, &["audit", manifests, "--fail-on", "superseded"]).code,
        Some(3)
    );
    let markdown = lineage_ok(cwd, &["audit", manifests, "-o", "markdown"]).stdout_text();
    assert_eq!(
        markdown.lines().filter(|l| l.starts_with("| ")).count(),
        6,
        "{markdown}"
    );
    assert!(
        markdown.contains("| billing/CronJob/invoices/invoices |"),
        "{markdown}"
    );
}

/// Input that is not JSON, YAML or a list fails cleanly, naming the file (and the line);
/// bad flags are usage errors. None of this needs a registry.
#[test]
fn bad_input_names_the_file_and_line() {
    let s = Scratch::new();
    let cwd = s.path();
    let bad_list = fixture("bad-list.txt");
    let r = lineage_run(cwd, &["audit", bad_list.to_str().unwrap()]);
    r.fails_naming("bad-list.txt");
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("line 3: `this is not an image`"),
        "{}",
        r.stderr
    );

    let not_kubernetes = fixture("not-kubernetes.json");
    let r = lineage_run(cwd, &["audit", not_kubernetes.to_str().unwrap()]);
    r.fails_naming("not-kubernetes.json");
    assert!(
        r.stderr.contains("document 1 is not a Kubernetes object"),
        "{}",
        r.stderr
    );

    let broken = s.join("broken.json");
    std::fs::write(&broken, "{\"kind\": \"List\",\n \"items\": [\n").unwrap();
    let r = lineage_run(cwd, &["audit", broken.to_str().unwrap()]);
    r.fails_naming("broken.json");
    assert!(r.stderr.contains("invalid JSON at line"), "{}", r.stderr);

    let yaml = s.join("broken.yaml");
    std::fs::write(&yaml, "kind: Pod\nspec:\n  containers: [\n").unwrap();
    let r = lineage_run(cwd, &["audit", yaml.to_str().unwrap()]);
    r.fails_naming("broken.yaml");
    assert!(r.stderr.contains("invalid YAML"), "{}", r.stderr);

    let r = lineage_run(cwd, &["audit", "missing.json"]);
    r.fails_naming("missing.json");
    assert_eq!(r.code, Some(1));

    let out = lineage(cwd)
        .args(["audit"])
        .write_stdin("\n# nothing\n")
        .output()
        .unwrap();
    let r = Run {
        what: "lineage audit < empty".into(),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    r.fails_naming("standard input");
    assert!(r.stderr.contains("the input is empty"), "{}", r.stderr);

    let list = fixture("images.txt");
    let list = list.to_str().unwrap();
    let r = lineage_run(cwd, &["audit", list, "--fail-on", "retired"]);
    r.fails_naming("retired");
    assert_eq!(r.code, Some(2));
    let r = lineage_run(cwd, &["audit", list, "--at", "yesterday"]);
    r.fails_naming("--at");
    assert_eq!(r.code, Some(2));
}
