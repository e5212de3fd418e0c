//! The admission webhook's tests, on the fixtures of `tests/fixtures/admission`.

mod decide;
mod images;
mod snapshots;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lineage_lifecycle::{State, Status, Successor};

use super::decide::{Outcome, is_exempt_namespace, needs_lookup};
use super::images::{ImageRole, ImageUse};
use super::wire::{API_VERSION, KIND, WARNING_MAX_CHARS, cap};
use super::*;
use crate::policy::LookupFailure;
use crate::policy::lookup_api::tests::{status, time, timed_out};
use lineage_oci::Digest;
use serde_json::{Value, json};

const FLASK: &str = "registry.example/flasksample:1.0-20230707";
const SUCCESSOR: &str = "registry.example/flasksample:1.0-20230710";
const EOL: &str = "2023-07-10T08:00:00Z";

fn fixture(name: &str) -> &'static str {
    match name {
        "pod-create" => include_str!("../../../../tests/fixtures/admission/pod-create.json"),
        "deployment-create" => {
            include_str!("../../../../tests/fixtures/admission/deployment-create.json")
        }
        "deployment-update-dry-run" => {
            include_str!("../../../../tests/fixtures/admission/deployment-update-dry-run.json")
        }
        "statefulset-create" => {
            include_str!("../../../../tests/fixtures/admission/statefulset-create.json")
        }
        "daemonset-create" => {
            include_str!("../../../../tests/fixtures/admission/daemonset-create.json")
        }
        "replicaset-create" => {
            include_str!("../../../../tests/fixtures/admission/replicaset-create.json")
        }
        "job-create" => include_str!("../../../../tests/fixtures/admission/job-create.json"),
        "cronjob-create" => {
            include_str!("../../../../tests/fixtures/admission/cronjob-create.json")
        }
        "pod-ephemeralcontainers" => {
            include_str!("../../../../tests/fixtures/admission/pod-ephemeralcontainers.json")
        }
        "pod-delete" => include_str!("../../../../tests/fixtures/admission/pod-delete.json"),
        "configmap-create" => {
            include_str!("../../../../tests/fixtures/admission/configmap-create.json")
        }
        "pod-create-v1beta1" => {
            include_str!("../../../../tests/fixtures/admission/pod-create-v1beta1.json")
        }
        "pod-create-bare-request" => {
            include_str!("../../../../tests/fixtures/admission/pod-create-bare-request.json")
        }
        other => panic!("no fixture {other}"),
    }
}

fn review(name: &str) -> AdmissionReview {
    AdmissionReview::parse(fixture(name).as_bytes()).unwrap()
}

/// The fixture with `edit` applied to its JSON.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> AdmissionReview {
    let mut v: Value = serde_json::from_str(fixture(name)).unwrap();
    edit(&mut v);
    AdmissionReview::parse(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn found(name: &str) -> Vec<(String, String, String, ImageRole)> {
    images(&review(name))
        .unwrap()
        .into_iter()
        .map(|u| (u.path, u.image, u.name, u.role))
        .collect()
}

fn row(
    path: &str,
    image: &str,
    name: &str,
    role: ImageRole,
) -> (String, String, String, ImageRole) {
    (path.into(), image.into(), name.into(), role)
}

fn enforce() -> AdmissionSettings {
    AdmissionSettings::default()
}

fn now() -> DateTime<Utc> {
    time("2024-03-01T09:00:00Z")
}

/// Lookup results for `uses`, with `state` for each key as `pick` says (supported when it
/// says nothing).
fn results(
    uses: &[ImageUse],
    pick: impl Fn(&str) -> Option<Result<Status, LookupFailure>>,
) -> HashMap<String, Result<Status, LookupFailure>> {
    uses.iter()
        .filter_map(|u| u.lookup_key().ok().map(str::to_string))
        .map(|key| {
            let r = pick(&key).unwrap_or_else(|| Ok(status(&key, State::Supported, None)));
            (key, r)
        })
        .collect()
}

/// `FLASK` is end-of-life since `EOL`; everything else supported.
fn flask_eol(key: &str) -> Option<Result<Status, LookupFailure>> {
    (key == FLASK).then(|| Ok(status(key, State::EndOfLife, Some(EOL))))
}

fn run(
    review: &AdmissionReview,
    settings: &AdmissionSettings,
    pick: impl Fn(&str) -> Option<Result<Status, LookupFailure>>,
) -> (Value, Outcome) {
    let uses = images(review).unwrap();
    let r = results(&uses, pick);
    let (response, outcome) = decide(review, &uses, &r, settings, now());
    (serde_json::to_value(response).unwrap(), outcome)
}

fn denial() -> String {
    format!(
        "image \"{FLASK}\" (container \"web\") is end-of-life since {EOL} (superseded); use {SUCCESSOR} ({})",
        Digest::sha256(b"successor")
    )
}
