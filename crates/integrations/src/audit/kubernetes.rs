//! The images a Kubernetes object uses, read from its JSON (YAML is read into the same
//! values).
//!
//! Objects: a `Pod` (`spec`), a `PodTemplate` (`template.spec`), every workload with a pod
//! template (`spec.template.spec`: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
//! ReplicationController, and custom kinds shaped the same, such as Argo Rollouts), a
//! `CronJob` (`spec.jobTemplate.spec.template.spec`), and any list (`List`, `PodList`, …:
//! `items`, nested lists too). Other objects (Services, ConfigMaps) use no image. In a pod
//! spec, `containers`, `initContainers` and `ephemeralContainers` are read.
//!
//! **What runs.** A container's `image` is what the user wrote; a pod's
//! `status.containerStatuses[].imageID` (and the init and ephemeral ones), matched by
//! container name, is what actually runs: `docker-pullable://nginx@sha256:…` (dockershim)
//! or `docker.io/library/nginx@sha256:…` (containerd, CRI-O), the digest the tag resolved to
//! when the container started. When the image names a tag, the audit looks up that running
//! digest (in the image's own repository: the runtime may name the digest after another
//! repository holding the same content) and shows the image as written; pods started before
//! a rolling tag moved are then seen running the old revision. When the image names a
//! digest, that digest is what runs and is looked up. An `imageID` without a repository
//! (`sha256:…`, `docker://sha256:…`) is a local image ID (the config's digest, not the
//! manifest's) and is ignored, as is an empty one (a container not started yet).

use lineage_oci::Digest;
use serde_json::Value;

use super::input::{Place, Use};

/// The lists of containers in a pod spec, with the status list that reports on each.
const CONTAINER_LISTS: [(&str, &str); 3] = [
    ("containers", "containerStatuses"),
    ("initContainers", "initContainerStatuses"),
    ("ephemeralContainers", "ephemeralContainerStatuses"),
];

/// Whether `value` is a Kubernetes object or list: an object with a `kind` or `items`.
pub fn is_kubernetes(value: &Value) -> bool {
    value.get("kind").is_some_and(Value::is_string)
        || value.get("items").is_some_and(Value::is_array)
}

/// Append the uses of images in `object` (and, for a list, in its items) to `uses`.
/// `item_kind` is the kind a list's items have when they do not say (the items of a
/// `PodList` read from the API have no `kind`).
pub fn uses(object: &Value, item_kind: Option<&str>, uses: &mut Vec<Use>) {
    let kind = object.get("kind").and_then(Value::as_str).or(item_kind);
    if let Some(items) = object.get("items").and_then(Value::as_array) {
        let inner = kind
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty());
        for item in items {
            self::uses(item, inner, uses);
        }
        return;
    }
    let Some((spec, status)) = pod_spec(object) else {
        return;
    };
    let metadata = object.get("metadata");
    let text = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let (namespace, name) = (text("namespace"), text("name"));
    let kind = kind.unwrap_or("Pod").to_string();
    for (list, statuses) in CONTAINER_LISTS {
        for container in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(image) = container.get("image").and_then(Value::as_str) else {
                continue;
            };
            let image = image.trim();
            if image.is_empty() {
                continue;
            }
            let container_name = container.get("name").and_then(Value::as_str);
            let running = match (status, container_name) {
                (Some(status), Some(c)) if !names_digest(image) => {
                    running_digest(status, statuses, c)
                }
                _ => None,
            };
            uses.push(Use {
                image: image.to_string(),
                running,
                place: Place {
                    namespace: namespace.clone(),
                    kind: Some(kind.clone()),
                    name: name.clone(),
                    container: container_name.map(String::from),
                    line: None,
                },
            });
        }
    }
}

/// The pod spec of `object`, and the pod status when `object` is a pod.
fn pod_spec(object: &Value) -> Option<(&Value, Option<&Value>)> {
    let at = |path: &[&str]| {
        path.iter()
            .try_fold(object, |v, key| v.get(key))
            .filter(|v| v.is_object())
    };
    if let Some(spec) = at(&["spec"]).filter(|s| s.get("containers").is_some()) {
        return Some((spec, object.get("status")));
    }
    [
        &["template", "spec"][..],
        &["spec", "template", "spec"],
        &["spec", "jobTemplate", "spec", "template", "spec"],
    ]
    .into_iter()
    .find_map(at)
    .map(|spec| (spec, None))
}

/// Whether `image` names a digest (`repo@sha256:…`).
fn names_digest(image: &str) -> bool {
    image.contains('@')
}

/// The digest `imageID` reports for container `name` in `status[statuses]`, when it names a
/// repository digest.
fn running_digest(status: &Value, statuses: &str, name: &str) -> Option<Digest> {
    let reported = status
        .get(statuses)?
        .as_array()?
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(name))?;
    image_id_digest(reported.get("imageID")?.as_str()?)
}

/// The manifest digest in an `imageID` such as `docker-pullable://nginx@sha256:…` or
/// `docker.io/library/nginx@sha256:…`; `None` for a local image ID (`sha256:…`,
/// `docker://sha256:…`) or anything else.
pub fn image_id_digest(image_id: &str) -> Option<Digest> {
    let id = image_id.trim();
    let id = id.strip_prefix("docker-pullable://").unwrap_or(id);
    let (name, digest) = id.rsplit_once('@')?;
    if name.is_empty() || name.contains("://") {
        return None;
    }
    digest.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn all(v: &Value) -> Vec<Use> {
        let mut out = Vec::new();
        uses(v, None, &mut out);
        out
    }

    fn places(v: &Value) -> Vec<String> {
        all(v)
            .iter()
            .map(|u| format!("{} {}", u.place, u.image))
            .collect()
    }

    #[test]
    fn image_ids_give_repository_digests_only() {
        let d1: Digest = D1.parse().unwrap();
        for id in [
            format!("docker-pullable://nginx@{D1}"),
            format!("docker.io/library/nginx@{D1}"),
            format!("  127.0.0.1:5000/a/b@{D1}"),
        ] {
            assert_eq!(image_id_digest(&id), Some(d1.clone()), "{id}");
        }
        for id in [
            D1.to_string(),
            format!("docker://{D1}"),
            String::new(),
            "nginx@sha256:short".to_string(),
            format!("@{D1}"),
        ] {
            assert_eq!(image_id_digest(&id), None, "{id}");
        }
    }

    #[test]
    fn a_pod_list_with_statuses() {
        let list = json!({
            "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [{
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "prod"},
                "spec": {
                    "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                    "containers": [
                        {"name": "web", "image": "ghcr.io/o/web:1.0"},
                        {"name": "pinned", "image": format!("ghcr.io/o/side@{D1}")},
                        {"name": "pending", "image": "ghcr.io/o/new:2"}
                    ],
                    "ephemeralContainers": [{"name": "debug", "image": "busybox"}]
                },
                "status": {
                    "initContainerStatuses": [{"name": "init", "imageID": format!("docker.io/library/busybox@{D2}")}],
                    "containerStatuses": [
                        {"name": "web", "image": "ghcr.io/o/web:1.0", "imageID": format!("docker-pullable://ghcr.io/o/web@{D1}")},
                        {"name": "pinned", "imageID": format!("ghcr.io/o/side@{D2}")},
                        {"name": "pending", "imageID": ""}
                    ]
                }
            }]
        });
        let found = all(&list);
        let summary: Vec<(String, String, Option<String>)> = found
            .iter()
            .map(|u| {
                (
                    u.place.to_string(),
                    u.image.clone(),
                    u.running.as_ref().map(|d| d.to_string()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "prod/Pod/web-1/web".into(),
                    "ghcr.io/o/web:1.0".into(),
                    Some(D1.into())
                ),
                // The image names a digest: that is what runs.
                (
                    "prod/Pod/web-1/pinned".into(),
                    format!("ghcr.io/o/side@{D1}"),
                    None
                ),
                // Not started: no imageID yet.
                (
                    "prod/Pod/web-1/pending".into(),
                    "ghcr.io/o/new:2".into(),
                    None
                ),
                (
                    "prod/Pod/web-1/init".into(),
                    "busybox:1.36".into(),
                    Some(D2.into())
                ),
                ("prod/Pod/web-1/debug".into(), "busybox".into(), None),
            ]
        );
    }

    #[test]
    fn workloads_templates_and_cronjobs() {
        let list = json!({"kind": "List", "items": [
            {"kind": "Deployment", "metadata": {"name": "web", "namespace": "a"},
             "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}}},
            {"kind": "StatefulSet", "metadata": {"name": "db"},
             "spec": {"template": {"spec": {"containers": [{"name": "db", "image": "db:1"}]}}}},
            {"kind": "CronJob", "metadata": {"name": "nightly", "namespace": "b"},
             "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "job:1"}]}}}}}},
            {"kind": "PodTemplate", "metadata": {"name": "t"},
             "template": {"spec": {"containers": [{"name": "t", "image": "t:1"}]}}},
            {"kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": []}},
            {"kind": "DeploymentList", "items": [
                {"kind": "Deployment", "metadata": {"name": "inner"},
                 "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "inner:1"}]}}}}
            ]}
        ]});
        assert_eq!(
            places(&list),
            vec![
                "a/Deployment/web/web web:1",
                "StatefulSet/db/db db:1",
                "b/CronJob/nightly/job job:1",
                "PodTemplate/t/t t:1",
                "Deployment/inner/c inner:1",
            ]
        );
    }

    #[test]
    fn items_without_kind_take_it_from_the_list() {
        let list = json!({"kind": "PodList", "items": [
            {"metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        ]});
        assert_eq!(places(&list), vec!["n/Pod/p/c x"]);
    }

    #[test]
    fn containers_without_an_image_are_skipped() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b", "image": " "}, {"name": "c", "image": 3}]}});
        assert!(all(&pod).is_empty());
    }
}
