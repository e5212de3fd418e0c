//! Which images an object runs: the pod spec of each kind lineage reads, and where each
//! image sits in it (research/consumers.md §1.3).

use std::collections::HashSet;

use lineage_oci::{ImageRef, ReferenceError};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::wire::{AdmissionError, AdmissionRequest, AdmissionReview, Operation, RawObject};

/// Where in a pod spec an image sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ImageRole {
    /// `containers[]`.
    Container,
    /// `initContainers[]`.
    InitContainer,
    /// `ephemeralContainers[]` (debug containers).
    EphemeralContainer,
    /// `volumes[].image` (an image volume, mounted as files).
    ImageVolume,
}

impl ImageRole {
    /// How messages name it: `container`, `init container`, …
    pub(crate) fn label(self) -> &'static str {
        match self {
            ImageRole::Container => "container",
            ImageRole::InitContainer => "init container",
            ImageRole::EphemeralContainer => "ephemeral container",
            ImageRole::ImageVolume => "image volume",
        }
    }
}

/// One image an object runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageUse {
    /// The reference as written in the object (`nginx:1.25`), shown in messages.
    pub(crate) image: String,
    /// Where it is, e.g. `spec.template.spec.containers[0].image`.
    pub(crate) path: String,
    /// The container's (or image volume's) name.
    pub(crate) name: String,
    /// What kind of container.
    pub(crate) role: ImageRole,
    /// [`ImageUse::lookup_key`], worked out once when the object is read.
    #[serde(skip)]
    key: Result<String, ReferenceError>,
}

impl ImageUse {
    fn new(image: String, path: String, name: String, role: ImageRole) -> ImageUse {
        let key = ImageRef::parse(&image).map(|r| r.to_string());
        ImageUse {
            image,
            path,
            name,
            role,
            key,
        }
    }

    /// The reference to look the image up by: [`ImageUse::image`] normalised (`nginx:1.25` is
    /// `docker.io/library/nginx:1.25`), so the same image written two ways is one lookup.
    pub(crate) fn lookup_key(&self) -> Result<&str, &ReferenceError> {
        self.key.as_deref()
    }

    /// `container "web"`, as messages name the use.
    pub(crate) fn subject(&self) -> String {
        format!("{} \"{}\"", self.role.label(), self.name)
    }
}

/// The fields of a pod spec that hold images.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    containers: Option<Vec<Container>>,
    #[serde(default)]
    init_containers: Option<Vec<Container>>,
    #[serde(default)]
    ephemeral_containers: Option<Vec<Container>>,
    #[serde(default)]
    volumes: Option<Vec<Volume>>,
}

#[derive(Debug, Deserialize)]
struct Container {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    image: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Volume {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    image: Option<ImageVolumeSource>,
}

#[derive(Debug, Deserialize)]
struct ImageVolumeSource {
    #[serde(default)]
    reference: Option<String>,
}

/// Every image the object under admission runs (research/consumers.md §1.3), from
/// `request.object` (on UPDATE too: the object as it will be).
///
/// - Pod: `spec.{containers,initContainers,ephemeralContainers}[].image` and
///   `spec.volumes[].image.reference`;
/// - the Pod `ephemeralcontainers` subresource: only `spec.ephemeralContainers[]`, the only
///   images that request can change (debugging a Pod must not hinge on its other images);
/// - Deployment, StatefulSet, DaemonSet, ReplicaSet (`apps`), Job (`batch`),
///   ReplicationController: the same under `spec.template.spec`;
/// - CronJob (`batch`): under `spec.jobTemplate.spec.template.spec`;
/// - PodTemplate: under `template.spec`.
///
/// Anything else (other kinds, other subresources, DELETE and CONNECT, a `null` object) runs
/// no images. Containers without an image are skipped.
pub(crate) fn images(review: &AdmissionReview) -> Result<Vec<ImageUse>, AdmissionError> {
    let request = &review.request;
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return Ok(vec![]);
    }
    images_of(request, request.object.as_ref())
}

/// The images the object before an UPDATE ran (none for other operations, or when the old
/// object cannot be read).
pub(crate) fn previous_images(request: &AdmissionRequest) -> HashSet<String> {
    if request.operation != Operation::Update {
        return HashSet::new();
    }
    images_of(request, request.old_object.as_ref())
        .map(|uses| uses.into_iter().map(|u| u.image).collect())
        .unwrap_or_default()
}

/// The images `object` (of the request's kind and subresource) runs.
fn images_of(
    request: &AdmissionRequest,
    object: Option<&RawObject>,
) -> Result<Vec<ImageUse>, AdmissionError> {
    let Some(object) = object else {
        return Ok(vec![]);
    };
    let subresource = request.sub_resource.as_deref().unwrap_or_default();
    let kind = &request.kind;
    let (spec_path, ephemeral_only) = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Pod") if subresource == "ephemeralcontainers" => ("spec", true),
        _ if !subresource.is_empty() => return Ok(vec![]),
        ("", "Pod") => ("spec", false),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job")
        | ("", "ReplicationController") => ("spec.template.spec", false),
        ("batch", "CronJob") => ("spec.jobTemplate.spec.template.spec", false),
        ("", "PodTemplate") => ("template.spec", false),
        _ => return Ok(vec![]),
    };
    let pod_spec_error = |source| AdmissionError::PodSpec {
        kind: kind.kind.clone(),
        path: spec_path.to_string(),
        source,
    };
    let mut value = object.raw();
    for key in spec_path.split('.') {
        match member(value, key).map_err(pod_spec_error)? {
            Some(v) => value = v,
            None => return Ok(vec![]),
        }
    }
    let spec: PodSpec = serde_json::from_str(value.get()).map_err(pod_spec_error)?;

    let mut uses = Vec::new();
    let mut containers = |list: Option<Vec<Container>>, field: &str, role: ImageRole| {
        for (i, c) in list.into_iter().flatten().enumerate() {
            if let Some(image) = c.image.filter(|i| !i.is_empty()) {
                uses.push(ImageUse::new(
                    image,
                    format!("{spec_path}.{field}[{i}].image"),
                    c.name.unwrap_or_default(),
                    role,
                ));
            }
        }
    };
    if !ephemeral_only {
        containers(spec.containers, "containers", ImageRole::Container);
        containers(
            spec.init_containers,
            "initContainers",
            ImageRole::InitContainer,
        );
    }
    containers(
        spec.ephemeral_containers,
        "ephemeralContainers",
        ImageRole::EphemeralContainer,
    );
    if !ephemeral_only {
        for (i, v) in spec.volumes.into_iter().flatten().enumerate() {
            if let Some(image) = v.image.and_then(|s| s.reference).filter(|r| !r.is_empty()) {
                uses.push(ImageUse::new(
                    image,
                    format!("{spec_path}.volumes[{i}].image.reference"),
                    v.name.unwrap_or_default(),
                    ImageRole::ImageVolume,
                ));
            }
        }
    }
    Ok(uses)
}

/// The member `key` of `value`, unparsed; `None` when `value` is not an object or has no such
/// member (the last one when a key is repeated). The other members are skipped, not built.
fn member<'a>(value: &'a RawValue, key: &str) -> Result<Option<&'a RawValue>, serde_json::Error> {
    if !value.get().starts_with('{') {
        return Ok(None);
    }
    let mut de = serde_json::Deserializer::from_str(value.get());
    de.deserialize_map(Member { key })
}

/// Finds one member of a JSON object: see [`member`].
struct Member<'k> {
    key: &'k str,
}

impl<'de> Visitor<'de> for Member<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(wanted) = map.next_key_seed(IsKey(self.key))? {
            if wanted {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Reads an object's key as whether it is the one wanted, without allocating it.
struct IsKey<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for IsKey<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}
